/**
 * Cache options: the user-facing shape, the defaults, and `resolveCacheOptions()`, which
 * validates once per client. See docs/caching.md.
 */
import { SafeFetchError } from '../errors.js'
import { checkArray, checkDuration, checkKnownKeys, checkPositiveInteger, describeValue, invalidOption, isPlainObject } from '../option-checks.js'
import type { CacheStore } from './cache-store.js'
import type { CacheMode } from './cache-semantics.js'
import { memoryStore } from './memory-store.js'
import { isToken } from '../http.js'

export interface CacheOptions {
  /**
   * `shared` (default): one cache for many end users, as in a server. Responses marked `private`
   * are not stored, nor responses to requests with Authorization unless the origin allows it
   * (`public`, `s-maxage`, `must-revalidate`; RFC 9111 §3.5).
   * `private`: also stores `private` responses, each partitioned by the credentials that fetched
   * it (Authorization, Cookie, `partitionHeaders`), so one user's response is never served to
   * another.
   */
  mode?: CacheMode
  /** Where entries live. Default: a new `memoryStore()` (50 MiB) per client. */
  store?: CacheStore
  /**
   * Largest body stored, in bytes. Larger responses stream through uncached (a Content-Length
   * over it is not even buffered). Default 5 MiB.
   */
  maxEntryBytes?: number
  /**
   * Request fields that carry credentials besides Authorization and Cookie, added to the defaults
   * `x-api-key`, `api-key` and `x-auth-token` (which always apply). Shared mode: a request carrying
   * any of them is treated like one with Authorization (RFC 9111 §3.5: its response is stored only
   * when it is `public`, `s-maxage` or `must-revalidate`). Private mode: entries are partitioned by
   * their values. Names are case-insensitive.
   */
  partitionHeaders?: readonly string[]
  /**
   * HMAC-SHA256 key (at least 16 bytes) to sign entries in a shared store: an entry that was
   * altered, forged or moved by someone without the key is a miss (and logged). Unset: unsigned.
   */
  signingKey?: string | Uint8Array
  /** Time limit for a stale-while-revalidate background request, in ms. Default 30 000. */
  backgroundTimeoutMs?: number
  /**
   * How long an entry is kept once stale, in ms: one with validators (ETag / Last-Modified) can be
   * revalidated with a cheap 304 instead of a full download, and any entry can still answer a
   * request that accepts stale (max-stale, force-cache, only-if-cached, `staleIfUnreachable`).
   * Entries that may never be served stale and have no validator are not kept. Default 7 days (a
   * memory store still evicts by size first); `0`: dropped once fresh and stale windows end.
   */
  keepStaleMs?: number
  /**
   * Serve a stored response stale by up to this many ms when the origin cannot be reached (connect
   * refused or timed out, DNS failure, connection reset before the response headers, open circuit
   * breaker) — RFC 9111 §4.2.4 allows a disconnected cache to serve stale. Never for responses that
   * forbid stale use (no-cache, must-revalidate; in shared mode proxy-revalidate and s-maxage), never
   * for a call that asked for validation (`no-cache`). Default `false` (off); `0` is off too.
   */
  staleIfUnreachable?: number | false
  /** Wall clock in epoch ms, for tests. Default `Date.now`. */
  now?: () => number
}

export interface ResolvedCacheOptions {
  readonly mode: CacheMode
  readonly store: CacheStore
  readonly maxEntryBytes: number
  /** Lower-case; Authorization, Cookie and the default API-key fields first. */
  readonly partitionHeaders: readonly string[]
  readonly signingKey: Uint8Array | undefined
  readonly backgroundTimeoutMs: number
  readonly keepStaleMs: number
  /** ms; 0 when off. */
  readonly staleIfUnreachable: number
  readonly now: () => number
}

export const CACHE_DEFAULTS = {
  mode: 'shared',
  maxEntryBytes: 5 * 1024 * 1024,
  backgroundTimeoutMs: 30_000,
  keepStaleMs: 7 * 24 * 3600 * 1000,
} as const

const KNOWN = ['mode', 'store', 'maxEntryBytes', 'partitionHeaders', 'signingKey', 'backgroundTimeoutMs', 'keepStaleMs', 'staleIfUnreachable', 'now'] as const
/**
 * Credential fields always treated as such. RFC 9111 §3.5 names only Authorization; Cookie and the
 * common API-key fields identify a user just as well (Varnish's builtin VCL passes requests with a
 * Cookie), so a cache sold as safe must not mix responses to them by default.
 */
const ALWAYS_PARTITIONED = ['authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token']

/**
 * `undefined` (or `true`): caching on with the defaults and a fresh memory store. `false`: off
 * (leave the cache layer out). Each call makes a new memory store: never share one by accident.
 */
export function resolveCacheOptions(input: CacheOptions | boolean | undefined, path = 'cache'): ResolvedCacheOptions | false {
  if (input === false) return false
  const o: Record<string, unknown> = input === undefined || input === true ? {} : (input as unknown as Record<string, unknown>)
  if (!isPlainObject(o)) throw invalidOption(path, 'must be an object or false', input)
  checkKnownKeys(path, o, KNOWN)

  const mode = o['mode'] ?? CACHE_DEFAULTS.mode
  if (mode !== 'shared' && mode !== 'private') throw invalidOption(`${path}.mode`, "must be 'shared' or 'private'", mode)

  let store: CacheStore
  if (o['store'] === undefined) store = memoryStore()
  else {
    const s = o['store'] as Partial<CacheStore> | null
    if (s === null || typeof s !== 'object' || typeof s.get !== 'function' || typeof s.set !== 'function' || typeof s.delete !== 'function') {
      throw invalidOption(`${path}.store`, 'must be a cache store (get, set, delete)', o['store'])
    }
    store = s as CacheStore
  }

  const maxEntryBytes = o['maxEntryBytes'] === undefined ? CACHE_DEFAULTS.maxEntryBytes : checkPositiveInteger(`${path}.maxEntryBytes`, o['maxEntryBytes'])

  const partitionHeaders = [...ALWAYS_PARTITIONED]
  if (o['partitionHeaders'] !== undefined) {
    checkArray(`${path}.partitionHeaders`, o['partitionHeaders']).forEach((name, i) => {
      if (typeof name !== 'string' || !isToken(name)) throw invalidOption(`${path}.partitionHeaders[${i}]`, 'must be a header name', name)
      const lower = name.toLowerCase()
      if (!partitionHeaders.includes(lower)) partitionHeaders.push(lower)
    })
  }

  let signingKey: Uint8Array | undefined
  const key = o['signingKey']
  if (key !== undefined) {
    if (typeof key === 'string') signingKey = Buffer.from(key, 'utf8')
    else if (key instanceof Uint8Array) signingKey = Uint8Array.from(key)
    else throw invalidOption(`${path}.signingKey`, 'must be a string or a Uint8Array of at least 16 bytes', key)
    if (signingKey.byteLength < 16) {
      throw new SafeFetchError('ERR_INVALID_OPTION', `${path}.signingKey must be at least 16 bytes long, got ${signingKey.byteLength}`)
    }
  }

  const backgroundTimeoutMs =
    o['backgroundTimeoutMs'] === undefined ? CACHE_DEFAULTS.backgroundTimeoutMs : positive(`${path}.backgroundTimeoutMs`, o['backgroundTimeoutMs'])
  const keepStaleMs = o['keepStaleMs'] === undefined ? CACHE_DEFAULTS.keepStaleMs : checkDuration(`${path}.keepStaleMs`, o['keepStaleMs'], true)
  const unreachable = o['staleIfUnreachable']
  if (unreachable !== undefined && unreachable !== false && !(typeof unreachable === 'number' && unreachable >= 0)) {
    throw invalidOption(`${path}.staleIfUnreachable`, 'must be a number of milliseconds >= 0 (or Infinity), or false', unreachable)
  }
  const staleIfUnreachable = typeof unreachable === 'number' ? unreachable : 0
  // Date.now is read on every call, not once here: fake timers installed after createClient() apply.
  const now = o['now'] ?? wallClock
  if (typeof now !== 'function') throw invalidOption(`${path}.now`, 'must be a function returning epoch milliseconds', now)

  return {
    mode,
    store,
    maxEntryBytes,
    partitionHeaders,
    signingKey,
    backgroundTimeoutMs,
    keepStaleMs,
    staleIfUnreachable,
    now: now as () => number,
  }
}

function positive(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${path} must be a positive number of milliseconds, got ${describeValue(value)}`)
  }
  return value
}

function wallClock(): number {
  return Date.now()
}
