/** Cases added by features (logging, tracing, caching); each measured against the same baseline. */
import type { BenchCase } from './bench.js'

export async function extraCases(): Promise<BenchCase[]> {
  return []
}
