/**
 * The real OpenTelemetry SDKs, not registered globally (nothing leaks between tests): a tracer
 * whose spans land in memory as they end, and a meter whose aggregate a test pulls when it asks.
 */
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

export interface Tracing {
  readonly provider: BasicTracerProvider
  readonly exporter: InMemorySpanExporter
  readonly tracer: ReturnType<BasicTracerProvider['getTracer']>
  /** The spans ended so far. */
  spans(): ReadableSpan[]
  reset(): void
}

export function tracing(): Tracing {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  return { provider, exporter, tracer: provider.getTracer('safefetch-test'), spans: () => exporter.getFinishedSpans(), reset: () => exporter.reset() }
}

/** A pull reader: `collect()` returns what the MeterProvider has aggregated so far (cumulative). */
class PullReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface Metrics {
  readonly provider: MeterProvider
  readonly meter: ReturnType<MeterProvider['getMeter']>
  /** Everything aggregated so far. */
  collect(): Promise<ResourceMetrics>
  shutdown(): Promise<void>
}

export function metrics(): Metrics {
  const reader = new PullReader()
  const provider = new MeterProvider({ readers: [reader] })
  return {
    provider,
    meter: provider.getMeter('safefetch-test'),
    collect: async () => (await reader.collect()).resourceMetrics,
    shutdown: () => provider.shutdown(),
  }
}
