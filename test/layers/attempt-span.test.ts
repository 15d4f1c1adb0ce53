import { describe, expect, it } from 'vitest'
import { BodySettle } from '../../src/call-signal.js'
import { SafeFetchError } from '../../src/errors.js'
import { attemptSpanLayer } from '../../src/layers/attempt-span.js'
import { finishCall, observeLayer } from '../../src/layers/observe.js'
import { createObserveState, needsAttemptLayer, resolveObserveOptions, type ObserveOptions } from '../../src/observe/observe-state.js'
import { HTTP_DURATION_BUCKETS } from '../../src/observe/tracing.js'
import { compose, type Layer } from '../../src/pipeline.js'
import type { OutboundRequest } from '../../src/types.js'
import { observeCall } from '../support/contexts.js'
import { fakeTransport, type FakeExchange } from '../support/handlers.js'
import { metrics, tracing } from '../support/telemetry.js'

function stateWith(options: ObserveOptions) {
  return createObserveState(resolveObserveOptions(options), { name: 'test' })
}

/** Stand-in for retry: a second attempt after a 503 or an error. */
const retryOnce: Layer = (next) =>
  async function retryOnce(req, ctx) {
    ctx.attempt = 1
    try {
      const first = await next(req, ctx)
      if (first.status !== 503) return first
      first.settle?.finish(new SafeFetchError('ERR_ABORTED', 'discarded'))
    } catch {
      // retry
    }
    ctx.attempt = 2
    return next(req, ctx)
  }

/** Stand-in for redirect: follows one 302 to a Location on another host. */
const followOnce: Layer = (next) =>
  async function followOnce(req, ctx) {
    const first = await next(req, ctx)
    if (first.status !== 302) return first
    ctx.hop = 1
    ctx.record.redirects++
    const target: OutboundRequest = { ...req, url: new URL(first.headers['location'] as string) }
    return next(target, ctx)
  }

async function run(layers: Layer[], exchanges: FakeExchange[], call: ReturnType<typeof observeCall> = observeCall()) {
  const transport = fakeTransport(...exchanges)
  const response = await compose(layers, transport)(call.req, call.ctx)
  return { response, transport, ctx: call.ctx }
}

describe('attempt-span layer: CLIENT spans', () => {
  it('one CLIENT span per physical request, children of the call span, with resend_count from the second on', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const { response, ctx } = await run(
      [observeLayer(state), retryOnce, attemptSpanLayer(state)],
      [
        { status: 503, remoteAddress: '127.0.0.1', remotePort: 8443 },
        { status: 200, remoteAddress: '127.0.0.2', remotePort: 8443 },
      ],
    )
    finishCall(ctx, response, undefined)
    const spans = traces.spans()
    const logical = spans.find((s) => s.kind === 0)!
    const clients = spans.filter((s) => s.kind === 2)
    expect(clients).toHaveLength(2)
    for (const span of clients) {
      expect(span.name).toBe('GET')
      expect(span.parentSpanContext?.spanId).toBe(logical.spanContext().spanId)
      expect(span.spanContext().traceId).toBe(logical.spanContext().traceId)
    }
    expect(clients[0]!.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': 'api.example.test',
      'server.port': 443,
      'url.full': 'https://api.example.test/items?token=REDACTED&page=2',
      'http.response.status_code': 503,
      'network.peer.address': '127.0.0.1',
      'network.peer.port': 8443,
      'error.type': '503',
    })
    expect(clients[0]!.status.code).toBe(2)
    expect(clients[1]!.attributes).toMatchObject({ 'http.request.resend_count': 1, 'http.response.status_code': 200, 'network.peer.address': '127.0.0.2' })
    expect(clients[1]!.attributes).not.toHaveProperty('error.type')
    expect(clients[1]!.status.code).toBe(0)
  })

  it('counts redirects as resends, with the hop URL and host', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const { response, ctx } = await run(
      [observeLayer(state), followOnce, attemptSpanLayer(state)],
      [{ status: 302, headers: { location: 'http://cdn.example.test:8080/blob?sig=abc' } }, { status: 200 }],
    )
    finishCall(ctx, response, undefined)
    const clients = traces.spans().filter((s) => s.kind === 2)
    expect(clients.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1])
    expect(clients[1]!.attributes).toMatchObject({
      'server.address': 'cdn.example.test',
      'server.port': 8080,
      'url.full': 'http://cdn.example.test:8080/blob?sig=REDACTED',
    })
  })

  it('a failed request: error.type = our code, an exception event scrubbed of secrets', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const call = observeCall({ url: 'https://api.example.test/x?api_key=KEY-SECRET-9' })
    const error = new SafeFetchError('ERR_CONNECT_TIMEOUT', 'connect to https://api.example.test/x?api_key=KEY-SECRET-9 timed out')
    await expect(run([observeLayer(state), attemptSpanLayer(state)], [{ error }], call)).rejects.toBe(error)
    const client = traces.spans().find((s) => s.kind === 2)!
    expect(client.attributes['error.type']).toBe('ERR_CONNECT_TIMEOUT')
    expect(client.status.code).toBe(2)
    expect(JSON.stringify([client.status, client.events])).not.toContain('KEY-SECRET-9')
    expect(client.events[0]!.name).toBe('exception')
  })

  it('ends when the body settles, not when the headers arrive', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const settle = new BodySettle()
    await run([observeLayer(state), attemptSpanLayer(state)], [{ status: 200, settle }])
    expect(traces.spans()).toHaveLength(0)
    settle.finish()
    expect(traces.spans().map((s) => s.kind)).toEqual([2])
  })

  it('works without the observe layer above it (no parent, resend_count absent)', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    await run([attemptSpanLayer(state)], [{ status: 200 }])
    const [span] = traces.spans()
    expect(span!.parentSpanContext).toBeUndefined()
    expect(span!.attributes).not.toHaveProperty('http.request.resend_count')
  })

  it('an unknown method is _OTHER with the original kept; the span is named HTTP', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    await run([attemptSpanLayer(state)], [{ status: 200 }], observeCall({ method: 'PROPFIND' }))
    const [span] = traces.spans()
    expect(span!.name).toBe('HTTP')
    expect(span!.attributes).toMatchObject({ 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND' })
  })
})

describe('attempt-span layer: trace context propagation', () => {
  const traceparent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/

  it('is off by default: no traceparent leaves the process', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const { transport } = await run([observeLayer(state), attemptSpanLayer(state)], [{ status: 200 }])
    expect(transport.requests[0]!.headers).not.toHaveProperty('traceparent')
  })

  it('with propagateTraceContext: true, each request carries its CLIENT span as parent-id', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer, propagateTraceContext: true })
    const call = observeCall({ headers: { accept: 'application/json' } })
    const { transport, response, ctx } = await run([observeLayer(state), retryOnce, attemptSpanLayer(state)], [{ status: 503 }, { status: 200 }], call)
    finishCall(ctx, response, undefined)
    const clients = traces.spans().filter((s) => s.kind === 2)
    transport.requests.forEach((req, i) => {
      const match = traceparent.exec(req.headers['traceparent']!)
      expect(match).not.toBeNull()
      expect(match![1]).toBe(clients[i]!.spanContext().traceId)
      expect(match![2]).toBe(clients[i]!.spanContext().spanId)
      expect(req.headers['accept']).toBe('application/json')
    })
    // The caller's request object is not modified.
    expect(call.req.headers).toEqual({ accept: 'application/json' })
  })

  it('keeps a traceparent the caller set', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer, propagateTraceContext: true })
    const own = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const { transport } = await run([attemptSpanLayer(state)], [{ status: 200 }], observeCall({ headers: { traceparent: own } }))
    expect(transport.requests[0]!.headers['traceparent']).toBe(own)
  })
})

describe('attempt-span layer: http.client.request.duration', () => {
  it('records one measurement per physical request in seconds, with the semconv buckets and attributes', async () => {
    const meters = metrics()
    const state = stateWith({ meter: meters.meter })
    expect(needsAttemptLayer(state)).toBe(true)
    const { response, ctx } = await run([observeLayer(state), retryOnce, attemptSpanLayer(state)], [{ status: 503 }, { status: 200 }])
    finishCall(ctx, response, undefined)
    await expect(run([attemptSpanLayer(state)], [{ error: new SafeFetchError('ERR_DNS', 'nx') }])).rejects.toThrow()

    const resource = await meters.collect()
    const metric = resource.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'http.client.request.duration')!
    expect(metric.descriptor.unit).toBe('s')
    const points = metric.dataPoints as { attributes: Record<string, unknown>; value: { count: number; buckets: { boundaries: number[] }; sum?: number } }[]
    expect(points[0]!.value.buckets.boundaries).toEqual(HTTP_DURATION_BUCKETS)
    const byOutcome = new Map(points.map((p) => [String(p.attributes['http.response.status_code'] ?? p.attributes['error.type']), p]))
    expect(byOutcome.get('503')!.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': 'api.example.test',
      'server.port': 443,
      'http.response.status_code': 503,
      'error.type': '503',
    })
    expect(byOutcome.get('200')!.value.count).toBe(1)
    expect(byOutcome.get('ERR_DNS')!.attributes).not.toHaveProperty('http.response.status_code')
    for (const point of points) expect(point.attributes).not.toHaveProperty('url.full') // no high-cardinality attributes
  })

  it('is not needed without a tracer or a meter', () => {
    expect(needsAttemptLayer(stateWith({}))).toBe(false)
  })
})
