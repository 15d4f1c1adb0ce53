/**
 * Issue #9 item 1: a cache hit must not skip the address check. Every stored response carries the
 * remote address(es) its exchange was checked against, and every read (fresh hit, stale serve,
 * only-if-cached, force-cache, coalesced waiter) judges them against the *reading* client's
 * current address policy: a blocked entry is a miss, and the call then takes the guarded path,
 * which refuses it with ERR_ADDRESS_BLOCKED.
 *
 * The internal origin lives on 10.255.0.1, which exists only inside the test namespace
 * (scripts/isolated.mjs); the name `intranet.test` reaches it by DNS injection (`lookup`).
 */
import type http from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, memoryStore, redisStore, type CacheRecord, type CacheStore, type Client, type ClientOptions } from '../../src/index.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { gate, until } from '../support/waiting.js'
import { SharedClock } from '../support/clocks.js'
import { startHttpServer, type TestServer } from '../support/servers.js'
import { fakeLookup, isolated, testHosts } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'

const INTERNAL = '10.255.0.1'
const canRun = isolated && testHosts.includes(INTERNAL)
const clock = new SharedClock()
let intranet: TestServer | undefined
let redis: RedisServer | undefined
const counts = new Map<string, number>()
const holds = new Map<string, Promise<void>>()
const clients: Client[] = []

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname
  const n = (counts.get(path) ?? 0) + 1
  counts.set(path, n)
  const send = (): void => {
    res.setHeader('date', clock.httpDate())
    res.setHeader(
      'cache-control',
      path.startsWith('/swr')
        ? 'max-age=1, stale-while-revalidate=600, stale-if-error=600'
        : path.startsWith('/sie')
          ? 'max-age=1, stale-if-error=600'
          : 'max-age=600',
    )
    res.setHeader('etag', '"v1"')
    res.end(`internal secret #${n}`)
  }
  const hold = holds.get(path)
  if (hold === undefined) send()
  else void hold.then(send)
}

beforeAll(async () => {
  if (canRun) intranet = await startHttpServer(handler, INTERNAL)
  if (canRun && redisAvailable()) redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await intranet?.close()
  await redis?.stop()
})

const lookup = fakeLookup({ 'intranet.test': [INTERNAL] })

function url(path: string): string {
  return `http://intranet.test:${intranet!.port}${path}`
}

function client(options: ClientOptions): Client {
  const c = createClient({ lookup, retry: false, ...options })
  clients.push(c)
  return c
}

const LOOSE = { allowPrivate: true }

describe.skipIf(!canRun)('cache entries are judged against the reading client address policy', () => {
  it('a default-policy client sharing a memoryStore gets ERR_ADDRESS_BLOCKED, not the body an allowPrivate client stored', async () => {
    const store = memoryStore()
    const a = client({ policy: LOOSE, cache: { store, now: clock.now } })
    const b = client({ cache: { store, now: clock.now } })
    const first = await a.fetch(url('/shared'))
    expect(await first.text()).toBe('internal secret #1')
    expect(await (await a.fetch(url('/shared'))).text()).toBe('internal secret #1') // a hit for A
    const error = await rejectsWith(b.fetch(url('/shared')), 'ERR_ADDRESS_BLOCKED')
    expect(error.message).toContain(INTERNAL)
    // Every other read path is judged too.
    for (const cache of ['force-cache', 'only-if-cached', 'default'] as const) {
      const attempt = b.fetch(url('/shared'), { cache })
      if (cache === 'only-if-cached') {
        const r = await attempt
        expect(r.status).toBe(504)
        expect(await r.text()).toBe('')
      } else await rejectsWith(attempt, 'ERR_ADDRESS_BLOCKED')
    }
    // HEAD is answered from a stored GET only when that GET may be read.
    await rejectsWith(b.fetch(url('/shared'), { method: 'HEAD' }), 'ERR_ADDRESS_BLOCKED')
    expect(getCallInfo(await a.fetch(url('/shared'), { method: 'HEAD' }))?.cache).toBe('hit')
    expect(counts.get('/shared')).toBe(1)
  })

  it('an `allow` range is per client too', async () => {
    const store = memoryStore()
    const a = client({ policy: { allow: [`${INTERNAL}/32`] }, cache: { store, now: clock.now } })
    const b = client({ policy: { allow: ['10.0.0.0/24'] }, cache: { store, now: clock.now } })
    expect(await (await a.fetch(url('/allow'))).text()).toBe('internal secret #1')
    await rejectsWith(b.fetch(url('/allow')), 'ERR_ADDRESS_BLOCKED')
  })

  it('stale-while-revalidate and stale-if-error serves are judged', async () => {
    const store = memoryStore()
    const a = client({ policy: LOOSE, cache: { store, now: clock.now } })
    const b = client({ cache: { store, now: clock.now } })
    expect(await (await a.fetch(url('/swr'))).text()).toBe('internal secret #1')
    clock.advance(5)
    await rejectsWith(b.fetch(url('/swr')), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/swr'), { cache: 'force-cache' }), 'ERR_ADDRESS_BLOCKED')
    // A, still allowed, is served stale (and revalidates in the background).
    const stale = await a.fetch(url('/swr'))
    expect(getCallInfo(stale)?.cache).toBe('stale')
    expect(await stale.text()).toBe('internal secret #1')
  })

  it('304 and 206 made from the cache, max-stale, stale-if-error and staleIfUnreachable serves are judged', async () => {
    const store = memoryStore()
    const a = client({ policy: LOOSE, cache: { store, now: clock.now, staleIfUnreachable: 3_600_000 } })
    const b = client({ cache: { store, now: clock.now, staleIfUnreachable: 3_600_000 } })
    expect(await (await a.fetch(url('/precond'))).text()).toBe('internal secret #1')
    // A fresh entry answers the application's own conditional and range requests — for A only.
    const conditional = { headers: { 'if-none-match': '"v1"' } }
    const range = { headers: { range: 'bytes=0-7' } }
    expect((await a.fetch(url('/precond'), conditional)).status).toBe(304)
    const partial = await a.fetch(url('/precond'), range)
    expect({ status: partial.status, text: await partial.text() }).toEqual({ status: 206, text: 'internal' })
    await rejectsWith(b.fetch(url('/precond'), conditional), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/precond'), range), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/precond'), { method: 'HEAD', headers: { 'if-none-match': '"v1"' } }), 'ERR_ADDRESS_BLOCKED')
    expect(counts.get('/precond')).toBe(1)
    // Stale entries: a stale-accepting request, and the stand-ins for a failing origin.
    expect(await (await a.fetch(url('/sie'))).text()).toBe('internal secret #1')
    clock.advance(5)
    await rejectsWith(b.fetch(url('/sie'), { headers: { 'cache-control': 'max-stale=3600' } }), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/sie')), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/sie'), { method: 'HEAD' }), 'ERR_ADDRESS_BLOCKED')
    expect((await b.fetch(url('/sie'), { headers: { 'cache-control': 'only-if-cached, max-stale' } })).status).toBe(504)
    expect(counts.get('/sie')).toBe(1)
    const stale = await a.fetch(url('/sie'), { headers: { 'cache-control': 'max-stale=3600' } })
    expect({ cache: getCallInfo(stale)?.cache, text: await stale.text() }).toEqual({ cache: 'stale', text: 'internal secret #1' })
  })

  it('configure() that tightens the policy stops serving entries the new policy refuses', async () => {
    const a = client({ policy: LOOSE, cache: { now: clock.now } })
    expect(await (await a.fetch(url('/configure'))).text()).toBe('internal secret #1')
    a.configure({ policy: {} })
    await rejectsWith(a.fetch(url('/configure')), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(a.fetch(url('/configure'), { cache: 'force-cache' }), 'ERR_ADDRESS_BLOCKED')
    expect((await a.fetch(url('/configure'), { cache: 'only-if-cached' })).status).toBe(504)
    // Loosened again: the entry is readable again (it was never deleted, only refused).
    a.configure({ policy: LOOSE })
    const again = await a.fetch(url('/configure'))
    expect(getCallInfo(again)?.cache).toBe('hit')
    expect(await again.text()).toBe('internal secret #1')
    expect(counts.get('/configure')).toBe(1)
  })

  it("extend(): a stricter child shares the parent's cache but not the entries its policy refuses; a looser parent still reads them", async () => {
    const parent = client({ policy: LOOSE, cache: { now: clock.now } })
    const child = parent.extend({ policy: {} })
    clients.push(child)
    expect(await (await parent.fetch(url('/extend'))).text()).toBe('internal secret #1')
    await rejectsWith(child.fetch(url('/extend')), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(child.fetch(url('/extend'), { cache: 'force-cache' }), 'ERR_ADDRESS_BLOCKED')
    expect((await child.fetch(url('/extend'), { cache: 'only-if-cached' })).status).toBe(504)
    // The other way round: what a strict child may store, a looser grandchild may read.
    const loose = child.extend({ policy: LOOSE })
    clients.push(loose)
    const hit = await loose.fetch(url('/extend'))
    expect(getCallInfo(hit)?.cache).toBe('hit')
    expect(await hit.text()).toBe('internal secret #1')
    expect(counts.get('/extend')).toBe(1)
  })

  it('a request waiting on a coalesced flight started under a looser policy is refused', async () => {
    const a = client({ policy: LOOSE, cache: { now: clock.now } })
    const held = gate()
    holds.set('/flight', held.promise)
    const leader = a.fetch(url('/flight'))
    // Wait for the leader's request to reach the origin, then tighten and join its flight.
    await until(() => counts.get('/flight') !== undefined, "the leader's request to reach the origin")
    a.configure({ policy: {} })
    const waiter = a.fetch(url('/flight'))
    held.open()
    expect(await (await leader).text()).toBe('internal secret #1')
    await rejectsWith(waiter, 'ERR_ADDRESS_BLOCKED')
  })

  it('an entry with no recorded address fails closed (a miss)', async () => {
    const inner = memoryStore()
    const strip = (record: CacheRecord): CacheRecord => {
      if (record.kind !== 'response') return record
      const { addresses: _dropped, ...rest } = record as CacheRecord & { addresses?: unknown }
      return rest as CacheRecord
    }
    // A store that loses the addresses (an old-format entry, or a writer that could not record one).
    const store: CacheStore = {
      inProcess: true,
      get: (key) => inner.get(key),
      getSync: (key) => inner.getSync!(key),
      set: (key, record, ttl) => inner.set(key, strip(record), ttl),
      delete: (key) => inner.delete(key),
    }
    const a = client({ policy: LOOSE, cache: { store, now: clock.now } })
    expect(await (await a.fetch(url('/no-address'))).text()).toBe('internal secret #1')
    const second = await a.fetch(url('/no-address'))
    expect(getCallInfo(second)?.cache).toBe('miss')
    expect(await second.text()).toBe('internal secret #2')
  })

  it.skipIf(!redisAvailable())('a fleet: two redisStores on the default prefix, the default-policy one is refused', async () => {
    const a = client({ policy: LOOSE, cache: { store: redisStore({ url: redis!.url }), now: clock.now } })
    const b = client({ cache: { store: redisStore({ url: redis!.url }), now: clock.now } })
    expect(await (await a.fetch(url('/fleet'))).text()).toBe('internal secret #1')
    // A reads its own entry back from Redis once written (writes are asynchronous)...
    await until(async () => {
      const r = await a.fetch(url('/fleet'), { cache: 'only-if-cached' })
      await r.text()
      return r.status === 200
    }, 'A to read its entry back from Redis')
    // ...and B, with the default policy, is refused.
    await rejectsWith(b.fetch(url('/fleet')), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(b.fetch(url('/fleet'), { cache: 'force-cache' }), 'ERR_ADDRESS_BLOCKED')
    expect(counts.get('/fleet')).toBe(1)
  })
})
