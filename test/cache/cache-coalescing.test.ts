import { describe, expect, it } from 'vitest'
import { BodySettle } from '../../src/call-signal.js'
import { SafeFetchError } from '../../src/errors.js'
import { until, gate } from '../support/waiting.js'
import { bytesStream, fakeOrigin, readText } from '../support/handlers.js'
import { contextFor, newRecord } from '../support/contexts.js'
import { cacheHandler, harness } from '../support/cache-harness.js'

const URL1 = 'http://origin.test/a'

describe('request coalescing', () => {
  it('100 concurrent identical GETs make one next() call, and each gets its own stream', async () => {
    const held = gate()
    const origin = fakeOrigin(async () => {
      await held.promise
      return { headers: { 'cache-control': 'max-age=60' }, body: 'shared body' }
    })
    const h = harness(origin)
    const calls = Array.from({ length: 100 }, () => h.fetch(URL1, { noSettle: true }))
    await new Promise((resolve) => setTimeout(resolve, 10))
    held.open()
    const results = await Promise.all(calls)
    expect(origin.count).toBe(1)
    expect(results.every((r) => r.text === 'shared body')).toBe(true)
    const bodies = new Set(results.map((r) => r.response.body))
    expect(bodies.size).toBe(100)
    expect(results.filter((r) => r.record.cache === 'miss')).toHaveLength(1)
    expect(results.filter((r) => r.record.cache === 'hit')).toHaveLength(99)
    expect(h.cache.flights.size).toBe(0)
  })

  it('waiters are served even if the leader never reads its body (the leader’s body is pumped)', async () => {
    const held = gate()
    const origin = fakeOrigin(async () => {
      await held.promise
      return { headers: { 'cache-control': 'max-age=60' }, body: 'abc'.repeat(1000) }
    })
    const h = harness(origin)
    const handler = cacheHandler(origin.next, h.cache)
    const leaderCtx = contextFor(h.cache, newRecord())
    const leader = handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, leaderCtx)
    await until(() => origin.count === 1, 'the leader to reach the origin')
    const waiter = h.fetch(URL1, { noSettle: true })
    held.open()
    const leaderResponse = await leader // its body is never read
    const served = await waiter
    expect(served.text).toBe('abc'.repeat(1000))
    expect(origin.count).toBe(1)
    // The leader can still read its own copy afterwards.
    expect(await readText(leaderResponse.body)).toBe('abc'.repeat(1000))
  })

  it('the flight ends when the transport settles the body, even if the leader never reads it', async () => {
    const settle = new BodySettle()
    const base = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'unread' }))
    const next: typeof base.next = async (req, ctx) => ({ ...(await base.next(req, ctx)), settle })
    const h = harness(base)
    const handler = cacheHandler(next, h.cache)
    await handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, contextFor(h.cache, newRecord()))
    expect(h.cache.flights.size).toBe(1)
    settle.finish()
    await h.cache.settled()
    await until(() => h.cache.flights.size === 0, 'the flight to end')
    expect(h.cache.flights.size).toBe(0)
    expect((await h.fetch(URL1)).record.cache).toBe('hit')
  })

  it('a waiter waits no longer than its own signal allows', async () => {
    const origin = fakeOrigin(() => new Promise(() => {})) // the origin never answers
    const h = harness(origin)
    const handler = cacheHandler(origin.next, h.cache)
    void handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, contextFor(h.cache, newRecord())).catch(() => {})
    await until(() => origin.count === 1, 'the leader to reach the origin')
    const ctx = contextFor(h.cache, newRecord())
    const waiting = handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, ctx)
    ctx.signal.abort(new SafeFetchError('ERR_DEADLINE_EXCEEDED', 'deadline'))
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' })
    expect(origin.count).toBe(1)
  })

  it('does not share responses that are not storable: waiters go to the origin themselves', async () => {
    const held = gate()
    const origin = fakeOrigin(async (_req, n) => {
      if (n === 1) await held.promise
      return { headers: { 'cache-control': 'no-store' }, body: `private ${n}` }
    })
    const h = harness(origin)
    const calls = Array.from({ length: 5 }, () => h.fetch(URL1, { noSettle: true }))
    await new Promise((resolve) => setTimeout(resolve, 1))
    held.open()
    const texts = (await Promise.all(calls)).map((r) => r.text).sort()
    expect(new Set(texts).size).toBe(5)
    expect(origin.count).toBe(5)
  })

  it('does not share a variant with a request that varies differently', async () => {
    const held = gate()
    const origin = fakeOrigin(async (req, n) => {
      if (n === 1) await held.promise
      return { headers: { 'cache-control': 'max-age=60', vary: 'accept-language' }, body: req.headers['accept-language'] ?? '' }
    })
    const h = harness(origin)
    const en = h.fetch(URL1, { headers: { 'accept-language': 'en' }, noSettle: true })
    await until(() => origin.count === 1, 'the leader to reach the origin')
    const fr = h.fetch(URL1, { headers: { 'accept-language': 'fr' }, noSettle: true })
    await new Promise((resolve) => setTimeout(resolve, 1))
    held.open()
    expect((await en).text).toBe('en')
    expect((await fr).text).toBe('fr')
  })

  it('waiters of a failed leader retry on their own', async () => {
    const held = gate()
    const origin = fakeOrigin(async (_req, n) => {
      if (n === 1) {
        await held.promise
        throw new SafeFetchError('ERR_NETWORK', 'reset')
      }
      return { headers: { 'cache-control': 'max-age=60' }, body: 'ok' }
    })
    const h = harness(origin)
    const first = h.fetch(URL1, { noSettle: true })
    await until(() => origin.count === 1, 'the leader to reach the origin')
    const second = h.fetch(URL1, { noSettle: true })
    await new Promise((resolve) => setTimeout(resolve, 1))
    held.open()
    await expect(first).rejects.toMatchObject({ code: 'ERR_NETWORK' })
    expect((await second).text).toBe('ok')
  })
})

describe('maxEntryBytes', () => {
  it('streams larger bodies through uncached, chunk by chunk', async () => {
    const big = new Uint8Array(10_000).fill(7)
    let pulled = 0
    const origin = fakeOrigin(() => {
      let offset = 0
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= big.byteLength) return controller.close()
          pulled++
          controller.enqueue(big.slice(offset, offset + 1000))
          offset += 1000
        },
      })
      return { headers: { 'cache-control': 'max-age=60' }, body }
    })
    const h = harness(origin, { maxEntryBytes: 4096 })
    const handler = cacheHandler(origin.next, h.cache)
    const response = await handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, contextFor(h.cache, newRecord()))
    const reader = response.body!.getReader()
    await reader.read()
    expect(pulled).toBeLessThanOrEqual(2) // handed over as it arrives, not buffered to decide
    let bytes = 1000
    for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.byteLength
    expect(bytes).toBe(10_000)
    expect(pulled).toBe(10)
    await h.cache.settled()
    expect((await h.fetch(URL1)).record.cache).toBe('miss')
  })

  it('does not copy a byte when Content-Length already says it is too large', async () => {
    const body = bytesStream(new Uint8Array(10_000), 1000)
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60', 'content-length': '10000' }, body }))
    const h = harness(origin, { maxEntryBytes: 4096 })
    const handler = cacheHandler(origin.next, h.cache)
    const response = await handler({ url: new URL(URL1), method: 'GET', headers: {}, body: null }, contextFor(h.cache, newRecord()))
    expect(response.body).toBe(body) // the origin's own stream, not a wrapper
  })

  it('stores bodies up to the limit, and a body the caller cancels is not stored', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: bytesStream(new Uint8Array(4096).fill(1), 1024) }))
    const h = harness(origin, { maxEntryBytes: 4096 })
    await h.fetch(URL1)
    const hit = await h.fetch(URL1)
    expect(hit.record.cache).toBe('hit')
    expect(hit.text.length).toBe(4096)

    const handler = cacheHandler(origin.next, h.cache)
    const other = 'http://origin.test/cancelled'
    const response = await handler({ url: new URL(other), method: 'GET', headers: {}, body: null }, contextFor(h.cache, newRecord()))
    const reader = response.body!.getReader()
    await reader.read()
    await reader.cancel()
    await h.cache.settled()
    expect((await h.fetch(other)).record.cache).toBe('miss')
  })
})
