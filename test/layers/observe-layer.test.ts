import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { BodySettle } from '../../src/call-signal.js'
import { SafeFetchError } from '../../src/errors.js'
import { attachCallInfo, getCallInfo } from '../../src/observe/call-info.js'
import { publishRetry } from '../../src/observe/diagnostics.js'
import { clientLogger, createObserveState, recentFailures, renderStats, resolveObserveOptions, type ObserveOptions } from '../../src/observe/observe-state.js'
import { finishCall, observeLayer } from '../../src/layers/observe.js'
import { compose, type Handler, type Layer } from '../../src/pipeline.js'
import { logSink } from '../support/logs.js'
import { observeCall } from '../support/contexts.js'
import { fakeTransport, type FakeExchange } from '../support/handlers.js'
import { tracing } from '../support/telemetry.js'

function stateWith(options: ObserveOptions = {}) {
  return createObserveState(resolveObserveOptions(options), { name: 'test' })
}

/** A stand-in for the retry layer: one more attempt after a failure or a 503, noting why. */
const retryOnce: Layer = (next) =>
  async function retryOnce(req, ctx) {
    ctx.attempt = 1
    try {
      const first = await next(req, ctx)
      if (first.status !== 503) return first
      ctx.record.attemptLog.at(-1)!.retryReason = 'status 503'
    } catch {
      ctx.record.attemptLog.at(-1)!.retryReason = 'ERR_NETWORK'
    }
    ctx.attempt = 2
    return next(req, ctx)
  }

const FRESH: FakeExchange = {
  status: 200,
  remoteAddress: '127.0.0.1',
  remotePort: 8443,
  reusedConnection: false,
  timings: { queued: 0.01, dns: 1.2, connect: 0.8, tls: 3.1234567, sent: 5.2, firstByte: 9.9, download: 2.5, total: 12.4 },
}

describe('observe layer: summary log line', () => {
  it('writes one info line with stable fields when the edge finishes the call', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const state = stateWith()
    const { ctx, req } = observeCall({ logger: sink.logger })
    const handler = compose([observeLayer(state)], fakeTransport(FRESH))
    const response = await handler(req, ctx)
    expect(sink.lines()).toHaveLength(0) // the call has not ended: the body is still to be read
    ctx.record.bytes = 512
    finishCall(ctx, response, undefined)
    finishCall(ctx, response, undefined) // the edge may call twice; one line only
    const lines = sink.lines()
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    expect(line).toMatchObject({
      level: 30,
      msg: 'call completed',
      client: 'test',
      callId: ctx.record.id,
      method: 'GET',
      url: 'https://api.example.test/items?token=REDACTED&page=2',
      status: 200,
      attempts: 1,
      retries: 0,
      redirects: 0,
      bytes: 512,
      remoteAddress: '127.0.0.1',
      reusedConnection: false,
      timings: { queued: 0.01, dns: 1.2, connect: 0.8, tls: 3.123, sent: 5.2, firstByte: 9.9, download: 2.5, total: 12.4 },
    })
    expect(typeof line.durationMs).toBe('number')
    expect(line).not.toHaveProperty('errorCode')
    expect(line).not.toHaveProperty('err')
    expect(line).not.toHaveProperty('cache')
  })

  it('says reusedConnection and has no dns/connect/tls timings for a keep-alive socket', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: sink.logger })
    const handler = compose(
      [observeLayer(stateWith())],
      fakeTransport({ status: 200, reusedConnection: true, timings: { queued: 0.2, sent: 0.3, firstByte: 1 } }),
    )
    finishCall(ctx, await handler(req, ctx), undefined)
    const timings = sink.lines()[0]!.timings as Record<string, number>
    expect(sink.lines()[0]!.reusedConnection).toBe(true)
    expect(Object.keys(timings).sort()).toEqual(['firstByte', 'queued', 'sent'])
  })

  it('warns for a retried call and counts the retry', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: sink.logger })
    const handler = compose([observeLayer(stateWith()), retryOnce], fakeTransport({ status: 503 }, { status: 200 }))
    finishCall(ctx, await handler(req, ctx), undefined)
    expect(sink.lines()).toEqual([expect.objectContaining({ level: 40, msg: 'call completed', status: 200, attempts: 2, retries: 1 })])
  })

  it('warns for a stale response served from cache', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: sink.logger })
    const staleCache: Handler = async (r, c) => {
      c.record.cache = 'stale'
      return { status: 200, statusText: '', headers: {}, body: null, url: r.url }
    }
    const handler = compose([observeLayer(stateWith())], staleCache)
    finishCall(ctx, await handler(req, ctx), undefined)
    expect(sink.lines()).toEqual([expect.objectContaining({ level: 40, cache: 'stale', attempts: 0 })])
  })

  it('logs an error with err.code when the pipeline throws, and rethrows the same error', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: sink.logger })
    const error = new SafeFetchError('ERR_CONNECT_TIMEOUT', 'connect timed out for https://api.example.test/items?token=REDACTED&page=2')
    const handler = compose([observeLayer(stateWith())], fakeTransport({ error }))
    await expect(handler(req, ctx)).rejects.toBe(error)
    finishCall(ctx, undefined, error) // what the edge does next: a no-op
    expect(sink.lines()).toHaveLength(1)
    expect(sink.lines()[0]).toMatchObject({
      level: 50,
      msg: 'call failed',
      errorCode: 'ERR_CONNECT_TIMEOUT',
      err: { code: 'ERR_CONNECT_TIMEOUT', message: error.message },
      attempts: 1,
    })
    expect(sink.lines()[0]).not.toHaveProperty('status')
  })

  it('logs an error with the status when the body fails after the response', async () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: sink.logger })
    const settle = new BodySettle()
    const handler = compose([observeLayer(stateWith())], fakeTransport({ status: 200, settle }))
    const response = await handler(req, ctx)
    const error = new SafeFetchError('ERR_READ_TIMEOUT', 'response body stalled')
    settle.finish(error)
    finishCall(ctx, response, error)
    expect(sink.lines()[0]).toMatchObject({ level: 50, status: 200, errorCode: 'ERR_READ_TIMEOUT' })
  })

  it('writes one debug line per attempt before the summary, only at debug', async () => {
    const debug = logSink('debug', { bindings: { client: 'test' } })
    const { ctx, req } = observeCall({ logger: debug.logger })
    const handler = compose(
      [observeLayer(stateWith()), retryOnce],
      fakeTransport({ ...FRESH, error: new SafeFetchError('ERR_NETWORK', 'reset') }, { ...FRESH, reusedConnection: true, timings: { firstByte: 3 } }),
    )
    finishCall(ctx, await handler(req, ctx), undefined)
    const lines = debug.lines()
    expect(lines.map((l) => l.msg)).toEqual(['attempt', 'attempt', 'call completed'])
    expect(lines[0]).toMatchObject({ level: 20, callId: ctx.record.id, attempt: 1, hop: 0, errorCode: 'ERR_NETWORK', retryReason: 'ERR_NETWORK' })
    expect(lines[1]).toMatchObject({ level: 20, attempt: 2, status: 200, reusedConnection: true, timings: { firstByte: 3 } })
    // The attempt URL came unredacted from the fake transport; the debug line redacts it.
    expect(lines[0]!.url).toBe('https://api.example.test/items?token=REDACTED&page=2')

    const info = logSink('info', { bindings: { client: 'test' } })
    const second = observeCall({ logger: info.logger })
    finishCall(second.ctx, await compose([observeLayer(stateWith())], fakeTransport(FRESH))(second.req, second.ctx), undefined)
    expect(info.lines().map((l) => l.msg)).toEqual(['call completed'])
  })

  it('writes nothing when the level is above the line, and works without a logger', async () => {
    const quiet = logSink('error', { bindings: { client: 'test' } })
    const a = observeCall({ logger: quiet.logger })
    const state = stateWith()
    finishCall(a.ctx, await compose([observeLayer(state)], fakeTransport(FRESH))(a.req, a.ctx), undefined)
    expect(quiet.text()).toBe('')
    const b = observeCall()
    finishCall(b.ctx, await compose([observeLayer(state)], fakeTransport(FRESH))(b.req, b.ctx), undefined)
    expect(renderStats(state).origins['https://api.example.test']!.calls).toBe(2)
  })
})

describe('observe layer: redaction end to end', () => {
  const SECRETS = ['hunter2', 'alice', 'TOKEN-SECRET-1', 'SIG-SECRET-2']
  const URL_WITH_SECRETS = 'https://alice:hunter2@api.example.test/v1/items?access_token=TOKEN-SECRET-1&X-Amz-Signature=SIG-SECRET-2&page=3'

  it('keeps secrets out of log lines, error messages, spans and the flight recorder', async () => {
    const sink = logSink('debug', { bindings: { client: 'test' } })
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const { ctx, req } = observeCall({ logger: sink.logger, url: URL_WITH_SECRETS })
    // An error whose message was built from the raw URL by code we do not control.
    const error = new SafeFetchError('ERR_NETWORK', `network error for ${URL_WITH_SECRETS} (ECONNRESET)`, { cause: new Error('socket hang up') })
    const handler = compose([observeLayer(state)], fakeTransport({ error }))
    await expect(handler(req, ctx)).rejects.toBe(error)

    const text = sink.text()
    for (const secret of SECRETS) expect(text).not.toContain(secret)
    const summary = sink.lines().at(-1)!
    expect(summary.url).toBe('https://REDACTED:REDACTED@api.example.test/v1/items?access_token=REDACTED&X-Amz-Signature=REDACTED&page=3')
    expect((summary.err as { message: string }).message).toContain('page=3')

    const spanText = JSON.stringify(traces.spans().map((s) => ({ attributes: s.attributes, events: s.events, status: s.status, name: s.name })))
    for (const secret of SECRETS) expect(spanText).not.toContain(secret)

    const failures = JSON.stringify(recentFailures(state))
    for (const secret of SECRETS) expect(failures).not.toContain(secret)
  })
})

describe('observe layer: logical span', () => {
  it('one INTERNAL span per call with semconv attributes, the cache result as attribute and event', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const { ctx, req } = observeCall({ url: 'https://api.example.test:8443/items?token=t0k3n' })
    const cacheHit: Handler = async (r, c) => {
      c.record.cache = 'hit'
      return { status: 200, statusText: '', headers: {}, body: null, url: r.url }
    }
    const response = await compose([observeLayer(state)], cacheHit)(req, ctx)
    expect(traces.spans()).toHaveLength(0) // ends with the call, not with the headers
    finishCall(ctx, response, undefined)
    const [span] = traces.spans()
    expect(span!.kind).toBe(0) // INTERNAL
    expect(span!.name).toBe('safefetch GET')
    expect(span!.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': 'api.example.test',
      'server.port': 8443,
      'url.full': 'https://api.example.test:8443/items?token=REDACTED',
      'http.response.status_code': 200,
      'safefetch.cache': 'hit',
      'safefetch.attempts': 0,
      'safefetch.call.id': ctx.record.id,
    })
    expect(span!.events.map((e) => [e.name, e.attributes])).toEqual([['safefetch.cache', { 'safefetch.cache': 'hit' }]])
    expect(span!.status.code).toBe(0)
  })

  it('marks a failed call as an error with error.type = our code, and a 5xx with the status', async () => {
    const traces = tracing()
    const state = stateWith({ tracer: traces.tracer })
    const a = observeCall()
    await expect(compose([observeLayer(state)], fakeTransport({ error: new SafeFetchError('ERR_DNS', 'no such host') }))(a.req, a.ctx)).rejects.toThrow()
    const b = observeCall()
    finishCall(b.ctx, await compose([observeLayer(state)], fakeTransport({ status: 502 }))(b.req, b.ctx), undefined)
    const [failed, bad] = traces.spans()
    expect(failed!.attributes['error.type']).toBe('ERR_DNS')
    expect(failed!.status).toEqual({ code: 2, message: 'no such host' })
    expect(failed!.events.map((e) => e.name)).toEqual(['exception'])
    expect(bad!.attributes['error.type']).toBe('502')
    expect(bad!.status.code).toBe(2)
  })
})

describe('observe layer: diagnostics_channel', () => {
  const seen: [string, Record<string, unknown>][] = []
  const listeners = new Map<string, (message: unknown) => void>()
  for (const name of ['start', 'end', 'error', 'blocked']) {
    listeners.set(`safefetch:call:${name}`, (message) => seen.push([name, message as Record<string, unknown>]))
  }
  afterEach(() => {
    for (const [channel, fn] of listeners) unsubscribe(channel, fn)
    seen.length = 0
  })

  it('publishes start and end, then start, error and blocked, with the call id', async () => {
    for (const [channel, fn] of listeners) subscribe(channel, fn)
    const state = stateWith()
    const ok = observeCall()
    finishCall(ok.ctx, await compose([observeLayer(state)], fakeTransport({ status: 204 }))(ok.req, ok.ctx), undefined)
    const blocked = observeCall({ url: 'http://internal.example.test/admin?token=x' })
    const error = new SafeFetchError('ERR_ADDRESS_BLOCKED', '10.0.0.5 is in a denied range', {
      url: 'http://internal.example.test/admin?token=x',
      address: '10.0.0.5',
      range: '10.0.0.0/8 (private-use, RFC 1918)',
    })
    await expect(compose([observeLayer(state)], fakeTransport({ error }))(blocked.req, blocked.ctx)).rejects.toBe(error)

    expect(seen.map(([name]) => name)).toEqual(['start', 'end', 'start', 'error', 'blocked'])
    expect(seen[0]![1]).toEqual({ id: ok.ctx.record.id, client: 'test', method: 'GET', url: ok.ctx.record.url })
    expect(seen[1]![1]).toMatchObject({ id: ok.ctx.record.id, record: { status: 204 } })
    expect(seen[3]![1]).toMatchObject({ id: blocked.ctx.record.id, error })
    expect(seen[4]![1]).toEqual({
      id: blocked.ctx.record.id,
      client: 'test',
      code: 'ERR_ADDRESS_BLOCKED',
      url: 'http://internal.example.test/admin?token=REDACTED',
      address: '10.0.0.5',
      range: '10.0.0.0/8 (private-use, RFC 1918)',
    })
  })
})

describe('observe layer: stats and flight recorder', () => {
  it('counts every finished call by origin and keeps failures, newest first', async () => {
    const state = stateWith({ recentFailures: 2 })
    const run = async (exchange: FakeExchange, url?: string): Promise<void> => {
      const { ctx, req } = observeCall(url === undefined ? {} : { url })
      try {
        finishCall(ctx, await compose([observeLayer(state)], fakeTransport(exchange))(req, ctx), undefined)
      } catch {
        // recorded by the layer
      }
    }
    await run({ status: 200 })
    await run({ status: 500 })
    await run({ error: new SafeFetchError('ERR_NETWORK', 'reset') })
    await run({ error: new SafeFetchError('ERR_DNS', 'nxdomain') }, 'https://other.example.test/')
    const snapshot = renderStats(state)
    expect(snapshot.origins['https://api.example.test']).toMatchObject({ calls: 3, errors: 1, status: { '2xx': 1, '5xx': 1 } })
    expect(snapshot.origins['https://other.example.test']).toMatchObject({ calls: 1, errorsByCode: { ERR_DNS: 1 } })
    expect(recentFailures(state).map((f) => f.record.errorCode ?? f.record.status)).toEqual(['ERR_DNS', 'ERR_NETWORK'])
    expect(renderStats(state, { format: 'prometheus' })).toContain('safefetch_calls_total{client="test",origin="https://api.example.test"} 3')
  })

  it('stats: false and recentFailures: 0 turn both off', async () => {
    const state = stateWith({ stats: false, recentFailures: 0 })
    const { ctx, req } = observeCall()
    await expect(compose([observeLayer(state)], fakeTransport({ error: new SafeFetchError('ERR_NETWORK', 'x') }))(req, ctx)).rejects.toThrow()
    expect(renderStats(state).origins).toEqual({})
    expect(renderStats(state, { format: 'prometheus' })).toBe('')
    expect(recentFailures(state)).toEqual([])
  })
})

describe('getCallInfo', () => {
  it('returns the record attached to a Response, and nothing for others', () => {
    const { ctx } = observeCall()
    const response = new Response('hi')
    attachCallInfo(response, ctx.record)
    expect(getCallInfo(response)).toBe(ctx.record)
    expect(getCallInfo(new Response('x'))).toBeUndefined()
    expect(Object.keys(response)).not.toContain('record')
  })
})

describe('resolveObserveOptions', () => {
  const bad: [ObserveOptions, RegExp][] = [
    [{ tracer: {} as never }, /tracer must be an OpenTelemetry Tracer or false, got \{\}/],
    [{ meter: 3 as never }, /meter must be an OpenTelemetry Meter or false, got 3/],
    [{ propagateTraceContext: 'yes' as never }, /propagateTraceContext must be true or false, got "yes"/],
    [{ recentFailures: -1 }, /recentFailures must be an integer between 0 and 100000, got -1/],
    [{ stats: { fleet: { redis: 'localhost:6379' } } }, /stats\.fleet\.redis must be an ioredis client or a redis:\/\/ URL/],
    [{ stats: { fleet: { redis: 'redis://127.0.0.1', intervalMs: 5 } } }, /stats\.fleet\.intervalMs must be an integer of at least 100 ms, got 5/],
  ]
  it.each(bad)('%j → ERR_INVALID_OPTION', (input, message) => {
    expect(() => resolveObserveOptions(input)).toThrow(message)
    try {
      resolveObserveOptions(input)
    } catch (err) {
      expect((err as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    }
  })
})

describe('publishRetry', () => {
  it('publishes on safefetch:call:retry only when someone listens', () => {
    const seen: unknown[] = []
    const listener = (message: unknown): void => {
      seen.push(message)
    }
    publishRetry({ id: 'c-1' }, { attempt: 1, hop: 0, reason: 'status 503', delayMs: 200, status: 503 })
    subscribe('safefetch:call:retry', listener)
    try {
      publishRetry({ id: 'c-1' }, { attempt: 1, hop: 0, reason: 'status 503', delayMs: 200, status: 503 })
    } finally {
      unsubscribe('safefetch:call:retry', listener)
    }
    expect(seen).toEqual([{ id: 'c-1', attempt: 1, hop: 0, reason: 'status 503', delayMs: 200, status: 503 }])
  })
})

describe('ObserveState counters', () => {
  it('uses the stats and recorder it is given (a client family shares them), or makes its own', () => {
    const first = createObserveState(resolveObserveOptions({}), { name: 'a' })
    expect(first.stats).toBeDefined()
    expect(first.recorder).toBeDefined()
    const shared = createObserveState(resolveObserveOptions({ redact: { headers: ['x-key'] } }), { name: 'a', shared: first })
    expect(shared.stats).toBe(first.stats)
    expect(shared.recorder).toBe(first.recorder)
    const own = createObserveState(resolveObserveOptions({ stats: { windowMs: 60_000 }, recentFailures: 5 }), { name: 'a' })
    expect(own.stats).not.toBe(first.stats)
    expect(own.recorder!.size).toBe(5)
  })

  it('clientLogger binds the client name', () => {
    const sink = logSink('info', { bindings: { client: 'test' } })
    clientLogger(sink.logger, 'billing')!.info('hello')
    expect(sink.lines()[0]).toMatchObject({ client: 'billing', msg: 'hello' })
    expect(clientLogger(undefined, 'x')).toBeUndefined()
  })
})
