/**
 * A per-client retry budget (the model of Finagle's RetryBudget, Linkerd's retry budgets and Envoy's
 * retry_budget): retries may add at most `ratio` of the requests made in the last `windowMs`, with
 * a floor of `minPerSecond` retries per second so a quiet client can still retry. When an origin
 * fails for everyone, per-call retry limits alone multiply its load by (limit + 1); a budget keeps
 * the extra load near `ratio`, and failures past it are returned at once.
 *
 * State is a fixed ring of buckets (10 by default) holding counts, not one sample per request:
 * constant memory, no allocation per call, and a window that slides one bucket at a time.
 *
 * Finagle and tower add the floor to the ratio (reserve + ratio × requests); we take the larger of
 * the two, so that under load retries really stay within `ratio` of the traffic.
 */
import type { ResolvedRetryBudgetOptions } from './retry-options.js'
import { RollingCounts } from './rolling-counts.js'

export interface RetryBudgetSnapshot {
  readonly ratio: number
  readonly minPerSecond: number
  readonly windowMs: number
  /** First attempts counted in the window. */
  readonly requests: number
  /** Retries made in the window. */
  readonly retries: number
  /** Retries the window allows in total right now: max(minPerSecond * window, ratio * requests). */
  readonly allowed: number
  /** Retries still available right now. */
  readonly available: number
  /** Retries refused because the budget was spent, since the client was created. */
  readonly refused: number
}

const REQUESTS = 0
const RETRIES = 1

export class RetryBudget {
  readonly options: ResolvedRetryBudgetOptions
  private readonly counts: RollingCounts
  /** Retries always allowed in one window: minPerSecond × window seconds. */
  private readonly floor: number
  private refused = 0

  /**
   * @param now milliseconds on a monotonic clock; `performance.now` unless a test injects one
   * @param buckets how many slices the window is cut into; the window slides by windowMs / buckets
   */
  constructor(options: ResolvedRetryBudgetOptions, now: () => number = () => performance.now(), buckets = 10) {
    this.options = options
    this.counts = new RollingCounts(2, options.windowMs, buckets, now)
    this.floor = (options.minPerSecond * options.windowMs) / 1000
  }

  /** Counts a first attempt: every request earns `ratio` of a retry. */
  recordRequest(): void {
    this.counts.add(REQUESTS)
  }

  /** Takes one retry from the budget. Returns false (and counts a refusal) when it is spent. */
  tryRetry(): boolean {
    // A retry must be covered whole: with 7 requests at 20% (1.4 retries) one retry fits, not two.
    if (this.counts.total(RETRIES) + 1 > this.allowed()) {
      this.refused += 1
      return false
    }
    this.counts.add(RETRIES)
    return true
  }

  snapshot(): RetryBudgetSnapshot {
    const allowed = this.allowed()
    const retries = this.counts.total(RETRIES)
    return {
      ratio: this.options.ratio,
      minPerSecond: this.options.minPerSecond,
      windowMs: this.options.windowMs,
      requests: this.counts.total(REQUESTS),
      retries,
      allowed,
      available: Math.max(0, Math.floor(allowed - retries)),
      refused: this.refused,
    }
  }

  /** "At most ratio of the requests, with a floor": max, not a sum, so the ratio is a real ceiling under load. */
  private allowed(): number {
    return Math.max(this.floor, this.options.ratio * this.counts.total(REQUESTS))
  }
}
