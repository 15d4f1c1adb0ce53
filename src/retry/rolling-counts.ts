/**
 * Counters over a rolling time window, kept in a fixed ring of buckets: constant memory whatever
 * the traffic, no allocation per event, and a window that slides one bucket (windowMs / buckets)
 * at a time. Used by the retry budget (requests, retries) and the circuit breaker (calls, failures).
 */
export class RollingCounts {
  private readonly now: () => number
  private readonly series: number
  private readonly buckets: number
  private readonly bucketMs: number
  /** buckets × series counts; bucket b, series s at b * series + s. */
  private readonly counts: Float64Array
  private readonly totals: Float64Array
  /** Index (time / bucketMs) of the newest bucket. */
  private epoch: number

  /**
   * @param series how many counters each bucket holds
   * @param now milliseconds on a monotonic clock (performance.now, or a test clock)
   */
  constructor(series: number, windowMs: number, buckets: number, now: () => number) {
    this.now = now
    this.series = series
    this.buckets = buckets
    this.bucketMs = windowMs / buckets
    this.counts = new Float64Array(series * buckets)
    this.totals = new Float64Array(series)
    this.epoch = Math.floor(now() / this.bucketMs)
  }

  /** Adds `n` to counter `series` in the current bucket. */
  add(series: number, n = 1): void {
    const slot = this.advance()
    this.counts[slot * this.series + series]! += n
    this.totals[series]! += n
  }

  /** The sum of counter `series` over the window, as of now. */
  total(series: number): number {
    this.advance()
    return this.totals[series]!
  }

  /** Forgets everything (a circuit breaker that changes state starts a fresh window). */
  reset(): void {
    this.counts.fill(0)
    this.totals.fill(0)
    this.epoch = Math.floor(this.now() / this.bucketMs)
  }

  /** Moves the ring to the current time, emptying the buckets that left the window. Returns the current slot. */
  private advance(): number {
    const epoch = Math.floor(this.now() / this.bucketMs)
    if (epoch > this.epoch) {
      // At most one full turn: after that every bucket has been emptied.
      const steps = Math.min(epoch - this.epoch, this.buckets)
      for (let i = 1; i <= steps; i++) {
        const base = slotOf(this.epoch + i, this.buckets) * this.series
        for (let s = 0; s < this.series; s++) {
          this.totals[s]! -= this.counts[base + s]!
          this.counts[base + s] = 0
        }
      }
      this.epoch = epoch
    }
    // A clock that goes backwards (only an injected one can) keeps counting into the newest bucket.
    return slotOf(this.epoch, this.buckets)
  }
}

/** A non-negative ring index, also for an injected clock that starts below zero. */
function slotOf(epoch: number, count: number): number {
  const slot = epoch % count
  return slot < 0 ? slot + count : slot
}
