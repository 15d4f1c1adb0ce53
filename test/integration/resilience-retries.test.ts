/**
 * Retries end to end against real loopback servers (issue #4, "Done when"): what is sent again and
 * what is not (duplicate POSTs), how many attempts, Retry-After in seconds and as a date, the caps,
 * the deadline, the retry budget, and no socket held by a discarded body.
 *
 * Counts are taken on the server side (requests received, sockets open) and from
 * `getCallInfo(res)`; waits are checked by the delay the layer recorded and by ordering, never by
 * an upper bound on wall time. The deadline proof runs on a fake clock.
 */
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createClient, getCallInfo, type Client } from '../../src/index.js'
import { fakeLookup } from '../helpers/servers.js'
import { closedPort, logSink, reply, resetConnection, settleIo, startScriptedServer, type ScriptedServer } from './resilience-support.js'
import { LOOPBACK, rejectsWith, until } from './support.js'

/** Backoff waits of 0 ms: floor(random × 1). Keeps the suites fast where the wait is not the subject. */
const NO_WAIT = { backoff: { base: 1, cap: 1 } } as const
/**
 * Node schedules timers on libuv's cached loop clock, so a timer may fire a few ms before the
 * wall-clock instant it aimed at. Only used for "not earlier than" checks.
 */
const CLOCK_SLACK_MS = 25

const servers: ScriptedServer[] = []
const clients: Client[] = []

async function serve(script: Parameters<typeof startScriptedServer>[0]): Promise<ScriptedServer> {
  const server = await startScriptedServer(script)
  servers.push(server)
  return server
}

function client(options: Parameters<typeof createClient>[0] = {}): Client {
  const made = createClient({ ...LOOPBACK, ...options })
  clients.push(made)
  return made
}

afterEach(async () => {
  vi.useRealTimers()
  vi.restoreAllMocks()
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('unsafe methods are not sent twice', () => {
  it('a POST without Idempotency-Key reaches the server once even when the connection is reset', async () => {
    const server = await serve((req) => resetConnection(req))
    const sink = logSink()
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

  it("the caller's abort ends a Retry-After wait at once with ERR_ABORTED", async () => {
    const server = await serve((_req, res) => reply(res, 503, { 'retry-after': '20' }))
    const sink = logSink()
    const c = client({ logger: sink.logger, timeout: { total: 60_000 } })
    const controller = new AbortController()
    const call = c.fetch(`${server.origin}/busy`, { signal: controller.signal })
    await until(() => sink.retries().length === 1, 'the layer to start its 20 s wait')
    expect(sink.retries()[0]).toMatchObject({ reason: 'status 503, Retry-After', delayMs: 20_000 })
    controller.abort()
    // Ordering only: the rejection must come long before the 20 s wait would have ended.
    const winner = await Promise.race([
      call.then(
        () => 'resolved',
        (err: { code?: string }) => err.code,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000).unref()),
    ])
    expect(winner).toBe('ERR_ABORTED')
    expect(server.requests).toHaveLength(1)
  })
})

describe('attempts', () => {
  it('a GET against a server failing twice (503, 500) then succeeding makes 3 attempts', async () => {
    const server = await serve((_req, res, n) => reply(res, n === 1 ? 503 : n === 2 ? 500 : 200, {}, n === 3 ? 'finally' : 'nope'))
    const sink = logSink()
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
    const sink = logSink()
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

describe('Retry-After', () => {
  it('Retry-After: 1 (delta-seconds) on a 503 is waited for, exactly one second', async () => {
    const server = await serve((_req, res, n) => (n === 1 ? reply(res, 503, { 'retry-after': '1' }) : reply(res, 200)))
    const res = await client({ retry: NO_WAIT }).fetch(`${server.origin}/busy`)
    expect(res.status).toBe(200)
    await res.text()
    const info = getCallInfo(res)!
    expect(info.attempts).toBe(2)
    expect(info.attemptLog[0]).toMatchObject({ status: 503, retryReason: 'status 503, Retry-After', retryDelayMs: 1000 })
    const [first, second] = server.requests
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000 - CLOCK_SLACK_MS)
  })

  it('Retry-After as an HTTP-date: the second attempt comes no earlier than that date', async () => {
    let target = 0
    const server = await serve((_req, res, n) => {
      if (n > 1) return reply(res, 200)
      // The next whole second at least 300 ms away (an HTTP-date has no fractions of a second).
      target = Math.ceil((Date.now() + 300) / 1000) * 1000
      reply(res, 503, { 'retry-after': new Date(target).toUTCString() })
    })
    const res = await client({ retry: NO_WAIT }).fetch(`${server.origin}/busy`)
    expect(res.status).toBe(200)
    await res.text()
    const info = getCallInfo(res)!
    expect(info.attempts).toBe(2)
    expect(info.attemptLog[0]!.retryReason).toBe('status 503, Retry-After')
    expect(info.attemptLog[0]!.retryDelayMs).toBeGreaterThan(0)
    expect(info.attemptLog[0]!.retryDelayMs).toBeLessThanOrEqual(1300)
    expect(server.requests[1]!.at).toBeGreaterThanOrEqual(target - CLOCK_SLACK_MS)
  })

  it('a 429 with Retry-After: 0 is retried at once', async () => {
    const server = await serve((_req, res, n) => (n === 1 ? reply(res, 429, { 'retry-after': '0' }) : reply(res, 200)))
    const res = await client().fetch(`${server.origin}/rate-limited`)
    expect(res.status).toBe(200)
    await res.text()
    expect(getCallInfo(res)?.attemptLog[0]).toMatchObject({ status: 429, retryReason: 'status 429, Retry-After', retryDelayMs: 0 })
    expect(server.requests).toHaveLength(2)
  })

  it('a Retry-After above maxRetryAfter is not waited for: the 503 is returned as is, after 1 attempt', async () => {
    const server = await serve((_req, res) => reply(res, 503, { 'retry-after': '1' }, 'come back later'))
    const res = await client({ retry: { ...NO_WAIT, maxRetryAfter: 500 } }).fetch(`${server.origin}/busy`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(await res.text()).toBe('come back later')
    expect(getCallInfo(res)?.attempts).toBe(1)
    expect(server.requests).toHaveLength(1)
  })

  it('an HTTP-date beyond the default maxRetryAfter (30 s) is not waited for', async () => {
    const later = new Date(Date.now() + 120_000).toUTCString()
    const server = await serve((_req, res) => reply(res, 503, { 'retry-after': later }))
    // A deadline far enough away that only maxRetryAfter stands between the call and a 2-minute wait.
    const res = await client({ retry: NO_WAIT, timeout: { total: 300_000 } }).fetch(`${server.origin}/maintenance`)
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe(later)
    await res.text()
    expect(getCallInfo(res)?.attempts).toBe(1)
    expect(server.requests).toHaveLength(1)
  })

  it('a Retry-After longer than the time left before timeout.total is returned without waiting', async () => {
    const server = await serve((_req, res) => reply(res, 503, { 'retry-after': '1' }, 'busy'))
    const res = await client({ retry: NO_WAIT, timeout: { total: 500 } }).fetch(`${server.origin}/busy`)
    expect(res.status).toBe(503)
    expect(getCallInfo(res)?.attempts).toBe(1)
    // Had the layer waited the second, the deadline would have ended the call with ERR_DEADLINE_EXCEEDED;
    // instead the body is still readable.
    expect(await res.text()).toBe('busy')
    expect(server.requests).toHaveLength(1)
  })
})

describe('the total deadline is never exceeded by backoff', () => {
  it('a backoff longer than the time left is not started: the 503 is returned, not ERR_DEADLINE_EXCEEDED', async () => {
    const server = await serve((_req, res) => reply(res, 503, {}, 'down'))
    // Any draw of the jitter is far above the 300 ms deadline.
    const c = client({ timeout: { total: 300 }, retry: { limit: 5, backoff: { base: 1e9, cap: 1e9 } } })
    const res = await c.fetch(`${server.origin}/down`)
    expect(res.status).toBe(503)
    expect(await res.text()).toBe('down')
    expect(getCallInfo(res)?.attempts).toBe(1)
    expect(server.requests).toHaveLength(1)
  })

  it('on a fake clock: backoffs are taken while they fit, the call ends before the deadline with the last 503', async () => {
    const server = await serve((_req, res) => reply(res, 503, {}, 'down'))
    // Fake setTimeout and performance (the deadline and the sleeps use them); sockets stay real,
    // and the test yields to them with setImmediate, which is left real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
    // The retry layer reads Math.random when the client is built: every jitter draw is 0.99.
    vi.spyOn(Math, 'random').mockReturnValue(0.99)
    const sink = logSink()
    const c = client({ logger: sink.logger, timeout: { total: 1000 }, retry: { limit: 10, backoff: { base: 400, cap: 400 }, budget: false } })
    const start = performance.now()
    let outcome: Response | unknown
    let settled = false
    void c.fetch(`${server.origin}/down`).then(
      (res) => ((outcome = res), (settled = true)),
      (err: unknown) => ((outcome = err), (settled = true)),
    )
    const waited: number[] = []
    for (let retry = 0; retry < 20 && !settled; retry++) {
      // Real I/O runs until the layer logs its next retry (just before it sleeps) or the call ends.
      await settleIo(() => settled || sink.retries().length > retry, 'the next retry or the end of the call')
      if (settled) break
      const delay = sink.retries()[retry]!['delayMs'] as number
      waited.push(delay)
      await vi.advanceTimersByTimeAsync(delay)
    }
    expect(settled).toBe(true)
    // floor(0.99 × 400) twice; then 1000 − 792 = 208 ms are left, less than the next 396 ms wait.
    expect(waited).toEqual([396, 396])
    expect(performance.now() - start).toBe(792)
    expect(outcome).toBeInstanceOf(Response)
    const res = outcome as Response
    expect(res.status).toBe(503)
    expect(getCallInfo(res)?.attempts).toBe(3)
    expect(server.requests).toHaveLength(3)
    expect(await res.text()).toBe('down')
  })
})

describe('retry budget', () => {
  it('stops retries under a sustained failure burst: 200 GETs to an always-503 server', async () => {
    const server = await serve((_req, res) => reply(res, 503))
    const c = client({ retry: { limit: 2, backoff: { base: 0, cap: 0 }, budget: { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 } } })
    for (let i = 0; i < 200; i++) {
      const res = await c.fetch(`${server.origin}/burst`)
      expect(res.status).toBe(503)
      await res.arrayBuffer()
    }
    const total = server.requests.length
    // Without a budget: 600. With it: 200 first attempts + at most max(floor 10, 20% of 200) retries.
    expect(total).toBeGreaterThan(200)
    expect(total).toBeLessThanOrEqual(200 * 1.2 + 10)
    const budget = c.stats().retryBudget!
    expect(budget).toMatchObject({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000, requests: 200, retries: total - 200 })
    expect(budget.retries).toBeLessThanOrEqual(budget.allowed)
    expect(budget.refused).toBeGreaterThan(0)
    // Once spent, a failure comes back after one attempt.
    const res = await c.fetch(`${server.origin}/burst`)
    expect(getCallInfo(res)?.attempts).toBe(1)
    await res.arrayBuffer()
  })
})

describe('failed bodies are discarded', () => {
  it('50 calls whose first attempt is a 503 with a 256 KiB body leave no socket behind', async () => {
    const big = 'x'.repeat(256 * 1024)
    // Odd requests fail with a body too large to sit in the socket buffers; even ones succeed.
    const server = await serve((_req, res, n) => (n % 2 === 1 ? reply(res, 503, {}, big) : reply(res, 200, {}, 'ok')))
    const c = client({ retry: NO_WAIT })
    for (let i = 0; i < 50; i++) {
      const res = await c.fetch(`${server.origin}/item/${i}`)
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('ok')
      expect(getCallInfo(res)?.attempts).toBe(2)
    }
    expect(server.requests).toHaveLength(100)
    // An undiscarded body would pin its socket (paused, mid-response) until the read timeout: 50 of them.
    await until(() => server.openSockets <= 2, `open sockets to drop to ≤ 2 (now ${server.openSockets})`)
  })

  it('with small failed bodies the connection is reused, not multiplied', async () => {
    const server = await serve((_req, res, n) => (n % 2 === 1 ? reply(res, 500) : reply(res, 200, {}, 'ok')))
    const c = client({ retry: NO_WAIT })
    for (let i = 0; i < 50; i++) {
      const res = await c.fetch(`${server.origin}/item/${i}`)
      expect(await res.text()).toBe('ok')
    }
    expect(server.requests).toHaveLength(100)
    await until(() => server.openSockets <= 2, `open sockets to drop to ≤ 2 (now ${server.openSockets})`)
    // Each discarded body may cost its socket (cancel aborts the exchange), never more than one per call.
    expect(server.connections).toBeLessThanOrEqual(51)
  })
})
