/**
 * The per-origin circuit breaker end to end (issue #4): it opens on failures, refuses calls with
 * ERR_CIRCUIT_OPEN without opening a socket, lets a trial through after the cool-down, and closes
 * when the origin recovers. "No socket" is proved on the server side: the failing server closes
 * every connection after its response (`connection: close`), so each request that reaches it
 * costs one accepted connection, and refused calls must not move that counter.
 *
 * Cool-downs pass on a fake clock: the breaker reads `performance.now()` on every call, and only
 * `performance` is faked here (timers, sockets and the servers stay real), so `performance.now()`
 * stands still until a test advances it — the breaker's state changes exactly when the test says,
 * with no real wait and no race with a loaded machine. Deadlines read the same clock; it only
 * moves while no call is in flight.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { getCallInfo, type Client } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'
import { closedPort } from '../support/servers.js'
import { reply } from '../support/replies.js'
import { useFixtures } from '../support/fixtures.js'

// On the fake clock (see above): a cool-down no real wait in this file could reach.
const BREAKER = { minCalls: 5, failureRatio: 0.5, windowMs: 60_000, cooldownMs: 30_000, halfOpenCalls: 1 } as const
const CLOSE = { connection: 'close' }

const { serve, client } = useFixtures()

function breakerState(c: Client, origin: string): string | undefined {
  return c.stats().breakers?.[origin]?.state
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['performance'] })
})
afterEach(() => {
  vi.useRealTimers()
})

/** Moves the breaker's clock (performance.now) forward; nothing real waits. */
function elapse(ms: number): void {
  vi.advanceTimersByTime(ms)
}

describe('circuit breaker', () => {
  it('opens, fails fast without a socket, half-opens after the cool-down, re-opens on a failed trial and closes on recovery', async () => {
    let healthy = false
    const server = await serve((_req, res) => reply(res, healthy ? 200 : 500, CLOSE))
    const c = client({ retry: false, breaker: BREAKER })
    const url = `${server.origin}/api`

    for (let i = 0; i < 5; i++) {
      const res = await c.fetch(url)
      expect(res.status).toBe(500)
      await res.text()
      // Below minCalls the breaker only counts.
      if (i < 4) expect(breakerState(c, server.origin)).toBe('closed')
    }
    expect(c.stats().breakers?.[server.origin]).toMatchObject({ state: 'open', retryInMs: BREAKER.cooldownMs })

    const seen = { connections: server.connections, requests: server.requests.length }
    expect(seen).toEqual({ connections: 5, requests: 5 })
    for (let i = 0; i < 3; i++) {
      const error = await rejectsWith(c.fetch(url), 'ERR_CIRCUIT_OPEN')
      expect(error.message).toContain(server.origin)
    }
    // A POST is refused the same way: the breaker judges the origin, not the method.
    await rejectsWith(c.fetch(url, { method: 'POST', body: 'x' }), 'ERR_CIRCUIT_OPEN')
    expect({ connections: server.connections, requests: server.requests.length }).toEqual(seen)

    // Open for the whole cool-down: a millisecond before its end, still refused without a socket.
    elapse(BREAKER.cooldownMs - 1)
    expect(c.stats().breakers?.[server.origin]).toMatchObject({ state: 'open', retryInMs: 1 })
    await rejectsWith(c.fetch(url), 'ERR_CIRCUIT_OPEN')
    expect({ connections: server.connections, requests: server.requests.length }).toEqual(seen)

    // Cool-down over, origin still failing: one trial goes through and re-opens the breaker.
    elapse(1)
    expect(breakerState(c, server.origin)).toBe('half-open')
    const trial = await c.fetch(url)
    expect(trial.status).toBe(500)
    await trial.text()
    expect(server.requests).toHaveLength(6)
    expect(breakerState(c, server.origin)).toBe('open')
    await rejectsWith(c.fetch(url), 'ERR_CIRCUIT_OPEN')
    expect(server.requests).toHaveLength(6)

    // The origin recovers: the next trial succeeds and (halfOpenCalls 1) closes the breaker.
    healthy = true
    elapse(BREAKER.cooldownMs - 1)
    expect(breakerState(c, server.origin)).toBe('open')
    elapse(1)
    expect(breakerState(c, server.origin)).toBe('half-open')
    const ok = await c.fetch(url)
    expect(ok.status).toBe(200)
    await ok.text()
    // Closed with a fresh window: stats() leaves out a closed breaker until it has counted a call.
    expect(c.stats().breakers?.[server.origin]).toBeUndefined()
    for (let i = 0; i < 3; i++) {
      const res = await c.fetch(url)
      expect(res.status).toBe(200)
      await res.text()
    }
    expect(c.stats().breakers?.[server.origin]).toEqual({ state: 'closed', calls: 3, failures: 0, retryInMs: 0 })
    expect(server.requests).toHaveLength(10)
  })

  it('half-open admits halfOpenCalls trials at a time: a second call during the trial is refused', async () => {
    let healthy = false
    const hold = gate()
    const server = await serve((_req, res) => {
      if (!healthy) return reply(res, 503, CLOSE)
      void hold.promise.then(() => reply(res, 200))
    })
    const c = client({ retry: false, breaker: { ...BREAKER, minCalls: 2 } })
    const url = `${server.origin}/api`
    for (let i = 0; i < 2; i++) await (await c.fetch(url)).text()
    expect(breakerState(c, server.origin)).toBe('open')

    healthy = true
    elapse(BREAKER.cooldownMs)
    expect(breakerState(c, server.origin)).toBe('half-open')
    const trial = c.fetch(url)
    await until(() => server.inFlight === 1, 'the trial to reach the server')
    await rejectsWith(c.fetch(url), 'ERR_CIRCUIT_OPEN')
    hold.open()
    const res = await trial
    expect(res.status).toBe(200)
    await res.text()
    const after = await c.fetch(url)
    expect(after.status).toBe(200)
    await after.text()
    expect(server.requests).toHaveLength(4)
  })

  it('network errors count: refused connections open it, and then nothing is dialled', async () => {
    const port = await closedPort()
    const lookup = fakeLookup({ 'down.test': ['127.0.0.1'] })
    const c = client({ lookup, retry: false, breaker: BREAKER })
    const url = `http://down.test:${port}/`
    for (let i = 0; i < 5; i++) await rejectsWith(c.fetch(url), 'ERR_NETWORK')
    expect(lookup.queries).toHaveLength(5)
    expect(breakerState(c, `http://down.test:${port}`)).toBe('open')
    await rejectsWith(c.fetch(url), 'ERR_CIRCUIT_OPEN')
    // The connector was not even asked: no lookup, no dial.
    expect(lookup.queries).toHaveLength(5)
  })

  it('a retry loop stops as soon as the breaker opens (ERR_CIRCUIT_OPEN is not retried)', async () => {
    const server = await serve((_req, res) => reply(res, 500, CLOSE))
    const c = client({ retry: { limit: 5, backoff: { base: 1, cap: 1 } }, breaker: { ...BREAKER, minCalls: 2 } })
    // Attempts 1 and 2 fail and open the breaker; attempt 3 is refused and ends the call.
    await rejectsWith(c.fetch(`${server.origin}/api`), 'ERR_CIRCUIT_OPEN')
    expect(server.requests).toHaveLength(2)
  })

  it('is per origin: another origin of the same client is not affected', async () => {
    const failing = await serve((_req, res) => reply(res, 500, CLOSE))
    const fine = await serve((_req, res) => reply(res, 200))
    const c = client({ retry: false, breaker: BREAKER })
    for (let i = 0; i < 5; i++) await (await c.fetch(`${failing.origin}/`)).text()
    await rejectsWith(c.fetch(`${failing.origin}/`), 'ERR_CIRCUIT_OPEN')
    const res = await c.fetch(`${fine.origin}/`)
    expect(res.status).toBe(200)
    expect(getCallInfo(res)?.attempts).toBe(1)
    await res.text()
    expect(breakerState(c, fine.origin)).toBe('closed')
  })

  it('is off by default: a failing origin is always tried', async () => {
    const server = await serve((_req, res) => reply(res, 500, CLOSE))
    const c = client({ retry: false })
    for (let i = 0; i < 30; i++) await (await c.fetch(`${server.origin}/`)).text()
    expect(server.requests).toHaveLength(30)
    expect(c.stats().breakers).toBeUndefined()
  })
})
