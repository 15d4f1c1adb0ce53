import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '../../src/cache/redis-store.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { responseRecord, storeConformance } from './store-suite.js'

let redis: RedisServer
let n = 0

const available = redisAvailable()
beforeAll(async () => {
  if (available) redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

storeConformance('redisStore', { skip: !available }, async () => {
  // The suite stores a 1 MiB body: over the default maxValueBytes once the metadata is added.
  const store = redisStore({ url: redis.url, prefix: `suite${++n}:`, commandTimeoutMs: 2_000, maxValueBytes: 2 * 1024 * 1024 })
  return {
    store,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: () => store.close!(),
  }
})

describe('redisStore options', () => {
  it('needs exactly one of client or url, and a redis URL', () => {
    expect(() => redisStore({})).toThrow(/exactly one of client or url/)
    expect(() => redisStore({ url: 'http://127.0.0.1:1' })).toThrow(/redisStore.url must be a redis:\/\/ or rediss:\/\/ URL, got "http/)
    expect(() => redisStore({ url: 'redis://127.0.0.1:1', commandTimeoutMs: -1 })).toThrow(/commandTimeoutMs must be a positive number of milliseconds, got -1/)
  })

  it.skipIf(!available)('accepts an ioredis client the caller owns (and does not close it)', async () => {
    const { Redis } = await import('ioredis')
    const client = new Redis(redis.url, { enableOfflineQueue: false, commandTimeout: 500, lazyConnect: true })
    await client.connect()
    const store = redisStore({ client, prefix: 'own:' })
    await store.set('k', { v: 1, kind: 'ns', ns: 'x' }, 10_000)
    expect(await store.get('k')).toEqual({ v: 1, kind: 'ns', ns: 'x' })
    expect(await client.exists('own:k')).toBe(1)
    await store.close?.()
    expect(client.status).toBe('ready')
    client.disconnect()
  })
})

describe.skipIf(!available)('issue 9 item 9: entries are bounded in time and size', () => {
  const DAY = 86_400_000
  const TEN_YEARS = 315_360_000_000

  async function raw() {
    const { Redis } = await import('ioredis')
    return new Redis(redis.url)
  }

  it('caps every TTL at maxTtlMs (default one day), Infinity included', async () => {
    const r = await raw()
    const prefix = `cap${++n}:`
    const store = redisStore({ url: redis.url, prefix })
    await store.set('ten-years', responseRecord(), TEN_YEARS)
    await store.set('forever', { v: 1, kind: 'ns', ns: 'x' }, Infinity)
    await store.set('short', responseRecord(), 5_000)
    for (const key of ['ten-years', 'forever']) {
      const pttl = await r.pttl(prefix + key)
      expect(pttl, key).toBeGreaterThan(0)
      expect(pttl, key).toBeLessThanOrEqual(DAY)
    }
    expect(await r.pttl(`${prefix}short`)).toBeLessThanOrEqual(5_000)
    const custom = redisStore({ url: redis.url, prefix: `${prefix}c:`, maxTtlMs: 60_000 })
    await custom.set('k', responseRecord(), TEN_YEARS)
    expect(await r.pttl(`${prefix}c:k`)).toBeLessThanOrEqual(60_000)
    const uncapped = redisStore({ url: redis.url, prefix: `${prefix}u:`, maxTtlMs: false })
    await uncapped.set('k', responseRecord(), Infinity)
    expect(await r.pttl(`${prefix}u:k`)).toBe(-1)
    for (const s of [store, custom, uncapped]) await s.close!()
    r.disconnect()
  })

  it('does not store a value over maxValueBytes (default 1 MiB), and drops the older one', async () => {
    const r = await raw()
    const prefix = `size${++n}:`
    const store = redisStore({ url: redis.url, prefix })
    await store.set('k', responseRecord({ body: new Uint8Array(1000) }), 60_000)
    expect(await r.exists(`${prefix}k`)).toBe(1)
    await store.set('k', responseRecord({ body: new Uint8Array(4 * 1024 * 1024) }), TEN_YEARS)
    expect(await r.exists(`${prefix}k`)).toBe(0)
    expect(await store.get('k')).toBeUndefined()
    const small = redisStore({ url: redis.url, prefix: `${prefix}s:`, maxValueBytes: 2_000 })
    await small.set('k', responseRecord({ body: new Uint8Array(3_000) }), 60_000)
    expect(await r.exists(`${prefix}s:k`)).toBe(0)
    const unbounded = redisStore({ url: redis.url, prefix: `${prefix}u:`, maxValueBytes: false })
    await unbounded.set('k', responseRecord({ body: new Uint8Array(2 * 1024 * 1024) }), 60_000)
    expect(await r.exists(`${prefix}u:k`)).toBe(1)
    for (const s of [store, small, unbounded]) await s.close!()
    r.disconnect()
  })

  it('refuses invalid bounds', () => {
    for (const [options, message] of [
      [{ maxTtlMs: 0 }, /maxTtlMs must be a positive number of milliseconds or false, got 0/],
      [{ maxTtlMs: -5 }, /maxTtlMs must be a positive number of milliseconds or false, got -5/],
      [{ maxTtlMs: true }, /maxTtlMs must be a positive number of milliseconds or false, got true/],
      [{ maxValueBytes: 0 }, /maxValueBytes must be a positive integer or false, got 0/],
      [{ maxValueBytes: 1.5 }, /maxValueBytes must be a positive integer or false, got 1.5/],
    ] as const) {
      expect(() => redisStore({ url: redis.url, ...(options as object) })).toThrow(message)
    }
  })
})
