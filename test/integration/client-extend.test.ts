/**
 * client.extend() (issue 12, immutable clients): a child client shares with its parent what its
 * options leave unchanged — one connection pool (counted as TCP connections at a real loopback
 * server), one cache, one breaker set, one retry budget, one concurrency limit, one stats series —
 * and gets new ones for what changed. The parent is never changed; closing one client of a family
 * leaves the others working; closing them all leaves no socket or Redis connection open.
 */
import http from 'node:http'
import type net from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, redisStore, type Client } from '../../src/index.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith, throwsWith } from '../support/assertions.js'
import { type Echo } from '../support/replies.js'
import { LOOPBACK } from '../support/servers.js'
import { until } from '../support/waiting.js'
import { untilStored } from '../support/cache-origin.js'

interface CountingServer {
  readonly origin: string
  /** TCP connections accepted so far. */
  connections: number
  /** Sockets open now. */
  readonly open: Set<net.Socket>
  close(): Promise<void>
}

let server: CountingServer
let served = 0

/** `/cached` is fresh for 10 minutes; `/slow` answers after 150 ms; `/fail` is a 503; the rest echo. */
async function startCountingServer(): Promise<CountingServer> {
  const open = new Set<net.Socket>()
  const httpServer = http.createServer((req, res) => {
    served++
    if (req.url?.startsWith('/cached') === true) {
      res.writeHead(200, { 'cache-control': 'public, max-age=600', 'content-type': 'text/plain' })
      res.end(`stored ${served}`)
      return
    }
    if (req.url === '/fail') {
      res.writeHead(503)
      res.end('down')
      return
    }
    const answer = (): void => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: '' }))
    }
    if (req.url === '/slow') setTimeout(answer, 150)
    else answer()
  })
  httpServer.keepAliveTimeout = 30_000
  const result: CountingServer = {
    origin: '',
    connections: 0,
    open,
    close: () =>
      new Promise<void>((done) => {
        for (const socket of open) socket.destroy()
        httpServer.close(() => done())
      }),
  }
  httpServer.on('connection', (socket: net.Socket) => {
    result.connections++
    open.add(socket)
    socket.on('close', () => open.delete(socket))
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  const { port } = httpServer.address() as net.AddressInfo
  return Object.assign(result, { origin: `http://127.0.0.1:${port}` })
}

const clients: Client[] = []

/**
 * A root client, closed after each test with every client extended from it (also when a test
 * fails half-way). One socket per origin: a second pool shows as a second connection at the
 * server, and the pool it shares is reused by the next call (no race with undici handing the
 * socket back).
 */
function root(options: Parameters<typeof createClient>[0] = {}): Client {
  const c = tracked(createClient({ ...LOOPBACK, retry: false, connectionsPerOrigin: 1, ...options }))
  return c
}

/** Closes `c` and everything extended from it after the test. */
function tracked(c: Client): Client {
  clients.push(c)
  const extend = c.extend.bind(c)
  c.extend = (options) => tracked(extend(options))
  return c
}

async function text(client: Client, path: string, init?: Parameters<Client['fetch']>[1]): Promise<string> {
  const res = await client.fetch(`${server.origin}${path}`, init)
  return res.text()
}

async function echoOf(client: Client, path: string): Promise<Echo> {
  return JSON.parse(await text(client, path)) as Echo
}

beforeAll(async () => {
  server = await startCountingServer()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  // Every test starts with no socket left at the server: the next one counts its own connections.
  await until(() => server.open.size === 0, 'the sockets of the previous test to close')
})
afterAll(async () => {
  await server.close()
})

describe('extend(): what is shared', () => {
  it('a child with other headers and timeouts shares the parent’s connection pool (one keep-alive socket)', async () => {
    const parent = root({ cache: false })
    const child = parent.extend({ headers: { 'x-who': 'child' }, timeout: { headers: 5_000, total: 20_000 } })
    const before = server.connections
    expect((await echoOf(parent, '/a')).headers['x-who']).toBeUndefined()
    expect((await echoOf(child, '/b')).headers['x-who']).toBe('child')
    expect((await echoOf(parent, '/c')).headers['x-who']).toBeUndefined()
    expect((await echoOf(child, '/d')).headers['x-who']).toBe('child')
    expect(server.connections - before).toBe(1)
    await child.close()
  })

  it('configure() of timeouts or headers keeps the pool (no new connection)', async () => {
    const client = root({ cache: false })
    const before = server.connections
    await text(client, '/a')
    client.configure({ timeout: { headers: 4_000 } })
    client.configure({ headers: { 'x-n': '2' } })
    expect((await echoOf(client, '/b')).headers['x-n']).toBe('2')
    expect(server.connections - before).toBe(1)
  })

  it('a child that changes policy, lookup, tls, connectionsPerOrigin or the connect timeout gets a pool of its own', async () => {
    const parent = root({ cache: false })
    const children = [
      parent.extend({ policy: { allow: ['127.0.0.0/8'] } }),
      parent.extend({ lookup: fakeLookup({}) }),
      parent.extend({ tls: { minVersion: 'TLSv1.2' } }),
      parent.extend({ connectionsPerOrigin: 2 }),
      parent.extend({ timeout: { connect: 4_000 } }),
    ]
    const before = server.connections
    await text(parent, '/a')
    expect(server.connections - before).toBe(1)
    for (const [i, child] of children.entries()) {
      await text(child, `/child-${i}`)
      expect(server.connections - before, `child ${i}`).toBe(2 + i)
    }
    // Each child keeps using its own pool.
    for (const child of children) await text(child, '/again')
    expect(server.connections - before).toBe(1 + children.length)
    await Promise.all(children.map((c) => c.close()))
  })

  it('a child shares the parent’s cache unless it sets `cache`', async () => {
    const parent = root()
    const same = parent.extend({ headers: { 'x-tenant': 'same' }, timeout: 10_000 })
    const own = parent.extend({ cache: {} })
    const first = await parent.fetch(`${server.origin}/cached-1`)
    const body = await first.text()
    expect(getCallInfo(first)!.cache).toBe('miss')
    await untilStored(parent, server.origin + '/cached-1')
    const servedBefore = served
    const hit = await same.fetch(`${server.origin}/cached-1`)
    expect(await hit.text()).toBe(body)
    expect(getCallInfo(hit)!.cache).toBe('hit')
    const miss = await own.fetch(`${server.origin}/cached-1`)
    await miss.text()
    expect(getCallInfo(miss)!.cache).toBe('miss')
    expect(served - servedBefore).toBe(1)
    // The same HttpCache: invalidating through the child drops the parent's entry.
    await same.cache.invalidate(`${server.origin}/cached-1`)
    const after = await parent.fetch(`${server.origin}/cached-1`, { cache: 'only-if-cached' })
    await after.arrayBuffer()
    expect(after.status).toBe(504)
    await Promise.all([same.close(), own.close()])
  })

  it('stats and recentFailures are shared under the same name; another name counts its own', async () => {
    const parent = root({ cache: false, name: 'api' })
    const same = parent.extend({ headers: { 'x-a': '1' } })
    const renamed = parent.extend({ name: 'api-admin' })
    await text(parent, '/one')
    await text(same, '/two')
    await text(same, '/fail')
    await text(renamed, '/three')
    expect(parent.stats().origins![server.origin]!.calls).toBe(3)
    expect(same.stats().origins![server.origin]!.calls).toBe(3)
    expect(renamed.stats().origins![server.origin]!.calls).toBe(1)
    expect(renamed.stats().name).toBe('api-admin')
    expect(parent.stats({ format: 'prometheus' })).toContain('client="api"')
    expect(renamed.stats({ format: 'prometheus' })).toContain('client="api-admin"')
    await Promise.all([same.close(), renamed.close()])
  })

  it('breakers and the retry budget are shared while their settings agree', async () => {
    const breaker = { minCalls: 2, failureRatio: 0.5, cooldownMs: 60_000 }
    const parent = root({ cache: false, breaker, retry: { limit: 0, budget: { minPerSecond: 1 } } })
    const same = parent.extend({ headers: { 'x-a': '1' } })
    const other = parent.extend({ breaker: { minCalls: 50 } })
    await text(same, '/fail')
    await text(same, '/fail')
    // Two failures through the child opened the breaker the parent uses too.
    await rejectsWith(parent.fetch(`${server.origin}/ok`), 'ERR_CIRCUIT_OPEN')
    expect(parent.stats().breakers![server.origin]!.state).toBe('open')
    // Other breaker settings: another breaker set, still closed.
    expect(await text(other, '/ok')).toContain('/ok')
    expect(parent.stats().retryBudget!.requests).toBeGreaterThanOrEqual(2)
    expect(same.stats().retryBudget).toEqual(parent.stats().retryBudget)
    await Promise.all([same.close(), other.close()])
  })

  it('maxConcurrent slots are shared while the limit agrees', async () => {
    const parent = root({ cache: false, maxConcurrent: 1 })
    const same = parent.extend({ headers: { 'x-a': '1' } })
    const own = parent.extend({ maxConcurrent: 2 })
    const slow = text(parent, '/slow')
    await until(() => parent.stats().concurrency!.active === 1, 'the parent call to hold the slot')
    const queued = text(same, '/slow')
    await until(() => parent.stats().concurrency!.queued === 1, 'the child call to queue behind it')
    expect(own.stats().concurrency).toMatchObject({ maxConcurrent: 2, active: 0, queued: 0 })
    await Promise.all([slow, queued])
    await Promise.all([same.close(), own.close()])
  })
})

describe('extend(): the parent is not changed', () => {
  it('merges like configure() and leaves the parent as it was', async () => {
    const parent = root({ cache: false, timeout: { headers: 7_000, total: 9_000 }, headers: { 'x-p': 'parent' } })
    const child = parent.extend({ timeout: { headers: 1_000 }, headers: { 'x-c': 'child' } })
    expect(child.options.timeout).toMatchObject({ headers: 1_000, total: 9_000 })
    expect(parent.options.timeout).toMatchObject({ headers: 7_000, total: 9_000 })
    expect(child.options.headers).toEqual({ 'x-c': 'child' })
    expect(parent.options.headers).toEqual({ 'x-p': 'parent' })
    // No connection setting given: the same compiled policy object (and pool).
    expect(child.options.policy).toBe(parent.options.policy)
    expect(parent.extend({ policy: {} }).options.policy).not.toBe(parent.options.policy)
    // configure() on either side stays on that side.
    child.configure({ timeout: { total: 1_234 } })
    parent.configure({ timeout: { read: 4_321 } })
    expect(parent.options.timeout.total).toBe(9_000)
    expect(child.options.timeout.read).not.toBe(4_321)
    await child.close()
  })

  it('a child’s policy is its own: tightening it refuses loopback for the child only', async () => {
    const parent = root({ cache: false })
    const strict = parent.extend({ policy: {} })
    await rejectsWith(strict.fetch(`${server.origin}/x`), 'ERR_ADDRESS_BLOCKED')
    expect(await text(parent, '/x')).toContain('/x')
    await strict.close()
  })
})

describe('extend(): closing', () => {
  it('closing the parent leaves the child working on the same pool; closing the child then closes the socket', async () => {
    const parent = root({ cache: false })
    const child = parent.extend({ headers: { 'x-who': 'child' } })
    const before = server.connections
    await text(parent, '/a')
    await parent.close()
    await rejectsWith(parent.fetch(`${server.origin}/after`), 'ERR_CLIENT_CLOSED')
    expect((await echoOf(child, '/b')).headers['x-who']).toBe('child')
    expect(server.connections - before).toBe(1)
    expect(server.open.size).toBe(1)
    await child.close()
    await until(() => server.open.size === 0, 'the last client close to close the shared socket')
  })

  it('configure() of the parent’s policy gives the parent a new pool and leaves the child on the shared one', async () => {
    const parent = root({ cache: false })
    const child = parent.extend({ headers: { 'x-who': 'child' } })
    const before = server.connections
    await text(parent, '/a')
    parent.configure({ policy: { allow: ['127.0.0.0/8'] } })
    await text(parent, '/b')
    expect(server.connections - before).toBe(2)
    // The old pool was retired by the parent only: the child still holds it, socket and all.
    expect((await echoOf(child, '/c')).headers['x-who']).toBe('child')
    expect(server.connections - before).toBe(2)
    expect(server.open.size).toBe(2)
    await child.close()
    await until(() => server.open.size === 1, 'the pool only the child used to close')
  })

  it('closing the parent neither waits for nor cancels a child’s call in flight', async () => {
    const parent = root({ cache: false })
    const child = parent.extend({})
    const pending = text(child, '/slow')
    await until(() => server.open.size === 1, 'the child call to connect')
    await parent.close()
    expect(await pending).toContain('/slow')
    await child.close()
  })

  it('a child of a child works after both ancestors closed', async () => {
    const parent = root({ cache: false })
    const child = parent.extend({ headers: { 'x-1': 'a' } })
    // `headers` is replaced whole, as configure() does; spread the parent's to keep them.
    const grandchild = child.extend({ headers: { ...child.options.headers, 'x-2': 'b' } })
    const replaced = child.extend({ headers: { 'x-3': 'c' } })
    await parent.close()
    await child.close()
    const seen = await echoOf(grandchild, '/g')
    expect(seen.headers).toMatchObject({ 'x-1': 'a', 'x-2': 'b' })
    expect((await echoOf(replaced, '/r')).headers['x-1']).toBeUndefined()
    await replaced.close()
    await grandchild.close()
    await until(() => server.open.size === 0, 'the last socket to close')
  })

  it('extend() on a closed client throws ERR_CLIENT_CLOSED', async () => {
    const parent = createClient(LOOPBACK)
    await parent.close()
    throwsWith(() => parent.extend({}), 'ERR_CLIENT_CLOSED')
  })
})

describe('extend(): validation', () => {
  it('validates its options like createClient(), naming the key; the parent is unchanged', () => {
    const parent = root({ cache: false })
    expect(throwsWith(() => parent.extend({ timeout: { totl: 1 } } as never), 'ERR_INVALID_OPTION').message).toContain('timeout.totl')
    expect(throwsWith(() => parent.extend({ retries: 3 } as never), 'ERR_INVALID_OPTION').message).toContain('retries')
    expect(throwsWith(() => parent.extend({ connectionsPerOrigin: 0 }), 'ERR_INVALID_OPTION').message).toContain('connectionsPerOrigin')
    expect(throwsWith(() => parent.extend({ policy: { allow: ['not a range'] } }), 'ERR_INVALID_OPTION').message).toContain('policy')
    throwsWith(() => parent.extend('fast' as never), 'ERR_INVALID_OPTION')
    throwsWith(() => parent.extend(null as never), 'ERR_INVALID_OPTION')
    expect(parent.options.timeout.total).toBe(30_000)
  })
})

describe('extend(): switches', () => {
  it('an origin disabled on a client is disabled for the clients extended from it, not the other way round', async () => {
    const parent = root({ cache: false })
    const before = parent.extend({ headers: { 'x-a': '1' } })
    parent.disable(server.origin, 'maintenance')
    const after = parent.extend({ headers: { 'x-b': '1' } })
    const grandchild = before.extend({})
    for (const c of [parent, before, after, grandchild]) await rejectsWith(c.fetch(`${server.origin}/x`), 'ERR_DISABLED')
    expect(before.stats().switches.disabled.map((d) => d.reason)).toEqual(['maintenance'])
    // The child cannot lift its parent's switch; the parent can.
    expect(before.enable(server.origin)).toBe(false)
    await rejectsWith(before.fetch(`${server.origin}/x`), 'ERR_DISABLED')
    expect(parent.enable(server.origin)).toBe(true)
    expect(await text(before, '/x')).toContain('/x')
    // A child's own switch stays with it (and its children).
    before.disable(server.origin, 'only here')
    expect(await text(parent, '/y')).toContain('/y')
    expect(await text(after, '/y')).toContain('/y')
    await rejectsWith(grandchild.fetch(`${server.origin}/y`), 'ERR_DISABLED')
    await Promise.all([before.close(), after.close(), grandchild.close()])
  })

  it('readOnly is an option: each client has its own', async () => {
    const parent = root({ cache: false })
    const reader = parent.extend({ readOnly: true })
    await rejectsWith(reader.fetch(`${server.origin}/w`, { method: 'POST', body: 'x' }), 'ERR_READ_ONLY')
    expect((await parent.fetch(`${server.origin}/w`, { method: 'POST', body: 'x' })).status).toBe(200)
    parent.configure({ readOnly: true })
    const writer = reader.extend({ readOnly: false })
    expect((await writer.fetch(`${server.origin}/w`, { method: 'POST', body: 'x' })).status).toBe(200)
    await rejectsWith(parent.fetch(`${server.origin}/w`, { method: 'POST', body: 'x' }), 'ERR_READ_ONLY')
    await Promise.all([reader.close(), writer.close()])
  })
})

const available = redisAvailable()

describe.skipIf(!available)('extend(): closing every client of a family', () => {
  let redis: RedisServer
  let observer: Redis

  beforeAll(async () => {
    redis = await startRedis()
    observer = new Redis(redis.url, { lazyConnect: true })
    await observer.connect()
  })
  afterAll(async () => {
    await observer.quit()
    await redis.stop()
  })

  async function redisClients(): Promise<number> {
    const info = await observer.info('clients')
    return Number(/connected_clients:(\d+)/.exec(info)![1])
  }

  /** Polls the server's client count until it is `count` (quit() is seen by the server a moment later). */
  async function untilRedisClients(count: number, what: string): Promise<void> {
    await until(async () => (await redisClients()) === count, what, 3_000)
  }

  it('leaves no socket and no Redis connection open (shared cache store, fleet stats of two names)', async () => {
    const parent = createClient({
      ...LOOPBACK,
      name: 'fam',
      cache: { store: redisStore({ url: redis.url, prefix: `extend${process.pid}:` }) },
      stats: { fleet: { redis: redis.url, prefix: `extend-stats${process.pid}`, intervalMs: 100 } },
    })
    const child = parent.extend({ headers: { 'x-who': 'child' } })
    const renamed = child.extend({ name: 'fam-2' })
    const changedCache = parent.extend({ cache: { maxEntryBytes: 4_096 } })
    const family = [parent, child, renamed, changedCache]
    for (const c of family) await text(c, '/cached-fam')
    await untilStored(parent, server.origin + '/cached-fam')
    // The observer, the one store both caches use, and one fleet sink per name (its own connection, made by its first flush).
    await untilRedisClients(4, 'observer + store + two fleet sinks')
    expect(server.open.size).toBeGreaterThan(0)
    // Closed in an order where a shared resource outlives the client that made it.
    await parent.close()
    expect(await text(renamed, '/cached-fam')).toMatch(/^stored/)
    await child.close()
    await changedCache.close()
    // The 'fam' fleet sink had no user left; the store is still used by the renamed client's cache.
    await untilRedisClients(3, 'observer + store + the fam-2 sink')
    await renamed.close()
    await until(() => server.open.size === 0, 'every pool socket to close')
    // Only the observer is left.
    await untilRedisClients(1, 'only the observer')
  })
})
