/**
 * A real CallContext for driving one layer with a fake `next`, without a client or a transport.
 * `options` is merged into the call options so a test sets only what the layer under test reads
 * (e.g. `{ retry: RETRY_DEFAULTS }`).
 */
import type { Logger } from 'pino'
import { vi } from 'vitest'
import { BodySettle } from '../../src/call-signal.js'
import { CallContext } from '../../src/context.js'
import type { AttemptRecord, CallRecord } from '../../src/types.js'
import type { ResolvedCallOptions } from '../../src/options.js'
import type { Handler } from '../../src/pipeline.js'
import type { OutboundRequest, RawResponse, RequestBody, ResponseHeaders } from '../../src/types.js'

export interface FakeContextInit {
  /** Extra call options (cast: the lead's ResolvedCallOptions may not declare them yet). */
  options?: Record<string, unknown>
  /** Milliseconds left before the deadline; Infinity (the default) for none. */
  remainingMs?: number
  logger?: Logger
  method?: string
  url?: string
}

export function fakeContext(init: FakeContextInit = {}): CallContext {
  const record: CallRecord = {
    id: 'test-1',
    method: init.method ?? 'GET',
    url: init.url ?? 'https://api.example.test/items',
    startedAt: Date.now(),
    attempts: 0,
    redirects: 0,
    bytes: 0,
    timings: {},
    attemptLog: [],
  }
  const remaining = init.remainingMs ?? Infinity
  const deadline = remaining === Infinity ? Infinity : performance.now() + remaining
  const options = { ...init.options } as unknown as ResolvedCallOptions
  return new CallContext(options, record, deadline, init.logger)
}

/** A pino-shaped logger whose `warn` calls are recorded. */
export function fakeLogger(): Logger & { warn: ReturnType<typeof vi.fn> } {
  const logger = { warn: vi.fn(), info: vi.fn(), error: vi.fn(), debug: vi.fn() }
  return logger as unknown as Logger & { warn: ReturnType<typeof vi.fn> }
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

export type Step = RawResponse | Error | ((req: OutboundRequest, ctx: CallContext) => Promise<RawResponse>)

export interface ScriptedNext extends Handler {
  /** ctx.attempt as seen by each call (its length is the number of calls). */
  readonly attempts: number[]
}

/**
 * A fake `next` that plays `steps` in order (the last one repeats), pushing an attemptLog entry per
 * call as the attempt layer does. An Error step is thrown.
 */
export function scripted(...steps: Step[]): ScriptedNext {
  const attempts: number[] = []
  const handler = async (req: OutboundRequest, ctx: CallContext): Promise<RawResponse> => {
    const step = steps[Math.min(attempts.length, steps.length - 1)]!
    attempts.push(ctx.attempt)
    const entry: AttemptRecord = { attempt: ctx.attempt, hop: ctx.hop, url: req.url.origin + req.url.pathname, timings: {} }
    ctx.record.attemptLog.push(entry)
    if (typeof step === 'function') return step(req, ctx)
    if (step instanceof Error) throw step
    return step
  }
  return Object.assign(handler, { attempts })
}
