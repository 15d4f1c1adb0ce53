import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from '../../src/cache/cache-options.js'
import { HttpCache } from '../../src/cache/http-cache.js'
import { redisStore } from '../../src/cache/redis-store.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { until } from '../support/waiting.js'
import { fakeOrigin, readText, type FakeOrigin } from '../support/handlers.js'
import { contextFor, newRecord } from '../support/contexts.js'
import { cacheHandler } from '../support/cache-harness.js'
import { logSink } from '../support/logs.js'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./redis-writer.fixture.ts', import.meta.url))

let redis: RedisServer
let n = 0
const available = redisAvailable()
beforeAll(async () => {
  if (available) redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

function client(prefix: string, origin: FakeOrigin, extra: CacheOptions = {}, logger?: pino.Logger) {
  const store = redisStore({ url: redis.url, prefix, commandTimeoutMs: 250 })
  const cache = new HttpCache(resolveCacheOptions({ store, ...extra }) as ResolvedCacheOptions, logger)
  const handler = cacheHandler(origin.next, cache)
  return {
    cache,
    store,
    async get(url: string) {
      const record = newRecord()
      const response = await handler({ url: new URL(url), method: 'GET', headers: {}, body: null }, contextFor(cache, record))
      const text = await readText(response.body)
      await cache.settled()
      return { status: record.cache, text, headers: response.headers }
    },
  }
}

describe.skipIf(!available)('Redis store shared by processes', () => {
  it('serves in this process an entry written by another Node process', async () => {
    const prefix = `procs${++n}:`
    const url = 'http://origin.test/shared'
    const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, redis.url, prefix, url, 'written elsewhere'], { timeout: 30_000 })
    const child = JSON.parse(stdout) as { cache: string; pid: number }
    expect(child.cache).toBe('miss')
    expect(child.pid).not.toBe(process.pid)
    const origin = fakeOrigin(() => ({ body: 'from origin' }))
    const here = client(prefix, origin)
    const result = await here.get(url)
    expect(result.status).toBe('hit')
    expect(result.text).toBe('written elsewhere')
    expect(result.headers['x-writer-pid']).toBe(String(child.pid))
    expect(origin.count).toBe(0)
    await here.cache.close()
  })

  it('invalidateAll() in one client makes every entry a miss in the others', async () => {
    const prefix = `ns${++n}:`
    const origin = fakeOrigin((_req, i) => ({ headers: { 'cache-control': 'max-age=600' }, body: `v${i}` }))
    const a = client(prefix, origin)
    const b = client(prefix, origin)
    await a.get('http://origin.test/1')
    await a.get('http://origin.test/2')
    expect((await b.get('http://origin.test/1')).status).toBe('hit')
    await b.cache.invalidateAll()
    expect((await a.get('http://origin.test/1')).status).toBe('miss')
    expect((await a.get('http://origin.test/2')).status).toBe('miss')
    expect((await b.get('http://origin.test/2')).status).toBe('hit')
    await a.cache.close()
    await b.cache.close()
  })
})

describe.skipIf(!available)('signed entries (cache.signingKey)', () => {
  const signingKey = 'a-test-signing-key-of-32-bytes!!'

  it('signs entries; a tampered entry is a miss and is logged', async () => {
    const prefix = `sig${++n}:`
    const log = logSink('debug')
    const { logger } = log
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=600' }, body: 'genuine' }))
    const c = client(prefix, origin, { signingKey }, logger)
    const url = 'http://origin.test/signed'
    await c.get(url)
    expect((await c.get(url)).status).toBe('hit')

    const { Redis } = await import('ioredis')
    const raw = new Redis(redis.url)
    const key = prefix + c.cache.primaryKey('GET', new URL(url))
    const bytes = (await raw.getBuffer(key))!
    const tampered = Buffer.from(bytes.toString('latin1').replace('genuine', 'GENUINE'), 'latin1')
    await raw.set(key, tampered)
    const result = await c.get(url)
    expect(result.status).toBe('miss')
    expect(result.text).toBe('genuine')
    expect(log.lines().some((l) => l.level === 40 && /signature/.test(l.msg))).toBe(true)

    // An entry moved to another key (another URL) does not verify either.
    const other = 'http://origin.test/other'
    await c.get(url)
    await raw.set(prefix + c.cache.primaryKey('GET', new URL(other)), (await raw.getBuffer(key))!)
    expect((await c.get(other)).status).toBe('miss')
    raw.disconnect()
    await c.cache.close()
  })

  it('a captured signed entry written back after invalidate() is a miss (issue 9 item 8)', async () => {
    const prefix = `replay${++n}:`
    const origin = fakeOrigin((req, i) => ({
      headers: { 'cache-control': 'max-age=600', ...(req.url.pathname === '/varied' ? { vary: 'accept' } : {}) },
      body: `v${i}`,
    }))
    const a = client(prefix, origin, { signingKey })
    const b = client(prefix, origin, { signingKey })
    const { Redis } = await import('ioredis')
    const raw = new Redis(redis.url)
    const snapshot = async (): Promise<Map<string, Buffer>> => {
      const keys = await raw.keys(`${prefix}*`)
      const values = new Map<string, Buffer>()
      for (const key of keys) values.set(key, (await raw.getBuffer(key))!)
      return values
    }
    for (const path of ['/plain', '/varied']) {
      const url = `http://origin.test${path}`
      const first = await a.get(url)
      expect((await a.get(url)).status).toBe('hit')
      // The attacker captures every entry of the URL (response, vary index, variants)...
      const captured = await snapshot()
      await a.cache.invalidate(url)
      // ...and writes them back (the namespace and generation records keep their new values).
      const after = await snapshot()
      for (const [key, value] of captured) if (!after.has(key) || !/\|(ns|gen)\|?/.test(key)) await raw.set(key, value)
      const again = await a.get(url)
      expect(again.status, `${path} replayed`).toBe('miss')
      expect(again.text).not.toBe(first.text)
      // Another process sharing the store never sees the replayed copy either (only the new one).
      expect((await b.get(url)).text).toBe(again.text)
    }
    // invalidateAll(): the namespace token every record names is replaced; replayed records stay misses.
    const url = 'http://origin.test/all'
    await a.get(url)
    const captured = await snapshot()
    await a.cache.invalidateAll()
    for (const [key, value] of captured) if (!/\|(ns|gen)\|?/.test(key)) await raw.set(key, value)
    expect((await a.get(url)).status).toBe('miss')
    raw.disconnect()
    await a.cache.close()
    await b.cache.close()
  })

  it('a generation or namespace record rolled back with its entries is noticed by processes that saw the newer one', async () => {
    const prefix = `rollback${++n}:`
    const log = logSink('debug')
    const { logger } = log
    const origin = fakeOrigin((_req, i) => ({ headers: { 'cache-control': 'max-age=600' }, body: `v${i}` }))
    const a = client(prefix, origin, { signingKey }, logger)
    const b = client(prefix, origin, { signingKey })
    const { Redis } = await import('ioredis')
    const raw = new Redis(redis.url)
    const all = async (): Promise<Map<string, Buffer>> => {
      const values = new Map<string, Buffer>()
      for (const key of await raw.keys(`${prefix}*`)) values.set(key, (await raw.getBuffer(key))!)
      return values
    }
    const url = 'http://origin.test/roll'
    expect((await a.get(url)).text).toBe('v1')
    expect((await b.get(url)).status).toBe('hit')
    // Everything is captured, generation and namespace records included.
    let captured = await all()
    await a.cache.invalidate(url)
    expect((await b.get(url)).text).toBe('v2') // b has now seen the new generation
    for (const [key, value] of captured) await raw.set(key, value)
    for (const c of [a, b]) {
      const again = await c.get(url)
      expect(again.text).not.toBe('v1')
    }
    expect(log.lines().some((l) => l.level === 40 && /older than one already seen/.test(l.msg))).toBe(true)

    // The same for invalidateAll() and the namespace record.
    const other = 'http://origin.test/roll-all'
    const first = await a.get(other)
    captured = await all()
    await a.cache.invalidateAll()
    for (const [key, value] of captured) await raw.set(key, value)
    expect((await a.get(other)).text).not.toBe(first.text)
    raw.disconnect()
    await a.cache.close()
    await b.cache.close()
  })

  it('entries written with another key, or unsigned, are misses', async () => {
    const prefix = `sig${++n}:`
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=600' }, body: 'x' }))
    const unsigned = client(prefix, origin)
    const foreign = client(prefix, origin, { signingKey: 'another-key-another-key-another' })
    const ours = client(prefix, origin, { signingKey })
    await unsigned.get('http://origin.test/u')
    await foreign.get('http://origin.test/f')
    expect((await ours.get('http://origin.test/u')).status).toBe('miss')
    expect((await ours.get('http://origin.test/f')).status).toBe('miss')
    expect((await ours.get('http://origin.test/f')).status).toBe('hit')
    for (const c of [unsigned, foreign, ours]) await c.cache.close()
  })
})

describe.skipIf(!available)('Redis outage: fail open', () => {
  it('calls still succeed without hanging when Redis is killed, with one warning per outage', async () => {
    const prefix = `down${++n}:`
    const log = logSink('debug')
    const { logger } = log
    const origin = fakeOrigin((_req, i) => ({ headers: { 'cache-control': 'max-age=600' }, body: `v${i}` }))
    const c = client(prefix, origin, {}, logger)
    await c.get('http://origin.test/a')
    expect((await c.get('http://origin.test/a')).status).toBe('hit')

    await redis.kill()
    const during = []
    for (let i = 0; i < 5; i++) during.push(await c.get('http://origin.test/a'))
    expect(during.every((r) => r.status === 'miss')).toBe(true)
    expect(during.map((r) => r.text)).toEqual(['v2', 'v3', 'v4', 'v5', 'v6'])
    // No hang: each call is bounded by the command timeout (the test timeout would catch a hang).
    const warnings = log.lines().filter((l) => l.level === 40 && /unavailable/.test(l.msg))
    expect(warnings).toHaveLength(1)
    // Explicit management calls report the outage.
    await expect(c.cache.invalidateAll()).rejects.toMatchObject({ code: 'ERR_NETWORK' })

    await redis.restart()
    // Polled every 100 ms (each round writes, then reads) while ioredis reconnects.
    await until(
      async () => {
        await c.get('http://origin.test/b')
        return (await c.get('http://origin.test/b')).status === 'hit'
      },
      'the cache to come back after the restart',
      { timeoutMs: 15_000, intervalMs: 100 },
    )
    expect(log.lines().some((l) => l.level === 30 && /available again/.test(l.msg))).toBe(true)
    await c.cache.close()
  }, 30_000)
})

describe('a remote store that never answers', () => {
  it('does not hang the call', async () => {
    const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=600' }, body: 'ok' }))
    const silent = {
      getBuffer: () => new Promise<Buffer | null>(() => {}),
      set: () => new Promise<unknown>(() => {}),
      del: () => new Promise<number>(() => {}),
    }
    const store = redisStore({ client: silent, commandTimeoutMs: 50 })
    const cache = new HttpCache(resolveCacheOptions({ store }) as ResolvedCacheOptions)
    const record = newRecord()
    const response = await cacheHandler(origin.next, cache)(
      { url: new URL('http://origin.test/s'), method: 'GET', headers: {}, body: null },
      contextFor(cache, record),
    )
    expect(await readText(response.body)).toBe('ok')
    expect(record.cache).toBe('miss')
  })
})
