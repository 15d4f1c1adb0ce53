/**
 * Response-side caching rules, RFC 9111: what may be stored (§3), which header fields are kept
 * (§3.1), freshness lifetime (§4.2.1, §4.2.2), age (§4.2.3), validation (§4.3) and the 304 update
 * (§3.2, §4.3.4). Pure functions over plain values; times are epoch milliseconds passed in, so
 * tests use a fake clock.
 *
 * Storability is http-cache-semantics' (CachePolicy 4.3) `storable()` rule — the part it gets
 * right — applied to directives read by our own RFC 9111 §5.2 parser (cache-control.ts): names
 * case-insensitive, quoted-string arguments kept whole (`x="a,no-store"` is one unknown directive,
 * where CachePolicy's parser splits on every comma and finds `no-store`), the real status code and
 * cache mode, any final status (§3), and `no-store` dropped under `must-understand` for an
 * understood status (§5.2.2.3). test/cache/cache-semantics.test.ts checks the rule against
 * CachePolicy itself on every input both parsers read alike. Freshness, age and the 304 update
 * are computed here because its versions are wrong where it matters:
 * - it rewrites `Date` on the stored response; we keep the origin's (RFC 9110 §6.6.1);
 * - it reads `Expires` with Date.parse (accepts non-HTTP-date forms); an invalid Expires is
 *   "already expired" (RFC 9111 §5.3);
 * - it forces revalidation of *fresh* must-revalidate responses; must-revalidate only forbids
 *   serving them stale (§5.2.2.2);
 * - it takes `Age: -5` or `12abc` at face value; §5.1 says ignore an invalid Age;
 * - on a 304 it only updates fields already stored; §4.3.4 says add every field the 304 carries.
 * Freshness is computed once when an entry is stored, so a cache hit is arithmetic, not a parse.
 */
import type { ResponseHeaders } from '../types.js'
import { parseHttpDate } from '../retry/http-date.js'
import { deltaSeconds, fieldValue, parseAge, parseCacheControl, parseTokenList, type Directives } from './cache-control.js'

/**
 * `shared`: one cache serves many end users (a server-side client, RFC 9111 §1: a shared cache).
 * `private`: the cache serves one user at a time; entries are partitioned by credentials.
 */
export type CacheMode = 'shared' | 'private'

/** RFC 9111 §4.2.2: "a typical setting of this fraction might be 10%". */
const HEURISTIC_FRACTION = 0.1
/**
 * Upper bound of a heuristic lifetime: one day, the point past which RFC 7234 required a 113
 * warning. A Last-Modified ten years old must not mean a year of freshness.
 */
export const MAX_HEURISTIC_MS = 86_400_000

/** RFC 9110 §15.1: status codes that are "heuristically cacheable". */
const HEURISTICALLY_CACHEABLE: ReadonlySet<number> = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])

/**
 * Fields never stored, RFC 9111 §3.1: Connection and the fields it lists, Proxy-* fields, plus the
 * other hop-by-hop fields of RFC 9110 §7.6.1. Age is not stored either: it is folded into the
 * entry's corrected initial age and generated afresh on every hit (§5.1).
 */
const NOT_STORED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'age'])

/**
 * Fields a 304 must not overwrite: §3.2 excepts Content-Length, and fields "that the cache's
 * stored response depends upon" — the stored body is unchanged, so its coding and range stay.
 */
const NOT_UPDATED_BY_304: ReadonlySet<string> = new Set(['content-length', 'content-encoding', 'content-range', 'transfer-encoding'])

export function firstValue(headers: ResponseHeaders | Readonly<Record<string, string>>, name: string): string | undefined {
  const value = headers[name]
  return value === undefined ? undefined : typeof value === 'string' ? value : value[0]
}

/**
 * Statuses this cache understands (RFC 9111 §3: "the cache understands the response status code"
 * is required for 206, 304 and `must-understand` responses): the final statuses of RFC 9110 §15
 * whose semantics do not stop a stored copy from answering a later GET. Not 206 (a partial body is
 * never stored: it would have to be combined, §3.4) and not 304 (it has no body to reuse).
 */
const UNDERSTOOD: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421,
  422, 426, 500, 501, 502, 503, 504, 505,
])

/**
 * What http-cache-semantics is told the status is. It refuses every status outside its own list
 * (which is close to the heuristically cacheable one), while RFC 9111 §3 only asks that the status
 * be final, and "understood" only for 206, 304 and must-understand. For a final status outside its
 * list we pass 307: a status it accepts but that is *not* heuristically cacheable, so the rest of
 * its rule still holds — such a response is storable only with explicit freshness (`max-age`,
 * `s-maxage` in a shared cache, `Expires`) or `public`, never on heuristics (RFC 9110 §15.1).
 */
function statusForPolicy(status: number): number {
  if (HEURISTICALLY_CACHEABLE.has(status) || status === 302 || status === 303 || status === 307) return status
  return 307
}

/**
 * May this response be stored? RFC 9111 §3 by CachePolicy.storable()'s rule, over correctly parsed directives.
 * `credentials`: the request carries credentials other than Authorization (Cookie, API keys); a
 * shared cache then applies the §3.5 rule as if it carried Authorization.
 * `Vary: *` responses are refused too: they can never be selected (§4.1), so storing one only
 * evicts something useful.
 */
export function isStorable(
  mode: CacheMode,
  method: string,
  status: number,
  requestHeaders: Readonly<Record<string, string>>,
  responseHeaders: ResponseHeaders,
  credentials = false,
): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false
  // §3: "the response status code is final"; 206 and 304 are never stored (not understood here).
  if (status < 200 || status > 599 || status === 206 || status === 304) return false
  if (parseTokenList(responseHeaders['vary']).includes('*')) return false
  const reqCc = requestHeaders['cache-control']
  const reqDirectives = reqCc === undefined ? undefined : parseCacheControl(reqCc)
  // §3.5 for Authorization; `credentials` extends the same rule to Cookie and API-key fields.
  const authorization = requestHeaders['authorization'] ?? (credentials ? 'credentials' : undefined)
  const cc = responseHeaders['cache-control']
  let directives: Record<string, string | true> | undefined
  if (cc !== undefined) {
    directives = { ...parseCacheControl(cc) }
    if ('must-understand' in directives) {
      // §5.2.2.3: a cache that does not understand the status "MUST NOT store the response"; one
      // that does understand it ignores no-store ("must-understand ... overrides no-store").
      if (!UNDERSTOOD.has(status)) return false
      delete directives['no-store']
    }
    // An argument does not make no-store conditional: `no-store=""` is still no-store.
    if ('no-store' in directives) directives['no-store'] = true
    if ('private' in directives) {
      // §5.2.2.7: with field names "only the listed header fields are limited to a single user: a
      // shared cache MUST NOT store the listed header fields ... but MAY store the remainder of the
      // response message without those fields" (withoutWithheldFields drops them). Without names,
      // or with an empty list (`private=""`), the whole response is private.
      if (qualifiedFields(directives['private']) !== undefined) delete directives['private']
      else directives['private'] = true
    }
  }
  const expires = fieldValue(responseHeaders['expires'])
  // CachePolicy.storable()'s rule (http-cache-semantics 4.3) over our parse; `set` = present with
  // an argument that is not empty (it takes the argument as the directive's truth). Its
  // "cacheable by default" list is RFC 9110 §15.1's (statusForPolicy).
  const res = directives ?? EMPTY_DIRECTIVES
  const shared = mode === 'shared'
  // §5.2.1.5: a request's no-store forbids storing, whatever argument it was (mis)sent with.
  if (reqDirectives !== undefined && 'no-store' in reqDirectives) return false
  if (set(res, 'no-store')) return false
  if (shared && set(res, 'private')) return false
  // §3.5: a shared cache stores a response to a request with Authorization only with
  // must-revalidate, public or s-maxage.
  if (shared && authorization !== undefined && authorization !== '' && !set(res, 'must-revalidate') && !set(res, 'public') && !set(res, 's-maxage')) {
    return false
  }
  return (
    (expires !== undefined && expires !== '') ||
    set(res, 'max-age') ||
    (shared && set(res, 's-maxage')) ||
    set(res, 'public') ||
    HEURISTICALLY_CACHEABLE.has(statusForPolicy(status))
  )
}

const EMPTY_DIRECTIVES: Directives = parseCacheControl(undefined)

/** A directive CachePolicy would take as present: no argument, or a non-empty one. */
function set(directives: Directives, name: string): boolean {
  const arg = directives[name]
  return arg === true || (arg !== undefined && arg !== '')
}

/**
 * The header fields to store (§3.1: "the cache MUST store all ... header fields received", except
 * the ones above). A missing or invalid Date is replaced by the time of receipt (RFC 9110 §6.6.1:
 * a recipient with a clock "MUST ... append a corresponding Date"); a valid one is kept as sent.
 */
export function headersToStore(received: ResponseHeaders, responseTime: number): ResponseHeaders {
  const listed = received['connection'] === undefined ? undefined : parseTokenList(received['connection'])
  const out: ResponseHeaders = {}
  for (const name in received) {
    if (NOT_STORED.has(name) || name.startsWith('proxy-')) continue
    if (listed !== undefined && listed.includes(name)) continue
    out[name] = received[name]!
  }
  const date = firstValue(out, 'date')
  if (date === undefined || parseHttpDate(date, responseTime) === undefined) out['date'] = new Date(responseTime).toUTCString()
  return out
}

/**
 * The field names of a qualified `no-cache` or `private` (`no-cache="a, b"`, and the token form
 * `no-cache=a` senders should not use but recipients meet), lower-cased; undefined when the
 * directive is unqualified — or names nothing (`private=""`), read as unqualified: the safe side.
 */
export function qualifiedFields(arg: string | true | undefined): string[] | undefined {
  if (typeof arg !== 'string') return undefined
  const names = parseTokenList(arg)
  return names.length === 0 ? undefined : names
}

/**
 * `headers` without the fields a qualified directive withholds from reuse (the same object when
 * there are none). `no-cache="a"`, any cache (§5.2.2.4): the listed fields "MUST NOT be sent in
 * the response to a subsequent request without successful revalidation". `private="a"`, shared
 * rules (§5.2.2.7): "a shared cache MUST NOT store the listed header fields". Stored names are
 * lower-case, so are the listed ones (field names are case-insensitive). Applied to what is
 * stored, after freshness was computed from the fields as received; the requester that received
 * them keeps them.
 */
export function withoutWithheldFields(headers: ResponseHeaders, mode: CacheMode): ResponseHeaders {
  const value = headers['cache-control']
  if (value === undefined) return headers
  const cc = parseCacheControl(value)
  const noCache = qualifiedFields(cc['no-cache'])
  const limited = mode === 'shared' ? qualifiedFields(cc['private']) : undefined
  if (noCache === undefined && limited === undefined) return headers
  const out: ResponseHeaders = { ...headers }
  for (const name of noCache ?? []) delete out[name]
  for (const name of limited ?? []) delete out[name]
  return out
}

/** Whether a qualified `private` or `no-cache` names `field` (lower-case). */
function withholds(cc: Directives, field: string): boolean {
  return qualifiedFields(cc['private'])?.includes(field) === true || qualifiedFields(cc['no-cache'])?.includes(field) === true
}

/** `no-cache` without field names (§5.2.2.4): every reuse needs validation. `no-cache="a"` only hides fields. */
function unqualifiedNoCache(cc: Directives): boolean {
  return 'no-cache' in cc && qualifiedFields(cc['no-cache']) === undefined
}

/** What a stored entry needs to answer "fresh?" with arithmetic alone. Durations in ms. */
export interface Freshness {
  /** corrected_initial_age, RFC 9111 §4.2.3. */
  readonly initialAge: number
  /** When the response was received (epoch ms); resident time counts from here. */
  readonly responseTime: number
  /** Freshness lifetime (§4.2.1); 0 when every reuse needs validation (no-cache). */
  readonly lifetime: number
  /** stale-while-revalidate window past the lifetime (RFC 5861 §3). */
  readonly swr: number
  /** stale-if-error window past the lifetime (RFC 5861 §4). */
  readonly sie: number
  /**
   * Never served stale: must-revalidate (§5.2.2.2), no-cache (§5.2.2.4), and in a shared cache
   * proxy-revalidate (§5.2.2.8) and s-maxage (§5.2.2.10, which implies proxy-revalidate).
   */
  readonly noStale: boolean
}

/** Response directives, with `Pragma: no-cache` read as `no-cache` when there is no Cache-Control (§5.4). */
export function responseDirectives(headers: ResponseHeaders): Directives {
  const cc = headers['cache-control']
  if (cc !== undefined) return parseCacheControl(cc)
  const pragma = fieldValue(headers['pragma'])
  if (pragma !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(pragma)) return parseCacheControl('no-cache')
  return parseCacheControl(undefined)
}

/**
 * Freshness of a response being stored. `headers` are the stored ones (Date present and valid);
 * `age` is the received Age field.
 */
export function computeFreshness(
  mode: CacheMode,
  status: number,
  headers: ResponseHeaders,
  age: string | string[] | undefined,
  requestTime: number,
  responseTime: number,
): Freshness {
  const cc = responseDirectives(headers)
  const dateValue = parseHttpDate(firstValue(headers, 'date') ?? '', responseTime) ?? responseTime
  // §4.2.3, in ms.
  const apparentAge = Math.max(0, responseTime - dateValue)
  const responseDelay = Math.max(0, responseTime - requestTime)
  const correctedAgeValue = (parseAge(age) ?? 0) * 1000 + responseDelay
  const initialAge = Math.max(apparentAge, correctedAgeValue)
  const shared = mode === 'shared'
  const noStale = 'must-revalidate' in cc || unqualifiedNoCache(cc) || (shared && ('proxy-revalidate' in cc || 's-maxage' in cc))
  return {
    initialAge,
    responseTime,
    lifetime: freshnessLifetime(mode, status, cc, headers, dateValue, responseTime),
    swr: noStale ? 0 : (deltaSeconds(cc['stale-while-revalidate']) ?? 0) * 1000,
    sie: noStale ? 0 : (deltaSeconds(cc['stale-if-error']) ?? 0) * 1000,
    noStale,
  }
}

/** Freshness lifetime in ms, RFC 9111 §4.2.1 (explicit) and §4.2.2 (heuristic). */
export function freshnessLifetime(mode: CacheMode, status: number, cc: Directives, headers: ResponseHeaders, dateValue: number, now: number): number {
  // no-cache: "MUST NOT ... satisfy any other request without successful validation" (§5.2.2.4).
  if (unqualifiedNoCache(cc)) return 0
  const shared = mode === 'shared'
  // http-cache-semantics' rule, kept on purpose: a shared cache does not reuse a response that
  // sets a cookie without validation unless the origin says `public` — replaying one user's
  // Set-Cookie to another is a session-fixation bug, even though §7.3 leaves it to the origin.
  // An origin that did mark it (`private="set-cookie"`, `no-cache="set-cookie"`, RFC 9111 §7.3)
  // gets its response reused without it.
  if (shared && headers['set-cookie'] !== undefined && !('public' in cc) && !('immutable' in cc) && !withholds(cc, 'set-cookie')) return 0
  // "If the cache is shared and the s-maxage response directive is present, use its value".
  // An argument that is not delta-seconds is invalid freshness information: treat as stale.
  if (shared && 's-maxage' in cc) return (deltaSeconds(cc['s-maxage']) ?? 0) * 1000
  if ('max-age' in cc) return (deltaSeconds(cc['max-age']) ?? 0) * 1000
  const expires = firstValue(headers, 'expires')
  if (expires !== undefined) {
    // §5.3: "A cache recipient MUST interpret invalid date formats, especially the value "0", as
    // representing a time in the past (i.e., "already expired")." HTTP-date only (RFC 9110 §5.6.7).
    const at = parseHttpDate(expires.trim(), now)
    return at === undefined ? 0 : Math.max(0, at - dateValue)
  }
  // §4.2.2: heuristic freshness only for heuristically cacheable statuses, from Last-Modified.
  if (!HEURISTICALLY_CACHEABLE.has(status)) return 0
  const lastModified = firstValue(headers, 'last-modified')
  if (lastModified === undefined) return 0
  const modified = parseHttpDate(lastModified.trim(), now)
  if (modified === undefined || modified >= dateValue) return 0
  return Math.min(MAX_HEURISTIC_MS, Math.floor((dateValue - modified) * HEURISTIC_FRACTION))
}

/**
 * Whether the body is sent with a content coding (RFC 9110 §8.4). The transport decodes known
 * codings unless the call says `decompress: false`, so a stored body with this field is decoded
 * text for one kind of caller and still-encoded bytes for the other: the two never share it.
 */
export function hasContentCoding(headers: ResponseHeaders): boolean {
  const value = headers['content-encoding']
  if (value === undefined) return false
  return parseTokenList(value).some((coding) => coding !== 'identity')
}

/** RFC 8246: the response will not change during its freshness lifetime. */
export function isImmutable(headers: ResponseHeaders): boolean {
  return 'immutable' in responseDirectives(headers)
}

export function hasValidators(headers: ResponseHeaders): boolean {
  return headers['etag'] !== undefined || headers['last-modified'] !== undefined
}

/**
 * The request to send to validate a stored response (§4.3.1): the caller's headers plus
 * If-None-Match with the stored ETag and If-Modified-Since with the stored Last-Modified.
 * Undefined when the stored response has no validator (a full request is needed).
 */
export function conditionalHeaders(requestHeaders: Readonly<Record<string, string>>, stored: ResponseHeaders): Record<string, string> | undefined {
  const etag = firstValue(stored, 'etag')
  const lastModified = firstValue(stored, 'last-modified')
  if (etag === undefined && lastModified === undefined) return undefined
  const out: Record<string, string> = { ...requestHeaders }
  if (etag !== undefined) out['if-none-match'] = etag
  if (lastModified !== undefined) out['if-modified-since'] = lastModified
  return out
}

function isWeak(etag: string): boolean {
  return etag.startsWith('W/')
}

function opaque(etag: string): string {
  return isWeak(etag) ? etag.slice(2) : etag
}

/**
 * Does this 304 select the stored response we validated? RFC 9111 §4.3.4:
 * - a strong validator selects stored responses with the same strong validator;
 * - a weak validator (or Last-Modified) selects a stored response with a matching weak one;
 * - no validator at all: §4.3.4 selects the stored response only if it also lacks one. We accept
 *   it whenever it answers a conditional request we built from this very response (many servers
 *   omit Last-Modified from a 304; RFC 9110 §15.4.5 only requires ETag), rather than paying a
 *   second full request.
 */
export function notModifiedSelects(stored: ResponseHeaders, notModified: ResponseHeaders): boolean {
  const newTag = firstValue(notModified, 'etag')?.trim()
  const storedTag = firstValue(stored, 'etag')?.trim()
  if (newTag !== undefined) {
    if (storedTag === undefined) return false
    if (!isWeak(newTag)) return !isWeak(storedTag) && storedTag === newTag
    return opaque(storedTag) === opaque(newTag)
  }
  const newModified = firstValue(notModified, 'last-modified')
  if (newModified !== undefined) return firstValue(stored, 'last-modified') === newModified
  return true
}

/**
 * Does a 200 to HEAD describe the stored GET response? RFC 9111 §4.3.5: the stored response is
 * updated "if the stored response and HEAD response have matching values for any received
 * validator fields (ETag and Last-Modified) and, if the HEAD response has a Content-Length header
 * field, the value of Content-Length matches that of the stored response"; otherwise it is to be
 * considered stale. Values match when equal as sent (a weak and a strong tag differ). A stored
 * Content-Length is the one received (the wire length of a coded body); without one, the stored
 * body's length, unless it had a content coding (the decoded length says nothing: no match).
 */
export function headSelects(stored: ResponseHeaders, storedBody: Uint8Array | null, head: ResponseHeaders): boolean {
  for (const name of ['etag', 'last-modified'] as const) {
    const received = firstValue(head, name)?.trim()
    if (received !== undefined && firstValue(stored, name)?.trim() !== received) return false
  }
  const length = firstValue(head, 'content-length')?.trim()
  if (length === undefined) return true
  const storedLength = firstValue(stored, 'content-length')?.trim() ?? (hasContentCoding(stored) ? undefined : String(storedBody?.byteLength ?? 0))
  return storedLength !== undefined && /^[0-9]+$/.test(length) && Number(storedLength) === Number(length)
}

/**
 * The stored header fields updated by a 304 (§4.3.4: "the cache MUST add each header field in the
 * provided response to the stored response, replacing field values that are already present",
 * with the §3.2 exceptions). Every field of the 304 is merged, not only those already stored.
 */
export function mergeNotModified(stored: ResponseHeaders, notModified: ResponseHeaders, responseTime: number): ResponseHeaders {
  const update = headersToStore(notModified, responseTime)
  const out: ResponseHeaders = { ...stored }
  for (const name in update) {
    if (!NOT_UPDATED_BY_304.has(name)) out[name] = update[name]!
  }
  return out
}

/**
 * Fields that hand the user agent state for one user: never served from a shared cache (shared mode,
 * and the credential-less partition of private mode) to anyone but the requester who received them.
 * RFC 9111 §3.1 would store them; RFC 9111 §7 and RFC 6265 §7 leave it to origins to mark them
 * (`private="Set-Cookie"`, `no-cache="Set-Cookie"`), which many do not: replaying visitor 1's
 * `Set-Cookie: sid=...` to visitor 2 is session fixation, so a shared cache drops them.
 */
const USER_STATE_FIELDS = ['set-cookie', 'set-cookie2'] as const

/** `headers` without Set-Cookie / Set-Cookie2 (the same object when it has neither). */
export function withoutUserState(headers: ResponseHeaders): ResponseHeaders {
  if (headers['set-cookie'] === undefined && headers['set-cookie2'] === undefined) return headers
  const out: ResponseHeaders = { ...headers }
  for (const name of USER_STATE_FIELDS) delete out[name]
  return out
}
