/**
 * Request-side caching rules: the fetch `cache` mode (WHATWG Fetch, "HTTP-network-or-cache
 * fetch"), request Cache-Control directives (RFC 9111 §5.2.1), and the verdict on one stored
 * response for one request (§4: "When presented with a request, a cache MUST NOT reuse a stored
 * response unless ..."). Pure; times in ms.
 */
import type { Freshness } from './cache-semantics.js'
import { deltaSeconds, parseCacheControl } from './cache-control.js'

/** `RequestInit.cache`. */
export type RequestCacheMode = 'default' | 'no-store' | 'reload' | 'no-cache' | 'force-cache' | 'only-if-cached'

export const REQUEST_CACHE_MODES: readonly RequestCacheMode[] = ['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']

export interface RequestPolicy {
  /** Look for a stored response. */
  readonly lookup: boolean
  /** The response may be stored (request `no-store`, §5.2.1.5, says it may not). */
  readonly store: boolean
  /** Validate any stored response with the origin first (`no-cache`, §5.2.1.4). */
  readonly revalidate: boolean
  /** Use a stored response however stale, unless its directives forbid stale use (force-cache). */
  readonly anyStale: boolean
  /** Never contact the origin; 504 when nothing stored fits (§5.2.1.7). */
  readonly onlyIfCached: boolean
  /** Request max-age (§5.2.1.1): refuse stored responses older than this. */
  readonly maxAge: number | undefined
  /** Request max-stale (§5.2.1.2): accept responses stale by up to this (Infinity without argument). */
  readonly maxStale: number | undefined
  /** Request min-fresh (§5.2.1.3): require this much freshness left. */
  readonly minFresh: number | undefined
  /** Concurrent identical misses may share one origin request. */
  readonly coalesce: boolean
  /**
   * The request is a plain reload — mode `no-cache` or request `max-age=0` (what a browser sends on
   * reload), not an explicit `no-cache` directive: a fresh `immutable` response skips the
   * validation it asks for (RFC 8246 §2; private mode).
   */
  readonly softReload: boolean
  /**
   * The request is conditional (If-None-Match / If-Modified-Since) or asks for a byte range: a
   * stored response it may use answers it as 304 / 206 / 416 (RFC 9111 §4.3.2, RFC 9110 §14);
   * otherwise it goes to the origin untouched and its answer is not stored.
   */
  readonly precondition: boolean
  /**
   * Request `stale-if-error=N` (RFC 5861 §4, request form), in ms: when the origin fails, this
   * request accepts a stored response stale by up to this much — unless the stored response
   * forbids stale use (noStale). Undefined: only the response's own window applies.
   */
  readonly staleIfError: number | undefined
}

/** The policy of a plain request: no mode, no Cache-Control. Shared, so the hit path allocates nothing. */
export const DEFAULT_REQUEST_POLICY: RequestPolicy = Object.freeze({
  lookup: true,
  store: true,
  revalidate: false,
  anyStale: false,
  onlyIfCached: false,
  maxAge: undefined,
  maxStale: undefined,
  minFresh: undefined,
  coalesce: true,
  softReload: false,
  precondition: false,
  staleIfError: undefined,
})

/**
 * The policy for a request, or undefined when the cache must stay out of the way entirely:
 * `no-store` mode, and preconditions a cache must not evaluate (If-Match, If-Unmodified-Since:
 * "not applicable to a cache", RFC 9111 §4.3.2) — the application asked the origin a precise
 * question and gets the origin's answer. If-None-Match, If-Modified-Since and Range are answered
 * from a stored response when one may be used (`precondition`), else passed to the origin too.
 */
export function requestPolicy(headers: Readonly<Record<string, string>>, mode: RequestCacheMode | undefined): RequestPolicy | undefined {
  const cc = headers['cache-control']
  const pragma = headers['pragma']
  if (mode === 'no-store' || headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined) return undefined
  const precondition =
    headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined || headers['if-range'] !== undefined || headers['range'] !== undefined
  if ((mode === undefined || mode === 'default') && cc === undefined && pragma === undefined && !precondition) return DEFAULT_REQUEST_POLICY

  let lookup = true
  let store = true
  let revalidate = mode === 'no-cache'
  let anyStale = mode === 'force-cache' || mode === 'only-if-cached'
  let onlyIfCached = mode === 'only-if-cached'
  if (mode === 'reload') lookup = false
  let maxAge: number | undefined
  let maxStale: number | undefined
  let minFresh: number | undefined
  let staleIfError: number | undefined
  let explicitNoCache = false
  if (cc !== undefined) {
    const d = parseCacheControl(cc)
    // §5.2.1.5: nothing of this exchange is stored. Nor is a stored response read: a client that
    // marks its request no-store asks for the origin's answer (as fetch's 'no-store' mode does; the
    // cache-tests suite expects `ccreq-no-store` not to be served from the cache).
    if ('no-store' in d) store = lookup = false
    if ('no-cache' in d) revalidate = explicitNoCache = true
    if ('only-if-cached' in d) {
      onlyIfCached = true
    }
    const age = deltaSeconds(d['max-age'])
    if (age !== undefined) maxAge = age * 1000
    if ('max-stale' in d) {
      // "If no value is assigned to max-stale, then the client will accept a stale response of any age."
      const stale = d['max-stale'] === true ? Infinity : deltaSeconds(d['max-stale'])
      if (stale !== undefined) maxStale = stale === Infinity ? Infinity : stale * 1000
    }
    const fresh = deltaSeconds(d['min-fresh'])
    if (fresh !== undefined) minFresh = fresh * 1000
    // RFC 5861 §4: "When used as a request Cache-Control extension, its scope of application is
    // the request it appears in" — this client accepts that much staleness if the origin fails.
    const sie = deltaSeconds(d['stale-if-error'])
    if (sie !== undefined) staleIfError = sie * 1000
  } else if (pragma !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(pragma)) {
    // §5.4: without Cache-Control, `Pragma: no-cache` means `Cache-Control: no-cache`.
    revalidate = explicitNoCache = true
  }
  if (onlyIfCached) {
    revalidate = false
    lookup = true
  }
  anyStale = anyStale && !revalidate
  return {
    lookup,
    store,
    revalidate,
    anyStale,
    onlyIfCached,
    maxAge,
    maxStale,
    minFresh,
    coalesce: lookup && store && !revalidate && !onlyIfCached && !precondition,
    softReload: !explicitNoCache && (mode === 'no-cache' || maxAge === 0),
    precondition,
    staleIfError,
  }
}

/**
 * The policy without its reload (RFC 8246 §2: a client "SHOULD NOT issue a conditional request
 * during the response's freshness lifetime (e.g., upon a reload)" of an `immutable` response).
 */
export function withoutReload(policy: RequestPolicy): RequestPolicy {
  return { ...policy, revalidate: false, maxAge: policy.maxAge === 0 ? undefined : policy.maxAge, softReload: false }
}

/**
 * - `fresh`: reuse as is;
 * - `stale`: reuse although stale (max-stale, force-cache, only-if-cached);
 * - `stale-while-revalidate`: reuse now, validate in the background (RFC 5861 §3);
 * - `revalidate`: validate with the origin before any use (or fetch anew).
 */
export type Verdict = 'fresh' | 'stale' | 'stale-while-revalidate' | 'revalidate'

/** Current age in ms (§4.2.3: corrected_initial_age + resident_time). */
export function currentAge(f: Freshness, now: number): number {
  const resident = now - f.responseTime
  return f.initialAge + (resident > 0 ? resident : 0)
}

export function evaluate(f: Freshness, policy: RequestPolicy, now: number): Verdict {
  if (policy.revalidate) return 'revalidate'
  const age = currentAge(f, now)
  // §5.2.1.1: the client does not want a response older than max-age (a stale-allowing
  // directive does not widen it). max-age=0 validates even at an age of exactly 0 ms: a clock that
  // has not moved since the store (fake timers, a coarse injected `now`, a fleet member whose clock
  // is behind the writer's, so the resident time clamps to 0) must not turn a reload into a hit.
  if (policy.maxAge !== undefined && (age > policy.maxAge || policy.maxAge === 0)) return 'revalidate'
  const left = f.lifetime - age
  if (left > 0) {
    if (policy.minFresh !== undefined && left < policy.minFresh) return 'revalidate'
    return 'fresh'
  }
  // §4.2.4: "A cache MUST NOT generate a stale response if it is prohibited by an explicit
  // in-protocol directive" — and no request directive can override that.
  if (f.noStale) return 'revalidate'
  if (policy.anyStale) return 'stale'
  const staleness = -left
  if (policy.maxStale !== undefined && staleness <= policy.maxStale) return 'stale'
  if (staleness < f.swr) return 'stale-while-revalidate'
  return 'revalidate'
}

/**
 * Whether stale-if-error (RFC 5861 §4) lets `f` stand in for a failed validation at `now`: the
 * response's own window (unless `responseWindow` is false: a request that demanded validation),
 * or the request's (`requestWindow`, ms, from the request directive) — either permits it, and
 * neither overrides a response that forbids stale use (noStale, RFC 9111 §4.2.4).
 */
export function staleIfErrorAllows(f: Freshness, now: number, requestWindow?: number, responseWindow = true): boolean {
  if (f.noStale) return false
  const staleness = currentAge(f, now) - f.lifetime
  if (responseWindow && f.sie > 0 && staleness < f.sie) return true
  return requestWindow !== undefined && staleness <= requestWindow
}

/**
 * Whether `f` may be served although stale by up to `maxStaleness` ms (`cache.staleIfUnreachable`):
 * never when its directives forbid stale use (§4.2.4; no-cache, must-revalidate, and in a shared
 * cache proxy-revalidate and s-maxage — `noStale`).
 */
export function staleWithin(f: Freshness, now: number, maxStaleness: number): boolean {
  if (f.noStale || !(maxStaleness > 0)) return false
  return currentAge(f, now) - f.lifetime <= maxStaleness
}
