/**
 * client.stats() (JSON and Prometheus text) against a real origin with a known latency
 * distribution (docs/observability.md, "Per-origin statistics").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK, closedPort } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { originHandler } from '../support/observability-origin.js'

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer(originHandler())
})
afterAll(async () => {
  await server.close()
})

/** The nearest-rank percentile (the definition the histogram documents). */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!
}

/** Runs `jobs` with at most `width` in flight. */
async function bounded<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++
      out[i] = await jobs[i]!()
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  return out
}

describe('stats()', () => {
  it('latency percentiles match a known distribution (40 calls sleeping 10…100 ms)', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, name: 'latency' })
    // Four calls at each of 10, 20, …, 100 ms, in a scrambled order, eight at a time.
    const sleeps = Array.from({ length: 40 }, (_, i) => ((i * 7) % 10) * 10 + 10)
    const durations = await bounded(
      sleeps.map((ms) => async () => {
        const res = await client.fetch(`${server.origin}/slow?ms=${ms}`)
        await res.text()
        return getCallInfo(res)!.durationMs!
      }),
      8,
    )
    const latency = client.stats().origins![server.origin]!.latencyMs
    const sorted = [...durations].sort((a, b) => a - b)
    expect(latency.count).toBe(40)
    expect(latency.max).toBeCloseTo(sorted.at(-1)!, 2)
    expect(latency.mean).toBeCloseTo(durations.reduce((a, b) => a + b, 0) / 40, 2)
    const sleepsSorted = [...sleeps].sort((a, b) => a - b)
    for (const [key, q] of [
      ['p50', 0.5],
      ['p90', 0.9],
      ['p99', 0.99],
    ] as const) {
      const exact = exactQuantile(sorted, q)
      // Histogram buckets: the reported value is within 1/32 of the sample at that rank.
      expect(Math.abs(latency[key]! - exact) / exact, `${key}: ${latency[key]} vs ${exact}`).toBeLessThanOrEqual(1 / 32 + 1e-9)
      // And no call can be faster than the sleep the origin was told to do.
      expect(latency[key]!, key).toBeGreaterThanOrEqual(exactQuantile(sleepsSorted, q) * (1 - 1 / 32) - 1)
    }
    await client.close()
  })

  it('counts calls, errors by code, status classes, retries, bytes per origin, plus the resilience state', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, name: 'counts', retry: { backoff: { base: 1, cap: 2 } } })
    const port = await closedPort()
    await (await client.fetch(`${server.origin}/status/200`)).text() // 'status 200' = 10 bytes
    await (await client.fetch(`${server.origin}/status/404`)).text()
    await (await client.fetch(`${server.origin}/status/500`, { retry: false })).text()
    await (await client.fetch(`${server.origin}/flaky/counted?fail=1`)).text() // 'attempt 2' = 9 bytes
    await rejectsWith(client.fetch(`http://127.0.0.1:${port}/`, { retry: false }), 'ERR_NETWORK')
    const stats = client.stats()
    expect(stats).toMatchObject({ name: 'counts', windowMs: 300_000, bucketMs: 30_000, switches: expect.any(Object) })
    expect(stats).toHaveProperty('retryBudget')
    expect(stats).toHaveProperty('breakers')
    expect(stats).toHaveProperty('concurrency')
    expect(stats.origins![server.origin]).toMatchObject({
      calls: 4,
      errors: 0,
      errorsByCode: {},
      status: { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 1 },
      retries: 1,
      bytes: 'status 200'.length + 'status 404'.length + 'status 500'.length + 'attempt 2'.length,
      cache: { hit: 0, miss: 0, hitRatio: null },
    })
    expect(stats.origins![`http://127.0.0.1:${port}`]).toMatchObject({ calls: 1, errors: 1, errorsByCode: { ERR_NETWORK: 1 } })
    await client.close()
  })

  it('cache hit ratio over the window', async () => {
    const client = createClient({ ...LOOPBACK, name: 'cached' })
    for (let i = 0; i < 4; i++) await (await client.fetch(`${server.origin}/cacheable?ratio`)).text()
    const cache = client.stats().origins![server.origin]!.cache
    expect(cache).toMatchObject({ miss: 1, hit: 3, hitRatio: 0.75 })
    await client.close()
  })

  it('stats: false keeps the resilience part and no origins', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, stats: false })
    await (await client.fetch(`${server.origin}/status/200`)).text()
    const stats = client.stats()
    expect(stats.origins ?? {}).toEqual({})
    expect(stats.name).toBe('safefetch')
    expect(client.stats({ format: 'prometheus' })).toBe('')
    await client.close()
  })
})

/** Prometheus text format 0.0.4, line by line. */
const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|NaN|[+-]Inf)'
const SAMPLE = new RegExp(`^(${METRIC_NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (${VALUE})(?: -?\\d+)?$`)
const HELP = new RegExp(`^# HELP (${METRIC_NAME}) .*$`)
const TYPE = new RegExp(`^# TYPE (${METRIC_NAME}) (counter|gauge|summary|histogram|untyped)$`)

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses and checks the exposition: every line well formed, TYPE before samples, families contiguous. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  expect(text.endsWith('\n')).toBe(true)
  const types = new Map<string, string>()
  const samples: Sample[] = []
  const closed = new Set<string>()
  let current: string | undefined
  for (const line of text.slice(0, -1).split('\n')) {
    let family: string
    const type = TYPE.exec(line)
    const help = HELP.exec(line)
    const sample = SAMPLE.exec(line)
    if (type !== null) {
      family = type[1]!
      expect(types.has(family), `second TYPE for ${family}`).toBe(false)
      types.set(family, type[2]!)
    } else if (help !== null) {
      family = help[1]!
    } else {
      expect(sample, `malformed line: ${JSON.stringify(line)}`).not.toBeNull()
      const name = sample![1]!
      family = types.has(name) ? name : name.replace(/_(sum|count|bucket)$/, '')
      expect(types.has(family), `sample ${name} before its TYPE`).toBe(true)
      const labels: Record<string, string> = {}
      for (const m of (sample![2] ?? '').matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`, 'g'))) {
        labels[m[1]!] = m[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c))
      }
      const raw = sample![3]!
      samples.push({ name, labels, value: raw === 'NaN' ? NaN : raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) })
    }
    if (family !== current) {
      expect(closed.has(family), `family ${family} is not contiguous`).toBe(false)
      if (current !== undefined) closed.add(current)
      current = family
    }
  }
  return { samples, types }
}

describe("stats({ format: 'prometheus' })", () => {
  it('is well-formed exposition text whose numbers agree with the JSON snapshot', async () => {
    const name = 'prom "quoted" \\ name'
    const client = createClient({ ...LOOPBACK, name })
    const port = await closedPort()
    for (let i = 0; i < 3; i++) await (await client.fetch(`${server.origin}/cacheable?prom`)).text()
    await (await client.fetch(`${server.origin}/status/503`, { retry: false, cache: false })).text()
    await rejectsWith(client.fetch(`http://127.0.0.1:${port}/`, { retry: false }), 'ERR_NETWORK')
    const text = client.stats({ format: 'prometheus' })
    const { samples, types } = parsePrometheus(text)
    expect(Object.fromEntries(types)).toEqual({
      safefetch_calls_total: 'counter',
      safefetch_errors_total: 'counter',
      safefetch_responses_total: 'counter',
      safefetch_retries_total: 'counter',
      safefetch_cache_total: 'counter',
      safefetch_response_bytes_total: 'counter',
      safefetch_cache_hit_ratio: 'gauge',
      safefetch_call_duration_seconds: 'summary',
    })
    expect(samples.every((s) => s.labels.client === name)).toBe(true)
    const find = (metric: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === metric && s.labels.origin === server.origin && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    const json = client.stats().origins![server.origin]!
    expect(find('safefetch_calls_total')[0]!.value).toBe(json.calls)
    expect(json.calls).toBe(4)
    expect(find('safefetch_responses_total', { status_class: '2xx' })[0]!.value).toBe(3)
    expect(find('safefetch_responses_total', { status_class: '5xx' })[0]!.value).toBe(1)
    expect(find('safefetch_cache_total', { result: 'hit' })[0]!.value).toBe(2)
    expect(find('safefetch_cache_hit_ratio')[0]!.value).toBeCloseTo(2 / 3, 9) // JSON rounds it: 0.6667
    expect(json.cache.hitRatio).toBeCloseTo(2 / 3, 3)
    expect(find('safefetch_response_bytes_total')[0]!.value).toBe(json.bytes)
    expect(find('safefetch_call_duration_seconds_count')[0]!.value).toBe(4)
    expect(find('safefetch_call_duration_seconds_sum')[0]!.value).toBeCloseTo((json.latencyMs.mean! * 4) / 1000, 5) // JSON rounds to the µs
    for (const [quantile, key] of [
      ['0.5', 'p50'],
      ['0.9', 'p90'],
      ['0.99', 'p99'],
    ] as const) {
      expect(find('safefetch_call_duration_seconds', { quantile })[0]!.value).toBeCloseTo(json.latencyMs[key]! / 1000, 5)
    }
    const failed = samples.find((s) => s.name === 'safefetch_errors_total' && s.labels.origin === `http://127.0.0.1:${port}`)
    expect(failed).toMatchObject({ labels: { code: 'ERR_NETWORK' }, value: 1 })
    await client.close()
  })
})
