/**
 * The counters kept for one origin over one time slot (or merged over a window, or read back from
 * Redis): one shape, so local stats, Prometheus output and fleet stats agree on every number.
 */
import type { CacheStatus, CallRecord } from '../types.js'
import { BUCKET_COUNT, LatencyHistogram } from './histogram.js'

/** What one finished call contributes; a CallRecord has all of it. */
export type CallSample = Pick<CallRecord, 'status' | 'errorCode' | 'attempts' | 'redirects' | 'cache' | 'bytes' | 'durationMs' | 'attemptLog'>

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const
export type StatusClass = (typeof STATUS_CLASSES)[number]
export const CACHE_RESULTS = ['hit', 'miss', 'revalidated', 'stale', 'bypass'] as const satisfies readonly CacheStatus[]

/**
 * Retries of one call: attempts that were followed by another attempt for a retry reason.
 * Falls back to counting attempts beyond one per hop when the retry layer left no reasons.
 */
export function retriesOf(sample: Pick<CallRecord, 'attempts' | 'redirects' | 'attemptLog'>): number {
  let reasons = 0
  const log = sample.attemptLog
  for (let i = 0; i < log.length; i++) if (log[i]!.retryReason !== undefined) reasons++
  if (reasons > 0) return reasons
  const extra = sample.attempts - sample.redirects - 1
  return extra > 0 ? extra : 0
}

export interface OriginStats {
  /** Calls finished in the window. */
  calls: number
  /** Calls that ended with an error (no response, or the body failed). */
  errors: number
  errorsByCode: Record<string, number>
  /** Final responses by status class. */
  status: Record<StatusClass, number>
  /** Extra attempts made by the retry layer. */
  retries: number
  /** Calls by cache result; hitRatio = (hit + stale + revalidated) / (those + miss), null without lookups. */
  cache: Record<(typeof CACHE_RESULTS)[number], number> & { hitRatio: number | null }
  /** Decoded body bytes delivered to callers. */
  bytes: number
  /** Call duration in milliseconds; percentiles within ~3 % (log-linear buckets). */
  latencyMs: { count: number; mean: number | null; p50: number | null; p90: number | null; p99: number | null; max: number | null }
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export class StatCounters {
  calls = 0
  errors = 0
  readonly errorsByCode = new Map<string, number>()
  readonly status: Record<StatusClass, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }
  retries = 0
  readonly cache: Record<(typeof CACHE_RESULTS)[number], number> = { hit: 0, miss: 0, revalidated: 0, stale: 0, bypass: 0 }
  bytes = 0
  readonly latency = new LatencyHistogram()

  add(sample: CallSample): void {
    this.calls++
    const code = sample.errorCode
    if (code !== undefined) {
      this.errors++
      this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + 1)
    }
    const status = sample.status
    if (status !== undefined && status >= 100 && status < 600) this.status[STATUS_CLASSES[((status / 100) | 0) - 1]!]++
    this.retries += retriesOf(sample)
    if (sample.cache !== undefined) this.cache[sample.cache]++
    this.bytes += sample.bytes
    if (sample.durationMs !== undefined) this.latency.record(sample.durationMs)
  }

  merge(other: StatCounters): void {
    this.calls += other.calls
    this.errors += other.errors
    for (const [code, n] of other.errorsByCode) this.errorsByCode.set(code, (this.errorsByCode.get(code) ?? 0) + n)
    for (const c of STATUS_CLASSES) this.status[c] += other.status[c]
    this.retries += other.retries
    for (const c of CACHE_RESULTS) this.cache[c] += other.cache[c]
    this.bytes += other.bytes
    this.latency.merge(other.latency)
  }

  reset(): void {
    this.calls = 0
    this.errors = 0
    this.errorsByCode.clear()
    for (const c of STATUS_CLASSES) this.status[c] = 0
    this.retries = 0
    for (const c of CACHE_RESULTS) this.cache[c] = 0
    this.bytes = 0
    this.latency.reset()
  }

  toJSON(): OriginStats {
    const cache = this.cache
    const hits = cache.hit + cache.stale + cache.revalidated
    const lookups = hits + cache.miss
    const latency = this.latency
    const q = (p: number): number | null => {
      const v = latency.quantile(p)
      return v === undefined ? null : round(v)
    }
    return {
      calls: this.calls,
      errors: this.errors,
      errorsByCode: Object.fromEntries(this.errorsByCode),
      status: { ...this.status },
      retries: this.retries,
      cache: { ...cache, hitRatio: lookups === 0 ? null : round(hits / lookups, 4) },
      bytes: this.bytes,
      latencyMs: {
        count: latency.count,
        mean: latency.count === 0 ? null : round(latency.sumMs / latency.count),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        max: latency.count === 0 ? null : round(latency.maxMs),
      },
    }
  }

  /**
   * Integer fields for a Redis hash (HINCRBY only takes integers): latency sum in µs, histogram
   * buckets as `h<index>`. Zero fields are left out.
   */
  toFields(): [string, number][] {
    const out: [string, number][] = []
    const put = (name: string, n: number): void => {
      if (n !== 0) out.push([name, n])
    }
    put('calls', this.calls)
    put('errors', this.errors)
    for (const [code, n] of this.errorsByCode) put(`e:${code}`, n)
    for (const c of STATUS_CLASSES) put(`s:${c}`, this.status[c])
    put('retries', this.retries)
    for (const c of CACHE_RESULTS) put(`c:${c}`, this.cache[c])
    put('bytes', this.bytes)
    put('lsum', Math.round(this.latency.sumMs * 1000))
    this.latency.forEachBucket((index, n) => put(`h${index}`, n))
    return out
  }

  /** The inverse of toFields(), one field at a time; unknown fields are ignored (newer writers). */
  addField(name: string, n: number): void {
    if (!Number.isFinite(n) || n === 0) return
    if (name === 'calls') this.calls += n
    else if (name === 'errors') this.errors += n
    else if (name === 'retries') this.retries += n
    else if (name === 'bytes') this.bytes += n
    else if (name === 'lsum') this.latency.sumMs += n / 1000
    else if (name.startsWith('e:')) this.errorsByCode.set(name.slice(2), (this.errorsByCode.get(name.slice(2)) ?? 0) + n)
    else if (name.startsWith('s:')) {
      const c = name.slice(2) as StatusClass
      if (Object.hasOwn(this.status, c)) this.status[c] += n
    } else if (name.startsWith('c:')) {
      const c = name.slice(2) as (typeof CACHE_RESULTS)[number]
      if (Object.hasOwn(this.cache, c)) this.cache[c] += n
    } else if (name.charCodeAt(0) === 104 /* h */) {
      const index = Number(name.slice(1))
      if (Number.isInteger(index) && index < BUCKET_COUNT) this.latency.addBucket(index, n)
    }
  }
}
