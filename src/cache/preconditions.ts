/**
 * An application's conditional or range request evaluated against a stored response the cache may
 * use (RFC 9111 §4.3.2, RFC 9110 §13 and §14). Pure; the cache layer builds the response.
 *
 * - If-None-Match (weak comparison, lists, `*`) — or, only without it, If-Modified-Since against the
 *   stored Last-Modified (else Date) — that the stored response fails: `not-modified` (a 304).
 * - A condition the stored response passes (it differs from what the client holds): `origin` — the
 *   request goes to the origin untouched, as before (the client's copy may be newer than ours).
 * - One byte range (`bytes=a-b`, `a-`, `-n`) of a stored complete 200 without a content coding:
 *   `range` (a 206) or `unsatisfiable` (a 416). Several ranges, another unit, a malformed field, an
 *   If-Range the stored response does not pass: `origin`.
 * - Otherwise `full`: the stored response as it is (e.g. If-Range without Range, which is ignored).
 *
 * Why ranges of a stored body with a content coding go to the origin: the transport decodes codings
 * and the cache stores the decoded bytes, but byte ranges are offsets into the representation *as
 * sent*, i.e. into the encoded bytes (RFC 9110 §14.1.2). Slicing the decoded bytes and dropping
 * Content-Encoding would make a 206 whose Content-Range belongs to a different representation than
 * the one the ETag names — a client joining it with parts from the origin would corrupt data.
 */
import type { ResponseHeaders } from '../types.js'
import { parseHttpDate } from '../retry/http-date.js'
import { firstValue, hasContentCoding } from './cache-semantics.js'

type PreconditionResult =
  | { readonly kind: 'full' }
  | { readonly kind: 'not-modified' }
  | { readonly kind: 'origin' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }

const FULL: PreconditionResult = { kind: 'full' }
const NOT_MODIFIED: PreconditionResult = { kind: 'not-modified' }
const ORIGIN: PreconditionResult = { kind: 'origin' }
const UNSATISFIABLE: PreconditionResult = { kind: 'unsatisfiable' }

/** What the evaluation needs of a stored response. */
interface StoredRepresentation {
  readonly status: number
  readonly headers: ResponseHeaders
  readonly body: Uint8Array | null
}

/** RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = "!" / %x23-7E / obs-text. */
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/
/** An entity tag's opaque part sent without quotes: etagc characters, no comma. */
const UNQUOTED_TAG = /^[\x21\x23-\x2b\x2d-\x7e\x80-\xff]+$/

/**
 * The members of an If-None-Match list as opaque tags (the weak prefix dropped: If-None-Match uses
 * the weak comparison, RFC 9110 §13.1.2), `'*'`, or undefined when the field is malformed. A member
 * sent without its quotes (`If-None-Match: abc`, a common client slip) is read as the tag `abc`:
 * recipients are asked to be lenient, and a wrong reading can only cost a request to the origin.
 */
export function parseEntityTagList(value: string): string[] | '*' | undefined {
  const text = value.trim()
  if (text === '*') return '*'
  const tags: string[] = []
  let i = 0
  const n = text.length
  while (i < n) {
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++
    if (i >= n) break
    const start = i
    if (text.startsWith('W/', i)) i += 2
    if (text[i] !== '"') {
      // Unquoted: up to the next comma, one token (no inner whitespace or quotes).
      let end = text.indexOf(',', i)
      if (end === -1) end = n
      const bare = text.slice(i, end).trim()
      if (!UNQUOTED_TAG.test(bare)) return undefined
      tags.push(bare)
      i = end
      continue
    }
    const close = text.indexOf('"', i + 1)
    if (close === -1) return undefined
    const m = ENTITY_TAG.exec(text.slice(start, close + 1))
    if (m === null) return undefined
    tags.push(m[2]!)
    i = close + 1
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++
    if (i < n && text[i] !== ',') return undefined
  }
  return tags.length === 0 ? undefined : tags
}

/** The opaque tag of a stored ETag, read as leniently as the request's (an unquoted one too). */
function storedOpaqueTag(etag: string): string | undefined {
  const m = ENTITY_TAG.exec(etag)
  if (m !== null) return m[2]!
  const bare = etag.startsWith('W/') ? etag.slice(2) : etag
  return UNQUOTED_TAG.test(bare) ? bare : undefined
}

/**
 * RFC 9110 §8.8.2.2: a Last-Modified is a strong validator for a cache when "that cache entry
 * includes a Date value, and the presented Last-Modified time is at least 60 seconds before the
 * Date value".
 */
function strongLastModified(headers: ResponseHeaders, now: number): number | undefined {
  const lastModified = firstValue(headers, 'last-modified')
  const date = firstValue(headers, 'date')
  if (lastModified === undefined || date === undefined) return undefined
  const lm = parseHttpDate(lastModified.trim(), now)
  const d = parseHttpDate(date.trim(), now)
  return lm !== undefined && d !== undefined && d - lm >= 60_000 ? lm : undefined
}

/** A single byte range of a `length`-byte body; undefined when the field is not one we answer. */
export function parseByteRange(value: string, length: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  // RFC 9110 §14.1: ranges-specifier = range-unit "=" range-set; range units are case-insensitive.
  const eq = value.indexOf('=')
  if (eq === -1 || value.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined
  const spec = value.slice(eq + 1).trim()
  // One range only: several are answered by the origin (multipart/byteranges).
  if (spec.includes(',')) return undefined
  const m = /^(\d*)[ \t]*-[ \t]*(\d*)$/.exec(spec)
  if (m === null || (m[1] === '' && m[2] === '')) return undefined
  if (m[1] === '') {
    // suffix-range: the last n bytes; "a suffix-range with a suffix-length of zero" is not
    // satisfiable (§14.1.3), nor is any range of an empty representation.
    const suffix = Number(m[2])
    if (suffix === 0 || length === 0) return 'unsatisfiable'
    return { start: Math.max(0, length - suffix), end: length - 1 }
  }
  const first = Number(m[1])
  const last = m[2] === '' ? Infinity : Number(m[2])
  // §14.1.1: "A byte-range-spec is invalid if the last-pos value is present and less than the
  // first-pos" — an invalid field is ignored, so the origin decides.
  if (last < first) return undefined
  if (!Number.isSafeInteger(first)) return 'unsatisfiable'
  // §14.1.3: satisfiable when the first-pos is less than the representation's length.
  if (first >= length) return 'unsatisfiable'
  return { start: first, end: Math.min(last, length - 1) }
}

/** Does If-Range let the range be served from this stored response (RFC 9110 §13.1.5)? */
function ifRangePasses(value: string, headers: ResponseHeaders, now: number): boolean {
  const text = value.trim()
  if (text.startsWith('"') || text.startsWith('W/')) {
    // Strong comparison: both strong, same opaque tag (a weak tag never matches, §8.8.3.2).
    const stored = firstValue(headers, 'etag')?.trim()
    return stored !== undefined && !text.startsWith('W/') && ENTITY_TAG.test(text) && stored === text
  }
  // A date: only against a strong Last-Modified, and it must match exactly.
  const date = parseHttpDate(text, now)
  const lastModified = strongLastModified(headers, now)
  return date !== undefined && lastModified !== undefined && date === lastModified
}

/**
 * Evaluates the request's If-None-Match / If-Modified-Since / Range / If-Range against a stored
 * response the cache would otherwise serve as it is.
 */
export function evaluatePreconditions(
  method: string,
  request: Readonly<Record<string, string>>,
  stored: StoredRepresentation,
  now: number,
): PreconditionResult {
  // RFC 9110 §13.2.1: preconditions are ignored when the response without them would not be 2xx.
  if (stored.status < 200 || stored.status > 299) return FULL
  const ifNoneMatch = request['if-none-match']
  if (ifNoneMatch !== undefined) {
    const tags = parseEntityTagList(ifNoneMatch)
    if (tags === undefined) return ORIGIN
    const etag = firstValue(stored.headers, 'etag')?.trim()
    // "*": false when a current representation exists — the stored one is.
    if (tags === '*') return NOT_MODIFIED
    const opaque = etag === undefined ? undefined : storedOpaqueTag(etag)
    if (opaque === undefined) return ORIGIN
    return tags.includes(opaque) ? NOT_MODIFIED : ORIGIN
  }
  const ifModifiedSince = request['if-modified-since']
  // §13.1.3: ignored when If-None-Match is present, for methods other than GET/HEAD, and when it
  // is not a valid HTTP-date.
  if (ifModifiedSince !== undefined && (method === 'GET' || method === 'HEAD')) {
    const since = parseHttpDate(ifModifiedSince.trim(), now)
    if (since !== undefined) {
      // RFC 9111 §4.3.2: against the stored Last-Modified, else its Date.
      const modifiedText = firstValue(stored.headers, 'last-modified') ?? firstValue(stored.headers, 'date')
      const modified = modifiedText === undefined ? undefined : parseHttpDate(modifiedText.trim(), now)
      if (modified === undefined) return ORIGIN
      return modified <= since ? NOT_MODIFIED : ORIGIN
    }
  }
  const range = request['range']
  // §14.2: Range is defined for GET only (a HEAD ignores it); If-Range without Range is ignored.
  if (range === undefined || method !== 'GET') return FULL
  if (stored.status !== 200 || stored.body === null || hasContentCoding(stored.headers)) return ORIGIN
  const ifRange = request['if-range']
  // If-Range false: the origin sends the whole current representation, which may be newer.
  if (ifRange !== undefined && !ifRangePasses(ifRange, stored.headers, now)) return ORIGIN
  const byteRange = parseByteRange(range, stored.body.byteLength)
  if (byteRange === undefined) return ORIGIN
  if (byteRange === 'unsatisfiable') return UNSATISFIABLE
  return { kind: 'range', start: byteRange.start, end: byteRange.end }
}
