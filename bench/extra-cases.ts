/** Cases added by features (logging, tracing, caching); each measured against the same baseline. */
import type { BenchCase } from './bench.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BatchSpanProcessor, BasicTracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import pino from 'pino'
import { createClient, getCallInfo, type ClientOptions } from '../src/index.js'

export async function extraCases(): Promise<BenchCase[]> {
  return [cacheHitCase(), ...observabilityCases()]
}

/**
 * Issue #5: a memory-cache hit through the whole client (default cache: shared mode, memory LRU),
 * body read. Its name contains 'cache hit', so bench.ts sends it to `/cached` (max-age=3600).
 * `setup` gets no URL, so the entry is stored by the first warm-up call (bench.ts warms every case
 * before measuring); teardown reports if anything but that one call missed.
 * Issue target: ≥ 3× undici.request at concurrency 32.
 */
function cacheHitCase(): BenchCase {
  const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, connectionsPerOrigin: 64, keepAliveTimeout: 60_000 })
  let misses = 0
  return {
    name: 'safefetch cache hit',
    run: async (url) => {
      const res = await client.fetch(url)
      await res.arrayBuffer()
      if (getCallInfo(res)?.cache !== 'hit') misses++
    },
    teardown: async () => {
      if (misses > 1) console.warn(`safefetch cache hit: ${misses} calls were not hits (expected 1, the first)`)
      await client.close()
    },
  }
}

/**
 * Issue #6: what logging and tracing add per call, on the network path (`cache: false`, so no
 * cache lookup in any of the three):
 * - "safefetch cache:false"          the baseline for the cases below (stats and recorder on, defaults);
 * - "safefetch + pino (file)"        pino at info to `pino.destination({ sync: false })`, a temp file:
 *                                    one ~450-byte summary line per call;
 * - "safefetch cacheable miss"       the default client (memory cache) on a response it stores
 *                                    (`/cached/…`: max-age=3600), a new URL every call: lookup,
 *                                    miss, origin call, storage decision, body capture and store.
 *                                    The memory store is bounded by bytes (LRU), so it stays bounded.
 * - "safefetch + pino + OTel spans"  the same as pino, plus the real trace SDK: one INTERNAL and one CLIENT
 *                                    span per call, through a BatchSpanProcessor (what production
 *                                    uses: spans are queued and exported in batches of 512, off the
 *                                    call path) into an exporter that discards them. A
 *                                    NoopSpanProcessor would leave out the queueing, and an
 *                                    in-memory exporter would grow the heap over 10^5 spans.
 * Besides req/s, each of them measures the client process's CPU per call (process.cpuUsage at
 * every call end, summed over each uninterrupted burst of calls of that case; warm-ups dropped)
 * and prints it after the table: the CPU difference is the cost of the feature per call.
 */
function observabilityCases(): BenchCase[] {
  const dir = mkdtempSync(join(tmpdir(), 'safefetch-bench-'))
  const base: ClientOptions = { policy: { allow: ['127.0.0.1/32'] }, connectionsPerOrigin: 64, keepAliveTimeout: 60_000, cache: false }

  const logFile = (name: string) => pino.destination({ dest: join(dir, `${name}.log`), sync: false })
  const pinoDestination = logFile('pino')
  const tracedDestination = logFile('pino-otel')
  let exported = 0
  const discard: SpanExporter = {
    export(spans: ReadableSpan[], done) {
      exported += spans.length
      done({ code: 0 })
    },
    shutdown: async () => {},
  }
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard)] })

  const { cache: _nocache, ...cached } = base
  let missSeq = 0
  const meters = [
    cpuMeasured('safefetch cache:false', createClient(base)),
    cpuMeasured('safefetch cacheable miss', createClient(cached), (url) => url.replace('/plain', `/cached/miss-${missSeq++}`)),
    cpuMeasured('safefetch + pino (file)', createClient({ ...base, logger: pino({ level: 'info' }, pinoDestination) })),
    cpuMeasured(
      'safefetch + pino + OTel spans',
      createClient({ ...base, logger: pino({ level: 'info' }, tracedDestination), tracer: provider.getTracer('safefetch-bench') }),
    ),
  ]
  const last = meters[meters.length - 1]!
  const teardown = last.teardown
  last.teardown = async () => {
    await teardown?.()
    await provider.forceFlush()
    const spans = 2 * last.calls()
    console.log('client CPU per call (µs, median of the measured bursts; process.cpuUsage, user + system)')
    console.log(`  ${'case'.padEnd(34)} ${'c=1'.padStart(8)} ${'c=32'.padStart(8)}`)
    for (const meter of meters) console.log(`  ${meter.name.padEnd(34)} ${meter.report(1).padStart(8)} ${meter.report(32).padStart(8)}`)
    console.log(`  spans: ${spans} made, ${exported} exported, ${spans - exported} dropped by the BatchSpanProcessor\n`)
    await provider.shutdown()
    for (const destination of [pinoDestination, tracedDestination]) destination.flushSync()
    rmSync(dir, { recursive: true, force: true })
  }
  return meters
}

interface Burst {
  startCpu: number
  endCpu: number
  calls: number
  maxInFlight: number
  lastEnd: number
}

/** A case whose calls are timed for CPU: bursts are runs of calls with no idle gap over 20 ms. */
function cpuMeasured(
  name: string,
  client: ReturnType<typeof createClient>,
  target: (url: string) => string = (url) => url,
): BenchCase & { calls(): number; report(concurrency: number): string } {
  const bursts: Burst[] = []
  let current: Burst | undefined
  let inFlight = 0
  let total = 0
  const cpu = (): number => {
    const usage = process.cpuUsage()
    return usage.user + usage.system
  }
  return {
    name,
    run: async (url) => {
      const now = performance.now()
      if (current === undefined || (inFlight === 0 && now - current.lastEnd > 20)) {
        current = { startCpu: cpu(), endCpu: 0, calls: 0, maxInFlight: 0, lastEnd: now }
        bursts.push(current)
      }
      const burst = current
      if (++inFlight > burst.maxInFlight) burst.maxInFlight = inFlight
      const res = await client.fetch(target(url))
      await res.arrayBuffer()
      inFlight--
      burst.calls++
      total++
      burst.endCpu = cpu()
      burst.lastEnd = performance.now()
    },
    teardown: () => client.close(),
    calls: () => total,
    report(concurrency) {
      // Warm-ups are 200 calls; a measured burst runs BENCH_SECONDS.
      const perCall = bursts
        .filter((b) => b.calls > 500 && (concurrency === 1 ? b.maxInFlight === 1 : b.maxInFlight > 1))
        .map((b) => (b.endCpu - b.startCpu) / b.calls)
        .sort((a, b) => a - b)
      return perCall.length === 0 ? 'n/a' : perCall[Math.floor(perCall.length / 2)]!.toFixed(1)
    },
  }
}
