/**
 * OpenTelemetry through the real client: the SDK's in-memory span exporter and a MeterProvider
 * with an in-memory metric exporter (docs/observability.md, "OpenTelemetry"). Spans follow the
 * HTTP client semantic conventions: https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { DataPointType, type HistogramMetricData } from '@opentelemetry/sdk-metrics'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, type ClientOptions } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK, closedPort } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { type Echo } from '../support/replies.js'
import { originHandler } from '../support/observability-origin.js'
import { metrics, tracing, type Tracing } from '../support/telemetry.js'

const INTERNAL = 0
const CLIENT = 2
const STATUS_ERROR = 2

let server: TestServer
let trace: Tracing
beforeAll(async () => {
  server = await startHttpServer(originHandler())
  trace = tracing()
})
afterAll(async () => {
  await server.close()
})
beforeEach(() => trace.reset())

function clientWith(options: ClientOptions = {}) {
  return createClient({ ...LOOPBACK, cache: false, name: 'traced', tracer: trace.tracer, retry: { backoff: { base: 1, cap: 2 } }, ...options })
}

/** The call's INTERNAL span and its CLIENT children, in start order; checks the parentage. */
function callSpans(callId: string): { call: ReadableSpan; requests: ReadableSpan[] } {
  const spans = trace.spans()
  const calls = spans.filter((s) => s.attributes['safefetch.call.id'] === callId)
  expect(calls).toHaveLength(1)
  const call = calls[0]!
  expect(call.kind).toBe(INTERNAL)
  const requests = spans
    .filter((s) => s.parentSpanContext?.spanId === call.spanContext().spanId)
    .sort((a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + (a.startTime[1] - b.startTime[1]))
  for (const span of requests) {
    expect(span.kind).toBe(CLIENT)
    expect(span.spanContext().traceId).toBe(call.spanContext().traceId)
  }
  return { call, requests }
}

describe('spans', () => {
  it('one INTERNAL span per call with one CLIENT child per request, semconv attributes', async () => {
    const client = clientWith()
    const res = await client.fetch(`${server.origin}/items?token=TOKEN-SECRET&page=1`)
    await res.text()
    const info = getCallInfo(res)!
    const { call, requests } = callSpans(info.id)
    const url = `${server.origin}/items?token=REDACTED&page=1`
    expect(call.name).toBe('safefetch GET')
    expect(call.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.full': url,
      'http.response.status_code': 200,
      'safefetch.call.id': info.id,
      'safefetch.client': 'traced',
      'safefetch.attempts': 1,
      'safefetch.redirects': 0,
    })
    expect(call.attributes).not.toHaveProperty('error.type')
    expect(requests).toHaveLength(1)
    const request = requests[0]!
    expect(request.name).toBe('GET')
    expect(request.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'url.full': url,
      'http.response.status_code': 200,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': server.port,
    })
    expect(request.status.code).not.toBe(STATUS_ERROR)
    // The CLIENT span ends when its body has been read, inside the call's span.
    expect(request.ended && call.ended).toBe(true)
    await client.close()
  })

  it('retries: a CLIENT span per attempt, http.request.resend_count on the resends, error.type on the 503', async () => {
    const client = clientWith()
    const res = await client.fetch(`${server.origin}/flaky/spans?fail=2`)
    await res.text()
    const { call, requests } = callSpans(getCallInfo(res)!.id)
    expect(requests.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 503, 200])
    expect(requests.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2])
    expect(requests.map((s) => s.attributes['error.type'])).toEqual(['503', '503', undefined])
    expect(requests.map((s) => s.status.code === STATUS_ERROR)).toEqual([true, true, false])
    expect(call.attributes).toMatchObject({ 'safefetch.attempts': 3, 'http.response.status_code': 200 })
    expect(call.status.code).not.toBe(STATUS_ERROR)
    await client.close()
  })

  it('redirects: each hop is a CLIENT span with its own url.full and a resend_count', async () => {
    const client = clientWith()
    const res = await client.fetch(`${server.origin}/redirect?to=/landing`)
    await res.text()
    const { call, requests } = callSpans(getCallInfo(res)!.id)
    expect(requests.map((s) => s.attributes['url.full'])).toEqual([`${server.origin}/redirect?to=/landing`, `${server.origin}/landing`])
    expect(requests.map((s) => s.attributes['http.response.status_code'])).toEqual([302, 200])
    expect(requests.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1])
    expect(call.attributes['safefetch.redirects']).toBe(1)
    await client.close()
  })

  it('a failure without a response: error.type is our code, an exception event, status ERROR on both spans', async () => {
    const client = clientWith({ retry: false })
    const port = await closedPort()
    await rejectsWith(client.fetch(`http://127.0.0.1:${port}/down`), 'ERR_NETWORK')
    const spans = trace.spans()
    const call = spans.find((s) => s.kind === INTERNAL)!
    const request = spans.find((s) => s.kind === CLIENT)!
    expect(request.parentSpanContext?.spanId).toBe(call.spanContext().spanId)
    for (const span of [call, request]) {
      expect(span.attributes['error.type']).toBe('ERR_NETWORK')
      expect(span.attributes).not.toHaveProperty('http.response.status_code')
      expect(span.status.code).toBe(STATUS_ERROR)
      const exception = span.events.find((e) => e.name === 'exception')
      expect(exception?.attributes?.['exception.message']).toMatch(/127\.0\.0\.1/)
    }
    expect(request.attributes['server.port']).toBe(port)
    await client.close()
  })

  it('a 4xx/5xx final response: error.type is the status, span status ERROR', async () => {
    const client = clientWith({ retry: false })
    const res = await client.fetch(`${server.origin}/status/404`)
    await res.text()
    const { call, requests } = callSpans(getCallInfo(res)!.id)
    for (const span of [call, requests[0]!]) {
      expect(span.attributes['error.type']).toBe('404')
      expect(span.status.code).toBe(STATUS_ERROR)
    }
    await client.close()
  })

  it('a cache hit: the call span says so (attribute and event) and has no CLIENT span', async () => {
    const client = createClient({ ...LOOPBACK, tracer: trace.tracer })
    await (await client.fetch(`${server.origin}/cacheable?traced`)).text()
    const res = await client.fetch(`${server.origin}/cacheable?traced`)
    await res.text()
    const { call, requests } = callSpans(getCallInfo(res)!.id)
    expect(call.attributes).toMatchObject({ 'safefetch.cache': 'hit', 'safefetch.attempts': 0, 'http.response.status_code': 200 })
    expect(call.events.map((e) => [e.name, e.attributes?.['safefetch.cache']])).toContainEqual(['safefetch.cache', 'hit'])
    expect(requests).toHaveLength(0)
    await client.close()
  })

  it('a non-standard method: span name HTTP, http.request.method _OTHER with the original', async () => {
    const client = clientWith()
    const res = await client.fetch(`${server.origin}/purge`, { method: 'PURGE' })
    await res.text()
    const { call, requests } = callSpans(getCallInfo(res)!.id)
    expect(requests[0]!.name).toBe('HTTP')
    expect(call.name).toBe('safefetch PURGE')
    for (const span of [call, requests[0]!]) {
      expect(span.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PURGE' })
    }
    await client.close()
  })
})

describe('trace context propagation', () => {
  it('is off by default: no traceparent reaches the origin', async () => {
    const client = clientWith()
    const echo = (await (await client.fetch(`${server.origin}/echo`)).json()) as Echo
    expect(echo.headers).not.toHaveProperty('traceparent')
    expect(echo.headers).not.toHaveProperty('tracestate')
    await client.close()
  })

  it('with propagateTraceContext, every request carries its own CLIENT span id', async () => {
    const client = clientWith({ propagateTraceContext: true })
    const before = server.requests.length
    const res = await client.fetch(`${server.origin}/flaky/propagate?fail=1`)
    await res.text()
    const { requests } = callSpans(getCallInfo(res)!.id)
    const sent = server.requests.slice(before).map((r) => r.headers['traceparent'])
    expect(sent).toHaveLength(2)
    expect(sent).toEqual(requests.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`))
    expect(sent[0]).not.toBe(sent[1])
    await client.close()
  })

  it('keeps a traceparent the caller set', async () => {
    const client = clientWith({ propagateTraceContext: true })
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const echo = (await (await client.fetch(`${server.origin}/echo`, { headers: { traceparent: mine } })).json()) as Echo
    expect(echo.headers['traceparent']).toBe(mine)
    await client.close()
  })
})

describe('http.client.request.duration', () => {
  it('one measurement per physical request, in seconds, with semconv buckets and bounded attributes', async () => {
    const m = metrics()
    const client = createClient({ ...LOOPBACK, cache: false, meter: m.meter, retry: { backoff: { base: 1, cap: 2 } } })
    await (await client.fetch(`${server.origin}/slow?ms=150&token=TOKEN-SECRET`)).text()
    await (await client.fetch(`${server.origin}/flaky/metric?fail=1`)).text()
    const exported = await m.collect()
    const metric = exported!.scopeMetrics.flatMap((s) => s.metrics).find((x) => x.descriptor.name === 'http.client.request.duration') as HistogramMetricData
    expect(metric.descriptor.unit).toBe('s')
    expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM)
    const points = metric.dataPoints
    const byStatus = (status: number) => points.filter((p) => p.attributes['http.response.status_code'] === status)
    // 200 twice (slow + the retry's success), 503 once (the failed attempt).
    expect(byStatus(200).reduce((n, p) => n + p.value.count, 0)).toBe(2)
    expect(byStatus(503).reduce((n, p) => n + p.value.count, 0)).toBe(1)
    expect(byStatus(503)[0]!.attributes['error.type']).toBe('503')
    for (const point of points) {
      expect(Object.keys(point.attributes).sort()).toEqual(
        ['http.request.method', 'http.response.status_code', 'server.address', 'server.port', ...(point.attributes['error.type'] ? ['error.type'] : [])].sort(),
      )
      expect(point.attributes['server.port']).toBe(server.port)
      expect(point.value.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10])
    }
    // The slow request took at least 150 ms: seconds, not milliseconds.
    expect(byStatus(200)[0]!.value.max!).toBeGreaterThanOrEqual(0.149)
    expect(byStatus(200)[0]!.value.max!).toBeLessThan(10)
    expect(JSON.stringify(points)).not.toContain('TOKEN-SECRET')
    await client.close()
    await m.shutdown()
  })
})
