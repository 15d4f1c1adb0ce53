/**
 * The shape of one call as it travels through the layers.
 *
 * A layer is a factory over resolved options that wraps the next handler. Layers are listed
 * outermost first and run in that order (read order is run order), unlike undici's `compose()`.
 * A disabled feature is a layer left out of the list, never an `if` inside it.
 */
import type { Readable } from 'node:stream'
import type { BodySettle, CallContext } from './context.js'

/** What may be sent as a request body on one attempt; all are accepted by undici's dispatcher. */
export type BodySource = string | Uint8Array | Readable | FormData

export interface RequestBody {
  /** Whether `source()` can be called again to resend the body (retries, 307/308 redirects). */
  readonly replayable: boolean
  /** Byte length when known up front (strings, buffers). */
  readonly length: number | undefined
  /** A fresh body for one attempt. For a one-shot stream the second call throws. */
  source(): BodySource
}

export interface OutboundRequest {
  readonly url: URL
  /** Upper-case method name. */
  readonly method: string
  /** Lower-case header names; one value per name (comma-joined, as WHATWG Headers does). */
  readonly headers: Readonly<Record<string, string>>
  readonly body: RequestBody | null
}

/** Response headers as undici gives them: lower-case names, repeated headers as arrays (set-cookie). */
export type ResponseHeaders = Record<string, string | string[]>

/**
 * The internal response. It becomes a WHATWG `Response` only at the edge (client.ts), so that
 * layers read plain objects (cheap) and a cache hit does not build a Headers object twice.
 */
export interface RawResponse {
  readonly status: number
  readonly statusText: string
  readonly headers: ResponseHeaders
  /** null for responses that have no body (HEAD, 204, 304) or whose body was consumed. */
  readonly body: ReadableStream<Uint8Array> | null
  /** The URL of the exchange that produced this response (the last hop). */
  readonly url: URL
  /**
   * Fires when the body has been delivered, failed or was cancelled. Absent when the body is
   * already complete in memory (a cache hit) or there is none. Layers that wrap the body must
   * pass it on.
   */
  readonly settle?: BodySettle
  /**
   * The body before any stream was made (transport responses and cache hits). The edge reads it
   * with `collect()` when the caller only wants text/JSON/bytes; reading `body` makes the stream.
   * A layer that replaces `body` must not pass this on.
   */
  readonly lazy?: LazyBody
}

export interface LazyBody {
  /** The body as a WHATWG stream, made on first access. */
  readonly stream: ReadableStream<Uint8Array>
  readonly streamCreated: boolean
  /** The whole body at once; rejects if `stream` was taken or it was already collected. */
  collect(): Promise<Uint8Array>
  /** Drops the body unread (its connection is closed rather than drained). */
  cancel(): void
  /** Byte length when the whole body is already in memory (a cache hit). */
  readonly size?: number
}

export type Handler = (req: OutboundRequest, ctx: CallContext) => Promise<RawResponse>
export type Layer = (next: Handler) => Handler

/** Builds the chain: `compose([a, b, c], t)` runs a, then b, then c, then the transport t. */
export function compose(layers: readonly Layer[], transport: Handler): Handler {
  let handler = transport
  for (let i = layers.length - 1; i >= 0; i--) {
    handler = layers[i]!(handler)
  }
  return handler
}

/** First value of a response header (undici gives arrays for repeated headers). */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value[0]
}

/** Discards a response body without reading it, so its connection is released. */
export function discardBody(response: RawResponse): void {
  const lazy = response.lazy
  if (lazy !== undefined && !lazy.streamCreated) {
    lazy.cancel()
    return
  }
  const body = response.body
  if (body !== null && !body.locked) body.cancel().catch(() => {})
}
