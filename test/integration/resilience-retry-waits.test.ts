/**
 * Retries end to end against real loopback servers (issue #4, "Done when"), part 2: Retry-After
 * in seconds and as an HTTP-date, honoured and capped; the total deadline never exceeded by
 * backoff (proved on a fake clock); the retry budget under a failure burst; and no socket held by
 * the discarded body of a failed attempt.
 *
 * Waits are checked by the delay the layer recorded and by ordering ("not earlier than"), never by
 * an upper bound on wall time.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { reply } from '../support/replies.js'
import { logSink } from '../support/logs.js'
import { useFixtures } from '../support/fixtures.js'

// The fast project shares a worker between files (isolate: false): leave no fake clock or spy behind.
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/** Backoff waits of 0 ms: floor(random × 1). Keeps the suite fast where the wait is not the subject. */
const NO_WAIT = { backoff: { base: 1, cap: 1 } } as const
/**
 * Node schedules timers on libuv's cached loop clock, so a timer may fire a few ms before the
 * wall-clock instant it aimed at. Only used for "not earlier than" checks.
 */
const CLOCK_SLACK_MS = 25

const { serve, client } = useFixtures()

describe('Retry-After', () => {
  it('Retry-After: 1 (delta-seconds) on a 503: the layer waits the 1000 ms asked for', async () => {
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

  it("the caller's abort ends a Retry-After wait at once with ERR_ABORTED", async () => {
    const server = await serve((_req, res) => reply(res, 503, { 'retry-after': '20' }))
    const sink = logSink('debug')
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
    const sink = logSink('debug')
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
      await until(() => settled || sink.retries().length > retry, 'the next retry or the end of the call')
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
