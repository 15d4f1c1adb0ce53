/**
 * Issue 9 item 5: one marker secret, put in every place a caller or a server can put a secret —
 * query (every naming style, `;`-separated, pre-signed cloud URLs), path (webhook and bot-token
 * shapes, a user path rule), userinfo, headers (Authorization, Cookie, x-api-key,
 * Proxy-Authorization), a proxy URL with credentials, URLs that do not parse, redirect Locations,
 * a cache store key — driven through real calls that succeed, retry, fail in every way, get
 * served from cache and revalidate in the background. Then every output is searched for the
 * marker: the raw pino text, every span (attributes, events, status), every diagnostics message,
 * every thrown error (message, stack, own properties, the whole `cause` chain), `getCallInfo()`,
 * `recentFailures()`, `stats()` as JSON and as Prometheus text.
 *
 * Each case has its own marker (`QZXLEAK<n>QZX`), so a failure names the case that leaked; the
 * search is for the common prefix, so no marker escapes by being forgotten in a list.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import type http from 'node:http'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, memoryStore, redisStore, safeFetch, type Client, type SafeRequestInit } from '../../src/index.js'
import { redisAvailable, startRedis, type RedisServer } from '../support/redis.js'
import { until } from '../support/waiting.js'
import { startHttpServer, type TestServer, closedPort } from '../support/servers.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'
import { logSink, type LogSink } from '../support/logs.js'
import { tracing, type Tracing } from '../support/telemetry.js'

const PREFIX = 'QZXLEAK'
const CHANNELS = ['start', 'end', 'error', 'retry', 'blocked'].map((name) => `safefetch:call:${name}`)
const TELEGRAM_ID = '123456'
const DISCORD_ID = '123456789012345678'

type ClientName = 'main' | 'strict' | 'proxied' | 'proxyRefused' | 'redisWriter' | 'redisReader'

interface Env {
  readonly origin: string
  readonly port: number
  readonly refusedPort: number
  /** Locations the origin's `/redirect/<id>` answers with. */
  readonly locations: Map<string, string>
}

interface Case {
  readonly name: string
  readonly client: ClientName
  /** What the call must end with: a response (`ok`, its body read) or this error code. */
  readonly outcome: string | readonly string[]
  /** The URL (or a Request-free input) to fetch. */
  url(env: Env, marker: string): string
  init?(marker: string): SafeRequestInit
  /** Runs before the call (e.g. registers a Location). */
  setup?(env: Env, marker: string, client: Client): unknown
  /** Calls the URL this many times (a cache hit, a background revalidation). Default 1. */
  repeat?: number
}

const bearer = (m: string): SafeRequestInit => ({ headers: { authorization: `Bearer ${m}` } })

const CASES: Case[] = [
  // --- query: names in every style, `;` separators, pre-signed cloud URLs -------------------------
  { name: 'query token', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?page=1&token=${m}` },
  { name: 'query accesstoken', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?accesstoken=${m}` },
  { name: 'query apitoken', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?apitoken=${m}` },
  { name: 'query authtoken', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?authtoken=${m}` },
  { name: 'query pass', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?user=bob&pass=${m}` },
  { name: 'query passphrase', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?passphrase=${m}` },
  { name: 'query client_assertion', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?client_assertion=${m}` },
  { name: 'query hmac', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?hmac=${m}` },
  { name: 'query sig after ;', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?a=1;sig=${m}` },
  { name: 'query signature after ;', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?a=1&b=2;signature=${m}` },
  { name: 'query Client-Secret', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/echo?Client-Secret=${m}` },
  {
    name: 'AWS SigV4 pre-signed URL',
    client: 'main',
    outcome: 'ok',
    url: (e, m) =>
      `${e.origin}/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${m}A&X-Amz-Date=20261206T000000Z&X-Amz-Expires=60&X-Amz-Security-Token=${m}B&X-Amz-SignedHeaders=host&X-Amz-Signature=${m}C`,
  },
  {
    name: 'GCS V4 signed URL',
    client: 'main',
    outcome: 'ok',
    url: (e, m) => `${e.origin}/o?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=${m}A&X-Goog-Date=20261206T000000Z&X-Goog-Signature=${m}B`,
  },
  {
    name: 'Azure SAS',
    client: 'main',
    outcome: 'ok',
    url: (e, m) => `${e.origin}/container/blob?sv=2022-11-02&se=2026-12-07T00%3A00%3A00Z&sp=r&sr=b&sig=${m}`,
  },
  { name: 'fragment', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/cb#access_token=${m}` },
  // --- path secrets: default shapes and a user rule ----------------------------------------------
  { name: 'Slack webhook path', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/services/T000/B000/${m}` },
  { name: 'Telegram bot token path', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/bot${TELEGRAM_ID}:${m}/sendMessage` },
  { name: 'Discord webhook path', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/api/webhooks/${DISCORD_ID}/${m}` },
  { name: 'user path rule', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/tenants/${m}/items` },
  // --- userinfo ------------------------------------------------------------------------------------
  { name: 'userinfo password (allowed)', client: 'main', outcome: 'ok', url: (e, m) => `http://bob:${m}@127.0.0.1:${e.port}/echo` },
  { name: 'userinfo user (allowed)', client: 'main', outcome: 'ok', url: (e, m) => `http://${m}@127.0.0.1:${e.port}/echo` },
  { name: 'userinfo refused by the policy', client: 'strict', outcome: 'ERR_URL_BLOCKED', url: (e, m) => `http://bob:${m}@127.0.0.1:${e.port}/echo` },
  // --- headers -------------------------------------------------------------------------------------
  { name: 'Authorization', client: 'main', outcome: 'ok', url: (e) => `${e.origin}/echo`, init: bearer },
  // Fetch forbids Cookie and Proxy-* in browsers; a server-side client may take or refuse them.
  {
    name: 'Cookie',
    client: 'main',
    outcome: ['ok', 'ERR_INVALID_OPTION'],
    url: (e) => `${e.origin}/echo`,
    init: (m) => ({ headers: { cookie: `a=1; sid=${m}` } }),
  },
  { name: 'x-api-key', client: 'main', outcome: 'ok', url: (e) => `${e.origin}/echo`, init: (m) => ({ headers: { 'x-api-key': m } }) },
  {
    name: 'Proxy-Authorization',
    client: 'main',
    outcome: ['ok', 'ERR_INVALID_OPTION'],
    url: (e) => `${e.origin}/echo`,
    init: (m) => ({ headers: { 'proxy-authorization': `Basic ${m}` } }),
  },
  // --- failures of every kind, each with secrets on board -----------------------------------------
  {
    name: 'connection refused',
    client: 'main',
    outcome: 'ERR_NETWORK',
    url: (e, m) => `http://bob:${m}A@127.0.0.1:${e.refusedPort}/services/T1/B1/${m}B?token=${m}C`,
    init: (m) => ({ retry: false, headers: { authorization: `Bearer ${m}D`, 'x-api-key': `${m}E` } }),
  },
  {
    name: 'headers timeout',
    client: 'main',
    outcome: 'ERR_HEADERS_TIMEOUT',
    url: (e, m) => `${e.origin}/tenants/${m}A?apitoken=${m}B&mode=slow`,
    init: (m) => ({ retry: false, timeout: { headers: 60 }, headers: { cookie: `sid=${m}C` } }),
  },
  {
    name: 'deadline',
    client: 'main',
    outcome: 'ERR_DEADLINE_EXCEEDED',
    url: (e, m) => `${e.origin}/bot${TELEGRAM_ID}:${m}/getMe?mode=slow`,
    init: () => ({ retry: false, timeout: { total: 60 } }),
  },
  { name: 'blocked literal address', client: 'main', outcome: 'ERR_ADDRESS_BLOCKED', url: (_e, m) => `http://u:${m}A@10.0.0.1/tenants/${m}B/?sig=${m}C` },
  { name: 'blocked cloud metadata', client: 'main', outcome: 'ERR_ADDRESS_BLOCKED', url: (_e, m) => `http://169.254.169.254/services/T1/B1/${m}` },
  {
    name: '5xx (flight recorder)',
    client: 'main',
    outcome: 'ok',
    url: (e, m) => `${e.origin}/tenants/${m}A?token=${m}B&mode=status500`,
    init: () => ({ retry: false }),
  },
  { name: 'retried 503', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/tenants/${m}A?hmac=${m}B&mode=flaky` },
  {
    name: 'body too large',
    client: 'main',
    outcome: 'ERR_RESPONSE_TOO_LARGE',
    url: (e, m) => `${e.origin}/tenants/${m}?mode=big`,
    init: () => ({ maxResponseBytes: 10 }),
  },
  // --- URLs that do not parse (ERR_URL_INVALID) --------------------------------------------------
  { name: 'invalid https:/u:pw@h', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `https:/u:${m}@h.example/` },
  { name: 'invalid http:\\\\u:pw@h', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `http:\\\\u:${m}@h.example/` },
  { name: 'invalid https:u:pw@h', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `https:u:${m}@h.example/` },
  { name: 'invalid host with userinfo', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `http://u:${m}@exa mple.test/?token=${m}` },
  { name: 'invalid, password with a slash', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `http://u:a/${m}@exa mple.test/` },
  { name: 'invalid path secret', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `http://exa mple.test/services/T1/B1/${m}` },
  { name: 'invalid URL through safeFetch', client: 'main', outcome: 'ERR_URL_INVALID', url: (_e, m) => `safefetch:https:/u:${m}@h.example/` },
  // --- redirects: secrets only the server names -------------------------------------------------
  {
    name: 'Location with a query secret',
    client: 'main',
    outcome: 'ok',
    url: (e) => `${e.origin}/r?mode=redirect&id=q`,
    setup: (e, m) => e.locations.set('q', `/landing?access_token=${m}`),
  },
  {
    name: 'Location with a path secret',
    client: 'main',
    outcome: 'ok',
    url: (e) => `${e.origin}/r?mode=redirect&id=p`,
    setup: (e, m) => e.locations.set('p', `/services/T9/B9/${m}`),
  },
  {
    name: 'Location with a user-rule path secret',
    client: 'main',
    outcome: 'ok',
    url: (e) => `${e.origin}/r?mode=redirect&id=u`,
    setup: (e, m) => e.locations.set('u', `/tenants/${m}/x`),
  },
  {
    name: 'Location with userinfo (refused)',
    client: 'strict',
    outcome: 'ERR_URL_BLOCKED',
    url: (e) => `${e.origin}/r?mode=redirect&id=cred`,
    setup: (e, m) => e.locations.set('cred', `http://bob:${m}@127.0.0.1:${e.port}/echo`),
  },
  {
    name: 'invalid Location',
    client: 'main',
    outcome: 'ERR_BAD_RESPONSE',
    url: (e) => `${e.origin}/r?mode=redirect&id=bad`,
    setup: (e, m) => e.locations.set('bad', `http://u:${m}@exa mple.test/`),
  },
  {
    name: "redirect: 'error' with a path secret",
    client: 'main',
    outcome: 'ERR_REDIRECT_BLOCKED',
    url: (e, m) => `${e.origin}/api/webhooks/${DISCORD_ID}/${m}?mode=redirect&id=down`,
    init: () => ({ redirect: 'error' }),
    setup: (e, m) => e.locations.set('down', `/tenants/${m}/`),
  },
  {
    name: 'redirect loop with secrets',
    client: 'main',
    outcome: 'ERR_TOO_MANY_REDIRECTS',
    url: (e, m) => `${e.origin}/tenants/${m}A?token=${m}B&mode=redirect&id=loop`,
    init: () => ({ redirect: { max: 2 } }),
    setup: (e, m) => e.locations.set('loop', `/tenants/${m}C?token=${m}D&mode=redirect&id=loop`),
  },
  // --- cache: hits, background revalidation that fails, a store entry with a bad signature ----
  { name: 'cache hit', client: 'main', outcome: 'ok', url: (e, m) => `${e.origin}/tenants/${m}A?token=${m}B&mode=cacheable`, repeat: 2 },
  {
    name: 'stale-while-revalidate, revalidation fails',
    client: 'main',
    outcome: 'ok',
    url: (e, m) => `${e.origin}/tenants/${m}A?token=${m}B&mode=swr`,
    repeat: 2,
  },
  // The reader's signing key differs: the writer's entry fails the signature check and is logged.
  { name: 'store key in a signature warning', client: 'redisWriter', outcome: 'ok', url: (e) => storedUrl(e) },
  {
    name: 'store key read with another signing key',
    client: 'redisReader',
    outcome: 'ok',
    url: (e) => storedUrl(e),
    // The writer stores in the background: read only once its entry is there (on a loaded machine
    // the reader used to get there first, find nothing, and log no signature warning).
    setup: async (e) => {
      const writer = clients.get('redisWriter')!
      for (let i = 0; i < 400; i++) {
        const res = await writer.fetch(storedUrl(e), { cache: 'only-if-cached' })
        await res.arrayBuffer()
        if (res.status !== 504) return
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      throw new Error("the writer's entry was never stored")
    },
  },
  // Redis refuses the write (OOM under maxmemory + noeviction): ioredis puts the command's args —
  // the store key and the entry — on the error the cache logs.
  {
    name: 'store write refused by Redis',
    client: 'redisReader', // its namespace record is in place (signed with its key): the URL's write is the one refused
    outcome: 'ok',
    url: (e, m) => `${e.origin}/services/T1/B1/${m}A?token=${m}B&mode=cacheable`,
    setup: async () => {
      const admin = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
      await admin.connect()
      await admin.config('SET', 'maxmemory-policy', 'noeviction')
      await admin.config('SET', 'maxmemory', '1')
      admin.disconnect()
    },
  },
  // --- proxies with credentials ------------------------------------------------------------------
  { name: 'proxied call, credentials in the proxy URL', client: 'proxied', outcome: 'ok', url: (e, m) => `${e.origin}/echo?token=${m}` },
  // --- refusals by the resilience layer ----------------------------------------------------------
  {
    name: 'disabled origin',
    client: 'strict',
    outcome: 'ERR_DISABLED',
    url: (e, m) => `${e.origin}/services/T1/B1/${m}?token=${m}`,
    setup: (e, _m, client) => client.disable(e.origin, 'maintenance'),
  },
  { name: 'proxy refuses (407)', client: 'proxyRefused', outcome: 'ERR_NETWORK', url: (e, m) => `${e.origin}/services/T1/B1/${m}?token=${m}` },
]

/** One URL for the Redis writer and reader, secrets in its path and query. */
function storedUrl(e: Env): string {
  const m = markerOf(caseIndex('store key in a signature warning'))
  return `${e.origin}/services/T1/B1/${m}A?token=${m}B&mode=cacheable`
}

function caseIndex(name: string): number {
  return CASES.findIndex((c) => c.name === name)
}

function markerOf(index: number): string {
  return `${PREFIX}${index}QZX`
}

let server: TestServer
let proxy: ForwardProxy
let redis: RedisServer | undefined
let log: LogSink
let trace: Tracing
const clients = new Map<ClientName, Client>()
const events: unknown[] = []
const outcomes: { name: string; outcome: string; error?: unknown; info?: unknown }[] = []
const configErrors: unknown[] = []
const listener = (message: unknown): void => {
  events.push(message)
}
const hasRedis = redisAvailable()

function origin(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const flaky = new Map<string, number>()
  const swr = new Set<string>()
  return (req, res) => {
    const url = req.url ?? '/'
    const query = new URLSearchParams(url.split('?')[1] ?? '')
    const mode = query.get('mode')
    if (mode === 'redirect') {
      res.writeHead(302, { location: locations.get(query.get('id') ?? '') ?? '/' }).end()
    } else if (mode === 'slow') {
      setTimeout(() => res.end('slow'), 400).unref()
    } else if (mode === 'status500') {
      res.writeHead(500).end('boom')
    } else if (mode === 'flaky') {
      const seen = (flaky.get(url) ?? 0) + 1
      flaky.set(url, seen)
      res.writeHead(seen === 1 ? 503 : 200, { 'retry-after': '0' }).end('flaky')
    } else if (mode === 'big') {
      res.end('x'.repeat(1000))
    } else if (mode === 'cacheable') {
      res.writeHead(200, { 'cache-control': 'max-age=60' }).end('cached')
    } else if (mode === 'swr') {
      // First answer: stale at once, may be served stale; the revalidation then finds no server.
      if (swr.has(url)) {
        req.socket.destroy()
        return
      }
      swr.add(url)
      res.writeHead(200, { 'cache-control': 'max-age=0, stale-while-revalidate=60', etag: '"v1"' }).end('swr')
    } else {
      res.end('ok')
    }
  }
}

const locations = new Map<string, string>()

async function runCase(env: Env, c: Case, index: number): Promise<void> {
  const marker = markerOf(index)
  const client = clients.get(c.client)!
  await c.setup?.(env, marker, client)
  const rawUrl = c.url(env, marker)
  const init = c.init?.(marker)
  for (let i = 0; i < (c.repeat ?? 1); i++) {
    try {
      const viaSafeFetch = rawUrl.startsWith('safefetch:')
      const res = viaSafeFetch ? await safeFetch(rawUrl.slice('safefetch:'.length), init) : await client.fetch(rawUrl, init)
      const info = getCallInfo(res)
      await res.text()
      outcomes.push({ name: c.name, outcome: 'ok', info })
    } catch (err) {
      outcomes.push({ name: c.name, outcome: (err as { code?: string }).code ?? String(err), error: err })
    }
  }
}

beforeAll(async () => {
  server = await startHttpServer(origin())
  const refusedPort = await closedPort()
  proxy = await startForwardProxy({
    requireAuthorization: `Basic ${Buffer.from(`proxyuser:${markerOf(caseIndex('proxied call, credentials in the proxy URL'))}`).toString('base64')}`,
  })
  if (hasRedis) redis = await startRedis()
  for (const name of CHANNELS) subscribe(name, listener)
  log = logSink('debug')
  trace = tracing()
  const common = {
    logger: log.logger,
    tracer: trace.tracer,
    redact: { paths: [/^\/tenants\/([^/]+)/] },
    retry: { backoff: { base: 1, cap: 2 } },
  }
  const allow = { allow: ['127.0.0.1/32'] }
  clients.set(
    'main',
    createClient({ ...common, name: 'main', policy: { ...allow, allowCredentials: true }, cache: { store: memoryStore(), backgroundTimeoutMs: 2_000 } }),
  )
  clients.set('strict', createClient({ ...common, name: 'strict', policy: allow, cache: false }))
  const proxiedMarker = markerOf(caseIndex('proxied call, credentials in the proxy URL'))
  clients.set(
    'proxied',
    createClient({ ...common, name: 'proxied', policy: allow, cache: false, proxy: `http://proxyuser:${proxiedMarker}@127.0.0.1:${proxy.port}` }),
  )
  const refusedMarker = markerOf(caseIndex('proxy refuses (407)'))
  clients.set(
    'proxyRefused',
    createClient({
      ...common,
      name: 'proxyRefused',
      policy: allow,
      cache: false,
      retry: false,
      proxy: `http://proxyuser:${refusedMarker}@127.0.0.1:${proxy.port}`,
    }),
  )
  if (redis !== undefined) {
    const store = (): ReturnType<typeof redisStore> => redisStore({ url: redis!.url, prefix: 'marker:', commandTimeoutMs: 5_000 })
    clients.set(
      'redisWriter',
      createClient({ ...common, name: 'redisWriter', policy: allow, cache: { store: store(), signingKey: 'writer-signing-key-0123456789abcdef' } }),
    )
    clients.set(
      'redisReader',
      createClient({ ...common, name: 'redisReader', policy: allow, cache: { store: store(), signingKey: 'reader-signing-key-0123456789abcdef' } }),
    )
  }
  // Options that carry secrets and are refused: the error must not quote them.
  const bad = markerOf(CASES.length)
  for (const proxyUrl of [`http:\\\\u:${bad}@[::1`, `http://u:${bad}@exa mple:1`, `http:/u:${bad}@h:99999`]) {
    try {
      createClient({ proxy: proxyUrl })
    } catch (err) {
      configErrors.push(err)
    }
  }
  // Other options that hold URLs: baseUrl (a string or a URL object), a Redis URL.
  const refusals: (() => unknown)[] = [
    () => createClient({ baseUrl: `ftp://u:${bad}@h.example/?token=${bad}` }),
    () => createClient({ baseUrl: new URL(`ftp://u:${bad}@h.example/`) }),
    () => createClient({ baseUrl: `http://u:${bad}@exa mple/` }),
    () => redisStore({ url: `redis:/:${bad}@127.0.0.1:1` }),
  ]
  for (const refuse of refusals) {
    try {
      refuse()
    } catch (err) {
      configErrors.push(err)
    }
  }
  // The cache API's own refusal of a URL that does not parse.
  await clients
    .get('main')!
    .cache.invalidate(`http://u:${bad}@exa mple.test/?token=${bad}`)
    .catch((err: unknown) => configErrors.push(err))
  const env: Env = { origin: server.origin, port: server.port, refusedPort, locations }
  for (const [index, c] of CASES.entries()) {
    if (!clients.has(c.client)) continue
    await runCase(env, c, index)
  }
  // The background work is over when it has logged: the revalidation (it fails) and, with Redis,
  // the refused store write.
  await until(() => log.lines().some((l) => l.msg === 'background revalidation failed'), 'the background revalidation to fail and log')
  if (hasRedis) await until(() => log.lines().some((l) => l.msg.includes('cache store unavailable')), 'the refused store write to be logged')
}, 60_000)

afterAll(async () => {
  for (const name of CHANNELS) unsubscribe(name, listener)
  for (const client of clients.values()) await client.close()
  await proxy.close()
  await server.close()
  await redis?.stop()
})

/** Every string reachable from a value: own properties (enumerable or not: message, stack), causes, arrays, maps. */
function strings(value: unknown, out: string[] = [], seen = new Set<unknown>(), depth = 0): string[] {
  if (typeof value === 'string') {
    out.push(value)
    return out
  }
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 12) return out
  seen.add(value)
  if (value instanceof Map) {
    for (const [k, v] of value) {
      strings(k, out, seen, depth + 1)
      strings(v, out, seen, depth + 1)
    }
    return out
  }
  for (const key of Object.getOwnPropertyNames(value)) {
    let child: unknown
    try {
      child = (value as Record<string, unknown>)[key]
    } catch {
      continue
    }
    strings(child, out, seen, depth + 1)
  }
  return out
}

/** The markers (by case name) found in a haystack. */
function leaks(haystack: string): string[] {
  const found = new Set<string>()
  for (const match of haystack.matchAll(new RegExp(`${PREFIX}(\\d+)QZX`, 'g'))) {
    const index = Number(match[1])
    found.add(CASES[index]?.name ?? `option case ${index}`)
  }
  // A marker cut short (a partial scrub) still counts.
  if (found.size === 0 && haystack.includes(PREFIX)) found.add('a partial marker')
  return [...found]
}

describe('a marker secret in every place appears in no output (issue 9 item 5)', () => {
  it('every case ran and ended as expected (so the searches below mean something)', () => {
    const ran = CASES.filter((c) => clients.has(c.client)).flatMap((c) => Array.from({ length: c.repeat ?? 1 }, () => c))
    expect(outcomes.map((o) => o.name)).toEqual(ran.map((c) => c.name))
    for (const [i, c] of ran.entries()) {
      const allowed = typeof c.outcome === 'string' ? [c.outcome] : c.outcome
      expect(allowed, `${c.name} ended with ${outcomes[i]!.outcome}`).toContain(outcomes[i]!.outcome)
    }
    // The secrets really went over the wire: the origin saw them.
    const seen = JSON.stringify(server.requests)
    for (const name of ['query token', 'Slack webhook path', 'Telegram bot token path', 'user path rule', 'Authorization', 'x-api-key']) {
      expect(seen, name).toContain(markerOf(caseIndex(name)))
    }
    expect(seen).toContain(markerOf(caseIndex('Location with a query secret')))
    expect(proxy.log.length).toBeGreaterThan(0)
    expect(configErrors).toHaveLength(8)
  })

  it.runIf(hasRedis)('the signature check really failed (and logged)', () => {
    expect(log.lines().some((l) => l.msg.includes('cache store unavailable'))).toBe(true)
    const warnings = log.lines().filter((l) => l.msg.includes('wrong signature'))
    // The entry of the URL itself (other records, e.g. the namespace token, may be refused too).
    expect(warnings.map((l) => l['entry'])).toContainEqual({ method: 'GET', origin: server.origin, keyHash: expect.stringMatching(/^[\w-]{22}$/) })
  })

  it('the raw pino output: summary, attempt, retry, cache and background-revalidation lines', () => {
    const lines = log.lines()
    expect(lines.some((l) => l.msg === 'attempt')).toBe(true)
    expect(lines.some((l) => l.msg === 'retrying')).toBe(true)
    expect(lines.some((l) => l.msg === 'background revalidation failed')).toBe(true)
    expect(leaks(log.text())).toEqual([])
  })

  it('spans: names, attributes, events (exceptions) and statuses', () => {
    const spans = trace.spans()
    expect(spans.length).toBeGreaterThan(CASES.length)
    const dump = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status, links: s.links })))
    expect(leaks(dump)).toEqual([])
  })

  it('diagnostics channel messages, errors in them included', () => {
    expect(events.length).toBeGreaterThan(CASES.length)
    expect(leaks(strings(events).join('\n'))).toEqual([])
  })

  it('thrown errors: message, stack, url, every own property, the whole cause chain', () => {
    const errors = outcomes.filter((o) => o.error !== undefined).map((o) => o.error)
    expect(errors.length).toBeGreaterThan(15)
    expect(leaks(strings(errors).join('\n'))).toEqual([])
    expect(leaks(strings(configErrors).join('\n'))).toEqual([])
  })

  it('getCallInfo() of every response', () => {
    expect(leaks(JSON.stringify(outcomes.map((o) => o.info)))).toEqual([])
  })

  it('recentFailures(), stats() as JSON and as Prometheus text', () => {
    for (const [name, client] of clients) {
      const failures = client.recentFailures()
      if (name === 'main') expect(failures.length).toBeGreaterThan(5)
      expect(leaks(JSON.stringify(failures)), `${name}.recentFailures()`).toEqual([])
      expect(leaks(JSON.stringify(client.stats())), `${name}.stats()`).toEqual([])
      expect(leaks(client.stats({ format: 'prometheus' })), `${name} Prometheus`).toEqual([])
    }
  })

  it('redacted, not dropped: the log still names what was hidden', () => {
    const text = log.text()
    expect(text).toContain('/services/T000/B000/REDACTED')
    expect(text).toContain(`/bot${TELEGRAM_ID}:REDACTED/sendMessage`)
    expect(text).toContain(`/api/webhooks/${DISCORD_ID}/REDACTED`)
    expect(text).toContain('/tenants/REDACTED/items')
    expect(text).toContain('accesstoken=REDACTED')
    expect(text).toContain('a=1;sig=REDACTED')
    expect(text).toContain('X-Amz-Date=20261206T000000Z')
    expect(text).toContain('sv=2022-11-02')
  })
})
