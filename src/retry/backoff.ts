/**
 * Exponential backoff with "full jitter": the delay before retry n (0-based) is drawn uniformly
 * from [0, min(cap, base * 2^n)). Spreading retries over the whole interval is what keeps many
 * clients that failed together from retrying together (AWS Architecture Blog, "Exponential
 * Backoff And Jitter", 2015: full jitter does the least total work of the variants compared).
 */

/**
 * @param retryIndex 0 for the first retry, 1 for the second...
 * @param base milliseconds, the ceiling for the first retry
 * @param cap milliseconds, the ceiling for any retry
 * @param random a number in [0, 1), injected so tables can test the bounds
 * @returns whole milliseconds
 */
export function backoffDelay(retryIndex: number, base: number, cap: number, random: () => number): number {
  // 2^n overflows to Infinity for large n and min() keeps it at the cap; base 0 is tested apart
  // because 0 * Infinity is NaN.
  if (base <= 0 || cap <= 0) return 0
  const ceiling = Math.min(cap, base * 2 ** retryIndex)
  return Math.floor(random() * ceiling)
}
