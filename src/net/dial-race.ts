/**
 * The dial loop both connectors share: Happy Eyeballs over the addresses the guard has already
 * checked (RFC 8305).
 *
 * - Order (§4): the resolver's order, families interleaved — the first address's family first,
 *   then the other, alternately — so one unreachable family cannot hold up every call.
 * - Staggered attempts (§5): the next address is tried when the previous attempt fails, or after
 *   the Connection Attempt Delay (250 ms, the RFC's recommended value) if it has not finished by
 *   then; earlier attempts keep running. The first to connect wins and every other attempt is
 *   destroyed.
 * - A failure marked `final` (a certificate error, a blocked peer, a proxy refusing
 *   authentication) ends the race at once: another address would not change the answer.
 *
 * The caller owns the overall connect timeout and cancels the race with the returned function.
 * Only addresses that passed the policy are ever passed in; each attempt's socket is judged again
 * after connect by the connector (the remote-address backstop).
 */

/** RFC 8305 §8: Connection Attempt Delay, recommended 250 ms. */
const CONNECTION_ATTEMPT_DELAY_MS = 250

export type AttemptOutcome<T> = { readonly value: T } | { readonly error: Error; readonly final: boolean }

/**
 * Starts connecting to `address`; calls `settle` once with the result. Returns a function that
 * stops the attempt and releases what it holds (called for losers, and on cancel).
 */
export type DialAttempt<T> = (address: string, settle: (outcome: AttemptOutcome<T>) => void) => () => void

interface DialRaceOptions<T> {
  readonly attempt: DialAttempt<T>
  /** The winner, or the error of the last attempt to fail (or of a final one). Called once. */
  readonly done: (error: Error | undefined, value?: T) => void
  /** Releases a value that connected after the race was already decided. */
  readonly discard: (value: T) => void
  /** The error when there is nothing to dial. */
  readonly noAddress: () => Error
  readonly delayMs?: number
}

/** Races the (already checked) `addresses`; returns a function that cancels every attempt. */
export function dialRace<T>(addresses: readonly string[], options: DialRaceOptions<T>): () => void {
  const ordered = interleaveFamilies(addresses)
  const delayMs = options.delayMs ?? CONNECTION_ATTEMPT_DELAY_MS
  const running = new Set<() => void>()
  let next = 0
  let decided = false
  let lastError: Error | undefined
  let timer: NodeJS.Timeout | undefined

  /** Ends the race: no timer, no attempt left running. */
  const stopAll = (): void => {
    decided = true
    if (timer !== undefined) clearTimeout(timer)
    for (const stop of running) stop()
    running.clear()
  }
  const decide = (error: Error | undefined, value?: T): void => {
    stopAll()
    options.done(error, value)
  }

  const startNext = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (decided) return
    const address = ordered[next++]
    if (address === undefined) {
      if (running.size === 0) decide(lastError ?? options.noAddress())
      return
    }
    let settled = false
    let stop: (() => void) | undefined
    stop = options.attempt(address, (outcome) => {
      if (settled) return
      settled = true
      if (stop !== undefined) running.delete(stop)
      if ('value' in outcome) {
        if (decided) options.discard(outcome.value)
        else decide(undefined, outcome.value)
        return
      }
      if (decided) return
      lastError = outcome.error
      if (outcome.final) decide(outcome.error)
      // A failed attempt starts the next one at once (§5), or ends the race if it was the last.
      else if (next < ordered.length) startNext()
      else if (running.size === 0) decide(lastError)
    })
    if (settled) {
      stop = undefined
      return
    }
    running.add(stop)
    if (next < ordered.length) {
      timer = setTimeout(startNext, delayMs)
      timer.unref()
    }
  }

  startNext()
  return () => {
    if (!decided) stopAll()
  }
}

/** RFC 8305 §4: keep the resolver's order within each family, alternate families, first one first. */
export function interleaveFamilies(addresses: readonly string[]): readonly string[] {
  if (addresses.length < 2) return addresses
  const first = isV6(addresses[0]!)
  const same: string[] = []
  const other: string[] = []
  for (const address of addresses) (isV6(address) === first ? same : other).push(address)
  if (other.length === 0) return addresses
  const out: string[] = []
  for (let i = 0; i < Math.max(same.length, other.length); i++) {
    if (i < same.length) out.push(same[i]!)
    if (i < other.length) out.push(other[i]!)
  }
  return out
}

function isV6(address: string): boolean {
  return address.includes(':')
}
