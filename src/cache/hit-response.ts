/**
 * Builds the response for a cache hit from a stored record. The hot path of the cache: one
 * headers object (the stored fields plus a fresh Age), one small body object, one response object
 * — no listeners, nothing kept after the caller is done.
 *
 * The body is lazy (types.ts `LazyBody`): a caller that reads it with `text()`, `json()` or
 * `arrayBuffer()` gets the stored bytes without any stream (on Node 20 a `new ReadableStream()`
 * costs ~10 µs, more than the rest of a hit); a stream is made only if someone takes `body`.
 * Either way the stored Uint8Array itself is handed out, never copied per hit: nothing on our side
 * writes to it, the client edge copies before giving bytes to the caller, and stream chunks must be
 * treated as read-only, as with any stream.
 */
import type { LazyBody, RawResponse, ResponseHeaders } from '../types.js'
import { currentAge } from './cache-request.js'
import type { ResponseRecord } from './cache-store.js'

/** Pull-based, so nothing happens until the caller reads; one chunk, then end. */
class StoredBodySource {
  constructor(private bytes: Uint8Array | undefined) {}

  pull(controller: ReadableStreamDefaultController<Uint8Array>): void {
    const bytes = this.bytes
    this.bytes = undefined
    if (bytes !== undefined && bytes.byteLength > 0) controller.enqueue(bytes)
    controller.close()
  }

  cancel(): void {
    this.bytes = undefined
  }
}

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

/** The stored body of one hit: collected whole, or made into a stream on first access to `stream`. */
class StoredBody implements LazyBody {
  /** The body's byte length (the call record counts it: a hit's bytes are known up front). */
  readonly size: number
  private streamValue: ReadableStream<Uint8Array> | undefined = undefined
  private bytes: Uint8Array | undefined

  constructor(bytes: Uint8Array) {
    this.bytes = bytes
    this.size = bytes.byteLength
  }

  get streamCreated(): boolean {
    return this.streamValue !== undefined
  }

  get stream(): ReadableStream<Uint8Array> {
    if (this.streamValue !== undefined) return this.streamValue
    const bytes = this.bytes
    if (bytes === undefined) throw unusable()
    this.bytes = undefined
    this.streamValue = storedBodyStream(bytes)
    return this.streamValue
  }

  /** The stored bytes themselves (read-only: the edge copies them for the caller). */
  collect(): Promise<Uint8Array> {
    const bytes = this.bytes
    if (bytes === undefined) return Promise.reject(unusable())
    this.bytes = undefined
    return Promise.resolve(bytes)
  }

  cancel(): void {
    const stream = this.streamValue
    if (stream !== undefined) {
      if (!stream.locked) stream.cancel().catch(() => {})
      return
    }
    this.bytes = undefined
  }
}

/** A hit's RawResponse with a body; the stream is made from the lazy body only when asked for. */
class HitResponse implements RawResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    readonly url: URL,
    readonly lazy: StoredBody,
  ) {}

  get body(): ReadableStream<Uint8Array> {
    return this.lazy.stream
  }
}

const NO_QUEUE = { highWaterMark: 0 }

/**
 * The stored fields with an `age` slot, made once per stored record. Why: V8 copies an object
 * literal's shape in ~80 ns, but adding a key the copy does not have costs ~3 µs (a map
 * transition); with the slot already there, setting Age is a plain store. Weakly held: it goes
 * when the record does.
 */
const templates = new WeakMap<ResponseHeaders, ResponseHeaders>()

function headerTemplate(stored: ResponseHeaders): ResponseHeaders {
  let template = templates.get(stored)
  if (template === undefined) {
    template = { ...stored, age: '0' }
    templates.set(stored, template)
  }
  return template
}

/** A stream over stored bytes, fresh for each caller. */
function storedBodyStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(new StoredBodySource(bytes), NO_QUEUE)
}

/**
 * The response for `record` at `now`: the stored status and fields, `Age` generated from the
 * entry's current age (RFC 9111 §5.1: the cache "MUST" send Age when serving a stored response),
 * and a lazy body over the stored bytes (none for HEAD).
 */
export function responseFromRecord(record: ResponseRecord, url: URL, now: number, withBody: boolean): RawResponse {
  const headers: ResponseHeaders = { ...headerTemplate(record.headers) }
  headers['age'] = String(Math.floor(currentAge(record, now) / 1000))
  if (!withBody || record.body === null) return { status: record.status, statusText: record.statusText, headers, body: null, url }
  return new HitResponse(record.status, record.statusText, headers, url, new StoredBody(record.body))
}

/** RFC 9111 §5.2.1.7: only-if-cached with nothing usable stored. */
export function gatewayTimeout(url: URL): RawResponse {
  return { status: 504, statusText: 'Gateway Timeout', headers: { 'content-length': '0' }, body: null, url }
}

/**
 * The fields a 304 made from a stored response carries: RFC 9110 §15.4.5 — "Content-Location,
 * Date, ETag, and Vary; Cache-Control and Expires" as a 200 would have them — plus Last-Modified
 * (a validator "useful if the response does not have an ETag field") and Age (RFC 9111 §5.1).
 */
const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'last-modified', 'vary'] as const

/** RFC 9111 §4.3.2: a 304 answering the caller's own conditional request from a stored response. */
export function notModifiedFromRecord(record: ResponseRecord, url: URL, now: number): RawResponse {
  const headers: ResponseHeaders = {}
  for (const name of NOT_MODIFIED_FIELDS) {
    const value = record.headers[name]
    if (value !== undefined) headers[name] = value
  }
  headers['age'] = String(Math.floor(currentAge(record, now) / 1000))
  return { status: 304, statusText: 'Not Modified', headers, body: null, url }
}

/**
 * RFC 9110 §15.3.7: bytes `start`..`end` (inclusive) of a stored complete response as a 206, with
 * Content-Range and the part's Content-Length; the body is a view of the stored bytes, not a copy.
 */
export function partialFromRecord(record: ResponseRecord, url: URL, now: number, start: number, end: number): RawResponse {
  const body = record.body ?? new Uint8Array(0)
  const headers: ResponseHeaders = { ...record.headers }
  headers['content-range'] = `bytes ${start}-${end}/${body.byteLength}`
  headers['content-length'] = String(end - start + 1)
  headers['age'] = String(Math.floor(currentAge(record, now) / 1000))
  return new HitResponse(206, 'Partial Content', headers, url, new StoredBody(body.subarray(start, end + 1)))
}

/** RFC 9110 §15.5.17: no byte of the stored representation is in the requested range. */
export function rangeNotSatisfiable(record: ResponseRecord, url: URL, now: number): RawResponse {
  const length = record.body?.byteLength ?? 0
  const headers: ResponseHeaders = {
    'content-range': `bytes */${length}`,
    'content-length': '0',
    date: new Date(now).toUTCString(),
  }
  for (const name of ['etag', 'last-modified'] as const) {
    const value = record.headers[name]
    if (value !== undefined) headers[name] = value
  }
  return { status: 416, statusText: 'Range Not Satisfiable', headers, body: null, url }
}
