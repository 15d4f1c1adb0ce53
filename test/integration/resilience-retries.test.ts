/**
 * Retries end to end against real loopback servers (issue #4, "Done when"), part 1: what is sent
 * again and what is not (no duplicate POSTs), request bodies, headers timeouts, and how many
 * attempts a call makes. Part 2 (resilience-retry-waits.test.ts): Retry-After, the deadline, the
 * budget and discarded bodies.
 *
 * Counts are taken on the server side (requests received) and from `getCallInfo(res)`, or, where
 * nothing listens, from a fake DNS lookup that the connector calls once per dial.
 */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'
import { closedPort } from '../support/servers.js'
import { reply, resetConnection } from '../support/replies.js'
import { logSink } from '../support/logs.js'
import { useFixtures } from '../support/fixtures.js'

/** Backoff waits of 0 ms: floor(random × 1). Keeps the suite fast where the wait is not the subject. */
const NO_WAIT = { backoff: { base: 1, cap: 1 } } as const

const { serve, client } = useFixtures()

describe('unsafe methods are not sent twice', () => {
  it('a POST without Idempotency-Key reaches the server once even when the connection is reset', async () => {
    const server = await serve((req) => resetConnection(req))
    const sink = logSink('debug')
    const c = client({ retry: NO_WAIT, logger: sink.logger })
    const error = await rejectsWith(c.fetch(`${server.origin}/payments`, { method: 'POST', body: '{"amount":100}' }), 'ERR_NETWORK')
    expect(error.url).toContain('/payments')
    expect(server.requests.map((r) => r.method)).toEqual(['POST'])
    expect(sink.retries()).toEqual([])

    // The same reset on a GET is a retryable failure: the POST was held back by its method alone.
    await rejectsWith(c.fetch(`${server.origin}/payments`), 'ERR_NETWORK')
    expect(server.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'GET', 'GET'])
  })

  it('a PATCH without a key is not retried on a 503 either', async () => {
    const server = await serve((_req, res) => reply(res, 503))
    const res = await client({ retry: NO_WAIT }).fetch(`${server.origin}/items/1`, { method: 'PATCH', body: 'x' })
    expect(res.status).toBe(503)
    expect(getCallInfo(res)?.attempts).toBe(1)
    await res.text()
    expect(server.requests).toHaveLength(1)
  })

  it('a POST with an Idempotency-Key is retried after a reset, with the same key and body', async () => {
    const server = await serve((req, res, n) => (n === 1 ? resetConnection(req) : req.on('end', () => reply(res, 201))))
    const res = await client({ retry: NO_WAIT }).fetch(`${server.origin}/payments`, {
      method: 'POST',
      headers: { 'Idempotency-Key': 'pay-8e0f' },
      body: '{"amount":100}',
    })
    expect(res.status).toBe(201)
    await res.text()
    expect(server.requests).toHaveLength(2)
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(['pay-8e0f', 'pay-8e0f'])
    expect(server.requests[1]!.body).toBe('{"amount":100}')
    const info = getCallInfo(res)!
    expect(info.attempts).toBe(2)
    expect(info.attemptLog[0]!.retryReason).toMatch(/^ERR_NETWORK \((ECONNRESET|UND_ERR_SOCKET|EPIPE)\)$/)
  })

  it('a POST is retried when the call opts in with retry: { allowNonIdempotent: true }', async () => {
    // Requests 1 and 3 (the first attempt of each call) are reset; the others succeed.
    const server = await serve((req, res, n) => (n === 1 || n === 3 ? resetConnection(req) : req.on('end', () => reply(res, 200))))
    const c = client({ retry: NO_WAIT })
    const res = await c.fetch(`${server.origin}/jobs`, { method: 'POST', body: 'run', retry: { allowNonIdempotent: true } })
    expect(res.status).toBe(200)
    await res.text()
    expect(server.requests).toHaveLength(2)
    expect(server.requests[1]!.body).toBe('run')
    expect(getCallInfo(res)?.attempts).toBe(2)
    // The opt-in is per call: the client's next POST is sent once again.
    await rejectsWith(c.fetch(`${server.origin}/jobs`, { method: 'POST', body: 'run' }), 'ERR_NETWORK')
    expect(server.requests).toHaveLength(3)
  })
})

describe('request bodies and timeouts', () => {
  it('a one-shot stream body is not resent, even with an Idempotency-Key; a body factory is', async () => {
    const server = await serve((req, res, n) => (n === 1 || n === 2 ? resetConnection(req) : req.on('end', () => reply(res, 201))))
    const c = client({ retry: NO_WAIT })
    const headers = { 'idempotency-key': 'upload-1' }
    await rejectsWith(c.fetch(`${server.origin}/upload`, { method: 'POST', headers, body: Readable.from([Buffer.from('chunk')]) }), 'ERR_NETWORK')
    expect(server.requests).toHaveLength(1)

    const res = await c.fetch(`${server.origin}/upload`, { method: 'POST', headers, body: () => Readable.from([Buffer.from('chunk')]) })
    expect(res.status).toBe(201)
    await res.text()
    expect(server.requests).toHaveLength(3)
    expect(server.requests[2]!.body).toBe('chunk')
  })

  it('a headers timeout is retried for a GET and for a keyed POST, never for a plain POST', async () => {
    // The first request of each path is left unanswered; later ones are answered at once.
    const seen = new Map<string, number>()
    const server = await serve((req, res) => {
      const n = (seen.get(req.url!) ?? 0) + 1
      seen.set(req.url!, n)
      if (n > 1) req.on('end', () => reply(res, 200))
    })
    const c = client({ retry: NO_WAIT, timeout: { headers: 150 } })
    const get = await c.fetch(`${server.origin}/get`)
    expect(get.status).toBe(200)
    await get.text()
    expect(getCallInfo(get)?.attemptLog[0]).toMatchObject({ errorCode: 'ERR_HEADERS_TIMEOUT', retryReason: 'ERR_HEADERS_TIMEOUT' })

    const keyed = await c.fetch(`${server.origin}/keyed`, { method: 'POST', headers: { 'idempotency-key': 'k1' }, body: 'x' })
    expect(keyed.status).toBe(200)
    await keyed.text()

    await rejectsWith(c.fetch(`${server.origin}/plain`, { method: 'POST', body: 'x' }), 'ERR_HEADERS_TIMEOUT')
    expect(server.requests.map((r) => r.url)).toEqual(['/get', '/get', '/keyed', '/keyed', '/plain'])
  })
})

describe('attempts', () => {
  it('a GET against a server failing twice (503, 500) then succeeding makes 3 attempts', async () => {
    const server = await serve((_req, res, n) => reply(res, n === 1 ? 503 : n === 2 ? 500 : 200, {}, n === 3 ? 'finally' : 'nope'))
    const sink = logSink('debug')
    const res = await client({ retry: NO_WAIT, logger: sink.logger }).fetch(`${server.origin}/flaky`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('finally')
    expect(server.requests).toHaveLength(3)
    const info = getCallInfo(res)!
    expect(info.attempts).toBe(3)
    expect(info.attemptLog.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 500],
      [3, 200],
    ])
    expect(info.attemptLog.map((a) => a.retryReason)).toEqual(['status 503', 'status 500', undefined])
    expect(sink.retries().map((line) => [line['attempt'], line['reason']])).toEqual([
      [1, 'status 503'],
      [2, 'status 500'],
    ])
  })

  it('gives up after limit + 1 attempts and returns the last response untouched', async () => {
    const server = await serve((_req, res, n) => reply(res, 502, {}, `attempt ${n}`))
    const res = await client({ retry: { ...NO_WAIT, limit: 3 } }).fetch(`${server.origin}/down`)
    expect(res.status).toBe(502)
    expect(await res.text()).toBe('attempt 4')
    expect(server.requests).toHaveLength(4)
    expect(getCallInfo(res)?.attempts).toBe(4)
  })

  it('connection refused is retried and ends ERR_NETWORK after limit + 1 attempts', async () => {
    const port = await closedPort()
    // A name resolved by a fake lookup: the connector resolves once per connection it dials, so
    // the queries count the attempts, since nothing listens to count them.
    const lookup = fakeLookup({ 'refused.test': ['127.0.0.1'] })
    const sink = logSink('debug')
    const c = client({ lookup, logger: sink.logger, retry: { ...NO_WAIT, limit: 3 } })
    const error = await rejectsWith(c.fetch(`http://refused.test:${port}/`), 'ERR_NETWORK')
    expect(error.message).toContain('ECONNREFUSED')
    expect(lookup.queries).toEqual(['refused.test', 'refused.test', 'refused.test', 'refused.test'])
    expect(sink.retries().map((line) => line['reason'])).toEqual(Array(3).fill('ERR_NETWORK (ECONNREFUSED)'))
    const summary = sink.summaries().at(-1)!
    expect(summary['attempts']).toBe(4)
    expect(summary['errorCode']).toBe('ERR_NETWORK')
  })

  it('retry: false on the client or on the call makes one attempt', async () => {
    const server = await serve((_req, res) => reply(res, 503))
    const off = await client({ retry: false }).fetch(`${server.origin}/`)
    expect(off.status).toBe(503)
    await off.text()
    const perCall = await client({ retry: NO_WAIT }).fetch(`${server.origin}/`, { retry: false })
    expect(perCall.status).toBe(503)
    await perCall.text()
    expect(server.requests).toHaveLength(2)
    expect(getCallInfo(off)?.attempts).toBe(1)
    expect(getCallInfo(perCall)?.attempts).toBe(1)
  })
})
