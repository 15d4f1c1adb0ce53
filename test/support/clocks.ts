/**
 * Clocks a test moves by hand, so nothing waits on real time.
 * - `Clock`: a settable clock (epoch ms) for code that takes a `now()` (cache, breakers, budgets,
 *   stats). A fresh one per test: nothing here is shared between tests.
 * - `SharedClock`: the same, starting on a whole second of real time, for a loopback origin (its
 *   Date field) and a real client's cache read together; the test moves both forward.
 */

/** A settable clock: `now()` returns `t` (epoch ms), which only the test changes. */
export class Clock {
  constructor(public t = Date.UTC(2025, 0, 1, 12, 0, 0)) {}
  readonly now = (): number => this.t
  /** Moves the clock forward by `seconds` (HTTP freshness is counted in seconds). */
  advance(seconds: number): void {
    this.t += seconds * 1000
  }
  advanceMs(ms: number): void {
    this.t += ms
  }
  /** The clock as an HTTP-date, offset by `seconds`. */
  date(seconds = 0): string {
    return new Date(this.t + seconds * 1000).toUTCString()
  }
}

/**
 * A Clock shared by a loopback origin (its Date field) and a real client's cache (`cache.now`): it
 * moves only when the test advances it, and starts on a whole second of real time, so a fresh
 * response's Date equals the cache's response time and its age is exactly 0. (Real time plus an
 * offset made the age of a fresh entry the sub-second part of the origin's stamp plus the time the
 * test took: it read 1 when that crossed a second, most often on the slower Redis path.)
 */
export class SharedClock extends Clock {
  constructor() {
    super(Math.floor(Date.now() / 1000) * 1000)
  }
  httpDate(): string {
    return this.date()
  }
}
