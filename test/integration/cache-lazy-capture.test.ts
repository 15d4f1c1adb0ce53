/**
 * A cacheable miss copied for the store while the caller's body stays lazy (cache/body-capture.ts
 * LazyCapture): the caller reads it whole (`text()`, `arrayBuffer()`, `bytes()`) without a stream,
 * or takes `body` (the stream capture); coalesced waiters are served either way. What must hold on
 * every form: the caller gets exactly the origin's bytes or the same error as an uncached call,
 * the entry is a copy bounded by `maxEntryBytes`, and an incomplete or cancelled body is never
 * stored.
 */
import { describe, expect, it } from 'vitest'
import { getCallInfo } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'

const fixture = useCacheFixture()
const { client } = fixture
const [origin] = fixture.origins as [Origin]

const CACHEABLE = { 'cache-control': 'max-age=600', 'content-type': 'application/octet-stream' }

function pattern(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size)
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

/** The Fetch standard's `bytes()` (the client's Response has it on Node 20 too; the DOM lib type may not). */
function bytesOf(response: Response): Promise<Uint8Array> {
  return (response as unknown as { bytes(): Promise<Uint8Array> }).bytes()
}

async function readStream(body: ReadableStream<Uint8Array> | null): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  const reader = body!.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

describe('cacheable miss, body read whole', () => {
  it.each(['text', 'arrayBuffer', 'bytes'] as const)('%s(): the caller gets the bytes, the hit the same bytes', async (method) => {
    const body = pattern(3000, 7)
    const url = origin.route(`/whole-${method}`, (_req, res) => reply(res, 200, CACHEABLE, body))
    const c = client()
    const miss = await c.fetch(url)
    expect(getCallInfo(miss)?.cache).toBe('miss')
    const got =
      method === 'text'
        ? Buffer.from(await miss.text(), 'latin1')
        : method === 'bytes'
          ? Buffer.from(await bytesOf(miss))
          : Buffer.from(await miss.arrayBuffer())
    if (method !== 'text') expect(got.equals(body)).toBe(true)
    const hit = await c.fetch(url)
    expect(getCallInfo(hit)?.cache).toBe('hit')
    expect(Buffer.from(await hit.arrayBuffer()).equals(body)).toBe(true)
    expect(origin.count(`/whole-${method}`)).toBe(1)
  })

  it('what the caller does with its bytes does not reach the stored copy', async () => {
    const body = pattern(1024, 3)
    const url = origin.route('/mutate', (_req, res) => reply(res, 200, CACHEABLE, body))
    const c = client()
    const mine = await bytesOf(await c.fetch(url))
    mine.fill(0)
    const hit = await c.fetch(url)
    expect(getCallInfo(hit)?.cache).toBe('hit')
    expect(Buffer.from(await hit.arrayBuffer()).equals(body)).toBe(true)
  })

  it('a chunked body over maxEntryBytes: the caller gets all of it, nothing is stored', async () => {
    const body = pattern(40_000, 11)
    const url = origin.route('/chunked-large', (_req, res) => {
      res.writeHead(200, CACHEABLE)
      res.write(body.subarray(0, 20_000))
      setImmediate(() => res.end(body.subarray(20_000)))
    })
    const c = client({}, { maxEntryBytes: 10_000 })
    const first = await c.fetch(url)
    expect(Buffer.from(await first.arrayBuffer()).equals(body)).toBe(true)
    const second = await c.fetch(url)
    expect(getCallInfo(second)?.cache).toBe('miss')
    expect(Buffer.from(await second.arrayBuffer()).equals(body)).toBe(true)
    expect(origin.count('/chunked-large')).toBe(2)
  })

  it('a chunked body of exactly maxEntryBytes is stored', async () => {
    const body = pattern(10_000, 13)
    const url = origin.route('/chunked-limit', (_req, res) => {
      res.writeHead(200, CACHEABLE)
      res.write(body.subarray(0, 4_000))
      setImmediate(() => res.end(body.subarray(4_000)))
    })
    const c = client({}, { maxEntryBytes: 10_000 })
    expect(Buffer.from(await (await c.fetch(url)).arrayBuffer()).equals(body)).toBe(true)
    const hit = await c.fetch(url)
    expect(getCallInfo(hit)?.cache).toBe('hit')
    expect(Buffer.from(await hit.arrayBuffer()).equals(body)).toBe(true)
  })

  it('a truncated body: the same error as an uncached call, and nothing is stored', async () => {
    const url = origin.route('/truncated', (_req, res) => {
      res.writeHead(200, { ...CACHEABLE, 'content-length': '100' })
      res.write('only a few bytes')
      setImmediate(() => res.destroy())
    })
    const uncached = await (await client({}, false).fetch(url)).text().catch((err: unknown) => err)
    const c = client()
    const cached = await (await c.fetch(url)).text().catch((err: unknown) => err)
    expect(cached).toBeInstanceOf(Error)
    expect((cached as { code?: string }).code).toBe((uncached as { code?: string }).code)
    expect((cached as Error).constructor).toBe((uncached as Error).constructor)
    const again = await c.fetch(url, { cache: 'only-if-cached' }).catch((err: unknown) => err)
    expect(again instanceof Response ? again.status : 'error').toBe(504)
  })
})

describe('cacheable miss, body taken as a stream', () => {
  it('the stream gives every byte and the entry is stored', async () => {
    const body = pattern(50_000, 5)
    const url = origin.route('/stream', (_req, res) => reply(res, 200, CACHEABLE, body))
    const c = client()
    const miss = await c.fetch(url)
    expect((await readStream(miss.body)).equals(body)).toBe(true)
    const hit = await c.fetch(url)
    expect(getCallInfo(hit)?.cache).toBe('hit')
    expect(Buffer.from(await hit.arrayBuffer()).equals(body)).toBe(true)
  })

  it('a body the caller cancels is not stored', async () => {
    const sent = gate()
    const url = origin.route('/cancelled', (_req, res) => {
      res.writeHead(200, CACHEABLE)
      res.write(pattern(1000, 1))
      void sent.promise.then(() => res.end(pattern(1000, 2)))
    })
    const c = client()
    const miss = await c.fetch(url)
    await miss.body!.cancel()
    sent.open()
    const again = await get(c, url)
    expect(again.cache).toBe('miss')
    expect(origin.count('/cancelled')).toBe(2)
  })
})

describe('coalesced waiters on a lazy miss', () => {
  it('body still arriving: waiters get it without the leader reading; the leader then gets every byte', async () => {
    const body = pattern(200_000, 9)
    const rest = gate()
    const url = origin.route('/coalesce-slow', (_req, res) => {
      res.writeHead(200, { ...CACHEABLE, 'content-length': String(body.length) })
      res.write(body.subarray(0, 1000))
      void rest.promise.then(() => res.end(body.subarray(1000)))
    })
    const c = client()
    const leader = await c.fetch(url)
    const waiters = [get(c, url), get(c, url)]
    rest.open()
    for (const waiter of await Promise.all(waiters)) expect(Buffer.from(waiter.text, 'latin1').length).toBe(body.length)
    expect(Buffer.from(await leader.arrayBuffer()).equals(body)).toBe(true)
    expect(origin.count('/coalesce-slow')).toBe(1)
  })

  it('body already delivered: a waiter is served; the leader reads it whole or as a stream afterwards', async () => {
    const body = pattern(2000, 21)
    const url = origin.route('/coalesce-done', (_req, res) => reply(res, 200, CACHEABLE, body))
    const c = client()
    const leader = await c.fetch(url)
    const waiter = c.fetch(url)
    const served = await waiter
    expect(Buffer.from(await served.arrayBuffer()).equals(body)).toBe(true)
    expect((await readStream(leader.body)).equals(body)).toBe(true)
    expect(origin.count('/coalesce-done')).toBe(1)
    await until(async () => (await get(c, url, { cache: 'only-if-cached' })).cache === 'hit', 'the entry to be stored')
  })
})
