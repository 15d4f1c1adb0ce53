/**
 * Issue #5, shared and private caches through the real client against a real loopback origin:
 * in shared mode (the default) `private` responses and responses to requests with Authorization
 * are not reused (RFC 9111 §3, §3.5) unless the origin allows it; in private mode each entry is
 * partitioned by the credentials that fetched it, so two users' tokens never share one.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore, type CacheOptions, type CacheRecord, type CacheStore, type Client } from '../../src/index.js'
import { get, reply, useCacheFixture, type Origin } from './cache-support.js'

const fixture = useCacheFixture()
const [origin] = fixture.origins as [Origin]

function client(cache: CacheOptions = {}): Client {
  return fixture.client({}, cache)
}

/** The origin answers with the caller's identity, so a response served to the wrong user shows. */
function whoAmI(path: string, cacheControl: string): string {
  return origin.route(path, (req, res, n) => {
    const who = req.headers.authorization ?? req.headers.cookie ?? req.headers['x-api-key'] ?? 'anonymous'
    reply(res, { 'cache-control': cacheControl }, `${who} #${n}`)
  })
}

const alice = { headers: { authorization: 'Bearer alice-token' } }
const bob = { headers: { authorization: 'Bearer bob-token' } }

/** A memory store that remembers every key written, to look for raw tokens in them. */
function recordingStore(): CacheStore & { keys: string[]; records: CacheRecord[] } {
  const inner = memoryStore()
  const keys: string[] = []
  const records: CacheRecord[] = []
  return {
    keys,
    records,
    inProcess: true,
    get: (key) => inner.get(key),
    getSync: (key) => inner.getSync!(key),
    set: (key, record, ttl) => {
      keys.push(key)
      records.push(record)
      return inner.set(key, record, ttl)
    },
    delete: (key) => inner.delete(key),
  }
}

describe('private mode', () => {
  it("never serves one user's private response to another", async () => {
    const url = whoAmI('/me', 'private, max-age=600')
    const c = client({ mode: 'private' })
    expect(await get(c, url, alice)).toMatchObject({ cache: 'miss', text: 'Bearer alice-token #1' })
    expect(await get(c, url, bob)).toMatchObject({ cache: 'miss', text: 'Bearer bob-token #2' })
    expect(await get(c, url, alice)).toMatchObject({ cache: 'hit', text: 'Bearer alice-token #1' })
    expect(await get(c, url, bob)).toMatchObject({ cache: 'hit', text: 'Bearer bob-token #2' })
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'anonymous #3' })
    expect(await get(c, url, { headers: { authorization: 'Bearer alice-token ' } })).toMatchObject({ text: 'Bearer alice-token #1' })
    expect(origin.count('/me')).toBe(3)
  })

  it('partitions by Cookie and by the listed partitionHeaders too', async () => {
    const url = whoAmI('/me-cookie', 'private, max-age=600')
    const c = client({ mode: 'private', partitionHeaders: ['x-api-key'] })
    expect((await get(c, url, { headers: { cookie: 'session=a' } })).text).toBe('session=a #1')
    expect((await get(c, url, { headers: { cookie: 'session=b' } })).text).toBe('session=b #2')
    expect((await get(c, url, { headers: { 'x-api-key': 'k1' } })).text).toBe('k1 #3')
    expect((await get(c, url, { headers: { 'x-api-key': 'k2' } })).text).toBe('k2 #4')
    expect(await get(c, url, { headers: { cookie: 'session=a' } })).toMatchObject({ cache: 'hit', text: 'session=a #1' })
    expect(await get(c, url, { headers: { 'x-api-key': 'k2' } })).toMatchObject({ cache: 'hit', text: 'k2 #4' })
    expect(origin.count('/me-cookie')).toBe(4)
  })

  it('coalesces only requests with the same credentials', async () => {
    const url = origin.route('/me-concurrent', (req, res, n) => {
      setTimeout(() => reply(res, { 'cache-control': 'private, max-age=600' }, `${req.headers.authorization} #${n}`), 20)
    })
    const c = client({ mode: 'private' })
    const calls = [alice, bob, alice, bob, alice, bob].map((init) => get(c, url, init))
    const results = await Promise.all(calls)
    results.forEach((got, i) => expect(got.text.startsWith(i % 2 === 0 ? 'Bearer alice-token' : 'Bearer bob-token')).toBe(true))
    expect(origin.count('/me-concurrent')).toBe(2)
  })

  it('keeps raw tokens out of store keys and stored records', async () => {
    const store = recordingStore()
    const url = whoAmI('/me-keys', 'private, max-age=600')
    const c = client({ mode: 'private', store })
    await get(c, url, alice)
    await get(c, url, bob)
    expect(store.keys.length).toBeGreaterThan(0)
    const dump = JSON.stringify({ keys: store.keys, records: store.records.map((r) => ({ ...r, body: undefined })) })
    expect(dump).not.toContain('alice-token')
    expect(dump).not.toContain('bob-token')
  })

  it("one user's POST invalidates the URL for every user", async () => {
    const url = origin.route('/me-post', (req, res, n) => {
      if (req.method === 'POST') return reply(res, {}, 'ok')
      reply(res, { 'cache-control': 'private, max-age=600' }, `${req.headers.authorization} #${n}`)
    })
    const c = client({ mode: 'private' })
    await get(c, url, alice)
    await get(c, url, bob)
    await get(c, url, { ...alice, method: 'POST', body: 'x' })
    expect((await get(c, url, bob)).cache).toBe('miss')
    expect((await get(c, url, alice)).cache).toBe('miss')
  })
})

describe('shared mode (default)', () => {
  it('does not store a private response', async () => {
    const url = whoAmI('/shared-private', 'private, max-age=600')
    const c = client()
    expect(await get(c, url, alice)).toMatchObject({ cache: 'miss', text: 'Bearer alice-token #1' })
    expect(await get(c, url, bob)).toMatchObject({ cache: 'miss', text: 'Bearer bob-token #2' })
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'anonymous #3' })
    expect((await get(c, url)).cache).toBe('miss')
    expect(origin.count('/shared-private')).toBe(4)
  })

  it('does not reuse a response to a request with Authorization', async () => {
    const url = whoAmI('/shared-auth', 'max-age=600')
    const c = client()
    expect((await get(c, url, alice)).text).toBe('Bearer alice-token #1')
    expect(await get(c, url, bob)).toMatchObject({ cache: 'miss', text: 'Bearer bob-token #2' })
    expect(await get(c, url, alice)).toMatchObject({ cache: 'miss', text: 'Bearer alice-token #3' })
    expect(origin.count('/shared-auth')).toBe(3)
  })

  it.each([
    ['public', 'public, max-age=600'],
    ['s-maxage', 's-maxage=600'],
  ])('reuses a response to a request with Authorization when the origin says %s', async (_name, cacheControl) => {
    const path = `/shared-auth-${_name}`
    const url = whoAmI(path, cacheControl)
    const c = client()
    expect((await get(c, url, alice)).text).toBe('Bearer alice-token #1')
    // The origin declared it shareable (RFC 9111 §3.5): every user gets it.
    expect(await get(c, url, bob)).toMatchObject({ cache: 'hit', text: 'Bearer alice-token #1' })
    expect(origin.count(path)).toBe(1)
  })

  it('does not reuse a response that sets a cookie unless it is public', async () => {
    const url = origin.route('/shared-cookie', (_req, res, n) => reply(res, { 'cache-control': 'max-age=600', 'set-cookie': `s=${n}` }, `c ${n}`))
    const c = client()
    await get(c, url)
    expect(await get(c, url)).toMatchObject({ text: 'c 2' })
  })

  it('a private-mode client and a shared-mode client on one store never read each other', async () => {
    const store = memoryStore()
    const url = whoAmI('/two-modes', 'public, max-age=600')
    const shared = client({ store })
    const priv = client({ store, mode: 'private' })
    await get(shared, url)
    expect((await get(priv, url)).cache).toBe('miss')
    expect((await get(shared, url)).cache).toBe('hit')
    expect((await get(priv, url)).cache).toBe('hit')
    expect(origin.count('/two-modes')).toBe(2)
  })
})
