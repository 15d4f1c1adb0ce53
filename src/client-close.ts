/**
 * Bounded shutdown for `client.close({ timeoutMs })`: counts the client's calls in flight (every
 * options generation), waits up to `timeoutMs` for them to end by themselves, then fails the rest
 * with ERR_CLIENT_CLOSED through their call signals, which stops whatever each one is doing (a
 * queued request, a connect, the wait for headers, a body being read). The sockets are destroyed
 * afterwards by the client, so a silent server cannot keep close() — or the process — waiting.
 */
import type { CallContext } from './context.js'
import { SafeFetchError } from './errors.js'
import { checkDuration, checkKnownKeys, invalidOption, isPlainObject } from './option-checks.js'

export interface CloseOptions {
  /**
   * Milliseconds to wait for calls in flight to end by themselves before they fail with
   * ERR_CLIENT_CLOSED. Default: until the latest deadline of the calls in flight, at most 30 000.
   * `0` fails them at once; `Infinity` waits as long as they take.
   */
  timeoutMs?: number
}

/** The default wait never exceeds this, even for calls without a total timeout. */
const CLOSE_TIMEOUT_CAP = 30_000

/**
 * Calls in flight, as an intrusive doubly linked list through the contexts (O(1) in and out, no
 * allocation). Not a Set: a Set of per-call objects that churns at concurrency rehashes its table
 * now and then, and V8's replaced tables stay linked to their successors; measured at concurrency
 * 32, every call's objects then survived young-generation GCs (old space +4 KB per call instead of
 * ~0.9 KB, until the next full GC).
 */
export class InFlightCalls {
  private count = 0
  /** Calls with a context, newest first. */
  private head: CallContext | undefined = undefined
  private listed = 0
  private onIdle: (() => void) | undefined = undefined
  /** Set once close() has stopped waiting: calls that get their context later fail at once. */
  private closedError: SafeFetchError | undefined = undefined

  /** A call started (counted before its request is built). */
  enter(): void {
    this.count++
  }

  /** A call has its context: it can now be cancelled by close(). */
  track(ctx: CallContext): void {
    if (this.closedError !== undefined) ctx.signal.abort(this.closedError)
    else if (!ctx.inFlightListed) {
      ctx.inFlightListed = true
      ctx.inFlightPrev = undefined
      ctx.inFlightNext = this.head
      if (this.head !== undefined) this.head.inFlightPrev = ctx
      this.head = ctx
      this.listed++
    }
  }

  private unlist(ctx: CallContext): void {
    if (!ctx.inFlightListed) return
    ctx.inFlightListed = false
    const prev = ctx.inFlightPrev
    const next = ctx.inFlightNext
    if (prev === undefined) this.head = next
    else prev.inFlightNext = next
    if (next !== undefined) next.inFlightPrev = prev
    ctx.inFlightPrev = undefined
    ctx.inFlightNext = undefined
    this.listed--
  }

  /** The listed contexts, as an array (the list may change while they are aborted). */
  private listedCalls(): CallContext[] {
    const out: CallContext[] = []
    for (let ctx = this.head; ctx !== undefined; ctx = ctx.inFlightNext) out.push(ctx)
    return out
  }

  /** A call ended (ctx undefined when it failed before having one). */
  leave(ctx: CallContext | undefined): void {
    if (ctx !== undefined) this.unlist(ctx)
    this.count--
    if (this.count === 0 && this.onIdle !== undefined) {
      const idle = this.onIdle
      this.onIdle = undefined
      idle()
    }
  }

  /** close()'s default wait: the latest deadline among the calls in flight, capped. */
  defaultTimeout(clientTotalMs: number): number {
    if (this.count === 0) return 0
    const now = performance.now()
    // Calls still building their request have no context yet: they will get the client's total.
    let latest = this.count > this.listed ? (clientTotalMs > 0 ? clientTotalMs : Infinity) : 0
    for (let ctx = this.head; ctx !== undefined; ctx = ctx.inFlightNext) latest = Math.max(latest, ctx.deadline - now)
    return Math.min(Math.max(0, latest), CLOSE_TIMEOUT_CAP)
  }

  /** Waits up to `timeoutMs` for every call to end, then fails the rest with ERR_CLIENT_CLOSED. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.count === 0) return
    const idle = new Promise<void>((resolve) => (this.onIdle = resolve))
    if (!(await within(idle, timeoutMs))) {
      this.closedError = new SafeFetchError(
        'ERR_CLIENT_CLOSED',
        `the client was closed while this call was still in flight (close({ timeoutMs: ${timeoutMs} }) ran out)`,
      )
      const calls = this.listedCalls()
      for (const ctx of calls) this.unlist(ctx)
      for (const ctx of calls) ctx.signal.abort(this.closedError)
    }
  }
}

/** Whether `promise` settles within `ms` (a ref'd timer: close() keeps the process up while it waits). */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  if (ms === Infinity) {
    await promise
    return true
  }
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))))
  try {
    return await Promise.race([promise.then(() => true), expired])
  } finally {
    clearTimeout(timer)
  }
}

export function resolveCloseTimeout(options: unknown, calls: InFlightCalls, clientTotalMs: number): number {
  if (options === undefined) return calls.defaultTimeout(clientTotalMs)
  if (!isPlainObject(options)) throw invalidOption('close() options', 'must be an object like { timeoutMs: 5000 }', options)
  checkKnownKeys('close() options', options, ['timeoutMs'])
  if (options.timeoutMs === undefined) return calls.defaultTimeout(clientTotalMs)
  return checkDuration('close() timeoutMs', options.timeoutMs, true)
}
