/**
 * Fake `next` handlers (what sits below the layer under test) and the requests and responses they
 * trade. Each one logs an attempt record per exchange the way the transport does, so the layers
 * above see what they would see over a socket:
 * - `scripted(...steps)`: plays responses, errors or functions in order (retry, guard, gate layers);
 * - `fakeTransport(...exchanges)`: fills the attempt record's network fields (observe, attempt span);
 * - `fakeOrigin(script)`: answers from a script with bodies, counting requests (cache layer).
 */
import { BodySettle } from '../../src/call-signal.js'
import type { CallContext } from '../../src/context.js'
import type { SafeFetchError } from '../../src/errors.js'
import type { Handler } from '../../src/pipeline.js'
import type { AttemptRecord, OutboundRequest, PhaseTimings, RawResponse, RequestBody, ResponseHeaders } from '../../src/types.js'

/**
 * The address every fake origin exchange reports (a documentation address, RFC 5737: nothing is
 * dialled). The cache layer judges the addresses of every stored entry by the reading client's policy.
 */
export const FAKE_REMOTE_ADDRESS = '203.0.113.10'

/** Logs one attempt of `ctx` for `url`, as the transport does, and returns the entry to fill. */
function logAttempt(ctx: CallContext, url: string, fields: Partial<AttemptRecord> = {}): AttemptRecord {
  const entry: AttemptRecord = { attempt: ctx.attempt, hop: ctx.hop, url, timings: {}, ...fields }
  ctx.record.attemptLog.push(entry)
  return entry
}

export function request(
  method = 'GET',
  url = 'https://api.example.test/items?token=s3cret',
  init: { headers?: Record<string, string>; body?: RequestBody | null } = {},
): OutboundRequest {
  return { url: new URL(url), method, headers: init.headers ?? {}, body: init.body ?? null }
}

export function body(replayable: boolean): RequestBody {
  return { replayable, length: 3, source: () => 'abc' }
}

export interface FakeResponse extends RawResponse {
  /** True once the body was cancelled (discarded) rather than handed on. */
  readonly cancelled: () => boolean
}

/** A response whose body records whether it was cancelled, with a BodySettle like the transport's. */
export function response(status: number, headers: ResponseHeaders = {}, url = 'https://api.example.test/items'): FakeResponse {
  let cancelled = false
  const settle = new BodySettle()
  const stream = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled = true
      settle.finish()
    },
  })
  return { status, statusText: '', headers, body: stream, url: new URL(url), settle, cancelled: () => cancelled }
}

/** A body stream of `bytes`, `chunk` bytes per pull. */
export function bytesStream(bytes: Uint8Array, chunk = bytes.byteLength || 1): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(offset, offset + chunk))
      offset += chunk
    },
  })
}

export async function readText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (body === null) return ''
  return new Response(body).text()
}

export type Step = RawResponse | Error | ((req: OutboundRequest, ctx: CallContext) => Promise<RawResponse>)

export interface ScriptedNext extends Handler {
  /** ctx.attempt as seen by each call (its length is the number of calls). */
  readonly attempts: number[]
}

/** Plays `steps` in order (the last one repeats); an Error step is thrown. */
export function scripted(...steps: Step[]): ScriptedNext {
  const attempts: number[] = []
  const handler = async (req: OutboundRequest, ctx: CallContext): Promise<RawResponse> => {
    const step = steps[Math.min(attempts.length, steps.length - 1)]!
    attempts.push(ctx.attempt)
    logAttempt(ctx, req.url.origin + req.url.pathname)
    if (typeof step === 'function') return step(req, ctx)
    if (step instanceof Error) throw step
    return step
  }
  return Object.assign(handler, { attempts })
}

export interface FakeExchange {
  status?: number
  /** Thrown instead of answering (after the attempt record is pushed, as the transport does). */
  error?: SafeFetchError
  remoteAddress?: string
  remotePort?: number
  reusedConnection?: boolean
  timings?: PhaseTimings
  /** When set, the response has a BodySettle that the test finishes itself. */
  settle?: BodySettle
  retryReason?: string
  retryDelayMs?: number
  headers?: Record<string, string>
}

/** Plays `exchanges` in order (the last repeats), counting attempts and filling each record like the transport. */
export function fakeTransport(...exchanges: FakeExchange[]): Handler & { readonly requests: OutboundRequest[] } {
  const requests: OutboundRequest[] = []
  const handler = async (req: OutboundRequest, ctx: CallContext): Promise<RawResponse> => {
    const exchange = exchanges[Math.min(requests.length, exchanges.length - 1)] ?? {}
    requests.push(req)
    ctx.record.attempts++
    const entry = logAttempt(ctx, req.url.href, { timings: { ...exchange.timings } })
    if (exchange.remoteAddress !== undefined) entry.remoteAddress = exchange.remoteAddress
    if (exchange.remotePort !== undefined) entry.remotePort = exchange.remotePort
    if (exchange.reusedConnection !== undefined) entry.reusedConnection = exchange.reusedConnection
    if (exchange.retryReason !== undefined) entry.retryReason = exchange.retryReason
    if (exchange.retryDelayMs !== undefined) entry.retryDelayMs = exchange.retryDelayMs
    if (exchange.error !== undefined) {
      entry.errorCode = exchange.error.code
      throw exchange.error
    }
    entry.status = exchange.status ?? 200
    const response: RawResponse = { status: exchange.status ?? 200, statusText: '', headers: exchange.headers ?? {}, body: null, url: req.url }
    return exchange.settle === undefined ? response : { ...response, settle: exchange.settle }
  }
  return Object.assign(handler, { requests })
}

export interface Reply {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string | Uint8Array | ReadableStream<Uint8Array> | null
}

/** Decides the reply to the n-th request (1-based). */
export type Script = (req: OutboundRequest, n: number, ctx: CallContext) => Reply | Promise<Reply>

export interface FakeOrigin {
  readonly next: Handler
  readonly requests: OutboundRequest[]
  /** The context each request was sent with. */
  readonly contexts: CallContext[]
  readonly count: number
}

/** Answers from `script`, from FAKE_REMOTE_ADDRESS; bodies as streams (none for HEAD, 204, 304). */
export function fakeOrigin(script: Script): FakeOrigin {
  const requests: OutboundRequest[] = []
  const contexts: CallContext[] = []
  const next: Handler = async (req, ctx) => {
    requests.push(req)
    contexts.push(ctx)
    logAttempt(ctx, req.url.href, { remoteAddress: FAKE_REMOTE_ADDRESS })
    const reply = await script(req, requests.length, ctx)
    const status = reply.status ?? 200
    let body: ReadableStream<Uint8Array> | null = null
    const raw = reply.body
    if (req.method !== 'HEAD' && status !== 304 && status !== 204 && raw !== null) {
      if (raw instanceof ReadableStream) body = raw
      else body = bytesStream(typeof raw === 'string' ? new TextEncoder().encode(raw) : (raw ?? new Uint8Array(0)))
    }
    const response: RawResponse = { status, statusText: '', headers: reply.headers ?? {}, body, url: req.url }
    return response
  }
  return {
    next,
    requests,
    contexts,
    get count() {
      return requests.length
    },
  }
}
