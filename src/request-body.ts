/**
 * Turns every body a fetch caller may pass into something undici sends, and says whether it can
 * be sent again (retries, 307/308 redirects). In-memory bodies are replayable; streams are not,
 * unless the caller passes a factory `() => body` that makes a fresh one per attempt.
 */
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import type { BodyInit } from 'undici'
import { SafeFetchError } from './errors.js'
import { describeValue as describe } from './option-checks.js'
import type { BodySource, RequestBody } from './types.js'

export type BodyFactory = () => string | Uint8Array | ReadableStream<Uint8Array> | Readable

export type SafeBodyInit = BodyInit | Readable | BodyFactory

export interface PreparedBody {
  body: RequestBody | null
  /** Content-Type implied by the body (fetch's "extract a body"), used when the caller set none. */
  contentType: string | undefined
}

const encoder = new TextEncoder()

function replayable(source: string | Uint8Array): RequestBody {
  const length = typeof source === 'string' ? Buffer.byteLength(source) : source.byteLength
  return { replayable: true, length, source: () => source }
}

function oneShot(stream: Readable): RequestBody {
  let used = false
  return {
    replayable: false,
    length: undefined,
    source(): BodySource {
      if (used)
        throw new SafeFetchError('ERR_INVALID_OPTION', 'the request body is a one-shot stream and was already sent; pass a body factory to allow resending it')
      used = true
      return stream
    },
  }
}

function fromFactory(factory: BodyFactory): RequestBody {
  return {
    replayable: true,
    length: undefined,
    source(): BodySource {
      const value = factory()
      if (typeof value === 'string' || value instanceof Uint8Array) return value
      if (value instanceof Readable) return value
      if (value instanceof ReadableStream) return Readable.fromWeb(value as NodeReadableStream)
      throw new SafeFetchError('ERR_INVALID_OPTION', `body factory must return a string, Uint8Array or stream, got ${describe(value)}`)
    },
  }
}

export async function prepareBody(body: unknown, method: string): Promise<PreparedBody> {
  if (body === undefined || body === null) return { body: null, contentType: undefined }
  if (method === 'GET' || method === 'HEAD') {
    throw new SafeFetchError('ERR_INVALID_OPTION', `body is not allowed with ${method} (as in fetch)`)
  }
  if (typeof body === 'string') return { body: replayable(body), contentType: 'text/plain;charset=UTF-8' }
  if (body instanceof Uint8Array) return { body: replayable(body), contentType: undefined }
  if (body instanceof ArrayBuffer) return { body: replayable(new Uint8Array(body)), contentType: undefined }
  if (ArrayBuffer.isView(body)) return { body: replayable(new Uint8Array(body.buffer, body.byteOffset, body.byteLength)), contentType: undefined }
  if (body instanceof URLSearchParams) {
    return { body: replayable(encoder.encode(body.toString())), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' }
  }
  if (body instanceof Blob) {
    return { body: replayable(new Uint8Array(await body.arrayBuffer())), contentType: body.type === '' ? undefined : body.type }
  }
  if (body instanceof FormData) {
    // Let the platform write the multipart encoding and its boundary once; the bytes are replayable.
    const encoded = new Response(body)
    return { body: replayable(new Uint8Array(await encoded.arrayBuffer())), contentType: encoded.headers.get('content-type') ?? undefined }
  }
  if (body instanceof ReadableStream) {
    return { body: oneShot(Readable.fromWeb(body as NodeReadableStream)), contentType: undefined }
  }
  if (body instanceof Readable) return { body: oneShot(body), contentType: undefined }
  if (typeof body === 'function') return { body: fromFactory(body as BodyFactory), contentType: undefined }
  throw new SafeFetchError(
    'ERR_INVALID_OPTION',
    `body must be a string, ArrayBuffer, typed array, Blob, FormData, URLSearchParams, stream or a function returning one, got ${describe(body)}`,
  )
}
