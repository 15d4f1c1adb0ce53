import { describe, expect, it } from 'vitest'
import { HostStats, resolveStatsOptions } from '../../src/observe/host-stats.js'
import { escapeHelp, escapeLabelValue, formatPrometheus, formatValue } from '../../src/observe/prometheus.js'
import type { CallSample } from '../../src/observe/stat-counters.js'

const ok = (over: Partial<CallSample> = {}): CallSample => ({ status: 200, attempts: 1, redirects: 0, bytes: 10, durationMs: 20, attemptLog: [], ...over })

describe('escaping', () => {
  const labels: [string, string][] = [
    ['plain', 'plain'],
    ['a"b', 'a\\"b'],
    ['a\\b', 'a\\\\b'],
    ['a\nb', 'a\\nb'],
    ['\\"\n', '\\\\\\"\\n'],
  ]
  it.each(labels)('label value %j → %j', (input, expected) => {
    expect(escapeLabelValue(input)).toBe(expected)
  })

  it('HELP escapes backslash and newline but not quotes', () => {
    expect(escapeHelp('a "b" \\ c\nd')).toBe('a "b" \\\\ c\\nd')
  })

  const values: [number, string][] = [
    [0, '0'],
    [12, '12'],
    [0.25, '0.25'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ]
  it.each(values)('value %d → %s', (input, expected) => {
    expect(formatValue(input)).toBe(expected)
  })
})

/** A minimal parser of the text format: families with HELP/TYPE, then their samples. */
function parse(text: string): Map<string, { type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }> {
  const families = new Map<string, { type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }>()
  let current: string | undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const help = /^# HELP (\S+) (.*)$/.exec(line)
    if (help) {
      expect(families.has(help[1]!), `family ${help[1]} appears twice`).toBe(false)
      families.set(help[1]!, { type: '', help: help[2]!, samples: [] })
      current = help[1]
      continue
    }
    const type = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line)
    if (type) {
      expect(type[1]).toBe(current)
      families.get(current!)!.type = type[2]!
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line)
    expect(sample, `not a sample line: ${line}`).not.toBeNull()
    const name = sample![1]!
    expect(name.startsWith(current!), `${name} outside its family ${current}`).toBe(true)
    const labels: Record<string, string> = {}
    for (const m of (sample![3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    }
    families.get(current!)!.samples.push({ name, labels, value: sample![4] === 'NaN' ? NaN : Number(sample![4]) })
  }
  return families
}

describe('formatPrometheus', () => {
  it('renders counters, a hit-ratio gauge and a duration summary per origin, each family once', () => {
    let t = 0
    const stats = new HostStats(resolveStatsOptions({ windowMs: 10_000, buckets: 10 }), () => t)
    const a = 'https://a.example.test'
    const b = 'http://b.example.test:8080'
    stats.record(a, ok({ cache: 'miss', durationMs: 100 }))
    stats.record(a, ok({ cache: 'hit', durationMs: 1, attempts: 0 }))
    stats.record(a, ok({ status: 503, durationMs: 300 }))
    stats.record(b, { errorCode: 'ERR_DNS', attempts: 1, redirects: 0, bytes: 0, durationMs: 5, attemptLog: [] })
    t = 5_000
    const text = formatPrometheus(stats.counters(), { client: 'billing "eu"\\1' })
    const families = parse(text)
    expect([...families.keys()]).toEqual([
      'safefetch_calls_total',
      'safefetch_errors_total',
      'safefetch_responses_total',
      'safefetch_retries_total',
      'safefetch_cache_total',
      'safefetch_response_bytes_total',
      'safefetch_cache_hit_ratio',
      'safefetch_call_duration_seconds',
    ])
    const get = (family: string, labels: Record<string, string>, suffix = ''): number | undefined =>
      families.get(family)!.samples.find((s) => s.name === family + suffix && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
    expect(families.get('safefetch_calls_total')!.type).toBe('counter')
    expect(get('safefetch_calls_total', { origin: a, client: 'billing "eu"\\1' })).toBe(3)
    expect(get('safefetch_calls_total', { origin: b })).toBe(1)
    expect(get('safefetch_errors_total', { origin: b, code: 'ERR_DNS' })).toBe(1)
    expect(get('safefetch_responses_total', { origin: a, status_class: '2xx' })).toBe(2)
    expect(get('safefetch_responses_total', { origin: a, status_class: '5xx' })).toBe(1)
    expect(get('safefetch_cache_total', { origin: a, result: 'hit' })).toBe(1)
    expect(get('safefetch_response_bytes_total', { origin: a })).toBe(30)
    expect(families.get('safefetch_cache_hit_ratio')!.type).toBe('gauge')
    expect(get('safefetch_cache_hit_ratio', { origin: a })).toBe(0.5)
    expect(get('safefetch_cache_hit_ratio', { origin: b })).toBeUndefined()
    expect(families.get('safefetch_call_duration_seconds')!.type).toBe('summary')
    expect(get('safefetch_call_duration_seconds', { origin: a, quantile: '0.5' })).toBeCloseTo(0.1, 2)
    expect(get('safefetch_call_duration_seconds', { origin: a, quantile: '0.99' })).toBeCloseTo(0.3, 2)
    expect(get('safefetch_call_duration_seconds', { origin: a }, '_sum')).toBeCloseTo(0.401, 6)
    expect(get('safefetch_call_duration_seconds', { origin: a }, '_count')).toBe(3)
    // The raw text escapes the quote and backslash of the client label.
    expect(text).toContain('client="billing \\"eu\\"\\\\1"')
    expect(text.endsWith('\n')).toBe(true)
  })

  it('keeps counters after the window has emptied; quantiles become NaN', () => {
    let t = 0
    const stats = new HostStats(resolveStatsOptions({ windowMs: 1_000, buckets: 1 }), () => t)
    stats.record('https://a.test', ok())
    t = 60_000
    const families = parse(formatPrometheus(stats.counters()))
    expect(families.get('safefetch_calls_total')!.samples[0]!.value).toBe(1)
    expect(families.get('safefetch_call_duration_seconds')!.samples.find((s) => s.labels.quantile === '0.5')!.value).toBeNaN()
  })

  it('renders nothing without origins', () => {
    expect(formatPrometheus(new Map())).toBe('')
  })
})
