/**
 * Copies a response body into memory as the caller reads it, so the entry can be stored once the
 * body is complete — without tee() (which buffers for the slower branch without bound) and without
 * reading the whole body before handing it over.
 *
 * The caller gets a pull-based stream over the origin's stream: each chunk it reads is appended to
 * the copy, then passed on. Past `limit` bytes the copy is dropped and the rest simply streams
 * through. The copy is complete only when the origin's stream ends normally; a cancel, an error or
 * the limit abandon it.
 *
 * `pump()` is for coalesced requests: other callers are waiting for this body, so it must not
 * depend on how fast (or whether) this caller reads. From then on the origin's stream is read
 * eagerly; chunks queue for the caller (bounded by `limit`, since pumping stops when the copy is
 * abandoned) and a caller that cancels no longer stops the read. While the caller is behind (its
 * queue is not empty), what the pump reads is merged into a held buffer instead of queued chunk by
 * chunk (held-chunks.ts), so a body of tiny chunks costs its bytes, not an object per byte; the held
 * bytes go to the queue as soon as it is empty again, or when the pump stops.
 */
import type { BodySettle } from '../call-signal.js'
import { HeldChunks } from '../net/held-chunks.js'
import type { LazyBody } from '../types.js'

export interface CaptureSink {
  /** The complete body. */
  complete(body: Uint8Array): void
  /** The copy was given up (too large, failed, cancelled). */
  abandon(): void
}

/** What the cache layer drives on a capture: read ahead for coalesced waiters. */
export interface Capture {
  pump(): void
}

export class BodyCapture implements Capture {
  readonly stream: ReadableStream<Uint8Array>
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private controller!: ReadableStreamDefaultController<Uint8Array>
  /** The copy; undefined once complete or abandoned. */
  private copy: Uint8Array | undefined
  private size = 0
  private finished = false
  private consumerGone = false
  private delivered = 0
  private reading: Promise<void> | undefined = undefined
  private pumping: Promise<void> | undefined = undefined
  /** Read by the pump while the caller's queue was not empty; queued when it is. */
  private readonly behind = new HeldChunks()

  constructor(
    upstream: ReadableStream<Uint8Array>,
    private readonly limit: number,
    /** The declared length, to size the copy once; undefined when unknown. */
    expectedLength: number | undefined,
    private readonly sink: CaptureSink,
  ) {
    this.reader = upstream.getReader()
    this.copy = new Uint8Array(Math.min(limit, expectedLength !== undefined && expectedLength > 0 ? expectedLength : 16 * 1024))
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        pull: () => this.pull(),
        cancel: (reason) => this.cancel(reason),
      },
      { highWaterMark: 0 },
    )
  }

  pump(): void {
    if (this.pumping !== undefined || this.finished || this.copy === undefined) return
    this.pumping = this.runPump()
  }

  private async runPump(): Promise<void> {
    if (this.reading !== undefined) await this.reading
    while (!this.finished && this.copy !== undefined) await this.readOne()
    this.pumping = undefined
    this.flushBehind()
    // The copy was given up while the caller was gone: nobody needs the rest.
    if (this.consumerGone && !this.finished) {
      this.finished = true
      this.reader.cancel().catch(() => {})
    }
  }

  private pull(): Promise<void> {
    const pumping = this.pumping
    if (pumping === undefined) return this.readOne()
    const mark = this.delivered
    // The pump feeds the queue; read ourselves only if it stopped without serving this pull.
    return pumping.then(() => {
      if (this.delivered === mark && !this.finished) return this.readOne()
      return undefined
    })
  }

  private cancel(reason: unknown): Promise<void> | undefined {
    this.consumerGone = true
    if (this.pumping !== undefined) return undefined // waiters still need the body
    this.abandon()
    this.finished = true
    return this.reader.cancel(reason)
  }

  private readOne(): Promise<void> {
    const reading = this.reader.read().then(
      (result) => {
        if (result.done) {
          this.finish()
          return
        }
        const chunk = result.value
        this.append(chunk)
        if (!this.consumerGone) {
          this.delivered++
          // highWaterMark 0: a negative desiredSize means chunks are queued that the caller has not read.
          if (this.pumping !== undefined && (this.controller.desiredSize ?? 0) < 0) this.behind.add(chunk)
          else {
            this.flushBehind()
            this.controller.enqueue(chunk)
          }
        }
      },
      (err: unknown) => {
        this.finished = true
        this.abandon()
        if (!this.consumerGone) this.controller.error(err)
      },
    )
    this.reading = reading
    return reading
  }

  private append(chunk: Uint8Array): void {
    const copy = this.copy
    if (copy === undefined) return
    const size = this.size + chunk.byteLength
    if (size > this.limit) {
      this.abandon()
      return
    }
    let target = copy
    if (size > copy.byteLength) {
      target = new Uint8Array(Math.min(this.limit, Math.max(size, copy.byteLength * 2)))
      target.set(copy.subarray(0, this.size))
      this.copy = target
    }
    // Copied now, not kept by reference: what the caller does with its chunk cannot reach the cache.
    target.set(chunk, this.size)
    this.size = size
  }

  private flushBehind(): void {
    if (this.behind.length === 0) return
    const chunks = this.behind.take()
    if (this.consumerGone) return
    for (const chunk of chunks) this.controller.enqueue(chunk)
  }

  private finish(): void {
    this.finished = true
    this.flushBehind()
    const copy = this.copy
    if (copy !== undefined) {
      this.copy = undefined
      // Trim the spare capacity, so the store's size accounting matches the memory held.
      this.sink.complete(copy.byteLength === this.size ? copy : copy.slice(0, this.size))
    }
    if (!this.consumerGone) this.controller.close()
  }

  private abandon(): void {
    if (this.copy === undefined) return
    this.copy = undefined
    this.sink.abandon()
  }
}

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read')
}

/**
 * The capture of a body nobody has made a stream of yet (a transport response): the caller keeps
 * a lazy body, so `text()` / `json()` / `arrayBuffer()` read the transport's chunks whole with
 * `collect()` (no stream: on Node 20 each `new ReadableStream()` costs ~10 µs, and a stream capture
 * needs two) and the entry gets a copy of those bytes when it is within `limit`. The same bytes and
 * errors reach the caller as on an uncached call, which takes the same `collect()`.
 *
 * Falls back to the stream capture (BodyCapture) when the caller takes `stream`, or when coalesced
 * waiters need the body before the transport has it all: `pump()` then reads ahead bounded by
 * `limit`, as BodyCapture does. Once the transport has delivered the whole body (`settle.done`) it
 * is already in memory, so `pump()` collects it instead: no read ahead is left to bound.
 */
export class LazyCapture implements LazyBody, Capture {
  private capture: BodyCapture | undefined = undefined
  private collected: Promise<Uint8Array> | undefined = undefined
  private callerCollected = false
  private callerStream: ReadableStream<Uint8Array> | undefined = undefined
  private cancelled = false

  constructor(
    private readonly inner: LazyBody,
    private readonly settle: BodySettle,
    private readonly limit: number,
    /** The declared length, to size the stream capture's copy once; undefined when unknown. */
    private readonly expectedLength: number | undefined,
    private readonly sink: CaptureSink,
  ) {}

  get streamCreated(): boolean {
    return this.capture !== undefined || this.callerStream !== undefined
  }

  get stream(): ReadableStream<Uint8Array> {
    if (this.callerStream !== undefined) return this.callerStream
    if (this.capture !== undefined) return this.capture.stream
    if (this.collected !== undefined) {
      // Collected ahead for waiters (pump), not by the caller: its stream serves those bytes.
      if (this.callerCollected) throw unusable()
      this.callerStream = collectedStream(this.collected)
      return this.callerStream
    }
    if (this.cancelled) return this.inner.stream
    return this.streamCapture().stream
  }

  collect(): Promise<Uint8Array> {
    if (this.callerCollected || this.streamCreated) return Promise.reject(unusable())
    this.callerCollected = true
    return (this.collected ??= this.collectInner())
  }

  cancel(): void {
    this.cancelled = true
    const stream = this.capture?.stream ?? this.callerStream
    if (stream !== undefined) {
      if (!stream.locked) stream.cancel().catch(() => {})
      return
    }
    // Being collected for waiters: it is in memory already (see pump), let it finish.
    if (this.collected !== undefined) return
    this.sink.abandon()
    this.inner.cancel()
  }

  pump(): void {
    if (this.capture !== undefined) {
      this.capture.pump()
      return
    }
    if (this.collected !== undefined || this.callerStream !== undefined || this.cancelled) return
    if (this.settle.done) {
      // Delivered whole (or failed): reading it now holds nothing more than the transport does.
      if (this.settle.cancelled) this.sink.abandon()
      else this.collected = this.collectInner()
      this.collected?.catch(() => {})
      return
    }
    this.streamCapture().pump()
  }

  private streamCapture(): BodyCapture {
    this.capture = new BodyCapture(this.inner.stream, this.limit, this.expectedLength, this.sink)
    return this.capture
  }

  private collectInner(): Promise<Uint8Array> {
    return this.inner.collect().then(
      (bytes) => {
        // Copied, not kept by reference: what the caller does with its bytes cannot reach the cache.
        if (bytes.byteLength > this.limit) this.sink.abandon()
        else this.sink.complete(new Uint8Array(bytes))
        return bytes
      },
      (err: unknown) => {
        this.sink.abandon()
        throw err
      },
    )
  }
}

/** One chunk (the collected body), then end; the collection's error errors the stream. */
function collectedStream(collected: Promise<Uint8Array>): ReadableStream<Uint8Array> {
  let pending: Promise<Uint8Array> | undefined = collected
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const body = pending
        pending = undefined
        if (body === undefined) return
        const bytes = await body
        if (bytes.byteLength > 0) controller.enqueue(bytes)
        controller.close()
      },
      cancel() {
        pending = undefined
      },
    },
    { highWaterMark: 0 },
  )
}
