/**
 * Waiting in tests: for a condition (`until`), for a test to let a held reply go (`gate`), for one
 * event-loop turn (`nextTurn`). A fixed sleep is not a way to wait for something: wait for the
 * condition or the event that proves it (a settle, a server's 'close', a store's acknowledgement).
 */

// Captured at import, before any test fakes timers: `until` keeps polling on the real clock while a
// test drives setTimeout/performance with vi.useFakeTimers (resilience-retry-waits does).
const realSetTimeout = globalThis.setTimeout
const realClearTimeout = globalThis.clearTimeout
const realSetImmediate = globalThis.setImmediate

/** How long `until` waits by default before it fails the test. */
export const UNTIL_TIMEOUT_MS = 5_000

export interface UntilOptions {
  /** Real milliseconds before the wait fails the test. Default UNTIL_TIMEOUT_MS. */
  timeoutMs?: number
  /** Milliseconds between polls once the first turns have passed. Default 5. */
  intervalMs?: number
}

/**
 * Resolves as soon as `condition()` holds; fails with "gave up after N ms waiting for <what>" after
 * `timeoutMs` (real time, whatever the test does with fake timers). The first turns only yield to
 * I/O (a reply already on its way lands within a few), then it polls every `intervalMs`. It asserts
 * nothing about how long the wait took. `options` may be the timeout alone.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string, options: number | UntilOptions = {}): Promise<void> {
  const { timeoutMs = UNTIL_TIMEOUT_MS, intervalMs } = typeof options === 'number' ? { timeoutMs: options } : options
  // With an interval of its own (a condition that costs a request), no burst of immediate turns.
  const immediateTurns = intervalMs === undefined ? 50 : 0
  if (await condition()) return
  let expired = false
  const timer = realSetTimeout(() => (expired = true), timeoutMs)
  try {
    for (let turn = 0; ; turn++) {
      await new Promise<void>((resolve) => (turn < immediateTurns ? realSetImmediate(resolve) : realSetTimeout(resolve, intervalMs ?? 5)))
      if (await condition()) return
      if (expired) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`)
    }
  } finally {
    realClearTimeout(timer)
  }
}

/** A promise and its opener, for servers and fakes that hold a reply until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void
  const promise = new Promise<void>((resolve) => (open = resolve))
  return { promise, open }
}

/**
 * One event-loop turn (setImmediate as the test sees it: faked when the test fakes it). undici
 * returns a finished keep-alive socket to its pool on the next turn; queued work runs after one.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** For servers that must be slow on purpose (a route that answers after `ms`), not for waiting. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
