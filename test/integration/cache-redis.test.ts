/**
 * Issue #5, the Redis store through the real client against a real loopback origin and a real
 * redis-server on a free loopback port: an entry written by a separate Node process (its own
 * client) is a hit here with no origin request; invalidateAll() in one client is seen by the
 * other; a Redis killed mid-test makes the cache fail open (calls still succeed, do not hang,
 * one warning per outage) and it comes back when Redis does; signed entries.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, redisStore, type CacheOptions, type Client } from '../../src/index.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { SharedClock } from '../support/clocks.js'
import { until } from '../support/waiting.js'
import { get, startOrigin, type Origin, untilStored } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'
import { logSink } from '../support/logs.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./cache-redis-child.fixture.ts', import.meta.url))
const available = redisAvailable()
const clock = new SharedClock()
let redis: RedisServer
let origin: Origin
let prefixes = 0
const clients: Client[] = []

beforeAll(async () => {
  origin = await startOrigin(clock)
  if (available) redis = await startRedis()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})
afterAll(async () => {
  await origin.close()
  await redis?.stop()
})

function client(prefix: string, cache: CacheOptions = {}, logger?: pino.Logger, commandTimeoutMs = 250): Client {
  const c = createClient({
    policy: { allow: ['127.0.0.1/32'] },
    retry: false,
    ...(logger === undefined ? {} : { logger }),
    cache: { store: redisStore({ url: redis.url, prefix, commandTimeoutMs }), ...cache },
  })
  clients.push(c)
  return c
}

function newPrefix(): string {
  return `it${process.pid}-${++prefixes}:`
}

describe.skipIf(!available)('Redis store shared by separate processes', () => {
  it('a child process with its own client writes via a real origin; this process reads a hit, no origin request', async () => {
    const prefix = newPrefix()
    const url = origin.route('/cross-process', (_req, res, n) =>
      reply(res, 200, { 'cache-control': 'max-age=600', 'x-n': String(n) }, `written by request ${n}`),
    )
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child, redis.url, prefix, url], { timeout: 30_000 })
    const written = JSON.parse(stdout) as { cache: string; status: number; text: string; pid: number }
    expect(written).toMatchObject({ cache: 'miss', status: 200, text: 'written by request 1' })
    expect(written.pid).not.toBe(process.pid)
    expect(origin.count('/cross-process')).toBe(1)

    const before = origin.count('/cross-process')
    const here = client(prefix)
    const hit = await get(here, url)
    expect(hit).toMatchObject({ cache: 'hit', status: 200, text: 'written by request 1' })
    expect(hit.headers.get('x-n')).toBe('1')
    // This process made no origin request at all.
    expect(origin.count('/cross-process') - before).toBe(0)
  })

  it('signed entries written by another process verify with the same key, not with another', async () => {
    const prefix = newPrefix()
    const signingKey = 'integration-signing-key-0123456789'
    const url = origin.route('/cross-process-signed', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `signed ${n}`))
    await run(process.execPath, ['--import', 'tsx', child, redis.url, prefix, url, signingKey], { timeout: 30_000 })
    // A fresh client's first command also connects (and loads ioredis): 250 ms was missed under load,
    // and a timed-out lookup is a miss — not what this test is about.
    expect(await get(client(prefix, { signingKey }, undefined, 5_000), url)).toMatchObject({ cache: 'hit', text: 'signed 1' })
    // A client with another key cannot verify it (nor the namespace record): a miss.
    expect(await get(client(prefix, { signingKey: 'some-other-key-of-enough-length' }, undefined, 5_000), url)).toMatchObject({
      cache: 'miss',
      text: 'signed 2',
    })
    expect(origin.count('/cross-process-signed')).toBe(2)
  })

  it('invalidateAll() in one client makes every entry a miss in another sharing the store', async () => {
    const prefix = newPrefix()
    const urls = ['/r-all-1', '/r-all-2'].map((path) =>
      origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `${path} ${n}`)),
    )
    const a = client(prefix)
    const b = client(prefix)
    for (const url of urls) await get(a, url)
    for (const url of urls) await untilStored(b, url)
    for (const url of urls) expect((await get(b, url)).cache).toBe('hit')
    await a.cache.invalidateAll()
    for (const url of urls) expect((await get(b, url)).cache).toBe('miss')
    for (const url of urls) await untilStored(a, url)
    for (const url of urls) expect((await get(a, url)).cache).toBe('hit')
  })

  it('invalidate(url) in one client drops the URL for the other', async () => {
    const prefix = newPrefix()
    const url = origin.route('/r-one', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600', vary: 'accept-language' }, `one ${n}`))
    const a = client(prefix)
    const b = client(prefix)
    await get(a, url, { headers: { 'accept-language': 'en' } })
    await until(async () => (await get(b, url, { cache: 'only-if-cached', headers: { 'accept-language': 'en' } })).status === 200, 'B to read the entry')
    await a.cache.invalidate(url)
    expect((await get(b, url, { headers: { 'accept-language': 'en' } })).cache).toBe('miss')
  })
})

describe.skipIf(!available)('one store object, several owners', () => {
  it('closing one of two clients that share a store leaves the other one caching', async () => {
    const store = redisStore({ url: redis.url, prefix: newPrefix(), commandTimeoutMs: 250 })
    const url = origin.route('/shared-store', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `shared ${n}`))
    const a = createClient({ policy: { allow: ['127.0.0.1/32'] }, cache: { store } })
    const b = createClient({ policy: { allow: ['127.0.0.1/32'] }, cache: { store } })
    clients.push(b)
    await get(a, url)
    await untilStored(b, url)
    await a.close()
    expect(await get(b, url)).toMatchObject({ cache: 'hit', text: 'shared 1' })
    const other = origin.route('/shared-store-2', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `second ${n}`))
    await get(b, other)
    await untilStored(b, other)
    expect(origin.count('/shared-store')).toBe(1)
  })

  it('configure() with new cache settings keeps the store it still uses open', async () => {
    const prefix = newPrefix()
    const url = origin.route('/reconfigured', (_req, res, n) => reply(res, 200, { 'cache-control': 'public, max-age=600' }, `re ${n}`))
    const c = client(prefix)
    await get(c, url)
    await untilStored(c, url)
    c.configure({ cache: { maxEntryBytes: 4096 } })
    // Let the old cache settle and close.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await get(c, url)).toMatchObject({ cache: 'hit', text: 're 1' })
  })
})

describe.skipIf(!available)('Redis killed mid-test', () => {
  it('calls still succeed and do not hang (fail open), one warning per outage, and the cache comes back', async () => {
    const prefix = newPrefix()
    const log = logSink('info')
    const { logger } = log
    const url = origin.route('/outage', (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=600' }, `outage ${n}`))
    const c = client(prefix, {}, logger)
    await get(c, url)
    await untilStored(c, url)
    expect((await get(c, url)).cache).toBe('hit')
    const before = origin.count('/outage')

    await redis.kill()
    // Bounded: each lookup waits at most the command timeout (250 ms), so the total deadline is
    // generous; a hang would fail the call with ERR_DEADLINE_EXCEEDED (or the test timeout).
    const during = []
    for (let i = 0; i < 5; i++) during.push(await get(c, url, { timeout: { total: 5_000 } }))
    for (const got of during) expect(got).toMatchObject({ status: 200, cache: 'miss' })
    expect(during.map((g) => g.text)).toEqual([1, 2, 3, 4, 5].map((i) => `outage ${before + i}`))
    // Concurrent calls during the outage too.
    const burst = await Promise.all(Array.from({ length: 10 }, () => get(c, url, { timeout: { total: 5_000 } })))
    for (const got of burst) expect(got.status).toBe(200)
    const warnings = log.lines().filter((l) => l.level === 40 && /cache store unavailable/.test(l.msg))
    expect(warnings).toHaveLength(1)
    // Management calls report the outage instead of pretending.
    await expect(c.cache.invalidateAll()).rejects.toMatchObject({ code: 'ERR_NETWORK' })

    await redis.restart()
    // Polled every 100 ms (each round writes, then reads) while ioredis reconnects.
    await until(
      async () => {
        await get(c, url)
        return (await get(c, url)).cache === 'hit'
      },
      'the cache to come back after the restart',
      { timeoutMs: 15_000, intervalMs: 100 },
    )
    expect(log.lines().some((l) => l.level === 30 && /available again/.test(l.msg))).toBe(true)
  }, 30_000)
})
