import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisStore } from '../../src/cache/redis-store.js'
import { redisAvailable, startRedis, type RedisServer } from '../helpers/redis-server.js'
import { storeConformance } from './store-suite.js'

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
  const store = redisStore({ url: redis.url, prefix: `suite${++n}:`, commandTimeoutMs: 2_000 })
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
