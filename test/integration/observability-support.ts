/**
 * Shared fixtures for the observability integration suites (not a test file itself): a real pino
 * logger writing JSON lines into a stream we read back (like pino's test/helper.js `sink()`), the
 * real OpenTelemetry SDKs with in-memory exporters, and one loopback origin whose routes sleep,
 * trickle, fail or redirect on request.
 */
import type http from 'node:http'
import { Writable } from 'node:stream'
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import pino, { type Logger } from 'pino'
import { echo } from './support.js'

export type LogLine = Record<string, unknown> & { level: number; msg: string }

export interface JsonLog {
  /** The root logger; the client makes its own `{ client: name }` child. */
  readonly logger: Logger
  /** Every line written so far, parsed. */
  lines(): LogLine[]
  /** Only the per-call summary lines. */
  summaries(): LogLine[]
  /** Everything written, raw, to grep for secrets. */
  text(): string
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const

/** A real pino logger at `level` writing to a stream destination that keeps the raw text. */
export function jsonLog(level: pino.LevelWithSilent = 'info'): JsonLog {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  const logger = pino({ level }, stream)
  const text = (): string => chunks.join('')
  const lines = (): LogLine[] =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine)
  return { logger, text, lines, summaries: () => lines().filter((l) => l.msg === 'call completed' || l.msg === 'call failed') }
}

export interface Tracing {
  readonly tracer: ReturnType<BasicTracerProvider['getTracer']>
  spans(): ReadableSpan[]
  reset(): void
}

/** The real trace SDK (not registered globally): every span lands in memory as it ends. */
export function tracing(): Tracing {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { tracer: provider.getTracer('safefetch-integration'), spans: () => exporter.getFinishedSpans(), reset: () => exporter.reset() }
}

export interface Metrics {
  readonly meter: ReturnType<MeterProvider['getMeter']>
  /** Exports what has been aggregated so far and returns the latest export. */
  collect(): Promise<ResourceMetrics | undefined>
  shutdown(): Promise<void>
}

/** The real metrics SDK with an in-memory exporter; exports only when asked (forceFlush). */
export function metrics(): Metrics {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const provider = new MeterProvider({ readers: [reader] })
  return {
    meter: provider.getMeter('safefetch-integration'),
    collect: async () => {
      await reader.forceFlush()
      return exporter.getMetrics().at(-1)
    },
    shutdown: () => provider.shutdown(),
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Routes of the test origin (query parameters are ignored except where named):
 * - `/slow?ms=N`           sleeps N ms before the headers, then 5 bytes
 * - `/chunks?n=N&gap=G`    headers at once, then N chunks of 100 bytes with G ms between them
 * - `/flaky/<key>?fail=N`  503 for the first N requests to that key, then 200
 * - `/status/<code>`       that status, body `status <code>`
 * - `/redirect?to=<path>`  302 to `to`
 * - `/redirect-signed`     302 to `/landing?sig=SIG-SECRET&x=1` (a secret only the server names)
 * - `/cookie`              sets a cookie, `cache-control: max-age=60`
 * - `/cacheable`           `cache-control: max-age=60`
 * - `/swr`                 `cache-control: max-age=0, stale-while-revalidate=60`
 * - anything else          echo (method, url, headers, body as JSON)
 */
export function originHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const flakyCounts = new Map<string, number>()
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin.test')
    const path = url.pathname
    const number = (name: string, fallback: number): number => Number(url.searchParams.get(name) ?? fallback)
    if (path === '/slow') {
      void sleep(number('ms', 100)).then(() => res.end('slow!'))
    } else if (path === '/chunks') {
      res.setHeader('content-type', 'text/plain')
      res.flushHeaders()
      void (async () => {
        const n = number('n', 3)
        for (let i = 0; i < n; i++) {
          if (i > 0) await sleep(number('gap', 50))
          res.write(Buffer.alloc(100, 'c'))
        }
        res.end()
      })()
    } else if (path.startsWith('/flaky/')) {
      const seen = (flakyCounts.get(path) ?? 0) + 1
      flakyCounts.set(path, seen)
      res.statusCode = seen <= number('fail', 1) ? 503 : 200
      res.end(`attempt ${seen}`)
    } else if (path.startsWith('/status/')) {
      res.statusCode = Number(path.slice('/status/'.length))
      res.end(`status ${res.statusCode}`)
    } else if (path === '/redirect') {
      res.statusCode = 302
      res.setHeader('location', url.searchParams.get('to') ?? '/')
      res.end()
    } else if (path === '/redirect-signed') {
      res.statusCode = 302
      res.setHeader('location', '/landing?sig=SIG-SECRET&x=1')
      res.end()
    } else if (path === '/cookie') {
      res.setHeader('set-cookie', 'session=SETCOOKIE-SECRET-3; HttpOnly')
      res.setHeader('cache-control', 'max-age=60')
      res.end('cookie set')
    } else if (path === '/cacheable') {
      res.setHeader('cache-control', 'max-age=60')
      res.end('cacheable body')
    } else if (path === '/swr') {
      res.setHeader('cache-control', 'max-age=0, stale-while-revalidate=60')
      res.end('swr body')
    } else {
      echo(req, res)
    }
  }
}

/** A port that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net')
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
