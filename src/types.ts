/**
 * The leaf types every module shares: the record a call fills in and the internal request and
 * response shapes that travel through the layers. This module sits at the bottom of the import
 * graph: it imports types only, from modules that import nothing of ours above them.
 */
import type { Readable } from 'node:stream'
import type { BodySettle } from './call-signal.js'
import type { ErrorCode } from './errors.js'

export type CacheStatus = 'hit' | 'miss' | 'revalidated' | 'stale' | 'bypass'

/** Milliseconds per phase of one physical request. A reused keep-alive socket has no dns/connect/tls. */
export interface PhaseTimings {
  /** Waiting for a concurrency slot or a pooled connection. */
  queued?: number
  dns?: number
  connect?: number
  tls?: number
  /** From dispatch to the request being written to the socket. */
  sent?: number
  /** From dispatch to the response headers (time to first byte). */
  firstByte?: number
  /** From the response headers to the last body byte. */
  download?: number
  total?: number
}

export interface AttemptRecord {
  /** 1-based attempt number within the hop. */
  attempt: number
  /** 0-based redirect hop. */
  hop: number
  url: string
  status?: number
  errorCode?: ErrorCode
  remoteAddress?: string
  remotePort?: number
  /** True when the request went over an already open keep-alive connection. */
  reusedConnection?: boolean
  timings: PhaseTimings
  /** Why the next attempt was made, and after how long. */
  retryReason?: string
  retryDelayMs?: number
}

export interface CallRecord {
  readonly id: string
  readonly method: string
  /** The first URL of the call, redacted. */
  readonly url: string
  /** Epoch milliseconds. */
  readonly startedAt: number
  finalUrl?: string
  status?: number
  attempts: number
  redirects: number
  cache?: CacheStatus
  /** 'mock' when the client sends through a test `dispatcher` (docs/testing.md); absent otherwise. */
  transport?: 'mock'
  remoteAddress?: string
  errorCode?: ErrorCode
  /** Decoded body bytes delivered to the caller. */
  bytes: number
  durationMs?: number
  timings: PhaseTimings
  attemptLog: AttemptRecord[]
}

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
