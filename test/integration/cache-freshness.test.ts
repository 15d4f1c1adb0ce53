/**
 * Issue #5 through the real client against a real loopback origin, counting the requests the
 * origin received: fresh hits, Age, Vary variants, 304 revalidation, must-revalidate,
 * stale-while-revalidate, stale-if-error, gzip. Time moves by a clock shared by the origin (Date)
 * and the cache (`cache.now`), never by sleeping.
 */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { getCallInfo, type Client, type ClientOptions } from '../../src/index.js'
import { gate, until } from '../support/waiting.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'

const fixture = useCacheFixture()
const { clock } = fixture
const [origin] = fixture.origins as [Origin]

function client(options: ClientOptions = {}): Client {
  const { cache, ...rest } = options
  return fixture.client(rest, typeof cache === 'object' ? cache : {})
}

describe('fresh hits', () => {
  it('serves a fresh (max-age) response without an origin request, a new Response each time', async () => {
    const url = origin.route('/fresh', (_req, res, n) =>
      reply(res, 200, { 'cache-control': 'max-age=60', 'x-origin': 'yes', 'content-type': 'text/plain' }, `body ${n}`),
    )
    const c = client()
    const first = await get(c, url)
    expect(first).toMatchObject({ status: 200, text: 'body 1', cache: 'miss' })
    // Two hits taken before either body is read: each has its own stream over the stored bytes.
    const a = await c.fetch(url)
    const b = await c.fetch(url)
    expect(a).not.toBe(b)
    expect(a.body).not.toBe(b.body)
    expect(await b.text()).toBe('body 1')
    expect(await a.text()).toBe('body 1')
    expect(a.headers.get('x-origin')).toBe('yes')
    expect(a.headers.get('content-type')).toBe('text/plain')
    expect(a.status).toBe(200)
    expect(a.url).toBe(url)
    const third = await get(c, url)
    expect(third).toMatchObject({ text: 'body 1', cache: 'hit' })
    expect(origin.count('/fresh')).toBe(1)
  })

  it('a hit body can be read as bytes, as a stream, or cancelled, and the next hit is whole', async () => {
    const payload = 'x'.repeat(3000)
    const url = origin.route('/fresh-bytes', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=60' }, payload))
    const c = client()
    await get(c, url)
    const bytes = new Uint8Array(await (await c.fetch(url)).arrayBuffer())
    expect(bytes.byteLength).toBe(3000)
    const cancelled = await c.fetch(url)
    await cancelled.body!.cancel()
    const reader = (await c.fetch(url)).body!.getReader()
    let total = 0
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
    }
    expect(total).toBe(3000)
    expect((await get(c, url)).text).toBe(payload)
    expect(origin.count('/fresh-bytes')).toBe(1)
  })

  it('bytes handed to one caller are a copy: changing them does not change the next hit', async () => {
    const url = origin.route('/fresh-copy', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=60' }, 'abcdef'))
    const c = client()
    await get(c, url)
    const buffer = await (await c.fetch(url)).arrayBuffer()
    new Uint8Array(buffer).fill(0x7a)
    const blob = await (await c.fetch(url)).blob()
    expect(await blob.text()).toBe('abcdef')
    expect((await get(c, url)).text).toBe('abcdef')
  })

  it('a hit can be cloned, and its body is used once', async () => {
    const url = origin.route('/fresh-clone', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=60', 'content-type': 'application/json' }, '{"a":1}'))
    const c = client()
    await get(c, url)
    const hit = await c.fetch(url)
    const copy = hit.clone()
    expect(await hit.json()).toEqual({ a: 1 })
    expect(await copy.text()).toBe('{"a":1}')
    expect(hit.bodyUsed).toBe(true)
    await expect(hit.text()).rejects.toThrow(TypeError)
  })

  it('generates Age on hits from the received Age plus the time the entry has been stored', async () => {
    const url = origin.route('/age', (_req, res) => reply(res, 200, { 'cache-control': 'max-age=600', age: '10' }, 'aged'))
    const c = client()
    await get(c, url)
    clock.advance(30)
    const hit = await get(c, url)
    expect(hit.cache).toBe('hit')
    // RFC 9111 §4.2.3: received Age (10 s) + resident time (30 s); the round trip adds under 1 s.
    const age = Number(hit.headers.get('age'))
    expect(age).toBeGreaterThanOrEqual(40)
    expect(age).toBeLessThanOrEqual(41)
    expect(origin.count('/age')).toBe(1)
  })

  it('counts a received Age into freshness: Age 590 of max-age 600 goes stale after 10 s', async () => {
    const url = origin.route('/age-old', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', age: '590' }, `old ${n}`))
    const c = client()
    await get(c, url)
    expect((await get(c, url)).cache).toBe('hit')
    clock.advance(12)
    const after = await get(c, url)
    expect(after).toMatchObject({ cache: 'miss', text: 'old 2' })
  })
})

describe('Vary', () => {
  it('keeps one variant per varied request field value', async () => {
    const url = origin.route('/vary', (req, res, n) =>
      reply(res, 200, { 'cache-control': 'max-age=600', vary: 'Accept-Language' }, `${req.headers['accept-language'] ?? 'none'} #${n}`),
    )
    const c = client()
    const en = { headers: { 'accept-language': 'en' } }
    const fr = { headers: { 'accept-language': 'fr' } }
    expect(await get(c, url, en)).toMatchObject({ text: 'en #1', cache: 'miss' })
    expect(await get(c, url, fr)).toMatchObject({ text: 'fr #2', cache: 'miss' })
    expect(await get(c, url, en)).toMatchObject({ text: 'en #1', cache: 'hit' })
    expect(await get(c, url, fr)).toMatchObject({ text: 'fr #2', cache: 'hit' })
    expect(await get(c, url)).toMatchObject({ text: 'none #3', cache: 'miss' })
    expect(await get(c, url)).toMatchObject({ text: 'none #3', cache: 'hit' })
    expect(await get(c, url, { headers: { 'accept-language': 'de' } })).toMatchObject({ text: 'de #4', cache: 'miss' })
    expect(origin.count('/vary')).toBe(4)
  })

  it('never reuses a Vary: * response', async () => {
    const url = origin.route('/vary-star', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', vary: '*' }, `star ${n}`))
    const c = client()
    expect((await get(c, url)).text).toBe('star 1')
    expect(await get(c, url)).toMatchObject({ text: 'star 2', cache: 'miss' })
    expect(origin.count('/vary-star')).toBe(2)
  })

  it('does not throw on an odd Vary such as ", *"', async () => {
    const url = origin.route('/vary-odd', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', vary: ', *' }, `odd ${n}`))
    const c = client()
    expect((await get(c, url)).status).toBe(200)
    expect((await get(c, url)).text).toBe('odd 2')
  })
})

describe('revalidation', () => {
  it('on 304 merges every field of the 304 and its new freshness into the stored response', async () => {
    const url = origin.route('/etag', (req, res, n) => {
      if (n > 1 && req.headers['if-none-match'] === '"v1"') {
        // A new field and a longer max-age, on the 304 only.
        reply(res, 304, { etag: '"v1"', 'cache-control': 'max-age=100', 'x-updated': `by 304 #${n}` }, '')
        return
      }
      reply(res, 200, { etag: '"v1"', 'cache-control': 'max-age=10', 'content-type': 'text/plain', 'x-first': 'kept' }, 'original body')
    })
    const c = client()
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'original body' })
    clock.advance(20) // stale: 20 s > max-age 10
    const revalidated = await get(c, url)
    expect(revalidated).toMatchObject({ status: 200, cache: 'revalidated', text: 'original body' })
    expect(revalidated.headers.get('x-updated')).toBe('by 304 #2')
    expect(revalidated.headers.get('x-first')).toBe('kept')
    expect(revalidated.headers.get('content-type')).toBe('text/plain')
    expect(origin.requests('/etag')[1]!.headers['if-none-match']).toBe('"v1"')
    // Fresh again for 100 s, counted from the 304: 50 s later it is a hit with the merged fields.
    clock.advance(50)
    const hit = await get(c, url)
    expect(hit).toMatchObject({ status: 200, cache: 'hit', text: 'original body' })
    expect(hit.headers.get('x-updated')).toBe('by 304 #2')
    expect(hit.headers.get('cache-control')).toBe('max-age=100')
    expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(50)
    expect(Number(hit.headers.get('age'))).toBeLessThanOrEqual(51)
    expect(origin.count('/etag')).toBe(2)
  })

  it('revalidates with If-Modified-Since when the entry has only Last-Modified', async () => {
    const modified = new Date(clock.now() - 3_600_000).toUTCString()
    const url = origin.route('/last-modified', (req, res, n) => {
      if (req.headers['if-modified-since'] === modified) return reply(res, 304, { 'cache-control': 'max-age=60' }, '')
      reply(res, 200, { 'last-modified': modified, 'cache-control': 'max-age=5' }, `lm ${n}`)
    })
    const c = client()
    await get(c, url)
    clock.advance(10)
    expect(await get(c, url)).toMatchObject({ cache: 'revalidated', text: 'lm 1' })
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'lm 1' })
    expect(origin.count('/last-modified')).toBe(2)
  })

  it('serves a fresh must-revalidate response without revalidating, and revalidates it once stale', async () => {
    const url = origin.route('/must-revalidate', (req, res, n) => {
      if (req.headers['if-none-match'] === '"m"') return reply(res, 304, { etag: '"m"', 'cache-control': 'max-age=60, must-revalidate' }, '')
      reply(res, 200, { etag: '"m"', 'cache-control': 'max-age=60, must-revalidate, stale-while-revalidate=600' }, `mr ${n}`)
    })
    const c = client()
    await get(c, url)
    // RFC 9111 §5.2.2.2 only forbids serving it *stale*.
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'mr 1' })
    expect(origin.count('/must-revalidate')).toBe(1)
    clock.advance(61)
    // Stale: never served stale (stale-while-revalidate does not apply), validated first.
    expect(await get(c, url)).toMatchObject({ cache: 'revalidated', text: 'mr 1' })
    expect(origin.count('/must-revalidate')).toBe(2)
  })

  it('an application conditional request the fresh entry does not answer goes to the origin untouched', async () => {
    const url = origin.route('/own-conditional', (req, res, n) => {
      if (req.headers['if-none-match'] === '"own"') return reply(res, 304, { etag: '"own"' }, '')
      reply(res, 200, { etag: '"stored"', 'cache-control': 'max-age=600' }, `own ${n}`)
    })
    const c = client()
    await get(c, url)
    const conditional = await c.fetch(url, { headers: { 'if-none-match': '"own"' } })
    expect(conditional.status).toBe(304)
    expect(getCallInfo(conditional)?.cache).toBe('bypass')
    expect(origin.requests('/own-conditional')[1]!.headers['if-none-match']).toBe('"own"')
    expect(origin.count('/own-conditional')).toBe(2)
  })
})

describe('stale-while-revalidate', () => {
  it('serves stale at once and makes exactly one background request', async () => {
    const held = gate()
    const url = origin.route('/swr', (_req, res, n) => {
      const send = (): void => reply(res, 200, { 'cache-control': 'max-age=10, stale-while-revalidate=600' }, `swr ${n}`)
      // The background revalidation is held by the origin until the test lets it go.
      if (n === 1) send()
      else void held.promise.then(send)
    })
    const c = client()
    expect((await get(c, url)).text).toBe('swr 1')
    clock.advance(30)
    // Five callers while the origin sits on the revalidation: every one is served the stale body
    // now, which could not happen if any of them waited for the origin.
    const stale = await Promise.all(Array.from({ length: 5 }, () => get(c, url)))
    for (const got of stale) expect(got).toMatchObject({ status: 200, text: 'swr 1', cache: 'stale' })
    for (let i = 0; i < 3; i++) expect(await get(c, url)).toMatchObject({ text: 'swr 1', cache: 'stale' })
    await until(() => origin.count('/swr') === 2, 'the background request')
    held.open()
    // only-if-cached never contacts the origin (nor starts a revalidation): poll the store with it.
    await until(async () => (await get(c, url, { cache: 'only-if-cached' })).text === 'swr 2', 'the revalidated entry to be stored')
    expect(await get(c, url)).toMatchObject({ text: 'swr 2', cache: 'hit' })
    expect(origin.count('/swr')).toBe(2)
  })

  it('past the stale-while-revalidate window the caller waits for the origin', async () => {
    const url = origin.route('/swr-past', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=10, stale-while-revalidate=20' }, `past ${n}`))
    const c = client()
    await get(c, url)
    clock.advance(60)
    expect(await get(c, url)).toMatchObject({ text: 'past 2', cache: 'miss' })
  })
})

describe('stale-if-error', () => {
  const retry = { limit: 2, backoff: { base: 1, cap: 1 } }

  it('serves the stale response once retries against a 500 are used up', async () => {
    const url = origin.route('/sie-500', (_req, res, n) => {
      if (n === 1) return reply(res, 200, { 'cache-control': 'max-age=10, stale-if-error=600', 'x-good': '1' }, 'good')
      reply(res, 500, {}, 'broken')
    })
    const c = client({ retry })
    await get(c, url)
    clock.advance(60)
    const stale = await get(c, url)
    expect(stale).toMatchObject({ status: 200, text: 'good', cache: 'stale' })
    expect(stale.headers.get('x-good')).toBe('1')
    // 1 original + 3 attempts (first + 2 retries), all 500.
    expect(origin.count('/sie-500')).toBe(4)
    // Past the window the error comes through.
    clock.advance(700)
    const failed = await get(c, url)
    expect(failed).toMatchObject({ status: 500, text: 'broken' })
    expect(origin.count('/sie-500')).toBe(7)
  })

  it('serves the stale response when the origin closes the connection on every attempt', async () => {
    const url = origin.route('/sie-close', (req, res, n) => {
      if (n === 1) return reply(res, 200, { 'cache-control': 'max-age=10, stale-if-error=600' }, 'kept')
      req.socket.destroy()
    })
    const c = client({ retry })
    await get(c, url)
    clock.advance(60)
    expect(await get(c, url)).toMatchObject({ status: 200, text: 'kept', cache: 'stale' })
    expect(origin.count('/sie-close')).toBe(4)
  })

  it('does not stand in for an error when the request says no-cache', async () => {
    const url = origin.route('/sie-no-cache', (_req, res, n) => {
      if (n === 1) return reply(res, 200, { 'cache-control': 'max-age=10, stale-if-error=600' }, 'kept')
      reply(res, 503, {}, 'down')
    })
    const c = client({ retry: false })
    await get(c, url)
    clock.advance(60)
    expect(await get(c, url, { cache: 'no-cache' })).toMatchObject({ status: 503, text: 'down' })
  })
})

describe('content coding', () => {
  it('decodes a gzip response once and serves the decoded bytes on every hit', async () => {
    const plain = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i, name: `item ${i}` })) })
    const gzipped = gzipSync(plain)
    const url = origin.route('/gzip', (req, res) => {
      expect(req.headers['accept-encoding']).toContain('gzip')
      reply(res, 200, { 'content-encoding': 'gzip', 'content-type': 'application/json', 'cache-control': 'max-age=600', vary: 'accept-encoding' }, gzipped)
    })
    const c = client()
    const miss = await get(c, url)
    expect(miss.text).toBe(plain)
    for (let i = 0; i < 3; i++) {
      const hit = await get(c, url)
      expect(hit.cache).toBe('hit')
      expect(hit.text).toBe(plain)
      expect(JSON.parse(hit.text)).toEqual(JSON.parse(plain))
    }
    expect(origin.count('/gzip')).toBe(1)
  })

  it('never mixes decoded and still-encoded bodies between decompress: true and false calls', async () => {
    const plain = 'plain text '.repeat(100)
    const gzipped = gzipSync(plain)
    // An origin that compresses whatever the request says (they exist), without Vary.
    const url = origin.route('/gzip-always', (_req, res) => reply(res, 200, { 'content-encoding': 'gzip', 'cache-control': 'max-age=600' }, gzipped))
    const c = client()
    const raw = async (): Promise<Buffer> => Buffer.from(await (await c.fetch(url, { decompress: false })).arrayBuffer())
    // A raw (decompress: false) caller first: its still-encoded bytes must not be served decoded-as-is to others.
    expect((await raw()).equals(gzipped)).toBe(true)
    expect((await get(c, url)).text).toBe(plain)
    expect((await get(c, url)).text).toBe(plain)
    // A raw caller after a decoded entry was stored gets the bytes as sent, not the decoded copy.
    expect((await raw()).equals(gzipped)).toBe(true)
    expect((await get(c, url)).cache).toBe('hit')
  })
})

describe('HEAD', () => {
  it('is answered from a stored GET response, without a body', async () => {
    const url = origin.route('/head', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', 'x-n': String(n) }, 'head body'))
    const c = client()
    await get(c, url)
    const head = await c.fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('x-n')).toBe('1')
    expect(await head.text()).toBe('')
    expect(origin.count('/head')).toBe(1)
  })
})
