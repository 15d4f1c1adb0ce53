/**
 * A latency histogram with fixed log-linear buckets (the HdrHistogram layout): values are kept
 * as whole microseconds; below 32 µs every value has its own bucket, above that each power of two
 * is cut into 16 equal buckets. A bucket is at most 1/16 of its lower bound wide, so reporting its
 * midpoint is within 1/32 ≈ 3.1 % of any value that fell in it — without storing samples.
 *
 * 464 buckets cover 0 µs to 2^32 µs (≈ 71 minutes); larger values land in the last bucket.
 * Counts live in one lazily allocated Uint32Array (~1.9 KB), so an idle histogram costs ~100 bytes.
 * Fixed buckets are what make histograms mergeable across time slots and across processes.
 */

const SUB_BITS = 4
const SUB_COUNT = 1 << SUB_BITS // 16 buckets per power of two
const MAX_MICROS = 2 ** 32 - 1
export const BUCKET_COUNT = (32 - SUB_BITS + 1) * SUB_COUNT // 464

/** Bucket index of a value in whole microseconds (clamped to [0, 2^32 - 1]). */
export function bucketIndex(micros: number): number {
  if (!(micros > 0)) return 0
  const u = micros >= MAX_MICROS ? MAX_MICROS : Math.floor(micros)
  if (u < SUB_COUNT) return u
  const exponent = 31 - Math.clz32(u) // 4..31
  const sub = (u >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1)
  return (exponent - SUB_BITS + 1) * SUB_COUNT + sub
}

/** Smallest microsecond value of a bucket. */
export function bucketLowerBound(index: number): number {
  const group = index >>> SUB_BITS
  if (group === 0) return index
  const sub = index & (SUB_COUNT - 1)
  return (SUB_COUNT + sub) * 2 ** (group - 1)
}

/** How many whole-microsecond values a bucket holds. */
export function bucketWidth(index: number): number {
  const group = index >>> SUB_BITS
  return group === 0 ? 1 : 2 ** (group - 1)
}

/** The value reported for a bucket: its midpoint (its only value when the bucket is one µs wide). */
export function bucketValue(index: number): number {
  return bucketLowerBound(index) + (bucketWidth(index) - 1) / 2
}

export class LatencyHistogram {
  private counts: Uint32Array | undefined = undefined
  count = 0
  /** Sum of recorded values in milliseconds (for the mean and Prometheus `_sum`). */
  sumMs = 0
  minMs = Infinity
  maxMs = 0

  /** Records one value in milliseconds. Negative and NaN values count as 0. */
  record(ms: number): void {
    const value = ms > 0 ? ms : 0
    const counts = (this.counts ??= new Uint32Array(BUCKET_COUNT))
    counts[bucketIndex(Math.round(value * 1000))]!++
    this.count++
    this.sumMs += value
    if (value < this.minMs) this.minMs = value
    if (value > this.maxMs) this.maxMs = value
  }

  /** Adds `count` values that fell in bucket `index` (used when merging from elsewhere, e.g. Redis). */
  addBucket(index: number, count: number, sumMs?: number): void {
    if (count <= 0 || index < 0 || index >= BUCKET_COUNT) return
    const counts = (this.counts ??= new Uint32Array(BUCKET_COUNT))
    counts[index]! += count
    this.count += count
    const value = bucketValue(index) / 1000
    if (sumMs !== undefined) this.sumMs += sumMs
    if (value < this.minMs) this.minMs = value
    if (value > this.maxMs) this.maxMs = value
  }

  merge(other: LatencyHistogram): void {
    const theirs = other.counts
    if (theirs === undefined || other.count === 0) return
    const counts = (this.counts ??= new Uint32Array(BUCKET_COUNT))
    for (let i = 0; i < BUCKET_COUNT; i++) counts[i]! += theirs[i]!
    this.count += other.count
    this.sumMs += other.sumMs
    if (other.minMs < this.minMs) this.minMs = other.minMs
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs
  }

  /** Calls `fn` for every non-empty bucket. */
  forEachBucket(fn: (index: number, count: number) => void): void {
    const counts = this.counts
    if (counts === undefined) return
    for (let i = 0; i < BUCKET_COUNT; i++) if (counts[i] !== 0) fn(i, counts[i]!)
  }

  /**
   * The value (ms) at quantile `q` in [0, 1]: the midpoint of the bucket holding the sample of rank
   * ceil(q·count), clamped to the observed min and max (the lowest and highest ranks are exact). undefined when empty.
   */
  quantile(q: number): number | undefined {
    const counts = this.counts
    if (counts === undefined || this.count === 0) return undefined
    const rank = Math.max(1, Math.ceil(q * this.count))
    // The extremes are known exactly.
    if (rank >= this.count) return this.maxMs
    if (rank === 1) return this.minMs
    let seen = 0
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += counts[i]!
      if (seen >= rank) {
        const ms = bucketValue(i) / 1000
        return ms < this.minMs ? this.minMs : ms > this.maxMs ? this.maxMs : ms
      }
    }
    return this.maxMs
  }

  reset(): void {
    this.counts?.fill(0)
    this.count = 0
    this.sumMs = 0
    this.minMs = Infinity
    this.maxMs = 0
  }
}
