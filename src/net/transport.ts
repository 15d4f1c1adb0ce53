/**
 * The only module that talks to undici. Contract (Go's RoundTripper): one exchange; any status is a
 * response; it throws only when no response was obtained; it never retries and never follows
 * redirects.
 *
 * It uses `dispatcher.dispatch()` with a handler of its own rather than `undici.fetch()` (which
 * costs ~3× more CPU per request, measured on Node 20) or `request()` (a Node stream we would convert again).
 * The headers timeout is a plain timer of ours (undici's timer wheel is ~500 ms coarse).
 * An optional `route` sends an exchange somewhere other than the request URL's origin (the proxy
 * transport uses it for plain-http targets); the request URL, and so every layer's view, is unchanged.
 */
import diagnostics from 'node:diagnostics_channel'
import type { Socket } from 'node:net'
import type { Dispatcher } from 'undici'
import { BodySettle } from '../call-signal.js'
import type { AttemptRecord } from '../types.js'
import type { CallContext } from '../context.js'
import { SafeFetchError, toSafeFetchError } from '../errors.js'
import type { Handler } from '../pipeline.js'
import type { OutboundRequest, RawResponse, ResponseHeaders } from '../types.js'
import { dispatchGates, type DispatchGate, type GateJob, type OriginQueue } from './dispatch-gate.js'
import { connectInfo } from './dial.js'
import type { LinkedQueue } from './linked-queue.js'
import { redactUrlForError } from '../observe/redact.js'
import { decodingPlan, ResponseBody } from './response-body.js'
import { LazyResponse } from '../lazy-response.js'

/**
 * undici publishes `sendHeaders` synchronously right after it calls our `onRequestStart`, in the
 * same function, with the socket: that is how an attempt learns its socket (remote address,
 * fresh or reused, connect timings) without undici internals.
 */
let writing: AttemptHandler | undefined
let subscribed = false
function subscribeOnce(): void {
  if (subscribed) return
  subscribed = true
  diagnostics.subscribe('undici:client:sendHeaders', (message) => {
    const handler = writing
    if (handler === undefined) return
    writing = undefined
    const { socket } = message as { socket: Socket }
    handler.onSocket(socket)
  })
}

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304])

class AttemptHandler implements Dispatcher.DispatchHandler, GateJob {
  queuePrev: GateJob | undefined = undefined
  queueNext: GateJob | undefined = undefined
  queuedIn: LinkedQueue<GateJob> | undefined = undefined
  /** The gate slot held while undici has the request; released when undici is done with it. */
  private slot: OriginQueue | undefined = undefined
  private gate: DispatchGate | undefined = undefined
  private dispatcher: Dispatcher | undefined = undefined
  private target: DispatchTarget | undefined = undefined
  private controller: Dispatcher.DispatchController | undefined
  private body: ResponseBody | undefined
  private settled = false
  private headersTimer: NodeJS.Timeout | undefined
  private readonly unsubscribe: () => void
  private readonly started = performance.now()
  /** The socket the request was written to (from the sendHeaders channel). */
  private socket: Socket | undefined = undefined
  /** undici has called onResponseEnd/onResponseError: the socket may carry another request now. */
  private exchangeOver = false
  private responseAt = 0

  constructor(
    private readonly req: OutboundRequest,
    private readonly ctx: CallContext,
    private readonly record: AttemptRecord,
    private readonly urlText: string,
    private readonly resolve: (response: RawResponse) => void,
    private readonly reject: (error: SafeFetchError) => void,
    /** A test dispatcher (mock-transport.ts): a real socket under this exchange is refused. */
    private readonly mock = false,
  ) {
    this.unsubscribe = ctx.signal.onAbort((reason) => this.abort(reason))
  }

  /** Sends the request now (no gate), or when the origin has a free slot. */
  send(dispatcher: Dispatcher, target: DispatchTarget | undefined): void {
    this.dispatcher = dispatcher
    this.target = target
    const gate = dispatchGates.get(dispatcher)
    if (gate === undefined) {
      // A dispatcher we did not build (no pool size known): straight to it, deadline permitting.
      if (this.live()) dispatchTo(dispatcher, this.req, this, target)
      return
    }
    this.gate = gate
    gate.enter(target === undefined ? this.req.url.origin : target.origin, this)
  }

  admit(slot: OriginQueue): boolean {
    if (!this.live()) return false
    this.slot = slot
    dispatchTo(this.dispatcher!, this.req, this, this.target)
    return true
  }

  /** Not settled, and the deadline not passed (its timer may not have fired yet): worth dispatching. */
  private live(): boolean {
    if (this.settled) return false
    if (this.ctx.deadline > performance.now()) return true
    this.ctx.signal.abort(
      new SafeFetchError('ERR_DEADLINE_EXCEEDED', `${this.req.method} ${this.urlText} reached its deadline before it could be sent (timeout.total)`, {
        url: this.urlText,
      }),
    )
    return false
  }

  /** undici is done with the request (ended or failed): its slot goes to the next live waiter. */
  private leaveGate(): void {
    const slot = this.slot
    if (slot === undefined) return
    this.slot = undefined
    this.gate!.exit(slot)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.settled) {
      // The call ended (deadline, abort) while undici was connecting for it: nothing has been
      // written yet. Throwing here makes undici drop the request and keep the fresh socket for the
      // next one (client-h1 writeH1 catches it); controller.abort() would destroy the socket.
      throw this.ctx.signal.reason ?? new SafeFetchError('ERR_ABORTED', 'aborted', { url: this.urlText })
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- handed to the sendHeaders subscriber, see above
    writing = this
    const headersMs = this.ctx.options.timeout.headers
    if (headersMs > 0) {
      this.headersTimer = setTimeout(headersTimedOut, headersMs, this)
      this.headersTimer.unref()
    }
  }

  onSocket(socket: Socket): void {
    this.socket = socket
    if (this.mock) {
      // The dispatcher passed the exchange on to a real connection (a MockAgent with net connect
      // enabled and no matching interceptor, or not a mock at all): that connection was not made
      // by the guarded connector, so nothing is written to it.
      this.fail(
        new SafeFetchError(
          'ERR_MOCK_NOT_MATCHED',
          `no mock matched ${this.req.method} ${this.urlText} and the client's dispatcher sent it to the network; a client with a dispatcher never uses ` +
            'the network: call mockAgent.disableNetConnect(), add an interceptor, or test against a loopback server with a client without dispatcher (docs/testing.md)',
          { url: this.urlText },
        ),
      )
      return
    }
    const timings = this.record.timings
    const now = performance.now()
    timings.sent = now - this.started
    const info = connectInfo.get(socket)
    if (info === undefined) return
    this.record.remoteAddress = info.remoteAddress
    this.record.remotePort = info.remotePort
    if (info.used) {
      this.record.reusedConnection = true
      timings.queued = now - this.started
      return
    }
    info.used = true
    this.record.reusedConnection = false
    // A route (proxy-transport.ts) may have resolved the name before dispatch: both count as dns.
    timings.dns = (timings.dns ?? 0) + info.dns
    timings.connect = info.connect
    if (info.tls !== undefined) timings.tls = info.tls
    timings.queued = Math.max(0, now - this.started - info.dns - info.connect - (info.tls ?? 0))
  }

  onHeadersTimeout(): void {
    this.fail(
      new SafeFetchError('ERR_HEADERS_TIMEOUT', `no response headers from ${this.urlText} within ${this.ctx.options.timeout.headers} ms (timeout.headers)`, {
        url: this.urlText,
      }),
    )
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    // 1xx (102 Processing, 103 Early Hints) are interim: the final response follows on the same
    // exchange (RFC 9110 §15.2), and the headers timeout keeps running until it does.
    if (statusCode < 200) return
    if (this.headersTimer !== undefined) clearTimeout(this.headersTimer)
    if (this.settled) {
      controller.abort(new SafeFetchError('ERR_ABORTED', 'aborted', { url: this.urlText }))
      return
    }
    this.responseAt = performance.now()
    this.record.timings.firstByte = this.responseAt - this.started
    this.record.status = statusCode
    const settle = new BodySettle()
    const options = this.ctx.options
    if (this.req.method === 'HEAD' || NULL_BODY_STATUS.has(statusCode)) {
      settle.finish()
      this.unsubscribe()
    } else {
      let plan = null
      try {
        plan = options.decompress ? decodingPlan(headers['content-encoding'], this.urlText) : null
      } catch (err) {
        this.fail(err as SafeFetchError)
        return
      }
      const length = plan === null ? Number(headers['content-length']) : NaN
      this.unsubscribe()
      const responseBody = new ResponseBody(
        plan,
        { maxBytes: options.maxResponseBytes, maxRatio: options.maxDecompressionRatio, readTimeout: options.timeout.read },
        settle,
        this.ctx.signal,
        this.urlText,
      )
      responseBody.attach(new ExchangeControl(controller, this))
      this.body = responseBody
      if (length > options.maxResponseBytes) {
        // Declared too large: fail the body at once, before reading a byte, and drop the socket.
        responseBody.fail(
          new SafeFetchError(
            'ERR_RESPONSE_TOO_LARGE',
            `response from ${this.urlText} declares ${length} bytes, over maxResponseBytes (${options.maxResponseBytes})`,
            {
              url: this.urlText,
            },
          ),
        )
      }
    }
    settle.whenDone((error) => this.onBodyDone(error))
    this.settled = true
    const lazy = this.body
    this.resolve(
      lazy === undefined
        ? { status: statusCode, statusText: statusMessage ?? '', headers, body: null, url: this.req.url, settle }
        : new LazyResponse(statusCode, statusMessage ?? '', headers, this.req.url, settle, lazy),
    )
  }

  private onBodyDone(error: SafeFetchError | undefined): void {
    const timings = this.record.timings
    const now = performance.now()
    timings.download = now - this.responseAt
    timings.total = now - this.started
    if (error !== undefined) this.record.errorCode = error.code
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body?.push(chunk)
  }

  onResponseEnd(): void {
    this.exchangeOver = true
    this.leaveGate()
    // HEAD / 204 / 304 have no body object: their settle finished at the headers.
    this.body?.end()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.exchangeOver = true
    this.leaveGate()
    if (this.headersTimer !== undefined) clearTimeout(this.headersTimer)
    const mapped = toSafeFetchError(error, this.urlText)
    if (this.body !== undefined) {
      // Mid-body failure: the caller already has the response; the stream carries the error.
      this.body.fail(mapped)
      return
    }
    this.fail(mapped)
  }

  private abort(reason: SafeFetchError): void {
    if (this.body !== undefined) return // the body listens to the signal itself
    this.fail(reason)
  }

  /**
   * Ends the exchange on its socket. An HTTP/1.1 request that has been written cannot be
   * cancelled except by closing the connection, so the socket goes either way; but undici's own
   * abort closes it with an "informational" error that leaves the aborted request at the head of
   * the client's queue, and the client then opens a new connection for it only to drop it
   * (undici 7 client-h1 onHttpSocketClose). Destroying the socket with our error makes undici
   * fail the request and dial nothing. Before a socket is known, the controller aborts as usual.
   */
  abortExchange(error: SafeFetchError): void {
    const controller = this.controller
    if (controller === undefined || controller.aborted || this.exchangeOver) return
    const socket = this.socket
    if (socket !== undefined && !socket.destroyed) socket.destroy(error)
    else controller.abort(error)
  }

  private fail(error: SafeFetchError): void {
    if (this.headersTimer !== undefined) clearTimeout(this.headersTimer)
    this.abortExchange(error)
    if (this.settled) return
    this.settled = true
    // Still waiting for a slot: leave the queue, undici never hears of this request.
    if (this.queuedIn !== undefined) this.gate!.withdraw(this)
    this.unsubscribe()
    this.record.errorCode = error.code
    this.record.timings.total = performance.now() - this.started
    this.reject(error)
  }
}

function headersTimedOut(handler: AttemptHandler): void {
  handler.onHeadersTimeout()
}

/** The controller the response body sees: pause/resume pass through, abort ends the exchange (see abortExchange). */
class ExchangeControl {
  constructor(
    private readonly controller: Dispatcher.DispatchController,
    private readonly handler: AttemptHandler,
  ) {}
  get aborted(): boolean {
    return this.controller.aborted
  }
  get paused(): boolean {
    return this.controller.paused
  }
  get reason(): Error | null {
    return this.controller.reason
  }
  pause(): void {
    this.controller.pause()
  }
  resume(): void {
    this.controller.resume()
  }
  abort(reason: Error): void {
    this.handler.abortExchange(reason as SafeFetchError)
  }
}

/**
 * Where one exchange goes when it is not simply the request URL: the proxy transport sends a
 * plain-http target to the checked IP's origin with an absolute-form path (proxy-transport.ts).
 */
export interface DispatchTarget {
  readonly origin: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** ms the route spent resolving the name; reported in the attempt's dns phase. */
  readonly dnsMs: number
  /** The checked address the exchange stands for when no socket will report one (a mock). */
  readonly remoteAddress?: string
  readonly remotePort?: number
}

/** Picks the DispatchTarget for a request; may resolve a name, so it is asynchronous. */
export type Route = (req: OutboundRequest, ctx: CallContext, url: string) => Promise<DispatchTarget>

export function createTransport(dispatcher: Dispatcher, route?: Route, mock = false): Handler {
  subscribeOnce()
  return function transport(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    ctx.signal.throwIfAborted()
    const urlText = redactUrlForError(req.url, ctx.redact)
    const record: AttemptRecord = { attempt: ctx.attempt, hop: ctx.hop, url: urlText, timings: {} }
    ctx.record.attemptLog.push(record)
    return new Promise<RawResponse>((resolve, reject) => {
      const handler = new AttemptHandler(req, ctx, record, urlText, resolve, reject, mock)
      if (route === undefined) {
        handler.send(dispatcher, undefined)
        return
      }
      route(req, ctx, urlText).then(
        (target) => {
          record.timings.dns = target.dnsMs
          if (target.remoteAddress !== undefined) {
            record.remoteAddress = target.remoteAddress
            if (target.remotePort !== undefined) record.remotePort = target.remotePort
          }
          // Aborted while resolving: the handler has already answered the caller.
          if (!ctx.signal.aborted) handler.send(dispatcher, target)
        },
        (err: unknown) => handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, err as Error),
      )
    })
  }
}

function dispatchTo(dispatcher: Dispatcher, req: OutboundRequest, handler: AttemptHandler, target: DispatchTarget | undefined): void {
  const url = req.url
  try {
    dispatcher.dispatch(
      {
        origin: target === undefined ? url.origin : target.origin,
        path: target === undefined ? url.pathname + url.search : target.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: target === undefined ? req.headers : target.headers,
        body: req.body === null ? null : (req.body.source() as string | Uint8Array),
      },
      handler,
    )
    // A mock answers without a socket: no sendHeaders will claim the handler (see subscribeOnce).
    if (writing === handler) writing = undefined
  } catch (err) {
    // Invalid input that undici refuses synchronously (e.g. a header value it rejects).
    handler.onResponseError(undefined as unknown as Dispatcher.DispatchController, err as Error)
  }
}
