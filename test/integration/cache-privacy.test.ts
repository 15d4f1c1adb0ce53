/**
 * Issue #5, shared and private caches through the real client against a real loopback origin:
 * in shared mode (the default) `private` responses and responses to requests with Authorization
 * are not reused (RFC 9111 §3, §3.5) unless the origin allows it; in private mode each entry is
 * partitioned by the credentials that fetched it, so two users' tokens never share one.
 */
import { describe, expect, it } from 'vitest'
import { memoryStore, type CacheOptions, type CacheRecord, type CacheStore, type Client } from '../../src/index.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { until } from '../support/waiting.js'

const fixture = useCacheFixture()
const [origin] = fixture.origins as [Origin]

function client(cache: CacheOptions = {}): Client {
  return fixture.client({}, cache)
}

/** The origin answers with the caller's identity, so a response served to the wrong user shows. */
function whoAmI(path: string, cacheControl: string): string {
  return origin.route(path, (req, res, n) => {
    const who = req.headers.authorization ?? req.headers.cookie ?? req.headers['x-api-key'] ?? 'anonymous'
    reply(res, 200, { 'cache-control': cacheControl }, `${who} #${n}`)
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
      setTimeout(() => reply(res, 200, { 'cache-control': 'private, max-age=600' }, `${req.headers.authorization} #${n}`), 20)
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
      if (req.method === 'POST') return reply(res, 200, {}, 'ok')
      reply(res, 200, { 'cache-control': 'private, max-age=600' }, `${req.headers.authorization} #${n}`)
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
    const url = origin.route('/shared-cookie', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', 'set-cookie': `s=${n}` }, `c ${n}`))
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

describe('issue 9 item 3: shared mode treats Cookie and API-key headers like Authorization (RFC 9111 §3.5)', () => {
  it.each([
    ['cookie', 'session=ALICE', 'session=BOB'],
    ['x-api-key', 'key-alice', 'key-bob'],
    ['api-key', 'key-alice', 'key-bob'],
    ['x-auth-token', 'tok-alice', 'tok-bob'],
  ])('a max-age=60 response to a request with %s is not served to another user', async (name, a, b) => {
    const path = `/shared-cred-${name}`
    const url = origin.route(path, (req, res, n) => reply(res, 200, { 'cache-control': 'max-age=60' }, `${String(req.headers[name])} #${n}`))
    const c = client()
    expect(await get(c, url, { headers: { [name]: a } })).toMatchObject({ cache: 'miss', text: `${a} #1` })
    expect(await get(c, url, { headers: { [name]: b } })).toMatchObject({ cache: 'miss', text: `${b} #2` })
    expect(await get(c, url, { headers: { [name]: a } })).toMatchObject({ cache: 'miss', text: `${a} #3` })
    // Nor to a request without credentials.
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'undefined #4' })
    expect(origin.count(path)).toBe(4)
  })

  it('a listed partitionHeaders field counts too; the origin can still share with public / s-maxage', async () => {
    const url = origin.route('/shared-tenant', (req, res, n) => reply(res, 200, { 'cache-control': 'max-age=60' }, `${String(req.headers['x-tenant'])} #${n}`))
    const c = client({ partitionHeaders: ['X-Tenant'] })
    expect((await get(c, url, { headers: { 'x-tenant': 't1' } })).text).toBe('t1 #1')
    expect(await get(c, url, { headers: { 'x-tenant': 't2' } })).toMatchObject({ cache: 'miss', text: 't2 #2' })
    const shared = origin.route('/shared-cookie-public', (req, res, n) =>
      reply(res, 200, { 'cache-control': 's-maxage=60' }, `${String(req.headers.cookie)} #${n}`),
    )
    expect((await get(c, shared, { headers: { cookie: 'session=ALICE' } })).text).toBe('session=ALICE #1')
    expect(await get(c, shared, { headers: { cookie: 'session=BOB' } })).toMatchObject({ cache: 'hit', text: 'session=ALICE #1' })
  })
})

describe('shared mode: a 304 to a request with credentials does not rewrite the shared entry (RFC 9111 §3.5, §4.3.4)', () => {
  // The anonymous response is stored (ETag, stale at once); a user's request revalidates it, and
  // the origin's 304 carries that user's fields. Merged into the entry, they would be served to
  // the next visitor: the 304 is a response to a request with credentials, stored only with
  // public / s-maxage / must-revalidate like any other (before: written back whatever it said).
  it.each([
    ['cookie', 'session=ALICE'],
    ['authorization', 'Bearer alice-token'],
    ['x-api-key', 'key-alice'],
  ])('%s: the user gets the merged answer, the next visitor the stored one', async (name, value) => {
    const path = `/shared-304-${name}`
    const url = origin.route(path, (req, res, n) => {
      const who = req.headers[name]
      if (req.headers['if-none-match'] === '"v1"' && who !== undefined) {
        reply(res, 304, { etag: '"v1"', 'cache-control': 'max-age=600', 'x-account': String(who) })
      } else reply(res, 200, { etag: '"v1"', 'cache-control': 'max-age=0' }, `body #${n}`)
    })
    const c = client()
    expect(await get(c, url)).toMatchObject({ cache: 'miss', text: 'body #1' })
    const mine = await get(c, url, { headers: { [name]: value } })
    expect(mine.status).toBe(200)
    expect(mine.headers.get('x-account')).toBe(value)
    // The entry kept its own fields and freshness (stale: the next visitor's call goes to the origin).
    const next = await get(c, url)
    expect(next.headers.get('x-account')).toBeNull()
    expect(next.cache).not.toBe('hit')
  })

  it('nor reaches a visitor coalesced behind that revalidation', async () => {
    const url = origin.route('/shared-304-coalesced', (req, res, n) => {
      const who = req.headers.cookie
      if (req.headers['if-none-match'] === '"v1"' && who !== undefined) {
        setTimeout(() => reply(res, 304, { etag: '"v1"', 'cache-control': 'max-age=600', 'x-account': who }), 50)
      } else reply(res, 200, { etag: '"v1"', 'cache-control': 'max-age=0' }, `body #${n}`)
    })
    const c = client()
    await get(c, url)
    const mine = get(c, url, { headers: { cookie: 'session=ALICE' } })
    await until(() => origin.count('/shared-304-coalesced') === 2, 'the revalidation reached the origin')
    const theirs = await get(c, url)
    expect((await mine).headers.get('x-account')).toBe('session=ALICE')
    expect(theirs.headers.get('x-account')).toBeNull()
  })

  it('a public 304 may update the entry for everyone (the origin said so)', async () => {
    const url = origin.route('/shared-304-public', (req, res, n) => {
      if (req.headers['if-none-match'] === '"v1"') reply(res, 304, { etag: '"v1"', 'cache-control': 'public, max-age=600', 'x-rev': '2' })
      else reply(res, 200, { etag: '"v1"', 'cache-control': 'public, max-age=0', 'x-rev': '1' }, `body #${n}`)
    })
    const c = client()
    await get(c, url)
    expect((await get(c, url, { headers: { cookie: 'session=ALICE' } })).headers.get('x-rev')).toBe('2')
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 'body #1' })
    expect(origin.count('/shared-304-public')).toBe(2)
  })
})

describe('issue 9 item 4: Set-Cookie and private responses never cross anonymous visitors', () => {
  const visitor = (path: string, cacheControl: string, extra: Record<string, string> = {}): string =>
    origin.route(path, (req, res, n) => {
      if (req.headers['if-none-match'] === '"cart"') {
        reply(res, 304, { etag: '"cart"', 'cache-control': cacheControl }, '')
        return
      }
      reply(res, 200, { 'cache-control': cacheControl, 'set-cookie': `sid=VISITOR-${n}; HttpOnly`, etag: '"cart"', ...extra }, `cart of visitor ${n}`)
    })

  it.each([['private'], ['shared']] as const)('%s mode: a private response with Set-Cookie is not shared between anonymous visitors', async (mode) => {
    const url = visitor(`/bff-private-${mode}`, 'private, max-age=600')
    const c = client({ mode })
    const one = await get(c, url)
    expect(one.headers.getSetCookie()).toEqual(['sid=VISITOR-1; HttpOnly'])
    const two = await get(c, url)
    expect(two.text).toBe('cart of visitor 2')
    expect(two.headers.getSetCookie()).toEqual(['sid=VISITOR-2; HttpOnly'])
  })

  it.each([['private'], ['shared']] as const)('%s mode: a public response is shared, its Set-Cookie is not', async (mode) => {
    const url = visitor(`/bff-public-${mode}`, 'public, max-age=600')
    const c = client({ mode })
    expect((await get(c, url)).headers.getSetCookie()).toEqual(['sid=VISITOR-1; HttpOnly'])
    const two = await get(c, url)
    expect(two).toMatchObject({ cache: 'hit', text: 'cart of visitor 1' })
    expect(two.headers.getSetCookie()).toEqual([])
  })

  it.each([['private'], ['shared']] as const)('%s mode: revalidating a Set-Cookie response does not replay the stored cookie', async (mode) => {
    const url = visitor(`/bff-revalidate-${mode}`, 'max-age=600')
    const c = client({ mode })
    await get(c, url)
    const two = await get(c, url)
    expect(two.cache).toBe('revalidated')
    expect(two.headers.getSetCookie()).toEqual([])
  })

  it('private mode: a visitor with credentials keeps the Set-Cookie of its own partition', async () => {
    const url = visitor('/bff-own', 'private, max-age=600')
    const c = client({ mode: 'private' })
    await get(c, url, alice)
    const again = await get(c, url, alice)
    expect(again).toMatchObject({ cache: 'hit', text: 'cart of visitor 1' })
    expect(again.headers.getSetCookie()).toEqual(['sid=VISITOR-1; HttpOnly'])
  })
})
