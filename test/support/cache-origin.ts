/**
 * The cache integration suites' setup: a real loopback origin whose routes
 * each test registers by path, with the requests it received counted per path on the server side,
 * and a clock shared by the origin (its Date field) and the client's cache (`cache.now`), so tests
 * move time forward instead of sleeping.
 */
import type http from 'node:http'
import { afterAll, afterEach, beforeAll } from 'vitest'
import {
  createClient,
  getCallInfo,
  redisStore,
  type CacheOptions,
  type CacheStatus,
  type Client,
  type ClientOptions,
  type SafeRequestInit,
} from '../../src/index.js'
import { SharedClock } from './clocks.js'
import { until } from './waiting.js'
import { redisAvailable, startRedis, type RedisServer } from './redis.js'
import { LOOPBACK, startHttpServer, type TestServer } from './servers.js'

/** One route: `n` is this path's request number, from 1. */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void

export interface Origin {
  readonly server: TestServer
  readonly origin: string
  /** Registers the handler for `path` (pathname only); returns its absolute URL. */
  route(path: string, handler: Route): string
  /** Requests the origin received for `path` (any query), counted server-side. */
  count(path: string): number
  /** The requests received for `path`, in order. */
  requests(path: string): TestServer['requests']
  close(): Promise<void>
}

export async function startOrigin(clock: SharedClock): Promise<Origin> {
  const routes = new Map<string, Route>()
  const counts = new Map<string, number>()
  const server = await startHttpServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const n = (counts.get(path) ?? 0) + 1
    counts.set(path, n)
    // The origin's clock is the test's clock: ages and freshness come out as the test reasons.
    res.setHeader('date', clock.httpDate())
    const handler = routes.get(path)
    if (handler === undefined) {
      res.statusCode = 404
      res.end('no route')
      return
    }
    handler(req, res, n)
  })
  return {
    server,
    origin: server.origin,
    route(path, handler) {
      routes.set(path, handler)
      return `${server.origin}${path}`
    },
    count: (path) => counts.get(path) ?? 0,
    requests: (path) => server.requests.filter((r) => new URL(r.url, 'http://x').pathname === path),
    close: () => server.close(),
  }
}

export interface Got {
  readonly response: Response
  readonly status: number
  readonly text: string
  readonly headers: Headers
  readonly cache: CacheStatus | undefined
}

/** One call through the real client, body read to the end. */
export async function get(client: Client, url: string, init?: SafeRequestInit): Promise<Got> {
  const response = await client.fetch(url, init)
  const text = await response.text()
  return { response, status: response.status, text, headers: response.headers, cache: getCallInfo(response)?.cache }
}

/**
 * Resolves once `client` answers `url` from its cache (an only-if-cached request that is not a
 * miss, so no origin request): writes to a store such as Redis land after the call that made them.
 */
export async function untilStored(client: Client, url: string, headers: Record<string, string> = {}): Promise<void> {
  await until(async () => (await get(client, url, { cache: 'only-if-cached', headers })).cache !== 'miss', `${url} to be stored`)
}

export interface CacheFixture {
  /** The clock shared by the origins' Date fields and the clients' caches. */
  readonly clock: SharedClock
  /** Loopback origins, started before the file's tests and closed after them. */
  readonly origins: readonly Origin[]
  /** A client that may reach the origins, its cache on the shared clock (or off); closed after each test. */
  client(options?: Omit<ClientOptions, 'cache'>, cache?: CacheOptions | false): Client
}

/** The setup every cache test file shares: origins on one clock, clients closed after each test. */
export function useCacheFixture(originCount = 1): CacheFixture {
  const clock = new SharedClock()
  const started: Origin[] = []
  const clients: Client[] = []
  beforeAll(async () => {
    for (let i = 0; i < originCount; i++) started.push(await startOrigin(clock))
  })
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()))
  })
  afterAll(async () => {
    await Promise.all(started.map((o) => o.close()))
  })
  // The files name their origins at module level; they are started later, in beforeAll.
  const late = (i: number): Origin => ({
    get server() {
      return started[i]!.server
    },
    get origin() {
      return started[i]!.origin
    },
    route: (path, handler) => started[i]!.route(path, handler),
    count: (path) => started[i]!.count(path),
    requests: (path) => started[i]!.requests(path),
    close: () => started[i]!.close(),
  })
  return {
    clock,
    origins: Array.from({ length: originCount }, (_, i) => late(i)),
    client(options = {}, cache = {}) {
      const c = createClient({ ...LOOPBACK, ...options, cache: cache === false ? false : { now: clock.now, ...cache } })
      clients.push(c)
      return c
    },
  }
}

/** The stores a conformance file runs every case on: the memory store and a real redis-server. */
export const STORES = [
  ['memory', false],
  ['redis', true],
] as const

export interface StoreMatrix {
  /** Whether redis-server is installed (the Redis runs are skipped otherwise). */
  readonly redisAvailable: boolean
  /** A client of the fixture, retries off, on the memory store or on its own Redis key prefix. */
  client(useRedis: boolean, options?: Omit<ClientOptions, 'cache'>, cache?: CacheOptions): Client
}

/** One redis-server for the file (started before its tests when installed), and clients on either store. */
export function useStoreMatrix(fixture: CacheFixture, prefix: string): StoreMatrix {
  const available = redisAvailable()
  let redis: RedisServer | undefined
  let prefixes = 0
  beforeAll(async () => {
    if (available) redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  return {
    redisAvailable: available,
    client(useRedis, options = {}, cache = {}) {
      const store = useRedis ? { store: redisStore({ url: redis!.url, prefix: `${prefix}${process.pid}-${++prefixes}:`, commandTimeoutMs: 2000 }) } : {}
      return fixture.client({ retry: false, ...options }, { ...store, ...cache })
    },
  }
}

/** One call, body read; without the Response itself, so a failed match prints plain fields. */
export async function plainGet(c: Client, url: string, init?: SafeRequestInit): Promise<Omit<Got, 'response'>> {
  const { status, text, headers, cache } = await get(c, url, init)
  return { status, text, headers, cache }
}

let paths = 0
/** A fresh path per test and store, so the stores' runs never see each other's entries. */
export function uniquePath(name: string): string {
  return `/${name}-${++paths}`
}
