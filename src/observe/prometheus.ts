/**
 * Prometheus text exposition format (version 0.0.4) for a client's per-origin statistics.
 * https://prometheus.io/docs/instrumenting/exposition_formats/
 *
 * Counters (`_total`) count since the origin was first seen by this client, as Prometheus expects
 * (monotonic; a drop means a reset, e.g. after an LRU eviction, which `rate()` handles). The call
 * duration is a summary: quantiles over the sliding window, `_sum`/`_count` since first seen.
 * The cache hit ratio is a gauge over the window.
 */
import type { OriginCounters } from './host-stats.js'
import { CACHE_RESULTS, STATUS_CLASSES, type StatCounters } from './stat-counters.js'

interface PrometheusOptions {
  /** Added as a `client` label to every sample (the client's `name`). */
  client?: string
  /** Metric name prefix. Default `safefetch`. */
  prefix?: string
}

/** Label values escape backslash, double quote and line feed (exposition format, "Comments, help text, and type information"). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text escapes backslash and line feed only. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

/** Go's strconv-style number text Prometheus parses: integers plain, NaN/±Inf spelled out. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

type Labels = readonly (readonly [string, string])[]

function labelText(labels: Labels): string {
  if (labels.length === 0) return ''
  let out = '{'
  for (let i = 0; i < labels.length; i++) {
    const [name, value] = labels[i]!
    if (i > 0) out += ','
    out += `${name}="${escapeLabelValue(value)}"`
  }
  return out + '}'
}

class Family {
  private readonly lines: string[] = []
  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge' | 'summary',
    readonly help: string,
  ) {}

  sample(labels: Labels, value: number, suffix = ''): void {
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${formatValue(value)}`)
  }

  render(): string {
    if (this.lines.length === 0) return ''
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n${this.lines.join('\n')}\n`
  }
}

/** Renders per-origin counters as Prometheus text. Every family is contiguous, as the format requires. */
export function formatPrometheus(counters: ReadonlyMap<string, OriginCounters>, options: PrometheusOptions = {}): string {
  const p = options.prefix ?? 'safefetch'
  const calls = new Family(`${p}_calls_total`, 'counter', 'Calls finished, by origin.')
  const errors = new Family(`${p}_errors_total`, 'counter', 'Calls that ended with an error, by origin and error code.')
  const responses = new Family(`${p}_responses_total`, 'counter', 'Final responses, by origin and status class.')
  const retries = new Family(`${p}_retries_total`, 'counter', 'Extra attempts made by the retry layer, by origin.')
  const cache = new Family(`${p}_cache_total`, 'counter', 'Calls by cache result (hit, miss, revalidated, stale, bypass), by origin.')
  const bytes = new Family(`${p}_response_bytes_total`, 'counter', 'Decoded response body bytes delivered, by origin.')
  const hitRatio = new Family(`${p}_cache_hit_ratio`, 'gauge', 'Cache hits (hit, stale, revalidated) over lookups in the sliding window, by origin.')
  const duration = new Family(
    `${p}_call_duration_seconds`,
    'summary',
    'Call duration in seconds; quantiles over the sliding window, sum and count since the origin was first seen.',
  )
  const base: [string, string][] = options.client === undefined ? [] : [['client', options.client]]

  for (const [origin, { window, totals }] of counters) {
    const labels: Labels = [...base, ['origin', origin]]
    calls.sample(labels, totals.calls)
    for (const [code, n] of totals.errorsByCode) errors.sample([...labels, ['code', code]], n)
    for (const c of STATUS_CLASSES) if (totals.status[c] > 0) responses.sample([...labels, ['status_class', c]], totals.status[c])
    retries.sample(labels, totals.retries)
    for (const r of CACHE_RESULTS) if (totals.cache[r] > 0) cache.sample([...labels, ['result', r]], totals.cache[r])
    bytes.sample(labels, totals.bytes)
    const ratio = hitRatioOf(window)
    if (ratio !== undefined) hitRatio.sample(labels, ratio)
    for (const q of [0.5, 0.9, 0.99]) {
      const ms = window.latency.quantile(q)
      duration.sample([...labels, ['quantile', String(q)]], ms === undefined ? NaN : ms / 1000)
    }
    duration.sample(labels, totals.latency.sumMs / 1000, '_sum')
    duration.sample(labels, totals.latency.count, '_count')
  }
  return [calls, errors, responses, retries, cache, bytes, hitRatio, duration].map((f) => f.render()).join('')
}

function hitRatioOf(counters: StatCounters): number | undefined {
  const c = counters.cache
  const hits = c.hit + c.stale + c.revalidated
  const lookups = hits + c.miss
  return lookups === 0 ? undefined : hits / lookups
}
