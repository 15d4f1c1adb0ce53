/**
 * A standard `Response` (a subclass: `instanceof Response`, every method and property of the
 * Fetch standard) whose body stream is made only when someone asks for `body`.
 *
 * Why: on Node 20 every `new ReadableStream()` costs ~10 µs of CPU (streams are made transferable),
 * the largest single cost of a request. Callers that use `text()`, `json()`, `arrayBuffer()`,
 * `blob()` or `bytes()` get the bytes straight from the transport's chunks or the cache's stored
 * entry; callers that take `body` (piping, streaming parsers) get a real stream, as with fetch.
 * Errors while the body arrives are the same SafeFetchErrors either way.
 */
import { SafeFetchError } from './errors.js'
import { redactUrlForError } from './observe/redact.js'
import type { LazyBody, RawResponse } from './types.js'

const utf8 = new TextDecoder()

/**
 * Response's type declarations (undici-types) describe its accessors and methods as properties,
 * which a subclass may not as accessors in TypeScript; at run time they are accessors
 * and prototype methods like any class's. So the class extends Response through a narrower type
 * and `createSafeResponse()` gives it back as a `Response`.
 */
const ResponseBase = Response as unknown as new (
  body: null,
  init: ResponseInit,
) => {
  readonly status: number
  readonly statusText: string
}

/** Header pairs as undici gives them; turned into a Headers object only when someone reads `headers`. */
type HeaderPairs = [string, string][]

function createSafeResponse(lazy: LazyBody, init: { status: number; statusText?: string }, headers: HeaderPairs, url: string, redirected: boolean): Response {
  return new SafeResponse(lazy, init, headers, url, redirected) as unknown as Response
}

class SafeResponse extends ResponseBase {
  readonly #lazy: LazyBody
  readonly #url: string
  readonly #redirected: boolean
  #pairs: HeaderPairs | undefined
  #headers: Headers | undefined
  #used = false
  #spent: ReadableStream<Uint8Array> | undefined

  constructor(lazy: LazyBody, init: { status: number; statusText?: string }, headers: HeaderPairs, url: string, redirected: boolean) {
    // No headers passed to Response itself: building a Headers object costs ~3 µs, and many
    // callers never read one. `headers` makes it on first access (a response's headers are
    // immutable, so a lazily made object is indistinguishable).
    super(null, init)
    this.#lazy = lazy
    this.#pairs = headers
    this.#url = url
    this.#redirected = redirected
  }

  get headers(): Headers {
    if (this.#headers === undefined) {
      // As mutable as the headers of any constructed Response (only fetch's own are immutable).
      this.#headers = new Headers(this.#pairs)
      this.#pairs = undefined
    }
    return this.#headers
  }

  get url(): string {
    return this.#url
  }

  get redirected(): boolean {
    return this.#redirected
  }

  get body(): ReadableStream<Uint8Array> {
    // Read through text()/json()/…: fetch still hands out its (disturbed, locked) stream rather
    // than throwing, and tools such as test-failure printers read `body` after a consuming call.
    if (this.#used && !this.#lazy.streamCreated) return (this.#spent ??= spentStream())
    return this.#lazy.stream
  }

  get bodyUsed(): boolean {
    // A stream handed out counts as used once a reader holds it (fetch: "disturbed").
    return this.#used || (this.#lazy.streamCreated && this.#lazy.stream.locked)
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    // A copy of exactly the body's bytes (the chunk may share a larger buffer, or be a stored cache entry).
    return new Uint8Array(await this.#consume()).buffer
  }

  /** The Fetch standard's `bytes()` (Node 22+ has it natively); a copy the caller may change. */
  async bytes(): Promise<Uint8Array> {
    return new Uint8Array(await this.#consume())
  }

  async text(): Promise<string> {
    // UTF-8 decode, BOM stripped, as Body.text() does.
    return utf8.decode(await this.#consume())
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown
  }

  async blob(): Promise<Blob> {
    return new Blob([await this.#consume()], { type: this.headers.get('content-type') ?? '' })
  }

  async formData(): Promise<FormData> {
    // Multipart parsing is the platform's: hand it the bytes with our headers.
    return new Response(await this.#consume(), { headers: this.headers }).formData()
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.')
    // Tee the real stream; this response keeps one branch, the clone (a plain Response) the other.
    const [mine, theirs] = this.#lazy.stream.tee()
    const clone = new Response(theirs, { status: this.status, statusText: this.statusText, headers: this.headers })
    Object.defineProperty(clone, 'url', { value: this.#url, enumerable: true })
    if (this.#redirected) Object.defineProperty(clone, 'redirected', { value: true, enumerable: true })
    Object.defineProperty(this, 'body', { value: mine, enumerable: true })
    Object.defineProperty(this, 'bodyUsed', { get: () => this.#used || mine.locked, enumerable: true })
    return clone
  }

  async #consume(): Promise<Uint8Array> {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read')
    this.#used = true
    const lazy = this.#lazy
    if (!lazy.streamCreated) return lazy.collect()
    // The stream was taken (e.g. by clone()): read it like fetch does.
    return new Uint8Array(await new Response(this.body).arrayBuffer())
  }
}

/** An empty, closed and locked stream: what `body` shows once the bytes were read another way. */
function spentStream(): ReadableStream<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>({ start: (controller) => controller.close() })
  stream.getReader()
  return stream
}

/** RFC 9110 §15: reason-phrase = *( HTAB / SP / VCHAR / obs-text ). */
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/

/**
 * The fetch edge, outbound: the pipeline's RawResponse becomes the standard Response handed to the
 * caller (a lazy SafeResponse when no stream was made yet).
 */
export function toResponse(raw: RawResponse, redirected: boolean): Response {
  if (raw.status < 200 || raw.status > 599) {
    const shown = redactUrlForError(raw.url)
    throw new SafeFetchError('ERR_BAD_RESPONSE', `${shown} answered with status ${raw.status}, outside 200–599`, { url: shown })
  }
  const pairs: [string, string][] = []
  const headers = raw.headers
  for (const name in headers) {
    const value = headers[name]!
    if (typeof value === 'string') pairs.push([name, value])
    else for (const item of value) pairs.push([name, item])
  }
  const lazy = raw.lazy
  // A reason phrase the Response constructor would refuse is not worth failing the call for.
  const init = REASON_PHRASE.test(raw.statusText) ? { status: raw.status, statusText: raw.statusText } : { status: raw.status }
  // No stream yet: hand out a Response that makes one (and its Headers) only when asked for.
  if (lazy !== undefined && !lazy.streamCreated) return createSafeResponse(lazy, init, pairs, raw.url.href, redirected)
  const response = new Response(raw.body, { ...init, headers: pairs })
  Object.defineProperty(response, 'url', { value: raw.url.href, enumerable: true })
  if (redirected) Object.defineProperty(response, 'redirected', { value: true, enumerable: true })
  return response
}
