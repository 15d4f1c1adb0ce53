/**
 * Fixtures for the observe and attempt-span layers: a real CallContext for one call, a real pino
 * logger writing into memory (read back as parsed JSON lines, like pino's own test/helper.js
 * `sink()`), a real OpenTelemetry SDK tracer with an in-memory exporter, a real MeterProvider with
 * a pull reader, and a fake transport that fills attempt records the way the real one does.
 */
import { Writable } from 'node:stream'
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import pino, { type Logger } from 'pino'
import { CallContext } from '../../src/context.js'
import type { AttemptRecord, PhaseTimings } from '../../src/types.js'
import type { BodySettle } from '../../src/call-signal.js'
import type { SafeFetchError } from '../../src/errors.js'
import { newCallRecord } from '../../src/observe/call-info.js'
import { DEFAULT_REDACT_RULES, type RedactRules } from '../../src/observe/redact.js'
import type { ResolvedCallOptions } from '../../src/options.js'
import type { Handler } from '../../src/pipeline.js'
import type { OutboundRequest, RawResponse } from '../../src/types.js'

export interface LogSink {
  readonly logger: Logger
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[]
  /** Everything written so far, as text (to grep for secrets). */
  text(): string
}

/** A pino logger at `level` writing JSON lines into memory, with a `client` child binding like the client's. */
export function logSink(level: pino.LevelWithSilent = 'info', redact?: pino.LoggerOptions['redact']): LogSink {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  const options: pino.LoggerOptions = { level }
  if (redact !== undefined) options.redact = redact
  const logger = pino(options, stream).child({ client: 'test' })
  const text = (): string => chunks.join('')
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

export interface ObserveCall {
  readonly ctx: CallContext
  readonly req: OutboundRequest
}

/** One call's request and context, with its record created (and its URL redacted) as the client does. */
export function observeCall(init: { method?: string; url?: string; logger?: Logger; headers?: Record<string, string>; rules?: RedactRules } = {}): ObserveCall {
  const method = init.method ?? 'GET'
  const url = new URL(init.url ?? 'https://api.example.test/items?token=s3cr3t-t0ken&page=2')
  const record = newCallRecord(method, url, init.rules ?? DEFAULT_REDACT_RULES)
  const ctx = new CallContext({} as ResolvedCallOptions, record, Infinity, init.logger)
  return { ctx, req: { url, method, headers: init.headers ?? {}, body: null } }
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

/** A transport stand-in: plays `exchanges` in order (the last repeats), logging each attempt like the real one. */
export function fakeTransport(...exchanges: FakeExchange[]): Handler & { readonly requests: OutboundRequest[] } {
  const requests: OutboundRequest[] = []
  const handler = async (req: OutboundRequest, ctx: CallContext): Promise<RawResponse> => {
    const exchange = exchanges[Math.min(requests.length, exchanges.length - 1)] ?? {}
    requests.push(req)
    ctx.record.attempts++
    const entry: AttemptRecord = { attempt: ctx.attempt, hop: ctx.hop, url: req.url.href, timings: { ...exchange.timings } }
    if (exchange.remoteAddress !== undefined) entry.remoteAddress = exchange.remoteAddress
    if (exchange.remotePort !== undefined) entry.remotePort = exchange.remotePort
    if (exchange.reusedConnection !== undefined) entry.reusedConnection = exchange.reusedConnection
    if (exchange.retryReason !== undefined) entry.retryReason = exchange.retryReason
    if (exchange.retryDelayMs !== undefined) entry.retryDelayMs = exchange.retryDelayMs
    ctx.record.attemptLog.push(entry)
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

export interface TracingFixture {
  readonly provider: BasicTracerProvider
  readonly exporter: InMemorySpanExporter
  readonly tracer: ReturnType<BasicTracerProvider['getTracer']>
  spans(): ReadableSpan[]
}

/** The real SDK, unregistered (nothing global): spans land in memory as they end. */
export function tracingFixture(): TracingFixture {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { provider, exporter, tracer: provider.getTracer('safefetch-test'), spans: () => exporter.getFinishedSpans() }
}

/** A pull reader: `collect()` returns what the MeterProvider has aggregated so far. */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface MeterFixture {
  readonly provider: MeterProvider
  readonly meter: ReturnType<MeterProvider['getMeter']>
  collect(): Promise<ResourceMetrics>
}

export function meterFixture(): MeterFixture {
  const reader = new PullReader()
  const provider = new MeterProvider({ readers: [reader] })
  return {
    provider,
    meter: provider.getMeter('safefetch-test'),
    collect: async () => (await reader.collect()).resourceMetrics,
  }
}
