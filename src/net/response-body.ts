/**
 * The response body as a WHATWG ReadableStream fed straight from undici's dispatch callbacks,
 * with the read timeout, the size limit (on decoded bytes) and decompression-bomb guards.
 *
 * Why not `Readable.toWeb(undiciBody)`: one stream instead of two, and every limit sees each chunk
 * exactly once. Backpressure: when the stream's queue is full the undici controller is paused
 * (the socket stops being read) and resumed from `pull()`; likewise while a decoder's input is full.
 *
 * Memory: what is held is counted by the memory it keeps alive, not by data bytes (held-chunks.ts):
 * undici's chunks are views of socket reads, and a tiny view pins the whole read. Chunks that would
 * pin more than twice their bytes are copied, runs of small held chunks are merged, and the stream's
 * queue counts a per-chunk overhead, so `maxResponseBytes` bounds memory, not just data.
 */
import type { Transform } from 'node:stream'
import zlib from 'node:zlib'
import type { Dispatcher } from 'undici'
import type { BodySettle, CallSignal } from '../call-signal.js'
import type { LazyBody } from '../types.js'
import { SafeFetchError } from '../errors.js'
import { CHUNK_OVERHEAD, compact, HeldChunks } from './held-chunks.js'

interface BodyLimits {
  /** Largest decoded body in bytes. */
  readonly maxBytes: number
  /** Largest decoded:received ratio, checked once more than RATIO_GRACE_BYTES were decoded. */
  readonly maxRatio: number
  /** Longest silence between chunks in ms; 0 = none. */
  readonly readTimeout: number
}

/** A bomb guard that ignores the first MiB, so small, very compressible JSON is never refused. */
const RATIO_GRACE_BYTES = 1024 * 1024
/** RFC 9110 §8.4 allows a list; more than two stacked codings is only ever an attack. */
const MAX_ENCODINGS = 2
const HIGH_WATER_MARK = 64 * 1024
/**
 * What may wait in front of a decoder (zlib works on the thread pool): queued data plus each queued
 * chunk's objects, in bytes. Our own figure, not the stream's writableHighWaterMark, whose default
 * Node 22 raised from 16 to 64 KiB: the same body must be held the same way on every Node version.
 */
const DECODER_INPUT_LIMIT = 16 * 1024

const hasZstd = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function'

/** The Accept-Encoding we send when decompression is on. */
export const ACCEPT_ENCODING = hasZstd ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br'

type Coding = 'gzip' | 'deflate' | 'br' | 'zstd'

/**
 * The codings to undo, last applied first; `null` to pass the body through untouched (no coding,
 * or one we do not know — the caller gets the bytes as sent). Throws for too many layers.
 */
export function decodingPlan(contentEncoding: string | string[] | undefined, url: string): Coding[] | null {
  if (contentEncoding === undefined) return null
  const text = typeof contentEncoding === 'string' ? contentEncoding : contentEncoding.join(',')
  const plan: Coding[] = []
  for (const raw of text.split(',')) {
    const coding = raw.trim().toLowerCase()
    if (coding === '' || coding === 'identity') continue
    if (coding === 'gzip' || coding === 'x-gzip') plan.push('gzip')
    else if (coding === 'deflate') plan.push('deflate')
    else if (coding === 'br') plan.push('br')
    else if (coding === 'zstd' && hasZstd) plan.push('zstd')
    else return null
  }
  if (plan.length === 0) return null
  if (plan.length > MAX_ENCODINGS) {
    throw new SafeFetchError('ERR_BAD_RESPONSE', `response from ${url} stacks ${plan.length} content codings (${text}); at most ${MAX_ENCODINGS} are decoded`, {
      url,
    })
  }
  return plan.reverse()
}

function createDecoder(coding: Coding, firstByte: number): Transform {
  // Lenient flushing like browsers: a body cut short still yields what was decoded.
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }
  switch (coding) {
    case 'gzip':
      return zlib.createGunzip(flush)
    case 'deflate':
      // "deflate" is zlib-wrapped per RFC 9110 §8.4.1.2, but some servers send raw deflate:
      // a zlib header has CM = 8 in the low nibble of the first byte.
      return (firstByte & 0x0f) === 0x08 ? zlib.createInflate(flush) : zlib.createInflateRaw(flush)
    case 'br':
      return zlib.createBrotliDecompress({
        flush: zlib.constants.BROTLI_OPERATION_FLUSH,
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
      })
    case 'zstd':
      return (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress()
  }
}

function readTimedOut(body: ResponseBody): void {
  body.onReadTimeout()
}

/**
 * The body of one response. The WHATWG stream is made only when someone asks for it: on Node 20 a
 * `new ReadableStream()` costs ~10 µs (it is made transferable), more than the rest of a request's
 * own work, and most callers just want `text()` / `json()`, which `collect()` serves from the
 * chunks directly (see safe-response.ts). Until then chunks are buffered up to the high-water mark
 * and the socket is paused, exactly as a stream's queue would.
 */
export class ResponseBody implements LazyBody {
  private streamValue: ReadableStream<Uint8Array> | undefined
  private streamController: ReadableStreamDefaultController<Uint8Array> | undefined
  /** Chunks received before the stream was made (or while collecting). */
  private held = new HeldChunks()
  private collector: { resolve: (bytes: Uint8Array) => void; reject: (error: SafeFetchError) => void } | undefined
  private collecting = false
  private ended = false
  private failure: SafeFetchError | undefined
  private undici: Dispatcher.DispatchController | undefined
  private decoders: Transform[] | undefined
  private received = 0
  private closed = false
  private paused = false
  /** The first decoder's input is full: the socket is paused until the decoder has taken it all. */
  private inputBlocked = false
  /** Chunks written to the first decoder that it has not consumed yet. */
  private inputChunks = 0
  /** Write callback of the first decoder (made with the decoders: a body without coding needs none). */
  private onInputTaken: (() => void) | undefined
  private readTimer: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void

  constructor(
    private readonly plan: Coding[] | null,
    private readonly limits: BodyLimits,
    private readonly settle: BodySettle,
    private readonly signal: CallSignal,
    private readonly url: string,
  ) {
    this.unsubscribe = signal.onAbort((reason) => this.fail(reason))
    if (limits.readTimeout > 0) {
      this.readTimer = setTimeout(readTimedOut, limits.readTimeout, this)
      this.readTimer.unref()
    }
  }

  get streamCreated(): boolean {
    return this.streamValue !== undefined
  }

  get stream(): ReadableStream<Uint8Array> {
    if (this.streamValue !== undefined) return this.streamValue
    if (this.collecting) throw new TypeError('Body is unusable: Body has already been read')
    const url = this.url
    this.streamValue = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.streamController = controller
          for (const chunk of this.held.take()) controller.enqueue(chunk)
          if (this.failure !== undefined && !this.settle.cancelled) controller.error(this.failure)
          else if (this.ended) controller.close()
        },
        pull: () => {
          this.resume()
        },
        cancel: () => {
          // The caller (or a layer discarding a redirect or a failed attempt) does not want the
          // rest: drop the connection rather than read it. Not a failure of the body.
          this.teardown(new SafeFetchError('ERR_ABORTED', `response body from ${url} was cancelled by the caller`, { url }), false)
        },
      },
      // Sized by memory, not data: a queue of 1-byte chunks is full long before 64 Ki of them.
      { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength + CHUNK_OVERHEAD },
    )
    return this.streamValue
  }

  /** The whole decoded body, without making a stream. Only when `stream` was not asked for. */
  collect(): Promise<Uint8Array> {
    if (this.streamValue !== undefined || this.collecting) return Promise.reject(new TypeError('Body is unusable: Body has already been read'))
    this.collecting = true
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.ended) return Promise.resolve(this.takeChunks())
    return new Promise<Uint8Array>((resolve, reject) => {
      this.collector = { resolve, reject }
      this.resume()
    })
  }

  cancel(): void {
    if (this.streamValue !== undefined) {
      if (!this.streamValue.locked) this.streamValue.cancel().catch(() => {})
      return
    }
    this.teardown(new SafeFetchError('ERR_ABORTED', `response body from ${this.url} was cancelled by the caller`, { url: this.url }), false)
  }

  private takeChunks(): Uint8Array {
    const bytes = this.held.bytes
    const chunks = this.held.take()
    if (chunks.length === 1) return chunks[0]!
    return Buffer.concat(chunks, bytes)
  }

  attach(controller: Dispatcher.DispatchController): void {
    this.undici = controller
    if (this.paused || this.inputBlocked) controller.pause()
  }

  /** A raw chunk from the wire. */
  push(chunk: Buffer): void {
    if (this.closed) return
    this.readTimer?.refresh()
    this.received += chunk.length
    if (this.plan === null) {
      this.deliver(chunk)
      return
    }
    if (this.decoders === undefined) this.startDecoders(chunk[0] ?? 0)
    const input = this.decoders![0]!
    // The decoder queues what it has not decoded yet: copy views that would pin a socket read, and
    // stop reading the socket while its queue is full (zlib decodes on the thread pool, slower
    // than tiny chunks arrive). Full counts each queued chunk's objects, not only its bytes: the
    // stream's own high-water mark (16 KiB of data) lets 16 Ki one-byte chunks queue, ~3 MB of
    // heap for 16 KiB of body, which a loaded machine (zlib lagging) reached.
    this.inputChunks++
    input.write(compact(chunk), this.onInputTaken)
    if (!this.inputBlocked && input.writableLength + this.inputChunks * CHUNK_OVERHEAD >= DECODER_INPUT_LIMIT) {
      this.inputBlocked = true
      this.undici?.pause()
    }
  }

  /** The decoder has consumed one written chunk; once it has taken them all, read the socket again. */
  private inputTaken(): void {
    if (--this.inputChunks > 0 || !this.inputBlocked) return
    this.inputBlocked = false
    if (this.closed || this.paused) return
    this.readTimer?.refresh()
    this.undici?.resume()
  }

  end(): void {
    if (this.closed) return
    if (this.decoders !== undefined) {
      this.decoders[0]!.end()
      return
    }
    this.close()
  }

  fail(error: SafeFetchError): void {
    this.teardown(error, true)
  }

  onReadTimeout(): void {
    // Paused for backpressure: the silence is the caller's, not the server's. resume() re-arms
    // the timer (refresh() reactivates a timer that has fired).
    if (this.paused || this.inputBlocked) return
    this.fail(
      new SafeFetchError('ERR_READ_TIMEOUT', `response body from ${this.url} stalled for more than ${this.limits.readTimeout} ms (timeout.read)`, {
        url: this.url,
      }),
    )
  }

  private startDecoders(firstByte: number): void {
    // Only the outermost coding is sniffed (its first byte is on the wire); an inner deflate layer
    // is taken in its RFC 9110 form, zlib-wrapped (0x78 is a zlib header byte).
    const decoders = this.plan!.map((coding, i) => createDecoder(coding, i === 0 ? firstByte : 0x78))
    for (let i = 0; i < decoders.length - 1; i++) decoders[i]!.pipe(decoders[i + 1]!)
    const last = decoders[decoders.length - 1]!
    for (const decoder of decoders) {
      decoder.on('error', (err: Error) => {
        this.fail(
          new SafeFetchError('ERR_BAD_RESPONSE', `could not decode the ${this.plan!.join('+')} body from ${this.url}: ${err.message}`, {
            url: this.url,
            cause: err,
          }),
        )
      })
    }
    last.on('data', (chunk: Buffer) => this.deliver(chunk))
    last.on('end', () => this.close())
    this.onInputTaken = () => this.inputTaken()
    this.decoders = decoders
  }

  private deliver(chunk: Uint8Array): void {
    if (this.closed) return
    const settle = this.settle
    const bytes = (settle.bytes += chunk.byteLength)
    if (bytes > this.limits.maxBytes) {
      this.fail(
        new SafeFetchError('ERR_RESPONSE_TOO_LARGE', `response body from ${this.url} exceeds maxResponseBytes (${this.limits.maxBytes} bytes)`, {
          url: this.url,
        }),
      )
      return
    }
    if (this.decoders !== undefined && bytes > RATIO_GRACE_BYTES && bytes > this.received * this.limits.maxRatio) {
      this.fail(
        new SafeFetchError(
          'ERR_RESPONSE_TOO_LARGE',
          `response body from ${this.url} decompresses more than ${this.limits.maxRatio}:1 (maxDecompressionRatio) — refusing a likely decompression bomb`,
          { url: this.url },
        ),
      )
      return
    }
    const controller = this.streamController
    if (controller !== undefined) {
      controller.enqueue(compact(chunk))
      if ((controller.desiredSize ?? 1) <= 0) this.pause()
      return
    }
    const held = this.held
    held.add(chunk)
    // Nobody reads yet: hold at most what a stream's queue would (in memory kept alive), then stop
    // reading the socket. A body being collected is bounded by maxResponseBytes: held-chunks.ts keeps
    // its memory within about twice that.
    if (!this.collecting && held.retained >= HIGH_WATER_MARK) this.pause()
  }

  private pause(): void {
    if (this.paused) return
    this.paused = true
    this.undici?.pause()
    this.decoders?.[this.decoders.length - 1]!.pause()
  }

  private resume(): void {
    if (!this.paused || this.closed) return
    this.paused = false
    this.readTimer?.refresh()
    this.decoders?.[this.decoders.length - 1]!.resume()
    if (!this.inputBlocked) this.undici?.resume()
  }

  private close(): void {
    if (this.closed) return
    this.closed = true
    this.ended = true
    this.cleanup()
    if (this.streamController !== undefined) {
      try {
        this.streamController.close()
      } catch {
        // Already cancelled by the caller.
      }
    } else if (this.collector !== undefined) {
      const collector = this.collector
      this.collector = undefined
      collector.resolve(this.takeChunks())
    }
    this.settle.finish()
  }

  private teardown(error: SafeFetchError, errorStream: boolean): void {
    if (this.closed) return
    this.closed = true
    this.cleanup()
    if (errorStream) {
      this.failure = error
      this.held.take()
      if (this.streamController !== undefined) {
        try {
          this.streamController.error(error)
        } catch {
          // Already closed or cancelled.
        }
      } else if (this.collector !== undefined) {
        const collector = this.collector
        this.collector = undefined
        collector.reject(error)
      }
    }
    if (this.undici !== undefined && !this.undici.aborted) this.undici.abort(error)
    if (this.decoders !== undefined) for (const decoder of this.decoders) decoder.destroy()
    // A cancel is the reader's choice, not a failure: the call record keeps no error for it.
    if (errorStream) this.settle.finish(error)
    else {
      this.settle.cancelled = true
      this.settle.finish()
    }
  }

  private cleanup(): void {
    if (this.readTimer !== undefined) clearTimeout(this.readTimer)
    this.unsubscribe()
  }
}
