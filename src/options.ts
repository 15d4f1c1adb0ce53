/**
 * Every option, its default and its validation, in one place.
 *
 * Options are resolved once per client (and once per `configure()`), never per request: one
 * DEFAULTS literal, `undefined` dropped, every value validated with an error that names the option.
 * Per-call options are merged only when a call actually passes some (the common call pays nothing).
 */
import type { LookupFunction } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import type { Logger } from 'pino'
import type { Dispatcher, HeadersInit } from 'undici'
import { SafeFetchError } from './errors.js'
import { checkKnownKeys, invalidOption, optionError, unknownOption } from './option-checks.js'
import { compilePolicy, type CompiledPolicy, type PolicyOptions } from './net/url-policy.js'
import { checkRequestHeader } from './net/forbidden-headers.js'
import { resolveProxyOption, type ProxyOption, type ResolvedProxy } from './net/proxy.js'
import { resolveBreakerOptions, type BreakerOptions, type ResolvedBreakerOptions } from './resilience/circuit-breaker.js'
import { resolveMaxConcurrent } from './resilience/concurrency-limit.js'
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from './retry/retry-options.js'
import { resolveObserveOptions, type ObserveOptions, type ResolvedObserveOptions } from './observe/observe-state.js'
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions } from './cache/cache-options.js'
import { REQUEST_CACHE_MODES, type RequestCacheMode } from './cache/cache-request.js'
import { isToken } from './http.js'

export interface TimeoutOptions {
  /** TCP connect plus TLS handshake, per connection, in ms. Default 5 000. `false` disables it. */
  connect?: number | false
  /** From sending the request to receiving the response headers, per attempt, in ms. Default 10 000. */
  headers?: number | false
  /** The longest silence between two body chunks, in ms. Default 30 000. */
  read?: number | false
  /**
   * One deadline over the whole call, in ms: redirects, retries, backoff waits and reading the
   * body. Default 30 000. The timer stops once the body has been delivered.
   */
  total?: number | false
}

/** A call's timeouts: `connect` is a client option (it is fixed when the client builds its pool). */
export type CallTimeoutOptions = Omit<TimeoutOptions, 'connect'>

export interface RedirectOptions {
  /** Hops followed before ERR_TOO_MANY_REDIRECTS. Default 5; `0` refuses every redirect. */
  max?: number
  /** Follow an https: → http: hop (the response would travel in clear). Default false. */
  allowDowngrade?: boolean
  /** Extra request headers dropped when a hop changes scheme, host or port (on top of Authorization, Cookie, Proxy-Authorization). */
  stripHeaders?: readonly string[]
}

export type RedirectMode = 'follow' | 'manual' | 'error'

/** TLS options handed to the connector: an internal CA, client certificates, protocol limits. */
export type TlsOptions = Pick<
  ConnectionOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'minVersion' | 'maxVersion' | 'ciphers' | 'checkServerIdentity'
>

/** Logging, tracing and statistics options (`redact`, `tracer`, `meter`, `propagateTraceContext`, `stats`, `recentFailures`) sit at the top level. */
export interface ClientOptions extends ObserveOptions {
  /** Name used in log lines and stats (`client` binding). Default 'safefetch'. */
  name?: string
  /** Relative request URLs are resolved against this URL. */
  baseUrl?: string | URL
  /**
   * With a baseUrl, an absolute request URL to another origin is refused (ERR_URL_BLOCKED) unless
   * this is true — a URL built from user input must not leave the API (axios CVE-2024-39338).
   */
  allowAbsoluteUrls?: boolean
  /** Headers sent on every request; per-call headers override them by name. */
  headers?: HeadersInit
  /** Timeouts in ms (docs/timeouts.md). A number is the total deadline: `timeout: 5000` is `{ total: 5000 }`. */
  timeout?: TimeoutOptions | number
  redirect?: RedirectMode | RedirectOptions
  /** The SSRF policy: schemes, ports, hosts, address ranges. Applies to every hop and every connection. */
  policy?: PolicyOptions
  /** Replaces DNS resolution (`dns.lookup` shape). Every answer is still checked against the policy. */
  lookup?: LookupFunction
  tls?: TlsOptions
  /**
   * An http: forward proxy, e.g. 'http://user:pass@proxy.internal:3128' or { url, headers }. The
   * policy still applies: names are resolved and judged locally and the proxy is asked for the
   * checked IP (docs/security-model.md, "Proxies"). Default: none; HTTP_PROXY/HTTPS_PROXY/NO_PROXY
   * are never read.
   */
  proxy?: ProxyOption
  /**
   * For tests: send every exchange to this undici Dispatcher (e.g. a `MockAgent`) instead of the
   * network. Every layer still runs; names are resolved with `lookup` (required with a dispatcher)
   * and judged by the address policy before dispatch; the dispatcher is never allowed to reach the
   * network. Calls show `transport: 'mock'` in their log line and call info. docs/testing.md.
   * Default: none (safefetch's own guarded pool). Never read from the environment.
   */
  dispatcher?: Dispatcher
  /** Largest decoded response body in bytes. Default 10 MiB. */
  maxResponseBytes?: number
  /**
   * Largest decoded:compressed ratio tolerated after the first MiB (decoded bytes per compressed
   * byte, a number >= 1). Default 100. `false` turns the ratio check off (maxResponseBytes still applies).
   */
  maxDecompressionRatio?: number | false
  /** Send Accept-Encoding and decode gzip/deflate/br(/zstd) bodies. Default true. */
  decompress?: boolean
  /** Sockets per origin. Default 64. */
  connectionsPerOrigin?: number
  /** Idle keep-alive sockets are closed after this many ms. Default 4 000. */
  keepAliveTimeout?: number
  /** A pino logger: one line per call (docs/observability.md). Default none; `false` turns logging off (for configure()). */
  logger?: Logger | false
  /** Retries with backoff, Retry-After and a per-client budget (docs/retries.md). `false` turns them off. */
  retry?: RetryOptions | false
  /** Per-origin circuit breaker (docs/circuit-breaker.md). Off by default; `true` uses the defaults. */
  breaker?: BreakerOptions | boolean
  /** Refuse unsafe methods (POST, PUT, PATCH, DELETE …) with ERR_READ_ONLY; GETs continue. Default false. */
  readOnly?: boolean
  /** Calls in flight at once; more wait in a FIFO queue (their deadline and signal apply). Default: no limit. */
  maxConcurrent?: number
  /**
   * RFC 9111 HTTP cache for GET/HEAD (docs/caching.md). On by default: shared-cache rules, an
   * in-memory LRU of 50 MiB per client. `false` turns it off; `{ store: redisStore(...) }` shares it.
   */
  cache?: CacheOptions | boolean
}

/** Options a single call may override. */
export interface CallOptions {
  /** Tune or switch off retries for this call (`retry: false`, `retry: { allowNonIdempotent: true }`). */
  retry?: RetryOptions | false
  /** A fetch cache mode for this call ('no-store', 'no-cache', 'reload', 'force-cache', 'only-if-cached'), or false to bypass the cache. */
  cache?: RequestCacheMode | false
  /** This call's timeouts; a number is its total deadline. `connect` is a client option. */
  timeout?: CallTimeoutOptions | number
  redirect?: RedirectMode | RedirectOptions
  maxResponseBytes?: number
  maxDecompressionRatio?: number | false
  decompress?: boolean
}

export interface ResolvedTimeouts {
  readonly connect: number
  readonly headers: number
  readonly read: number
  readonly total: number
}

export interface ResolvedRedirect {
  readonly mode: RedirectMode
  readonly max: number
  readonly allowDowngrade: boolean
  readonly stripHeaders: readonly string[]
}

/** What a call runs with: client options with the call's overrides applied. */
export interface ResolvedCallOptions {
  readonly timeout: ResolvedTimeouts
  readonly redirect: ResolvedRedirect
  readonly maxResponseBytes: number
  readonly maxDecompressionRatio: number
  readonly decompress: boolean
  readonly retry: ResolvedRetryOptions | false
  /** The client's cache options, or false when this call (or the client) does not use the cache. */
  readonly cache: ResolvedCacheOptions | false
  /** The fetch `cache` mode of the call. */
  readonly cacheMode: RequestCacheMode | undefined
}

export interface ResolvedClientOptions extends ResolvedCallOptions {
  readonly name: string
  readonly baseUrl: URL | undefined
  readonly allowAbsoluteUrls: boolean
  readonly headers: Readonly<Record<string, string>>
  readonly policy: CompiledPolicy
  readonly lookup: LookupFunction | undefined
  readonly tls: TlsOptions
  readonly proxy: ResolvedProxy | undefined
  /** A test dispatcher (MockAgent); undefined = the guarded pool. */
  readonly dispatcher: Dispatcher | undefined
  readonly connectionsPerOrigin: number
  readonly keepAliveTimeout: number
  readonly logger: Logger | undefined
  readonly breaker: ResolvedBreakerOptions | false
  readonly readOnly: boolean
  readonly maxConcurrent: number | undefined
  readonly observe: ResolvedObserveOptions
}

const NO_TIMEOUT = 0

const DEFAULTS = {
  name: 'safefetch',
  allowAbsoluteUrls: false,
  timeout: { connect: 5_000, headers: 10_000, read: 30_000, total: 30_000 },
  redirect: { mode: 'follow', max: 5, allowDowngrade: false, stripHeaders: [] },
  maxResponseBytes: 10 * 1024 * 1024,
  maxDecompressionRatio: 100,
  decompress: true,
  connectionsPerOrigin: 64,
  keepAliveTimeout: 4_000,
} as const

function invalid(path: string, expected: string, got: unknown): SafeFetchError {
  return invalidOption(path, `must be ${expected}`, got)
}

/** A per-call option that only a client can hold: says where it goes instead. */
function clientOnlyOption(path: string, form: string, why: string): SafeFetchError {
  return optionError(
    `${path} cannot be set for one call (${why}): use createClient({ ${form} }) or client.configure(); ` +
      `safeFetch(url, { ${form} }) also accepts it (it makes a one-shot client)`,
  )
}

function positiveMs(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback
  if (value === false) return NO_TIMEOUT
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw invalid(path, 'a positive number of milliseconds (or false to disable it)', value)
  }
  return value
}

function positiveInt(value: unknown, path: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalid(path, min === 0 ? 'a non-negative integer' : 'a positive integer', value)
  }
  return value
}

function bool(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(path, 'true or false', value)
  return value
}

function plainObject(value: unknown, path: string, known?: readonly string[]): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(path, 'an object', value)
  if (known !== undefined) checkKnownKeys(path, value as Record<string, unknown>, known)
  return value as Record<string, unknown>
}

/** The keys of each option group: a new option is added to its list, and every other key is refused. */
const TIMEOUT_KEYS = ['connect', 'headers', 'read', 'total'] as const
const REDIRECT_KEYS = ['max', 'allowDowngrade', 'stripHeaders'] as const
/** The node:tls options a client passes to its connector (TlsOptions). */
const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'minVersion', 'maxVersion', 'ciphers', 'checkServerIdentity'] as const

/**
 * `timeout: 5000` is `{ total: 5000 }` (the form got, ky and axios users type). `scope: 'call'`
 * refuses `connect`: the connect timeout belongs to the pool a client builds, not to one call.
 */
function resolveTimeouts(input: unknown, base: ResolvedTimeouts, path = 'timeout', scope: 'client' | 'call' = 'client'): ResolvedTimeouts {
  if (typeof input === 'number') return { ...base, total: positiveMs(input, path, base.total) }
  if (input === false)
    throw invalid(path, 'a number of milliseconds (the total deadline) or an object like { total, connect, headers, read }; false goes on each one', input)
  const o = plainObject(input, path, TIMEOUT_KEYS)
  if (o === undefined) return base
  if (scope === 'call' && o.connect !== undefined) {
    throw clientOnlyOption(`${path}.connect`, 'timeout: { connect }', 'the connect timeout is fixed when a client builds its pool')
  }
  return {
    connect: positiveMs(o.connect, `${path}.connect`, base.connect),
    headers: positiveMs(o.headers, `${path}.headers`, base.headers),
    read: positiveMs(o.read, `${path}.read`, base.read),
    total: positiveMs(o.total, `${path}.total`, base.total),
  }
}

function resolveRedirect(input: unknown, base: ResolvedRedirect, path = 'redirect'): ResolvedRedirect {
  if (input === undefined) return base
  if (input === 'follow' || input === 'manual' || input === 'error') {
    return input === base.mode ? base : { ...base, mode: input }
  }
  if (typeof input === 'string') throw invalid(path, "'follow', 'manual', 'error' or an object", input)
  const o = plainObject(input, path, REDIRECT_KEYS)!
  let stripHeaders = base.stripHeaders
  if (o.stripHeaders !== undefined) {
    if (!Array.isArray(o.stripHeaders)) throw invalid(`${path}.stripHeaders`, 'an array of header names', o.stripHeaders)
    stripHeaders = o.stripHeaders.map((name, i) => {
      if (typeof name !== 'string' || !isToken(name)) throw invalid(`${path}.stripHeaders[${i}]`, 'a header name', name)
      return name.toLowerCase()
    })
  }
  return {
    mode: 'follow',
    max: positiveInt(o.max, `${path}.max`, base.max, 0),
    allowDowngrade: bool(o.allowDowngrade, `${path}.allowDowngrade`, base.allowDowngrade),
    stripHeaders,
  }
}

/** Request headers as a plain object with lower-case names (the form undici sends fastest). */
export function normalizeHeaders(init: unknown, path = 'headers'): Record<string, string> {
  const out: Record<string, string> = {}
  if (init === undefined || init === null) return out
  if (typeof init !== 'object') throw invalid(path, 'a Headers object, an array of pairs or a record', init)
  let entries: Iterable<readonly [string, string]>
  if (init instanceof Headers) entries = init
  else if (Array.isArray(init) || Symbol.iterator in init) {
    entries = init as Iterable<readonly [string, string]>
  } else entries = Object.entries(init as Record<string, unknown>) as [string, string][]
  for (const pair of entries) {
    const name = pair[0]
    const value: unknown = pair[1]
    if (typeof name !== 'string' || !isToken(name)) throw invalid(`${path}`, 'valid header names', name)
    if (value === undefined) continue
    const text = String(value)
    // CR, LF and NUL would let a value smuggle a second header or request (RFC 9110 §5.5).
    // The value is not quoted: it may be a credential (Authorization, Cookie, an API key).
    if (/[\r\n\0]/.test(text)) throw new SafeFetchError('ERR_INVALID_OPTION', `${path}.${name} must be a value without CR, LF or NUL (value not shown)`)
    const key = name.toLowerCase()
    checkRequestHeader(key, name, text, path)
    const previous = out[key]
    out[key] = previous === undefined ? text.trim() : `${previous}, ${text.trim()}`
  }
  return out
}

function resolveUrlOption(value: unknown, path: string): URL | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' && !(value instanceof URL)) throw invalid(path, 'an absolute http(s) URL', value)
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw invalid(path, 'an absolute http(s) URL', value)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(path, 'an absolute http(s) URL', value)
  return url
}

const DEFAULT_CALL: ResolvedCallOptions = {
  timeout: DEFAULTS.timeout,
  redirect: DEFAULTS.redirect,
  maxResponseBytes: DEFAULTS.maxResponseBytes,
  maxDecompressionRatio: DEFAULTS.maxDecompressionRatio,
  decompress: DEFAULTS.decompress,
  retry: resolveRetryOptions(undefined),
  cache: false,
  cacheMode: undefined,
}

/**
 * A call's options over `base` (the client's). `scope: 'client'` is createClient()/configure()
 * resolving its own call-level defaults: there `timeout.connect` is allowed.
 */
export function resolveCallOptions(input: CallOptions, base: ResolvedCallOptions, scope: 'client' | 'call' = 'call'): ResolvedCallOptions {
  return {
    timeout: resolveTimeouts(input.timeout, base.timeout, 'timeout', scope),
    redirect: resolveRedirect(input.redirect, base.redirect),
    maxResponseBytes: positiveInt(input.maxResponseBytes, 'maxResponseBytes', base.maxResponseBytes),
    maxDecompressionRatio: decompressionRatio(input.maxDecompressionRatio, base.maxDecompressionRatio),
    decompress: bool(input.decompress, 'decompress', base.decompress),
    retry: input.retry === undefined ? base.retry : resolveRetryOptions(input.retry, 'retry', base.retry === false ? undefined : base.retry),
    cache: input.cache === false ? false : base.cache,
    cacheMode: resolveCacheMode(input.cache, base.cacheMode),
  }
}

/** Decoded bytes per compressed byte: a number >= 1, or false for no ratio check (maxResponseBytes still bounds the body). */
function decompressionRatio(value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (value === false) return Infinity
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw invalid('maxDecompressionRatio', 'a ratio >= 1 (decoded bytes per compressed byte), or false to turn the check off', value)
  }
  return value
}

function resolveCacheMode(value: unknown, fallback: RequestCacheMode | undefined): RequestCacheMode | undefined {
  if (value === undefined || value === false) return fallback
  if (typeof value !== 'string' || !(REQUEST_CACHE_MODES as readonly string[]).includes(value)) {
    throw invalid('cache', `false or a fetch cache mode (${REQUEST_CACHE_MODES.join(', ')}) for one call; cache stores and modes are client options`, value)
  }
  return value === 'default' ? fallback : (value as RequestCacheMode)
}

/** Options a call may override (CallOptions); `headers` merges separately. */
export const CALL_OPTION_KEYS = ['timeout', 'redirect', 'maxResponseBytes', 'maxDecompressionRatio', 'decompress', 'retry', 'cache'] as const

/** Options only a client holds: its pool, policy, cache store, stats and logger are built from them. */
export const CLIENT_ONLY_OPTION_KEYS = [
  'name',
  'baseUrl',
  'allowAbsoluteUrls',
  'policy',
  'lookup',
  'tls',
  'proxy',
  'dispatcher',
  'connectionsPerOrigin',
  'keepAliveTimeout',
  'logger',
  'breaker',
  'readOnly',
  'maxConcurrent',
  'redact',
  'tracer',
  'meter',
  'propagateTraceContext',
  'stats',
  'recentFailures',
] as const

/** Every client option; anything else is a typo that would otherwise be silently ignored. */
const CLIENT_KEYS: readonly string[] = ['headers', ...CALL_OPTION_KEYS, ...CLIENT_ONLY_OPTION_KEYS]

/**
 * The members of fetch's RequestInit a call may pass (WHATWG Fetch §5.3 plus `duplex`, `priority`).
 * Browser-only ones (credentials, mode, referrer, referrerPolicy, window, keepalive) have no
 * meaning for a server-side client and are ignored, as Node's own fetch ignores most of them.
 */
const FETCH_INIT_KEYS = [
  'method',
  'headers',
  'body',
  'signal',
  'redirect',
  'cache',
  'credentials',
  'mode',
  'referrer',
  'referrerPolicy',
  'integrity',
  'keepalive',
  'window',
  'priority',
  'duplex',
] as const

const CALL_KEYS: ReadonlySet<string> = new Set<string>([...FETCH_INIT_KEYS, ...CALL_OPTION_KEYS])
const CLIENT_ONLY: ReadonlySet<string> = new Set<string>(CLIENT_ONLY_OPTION_KEYS)

/**
 * Refuses what a call cannot take: unknown keys (typos such as `timeOut`), client options
 * (`policy`, `tls` …, which would otherwise be silently ignored: a per-call `policy` meant to
 * forbid http: did not). Own keys only, so a
 * Request-like object passed as init is read as before.
 */
export function checkCallInit(init: object): void {
  for (const key of Object.keys(init)) {
    // (`integrity` is a known key, refused when set by request-input.ts: nothing would check it.)
    if (CALL_KEYS.has(key)) continue
    if ((init as Record<string, unknown>)[key] === undefined) continue
    if (CLIENT_ONLY.has(key)) throw clientOnlyOption(key, `${key}`, 'a client builds its pool, policy, logger and stats from it')
    throw unknownOption('', key, CALL_KEYS)
  }
}

const LOGGER_METHODS = ['child', 'isLevelEnabled', 'debug', 'info', 'warn', 'error'] as const

/** A pino logger (or one with its API); `false` is "no logger", so configure() can turn it off. */
function resolveLogger(value: unknown): Logger | undefined {
  if (value === undefined || value === false) return undefined
  if (value === null || typeof value !== 'object' || LOGGER_METHODS.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')) {
    throw invalid('logger', `a pino logger (with ${LOGGER_METHODS.join(', ')}) or false`, value)
  }
  return value as Logger
}

export function resolveClientOptions(input: ClientOptions = {}): ResolvedClientOptions {
  const o = plainObject(input, 'options') ?? {}
  checkKnownKeys('', o, CLIENT_KEYS)
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) throw invalid('name', 'a non-empty string', o.name)
  if (o.lookup !== undefined && typeof o.lookup !== 'function') throw invalid('lookup', 'a function with the dns.lookup signature', o.lookup)
  const logger = resolveLogger(o.logger)
  const tls = (plainObject(o.tls, 'tls', TLS_KEYS) ?? {}) as TlsOptions
  const { cache, ...callPart } = input
  return {
    ...resolveCallOptions(callPart, DEFAULT_CALL, 'client'),
    cache: resolveCacheOptions(cache, 'cache'),
    name: (o.name as string | undefined) ?? DEFAULTS.name,
    baseUrl: resolveUrlOption(o.baseUrl, 'baseUrl'),
    allowAbsoluteUrls: bool(o.allowAbsoluteUrls, 'allowAbsoluteUrls', DEFAULTS.allowAbsoluteUrls),
    headers: normalizeHeaders(o.headers, 'headers'),
    policy: compilePolicy(input.policy, 'policy'),
    lookup: input.lookup,
    tls,
    proxy: resolveProxyOption(o.proxy, 'proxy'),
    dispatcher: resolveDispatcher(o),
    connectionsPerOrigin: positiveInt(o.connectionsPerOrigin, 'connectionsPerOrigin', DEFAULTS.connectionsPerOrigin),
    keepAliveTimeout: positiveInt(o.keepAliveTimeout, 'keepAliveTimeout', DEFAULTS.keepAliveTimeout),
    logger,
    breaker: resolveBreakerOptions(input.breaker, 'breaker'),
    readOnly: bool(o.readOnly, 'readOnly', false),
    maxConcurrent: resolveMaxConcurrent(o.maxConcurrent, 'maxConcurrent'),
    observe: resolveObserveOptions(input),
  }
}

/**
 * `dispatcher` is a test seam (docs/testing.md): an object with undici's `dispatch()`. A mock has
 * no socket for the connector to check, so names are resolved with the client's `lookup` and the
 * answers judged before dispatch; without a lookup that would be the system resolver, i.e. real
 * DNS traffic from a test, so a lookup is required. A proxy has no meaning for a mock.
 */
function resolveDispatcher(o: Record<string, unknown>): Dispatcher | undefined {
  const value = o.dispatcher
  if (value === undefined) return undefined
  if (value === null || typeof value !== 'object' || typeof (value as { dispatch?: unknown }).dispatch !== 'function') {
    throw invalid('dispatcher', 'an undici Dispatcher such as a MockAgent (an object with dispatch())', value)
  }
  if (o.lookup === undefined) {
    throw new SafeFetchError(
      'ERR_INVALID_OPTION',
      'dispatcher needs a lookup: a mock has no socket to check, so safefetch resolves names with your lookup and judges the answers ' +
        "(e.g. lookup: staticLookup({ 'api.example.com': '93.184.216.34' }) from 'safefetch/testing'; docs/testing.md)",
    )
  }
  if (o.proxy !== undefined)
    throw new SafeFetchError('ERR_INVALID_OPTION', 'dispatcher and proxy cannot be combined: a dispatcher replaces the network, proxy included')
  return value as Dispatcher
}
