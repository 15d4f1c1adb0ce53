/**
 * Runtime switches end to end (issue #4): `configure()` changes a live client for new calls while
 * calls in flight keep theirs; `disable(origin, reason)` / `enable(origin)`; read-only mode; and
 * `maxConcurrent` with its queue and the deadline applying while queued. Counts are server-side.
 */
import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { rejectsWith } from '../support/assertions.js'
import { reply } from '../support/replies.js'
import { useFixtures } from '../support/fixtures.js'

const NO_WAIT = { backoff: { base: 1, cap: 1 } } as const

const { serve, client } = useFixtures()

/** Requests per path, for scripts that answer each path's n-th request differently. */
function perPath(): (req: http.IncomingMessage) => number {
  const counts = new Map<string, number>()
  return (req) => {
    const n = (counts.get(req.url ?? '') ?? 0) + 1
    counts.set(req.url ?? '', n)
    return n
  }
}

describe('configure() changes a live client', () => {
  it('timeout.headers from long to short: new calls time out, the call in flight keeps its long timeout', async () => {
    const release = gate()
    const server = await serve((req, res) => {
      // /slow answers once the test lets it go (after the new call has timed out).
      if (req.url === '/slow') void release.promise.then(() => reply(res, 200, {}, 'slow but fine'))
      else setTimeout(() => reply(res, 200), 400)
    })
    const c = client({ retry: false, timeout: { headers: 5_000 } })
    const inFlight = c.fetch(`${server.origin}/slow`)
    await until(() => server.requests.length === 1, 'the first call to reach the server')

    c.configure({ timeout: { headers: 100 } })
    expect(c.options.timeout.headers).toBe(100)
    const error = await rejectsWith(c.fetch(`${server.origin}/late`), 'ERR_HEADERS_TIMEOUT')
    expect(error.message).toContain('100 ms')

    release.open()
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('slow but fine')
  })

  it('retry from on to off (and back): the call in flight still retries, new calls do not', async () => {
    const nth = perPath()
    const firstAttempt = gate()
    const server = await serve((req, res) => {
      const n = nth(req)
      if (req.url === '/a') {
        if (n === 1) void firstAttempt.promise.then(() => reply(res, 503))
        else reply(res, 200, {}, 'a ok')
        return
      }
      reply(res, 503)
    })
    const c = client({ retry: NO_WAIT })
    const a = c.fetch(`${server.origin}/a`)
    await until(() => server.requests.length === 1, 'call A to reach the server')

    c.configure({ retry: false })
    expect(c.options.retry).toBe(false)
    const b = await c.fetch(`${server.origin}/b`)
    expect(b.status).toBe(503)
    await b.text()
    expect(getCallInfo(b)?.attempts).toBe(1)

    firstAttempt.open()
    const resA = await a
    expect(resA.status).toBe(200)
    expect(await resA.text()).toBe('a ok')
    expect(getCallInfo(resA)?.attempts).toBe(2)

    c.configure({ retry: { ...NO_WAIT, limit: 1 } })
    const b2 = await c.fetch(`${server.origin}/b`)
    expect(b2.status).toBe(503)
    await b2.text()
    expect(getCallInfo(b2)?.attempts).toBe(2)
    expect(server.requests.map((r) => r.url)).toEqual(['/a', '/b', '/a', '/b', '/b'])
  })

  it('an invalid configure() is refused and leaves the client as it was', async () => {
    const server = await serve((_req, res) => reply(res, 200))
    const c = client({ retry: { limit: 1 } })
    expect(() => c.configure({ retry: { limit: -1 } })).toThrow(/retry\.limit must be a non-negative integer, got -1/)
    expect(c.options.retry === false ? undefined : c.options.retry.limit).toBe(1)
    const res = await c.fetch(`${server.origin}/`)
    expect(res.status).toBe(200)
    await res.text()
  })
})

describe('disable(origin, reason) / enable(origin)', () => {
  it('a disabled origin fails at once with ERR_DISABLED and its reason, without a socket; enable() restores it', async () => {
    const server = await serve((_req, res) => reply(res, 200, {}, 'search results'))
    const other = await serve((_req, res) => reply(res, 200))
    const c = client()
    c.disable(server.origin, 'search cluster is being rebuilt')

    const error = await rejectsWith(c.fetch(`${server.origin}/search?q=x`), 'ERR_DISABLED')
    expect(error.message).toContain('search cluster is being rebuilt')
    expect(error.message).toContain(server.origin)
    await rejectsWith(c.fetch(`${server.origin}/index`, { method: 'PUT', body: '{}' }), 'ERR_DISABLED')
    expect(server.connections).toBe(0)
    expect(server.requests).toHaveLength(0)
    expect(c.stats().switches.disabled).toEqual([expect.objectContaining({ origin: server.origin, reason: 'search cluster is being rebuilt' })])

    // Other origins of the same client go on.
    const res = await c.fetch(`${other.origin}/`)
    expect(res.status).toBe(200)
    await res.text()

    expect(c.enable(server.origin)).toBe(true)
    expect(c.enable(server.origin)).toBe(false)
    const back = await c.fetch(`${server.origin}/search?q=x`)
    expect(back.status).toBe(200)
    expect(await back.text()).toBe('search results')
    expect(c.stats().switches.disabled).toEqual([])
  })

  it('takes any URL of the origin, and is per client', async () => {
    const server = await serve((_req, res) => reply(res, 200))
    const c = client()
    const neighbour = client()
    c.disable(`${server.origin}/v1/search?q=1`, 'maintenance')
    await rejectsWith(c.fetch(`${server.origin}/anything`), 'ERR_DISABLED')
    const res = await neighbour.fetch(`${server.origin}/anything`)
    expect(res.status).toBe(200)
    await res.text()
    expect(c.enable(new URL(server.origin))).toBe(true)
  })

  it('disabling an origin mid-call stops that call’s retries', async () => {
    // The script runs on a request, after `c` below is initialised.
    const server = await serve((_req, res, n) => {
      if (n === 1) c.disable(server.origin, 'turned off while failing')
      reply(res, 503)
    })
    const c = client({ retry: NO_WAIT })
    await rejectsWith(c.fetch(`${server.origin}/`), 'ERR_DISABLED')
    expect(server.requests).toHaveLength(1)
  })
})

describe('read-only mode', () => {
  it('configure({ readOnly: true }) refuses unsafe methods with ERR_READ_ONLY while GETs continue', async () => {
    const server = await serve((_req, res) => reply(res, 200))
    const c = client()
    c.configure({ readOnly: true })
    expect(c.stats().switches.readOnly).toBe(true)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const error = await rejectsWith(c.fetch(`${server.origin}/orders`, { method, body: method === 'DELETE' ? null : '{}' }), 'ERR_READ_ONLY')
      expect(error.message).toContain(method)
    }
    expect(server.requests).toHaveLength(0)
    for (const method of ['GET', 'HEAD', 'OPTIONS']) {
      const res = await c.fetch(`${server.origin}/orders`, { method })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'HEAD', 'OPTIONS'])

    c.configure({ readOnly: false })
    const res = await c.fetch(`${server.origin}/orders`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(200)
    await res.text()
    expect(server.requests.at(-1)?.method).toBe('POST')
  })
})

describe('maxConcurrent', () => {
  it('maxConcurrent: 2 — the third concurrent call waits; the server never sees more than 2 in flight', async () => {
    const release = gate()
    const server = await serve((_req, res) => void release.promise.then(() => reply(res, 200, {}, 'done')))
    const c = client({ maxConcurrent: 2 })
    const calls = [1, 2, 3].map((i) => c.fetch(`${server.origin}/work/${i}`).then((res) => res.text()))
    await until(() => server.inFlight === 2, 'two calls to reach the server')
    // The third call is held in the queue (a leaking gate would have sent it instead).
    await until(() => c.stats().concurrency?.queued === 1, 'the third call to queue')
    expect(server.requests).toHaveLength(2)
    expect(c.stats().concurrency).toEqual({ maxConcurrent: 2, active: 2, queued: 1 })

    release.open()
    expect(await Promise.all(calls)).toEqual(['done', 'done', 'done'])
    expect(server.requests).toHaveLength(3)
    expect(server.maxInFlight).toBe(2)
    expect(c.stats().concurrency).toEqual({ maxConcurrent: 2, active: 0, queued: 0 })
  })

  it('a queued call whose deadline passes fails ERR_DEADLINE_EXCEEDED and leaves the queue', async () => {
    const release = gate()
    const server = await serve((_req, res) => void release.promise.then(() => reply(res, 200, {}, 'done')))
    const c = client({ maxConcurrent: 2 })
    const held = [1, 2].map((i) => c.fetch(`${server.origin}/work/${i}`).then((res) => res.text()))
    await until(() => server.inFlight === 2, 'two calls to reach the server')

    const queued = c.fetch(`${server.origin}/work/3`, { timeout: { total: 200 } })
    await until(() => c.stats().concurrency?.queued === 1, 'the third call to queue')
    await rejectsWith(queued, 'ERR_DEADLINE_EXCEEDED')
    expect(c.stats().concurrency).toEqual({ maxConcurrent: 2, active: 2, queued: 0 })

    release.open()
    expect(await Promise.all(held)).toEqual(['done', 'done'])
    // The expired call never reached the server, and its slot accounting is clean.
    expect(server.requests.map((r) => r.url)).toEqual(['/work/1', '/work/2'])
    const after = await c.fetch(`${server.origin}/work/4`)
    expect(await after.text()).toBe('done')
    expect(c.stats().concurrency).toEqual({ maxConcurrent: 2, active: 0, queued: 0 })
  })

  it('a queued call aborted by its caller leaves the queue with ERR_ABORTED', async () => {
    const release = gate()
    const server = await serve((_req, res) => void release.promise.then(() => reply(res, 200)))
    const c = client({ maxConcurrent: 1 })
    const held = c.fetch(`${server.origin}/one`).then((res) => res.text())
    await until(() => server.inFlight === 1, 'the first call to reach the server')
    const controller = new AbortController()
    const queued = c.fetch(`${server.origin}/two`, { signal: controller.signal })
    await until(() => c.stats().concurrency?.queued === 1, 'the second call to queue')
    controller.abort()
    await rejectsWith(queued, 'ERR_ABORTED')
    expect(c.stats().concurrency?.queued).toBe(0)
    release.open()
    await held
    expect(server.requests).toHaveLength(1)
  })

  it('a slot is held until the body is consumed, and freed when it is cancelled', async () => {
    const server = await serve((_req, res) => reply(res, 200, {}, 'x'.repeat(256 * 1024)))
    const c = client({ maxConcurrent: 1 })
    const first = await c.fetch(`${server.origin}/big`)
    const second = c.fetch(`${server.origin}/big`)
    await until(() => c.stats().concurrency?.queued === 1, 'the second call to queue behind the unread body')
    expect(server.requests).toHaveLength(1)
    await first.body?.cancel()
    const res = await second
    expect((await res.text()).length).toBe(256 * 1024)
    expect(c.stats().concurrency).toEqual({ maxConcurrent: 1, active: 0, queued: 0 })
  })
})
