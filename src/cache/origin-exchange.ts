/**
 * The origin leg of a cached GET: send the request (conditional when a stored response has
 * validators), then
 * - 304 that selects the stored response: merge its fields, recompute freshness, re-store, serve
 *   the stored status and body (RFC 9111 §4.3.3, §4.3.4);
 * - network error or 5xx with a stored response inside its stale-if-error window: serve it stale
 *   (RFC 5861 §4) — the retry layer below has already used up its attempts;
 * - any other response: pass it on, copying the body for the store when it is storable.
 * Requests go through `next()` (our own transport), never through fetch, which would add
 * `Cache-Control: no-cache` of its own.
 */
import type { CallContext } from '../context.js'
import { ORIGIN_FAILURE_CODES, type ErrorCode } from '../errors.js'
import { discardBody, type Handler } from '../pipeline.js'
import type { CacheStatus, OutboundRequest, RawResponse } from '../types.js'
import { BodyCapture, LazyCapture, type Capture, type CaptureSink } from './body-capture.js'
import { exchangeAddress, mergeAddresses } from './entry-addresses.js'
import { carriesCredentials, parseVary } from './cache-key.js'
import { currentAge, staleIfErrorAllows, staleWithin, type RequestPolicy } from './cache-request.js'
import {
  computeFreshness,
  conditionalHeaders,
  firstValue,
  hasContentCoding,
  hasValidators,
  headersToStore,
  isStorable,
  mergeNotModified,
  notModifiedSelects,
  withoutUserState,
  withoutWithheldFields,
  type CacheMode,
  type Freshness,
} from './cache-semantics.js'
import type { ResponseRecord } from './cache-store.js'
import { responseFromRecord } from './hit-response.js'
import type { HttpCache, Lookup } from './http-cache.js'
import { LazyResponse } from '../lazy-response.js'

/** Failures a stale response may stand in for (no response was obtained from the origin). */
const STALE_ON: ReadonlySet<ErrorCode> = new Set<ErrorCode>([...ORIGIN_FAILURE_CODES, 'ERR_CIRCUIT_OPEN'])

/**
 * The origin could not be reached at all (`cache.staleIfUnreachable`): connection refused or reset
 * before any response (ERR_NETWORK — the exchange only throws when no response headers came), DNS
 * failure, connect timeout, open circuit. Not a slow or malformed answer, TLS failure or a refused
 * address: the origin (or something claiming to be it) was reached.
 */
const UNREACHABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_NETWORK', 'ERR_DNS', 'ERR_CONNECT_TIMEOUT', 'ERR_CIRCUIT_OPEN'])

interface Outcome {
  readonly response: RawResponse
  readonly status: CacheStatus
  /** What coalesced waiters may be served: the stored record (a promise while its body is read). */
  readonly shared: ResponseRecord | Promise<ResponseRecord | undefined> | undefined
  /** Set when the body is being copied for the store. */
  readonly capture?: Capture
}

export async function exchange(
  next: Handler,
  req: OutboundRequest,
  ctx: CallContext,
  cache: HttpCache,
  found: Lookup,
  stored: ResponseRecord | undefined,
  policy: RequestPolicy,
): Promise<Outcome> {
  const now = cache.options.now
  const conditional = stored === undefined ? undefined : conditionalHeaders(req.headers, stored.headers)
  const sent = conditional === undefined ? req : { url: req.url, method: req.method, headers: conditional, body: req.body }
  const fallback = acceptsStandIn(policy) ? stored : undefined
  const requestTime = now()
  const log = ctx.record.attemptLog
  const logStart = log.length
  let response: RawResponse
  try {
    response = await next(sent, ctx)
  } catch (err) {
    const at = now()
    if (fallback !== undefined && mayStandIn(err, fallback, cache, at, policy)) return serveStale(fallback, req, at)
    throw err
  }
  const responseTime = now()
  // The address the guarded connector checked for this exchange; none recorded: nothing is stored.
  const address = exchangeAddress(log, logStart)

  if (response.status === 304 && conditional !== undefined && stored !== undefined) {
    if (notModifiedSelects(stored.headers, response.headers)) {
      discardBody(response)
      // Body from the stored exchange, fields from this one: a reader must be allowed both.
      const addresses = address === undefined ? undefined : mergeAddresses(stored.addresses, address)
      const mode = rulesFor(cache, found)
      const updated = refreshed(stored, response, requestTime, responseTime, addresses ?? stored.addresses, mode)
      // Served to this caller either way; re-stored only if the merged response may still be stored
      // under the entry's rules (a 304 may add no-store, or `private` under the shared rules, §3),
      // for this request: a 304 to a request with credentials is such a response too (§3.5), and
      // the fields it carries may be that user's own — written into a shared entry, the next
      // visitor would get them.
      const storable = mayStore(cache, mode, req, stored.status, updated.headers)
      if (found.ns !== undefined && addresses !== undefined && storable) cache.save(found, updated, storeTtl(updated, cache, responseTime))
      const served = responseFromRecord(updated, req.url, responseTime, true)
      // A cookie the 304 sets is this caller's own (it is only kept out of the shared entry).
      const cookie = response.headers['set-cookie']
      if (mode === 'shared' && cookie !== undefined) served.headers['set-cookie'] = cookie
      // Coalesced waiters get the merged response only when it could be stored: they are other
      // callers (in shared mode, possibly other users) exactly like the next reader of the entry.
      return { response: served, status: 'revalidated', shared: storable ? updated : undefined }
    }
    // A 304 for some other representation cannot complete ours: ask once more, unconditionally.
    discardBody(response)
    return exchange(next, req, ctx, cache, found, undefined, policy)
  }
  if (response.status >= 500 && fallback !== undefined && staleIfErrorAllows(fallback, responseTime, policy.staleIfError, !policy.revalidate)) {
    discardBody(response)
    return serveStale(fallback, req, responseTime)
  }
  // A call that keeps bodies encoded (decompress: false) does not store an encoded body: every
  // other caller expects it decoded (and vice versa, see the cache layer).
  const store = policy.store && !(ctx.options.decompress === false && hasContentCoding(response.headers))
  return storeResponse(req, response, cache, found, store && address !== undefined, address ?? '', requestTime, responseTime)
}

/**
 * A client that demanded validation (no-cache) gets an error rather than a stale stand-in — unless
 * the same request said how stale an answer it accepts when the origin fails (RFC 5861 §4 request
 * form: "willing to accept a stale response if the check for a fresh one fails").
 */
export function acceptsStandIn(policy: RequestPolicy): boolean {
  return !policy.revalidate || policy.staleIfError !== undefined
}

/**
 * Whether a stored response may stand in for an origin that failed with `err` (no response came):
 * stale-if-error (RFC 5861 §4, the response's window or the request's) for any origin failure,
 * `cache.staleIfUnreachable` when the origin could not be reached — RFC 9111 §4.2.4: "a cache MUST
 * NOT generate a stale response unless it is disconnected or doing so is explicitly permitted"; an
 * unreachable origin is the disconnected case. A request that demanded validation (no-cache) gets
 * a stand-in only by its own stale-if-error.
 */
export function mayStandIn(err: unknown, stored: ResponseRecord, cache: HttpCache, now: number, policy: RequestPolicy): boolean {
  const code = (err as { code?: unknown } | null)?.code as ErrorCode
  if (!STALE_ON.has(code)) return false
  if (staleIfErrorAllows(stored, now, policy.staleIfError, !policy.revalidate)) return true
  return !policy.revalidate && UNREACHABLE.has(code) && staleWithin(stored, now, cache.options.staleIfUnreachable)
}

function serveStale(record: ResponseRecord, req: OutboundRequest, now: number): Outcome {
  return { response: responseFromRecord(record, req.url, now, true), status: 'stale', shared: undefined }
}

/** The stored record updated by a 304 (§4.3.4) or a HEAD (§4.3.5): merged fields, new freshness, same body. */
export function refreshed(
  stored: ResponseRecord,
  notModified: RawResponse,
  requestTime: number,
  responseTime: number,
  addresses: readonly string[],
  mode: CacheMode,
): ResponseRecord {
  const merged = mergeNotModified(stored.headers, notModified.headers, responseTime)
  const freshness = computeFreshness(mode, stored.status, merged, notModified.headers['age'], requestTime, responseTime)
  // The merged Cache-Control decides what stays withheld: a 304 cannot bring back a field the
  // stored response's qualified no-cache / private kept out (§5.2.2.4, §5.2.2.7).
  const kept = withoutWithheldFields(merged, mode)
  const headers = mode === 'shared' ? withoutUserState(kept) : kept
  return record(stored.ns, stored.secondary, stored.vary, stored.url, stored.status, stored.statusText, headers, addresses, stored.body, freshness)
}

function record(
  ns: string,
  secondary: string,
  vary: readonly string[],
  url: string,
  status: number,
  statusText: string,
  headers: ResponseRecord['headers'],
  addresses: readonly string[],
  body: Uint8Array | null,
  f: Freshness,
): ResponseRecord {
  return {
    v: 1,
    kind: 'response',
    ns,
    secondary,
    vary,
    url,
    status,
    statusText,
    headers,
    addresses,
    body,
    initialAge: f.initialAge,
    responseTime: f.responseTime,
    lifetime: f.lifetime,
    swr: f.swr,
    sie: f.sie,
    noStale: f.noStale,
  }
}

/**
 * Which rules an entry follows. Shared mode: the shared-cache rules. Private mode: the private
 * rules inside a credentials partition (one user), but the *shared* rules for requests without
 * credentials — that partition is one cache for every anonymous visitor (a backend-for-frontend
 * serving many browsers), so `private` responses are not stored there and Set-Cookie is not
 * replayed (RFC 9111 §3, §5.2.2.7).
 */
export function rulesFor(cache: HttpCache, found: Lookup): CacheMode {
  return found.partition === '' ? 'shared' : cache.options.mode
}

/**
 * May this exchange's response be stored (or update a stored one) under the entry's rules `mode`?
 * The one place the §3.5 credentials rule is applied: under the shared rules, a request with
 * Cookie or an API key (partitionHeaders) is treated like one with Authorization.
 */
export function mayStore(cache: HttpCache, mode: CacheMode, req: OutboundRequest, status: number, responseHeaders: RawResponse['headers']): boolean {
  const credentials = mode === 'shared' && carriesCredentials(req.headers, cache.options.partitionHeaders)
  return isStorable(mode, req.method, status, req.headers, responseHeaders, credentials)
}

/**
 * How long to keep an entry: while fresh, plus its stale windows, plus `keepStaleMs` — past
 * freshness an entry with validators can be revalidated with a 304, and any entry may still be
 * served stale to a request that accepts it (`max-stale`, RFC 9111 §5.2.1.2; `force-cache`,
 * `only-if-cached`; `cache.staleIfUnreachable`, §4.2.4). Evicted by size before age. An entry that
 * may never be served stale (no-cache, must-revalidate...) and has no validator is useless once
 * stale: it goes when its freshness does.
 */
export function storeTtl(r: ResponseRecord, cache: HttpCache, now: number): number {
  const useful = r.lifetime + Math.max(r.swr, r.sie) - currentAge(r, now)
  if (r.noStale && !hasValidators(r.headers)) return useful
  return Math.max(0, useful) + cache.options.keepStaleMs
}

function storeResponse(
  req: OutboundRequest,
  response: RawResponse,
  cache: HttpCache,
  found: Lookup,
  store: boolean,
  address: string,
  requestTime: number,
  responseTime: number,
): Outcome {
  const options = cache.options
  const h = response.headers
  // Fast exit for the common API response with no caching information at all: without explicit
  // freshness (Cache-Control, Expires), a Last-Modified for heuristic freshness (§4.2.2) or a
  // validator, a stored copy could never be served or revalidated.
  if (h['cache-control'] === undefined && h['expires'] === undefined && h['last-modified'] === undefined && h['etag'] === undefined) {
    return { response, status: 'miss', shared: undefined }
  }
  const mode = rulesFor(cache, found)
  if (!store || !mayStore(cache, mode, req, response.status, response.headers)) {
    return { response, status: 'miss', shared: undefined }
  }
  const vary = parseVary(response.headers['vary'])
  if (vary === '*') return { response, status: 'miss', shared: undefined }
  const toStore = headersToStore(response.headers, responseTime)
  // Freshness sees the Set-Cookie (a shared cache validates such a response unless it is public);
  // the stored copy does not carry it: the requester got it, nobody else may.
  const freshness = computeFreshness(mode, response.status, toStore, response.headers['age'], requestTime, responseTime)
  // Fields a qualified no-cache / private (shared rules) names are not stored either (§5.2.2.4, §5.2.2.7).
  const kept = withoutWithheldFields(toStore, mode)
  const headers = mode === 'shared' ? withoutUserState(kept) : kept
  // With the store down (ns undefined) nothing is written, but coalesced waiters still share it.
  const ns = found.ns
  const secondary = cache.secondaryFor(req.headers, vary, found.partition)
  const build = (body: Uint8Array | null): ResponseRecord =>
    record(ns ?? '', secondary, vary, response.url.href, response.status, response.statusText, headers, [address], body, freshness)
  const save = (r: ResponseRecord): void => {
    if (ns !== undefined) cache.save(found, r, storeTtl(r, cache, options.now()))
  }
  if (storeTtl(build(null), cache, responseTime) <= 0) return { response, status: 'miss', shared: undefined }

  // Declared too large: pass it through untouched (not even its stream made), without copying a byte.
  const declared = Number(firstValue(response.headers, 'content-length'))
  if (response.lazy !== undefined && declared > options.maxEntryBytes) return { response, status: 'miss', shared: undefined }
  let resolveShared!: (r: ResponseRecord | undefined) => void
  const shared = new Promise<ResponseRecord | undefined>((resolve) => (resolveShared = resolve))
  const sink: CaptureSink = {
    complete(bytes) {
      const r = build(bytes)
      save(r)
      resolveShared(r)
    },
    abandon() {
      resolveShared(undefined)
    },
  }
  const expected = Number.isFinite(declared) ? declared : undefined
  const { status, statusText, headers: received, url, settle, lazy } = response
  // No stream made yet: the caller keeps a lazy body, copied when it is collected (LazyCapture).
  if (lazy !== undefined && !lazy.streamCreated && settle !== undefined) {
    const capture = new LazyCapture(lazy, settle, options.maxEntryBytes, expected, sink)
    return { response: new LazyResponse(status, statusText, received, url, settle, capture), status: 'miss', shared, capture }
  }
  const body = response.body
  if (body === null) {
    const r = build(null)
    save(r)
    return { response, status: 'miss', shared: r }
  }
  if (declared > options.maxEntryBytes) return { response, status: 'miss', shared: undefined }
  const capture = new BodyCapture(body, options.maxEntryBytes, expected, sink)
  // A new body replaces the origin's, so its lazy form is not passed on (types.ts `RawResponse.lazy`).
  const copied: RawResponse =
    settle === undefined
      ? { status, statusText, headers: received, body: capture.stream, url }
      : { status, statusText, headers: received, body: capture.stream, url, settle }
  return { response: copied, status: 'miss', shared, capture }
}
