/**
 * The observability options of a client, and the per-client state built from them once: the
 * redaction rules, rolling stats, the flight recorder, the tracer and the duration histogram.
 * The client keeps one ObserveState per options generation and hands it to the observe and
 * attempt-span layers. Stats (with their fleet sink) and the flight recorder keep counts across
 * calls: a client family shares them through its resource registry (client-resources.ts) and
 * passes them in as `shared`; without `shared` (tests, a lone state) they are made here.
 */
import type { Histogram, Meter, Tracer } from '@opentelemetry/api'
import type { Logger } from 'pino'
import type { SafeFetchError } from '../errors.js'
import { invalidOption } from '../option-checks.js'
import { FleetStatsSink, resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from './fleet-stats.js'
import { FLIGHT_RECORDER_DEFAULT_SIZE, FlightRecorder, type FailureEntry } from './flight-recorder.js'
import { HostStats, resolveStatsOptions, type ResolvedStatsOptions, type StatsOptions, type StatsSnapshot } from './host-stats.js'
import { serializeLogError } from './log-line.js'
import { formatPrometheus } from './prometheus.js'
import { compileRedactRules, type RedactOptions, type RedactRules } from './redact.js'
import { createRequestDurationHistogram, loadOtelApi, type OtelApi } from './tracing.js'

export interface ObserveOptions {
  /**
   * What to hide in logs, spans, errors and events. On by default (Authorization, Cookie,
   * Set-Cookie, Proxy-Authorization, URL userinfo, secret-looking query values); names given
   * here are added. `false` turns redaction off — for local debugging only.
   */
  redact?: RedactOptions | false
  /**
   * An OpenTelemetry tracer: one INTERNAL span per call, one CLIENT span per physical request.
   * Without it nothing is traced, even when a global provider is registered (opt-in, zero cost).
   * `false` is the same as none (so `configure({ tracer: false })` turns tracing off).
   */
  tracer?: Tracer | false
  /** An OpenTelemetry meter: records `http.client.request.duration` per physical request. `false`: none. */
  meter?: Meter | false
  /**
   * Send a W3C `traceparent` (and `tracestate`) header on every request. Default false: it hands
   * internal trace ids to whoever you call, so turn it on only for services you trust.
   */
  propagateTraceContext?: boolean
  /** Rolling per-origin statistics (`stats()`); `false` turns them off. */
  stats?: (StatsOptions & { fleet?: FleetOptions }) | false
  /** How many failed calls `recentFailures()` keeps. Default 50; `0` turns the recorder off. */
  recentFailures?: number
}

export interface ResolvedObserveOptions {
  readonly redact: RedactRules
  readonly tracer: Tracer | undefined
  readonly meter: Meter | undefined
  readonly propagateTraceContext: boolean
  readonly stats: ResolvedStatsOptions | false
  readonly fleet: ResolvedFleetOptions | undefined
  readonly recentFailures: number
}

function invalid(path: string, expected: string, got: unknown): SafeFetchError {
  return invalidOption(path, `must be ${expected}`, got)
}

/** Validates the observability options once per client (names each bad option in the error). */
export function resolveObserveOptions(input: ObserveOptions = {}): ResolvedObserveOptions {
  // `false` is "none", so configure({ tracer: false }) can turn tracing off again.
  const tracer = input.tracer === false ? undefined : input.tracer
  const meter = input.meter === false ? undefined : input.meter
  if (tracer !== undefined && (tracer === null || typeof (tracer as { startSpan?: unknown }).startSpan !== 'function')) {
    throw invalid('tracer', 'an OpenTelemetry Tracer or false', tracer)
  }
  if (meter !== undefined && (meter === null || typeof (meter as { createHistogram?: unknown }).createHistogram !== 'function')) {
    throw invalid('meter', 'an OpenTelemetry Meter or false', meter)
  }
  const propagate = input.propagateTraceContext ?? false
  if (typeof propagate !== 'boolean') throw invalid('propagateTraceContext', 'true or false', propagate)
  const recentFailures = input.recentFailures ?? FLIGHT_RECORDER_DEFAULT_SIZE
  if (typeof recentFailures !== 'number' || !Number.isInteger(recentFailures) || recentFailures < 0 || recentFailures > 100_000) {
    throw invalid('recentFailures', 'an integer between 0 and 100000', recentFailures)
  }
  const statsInput = input.stats
  const stats = statsInput === false ? false : resolveStatsOptions(statsInput)
  const fleet = statsInput === false || statsInput === undefined ? undefined : resolveFleetOptions(statsInput.fleet)
  return {
    redact: compileRedactRules(input.redact),
    tracer,
    meter,
    propagateTraceContext: propagate,
    stats,
    fleet,
    recentFailures,
  }
}

export interface Tracing {
  readonly tracer: Tracer
  readonly api: OtelApi
  readonly propagate: boolean
}

export interface ObserveState {
  /** The client's name (`client` in log bindings, diagnostics messages and Prometheus labels). */
  readonly name: string
  readonly redact: RedactRules
  readonly stats: HostStats | undefined
  readonly fleet: FleetStatsSink | undefined
  readonly recorder: FlightRecorder | undefined
  readonly tracing: Tracing | undefined
  readonly requestDuration: Histogram | undefined
}

/** The parts that keep counts across calls, made once and shared by the clients of a family. */
export interface ObserveCounters {
  readonly stats: HostStats | undefined
  readonly fleet: FleetStatsSink | undefined
  readonly recorder: FlightRecorder | undefined
}

interface ObserveStateInit {
  /** The client's name. */
  readonly name: string
  /** Stats, fleet sink and recorder made elsewhere (the client's resource registry); default: new ones. */
  readonly shared?: ObserveCounters
  /** Epoch ms clock for stats and the recorder (tests). Default Date.now. */
  readonly now?: () => number
  /** Where fleet flush failures go (e.g. the client's logger at warn). */
  readonly onFleetError?: (error: unknown) => void
}

/** Rolling stats and, with `stats.fleet`, the started sink that flushes them (close it with closeStats). */
export function createStats(
  options: ResolvedObserveOptions,
  now: () => number = Date.now,
  onFleetError?: (error: unknown) => void,
): { stats: HostStats; fleet: FleetStatsSink | undefined } | undefined {
  if (options.stats === false) return undefined
  const stats = new HostStats(options.stats, now)
  const fleet = options.fleet === undefined ? undefined : new FleetStatsSink(stats, options.fleet, onFleetError)
  fleet?.start()
  return { stats, fleet }
}

/** The flight recorder `recentFailures()` reads, or none when `recentFailures` is 0. */
export function createRecorder(options: ResolvedObserveOptions, now: () => number = Date.now): FlightRecorder | undefined {
  return options.recentFailures === 0 ? undefined : new FlightRecorder(options.recentFailures, now)
}

export function createObserveState(options: ResolvedObserveOptions, init: ObserveStateInit): ObserveState {
  const now = init.now ?? Date.now
  let shared = init.shared
  if (shared === undefined) {
    const made = createStats(options, now, init.onFleetError)
    shared = { stats: made?.stats, fleet: made?.fleet, recorder: createRecorder(options, now) }
  }
  const tracing: Tracing | undefined =
    options.tracer === undefined ? undefined : { tracer: options.tracer, api: loadOtelApi(), propagate: options.propagateTraceContext }
  return {
    name: init.name,
    redact: options.redact,
    stats: shared.stats,
    fleet: shared.fleet,
    recorder: shared.recorder,
    tracing,
    requestDuration: options.meter === undefined ? undefined : createRequestDurationHistogram(options.meter),
  }
}

/** Whether the attempt-span layer is needed (spans or the duration metric); leave it out otherwise. */
export function needsAttemptLayer(state: ObserveState): boolean {
  return state.tracing !== undefined || state.requestDuration !== undefined
}

/** The child logger a client logs through: every line carries `client: name`. Once per client. */
export function clientLogger(logger: Logger | undefined, name: string): Logger | undefined {
  // Our own `err` serializer: pino's default one would turn the summary's { code, message, cause }
  // into { type: 'Object', stack: '' } (it treats anything with a string `message` as an Error).
  return logger?.child({ client: name }, { serializers: { err: serializeLogError } })
}

type StatsFormat = 'json' | 'prometheus'

/** `client.stats()`: the JSON snapshot, or Prometheus text with `format: 'prometheus'`. */
export function renderStats(state: ObserveState, options?: { format?: 'json' }): StatsSnapshot
export function renderStats(state: ObserveState, options: { format: 'prometheus' }): string
export function renderStats(state: ObserveState, options: { format?: StatsFormat } = {}): StatsSnapshot | string {
  const format = options.format ?? 'json'
  if (format !== 'json' && format !== 'prometheus') throw invalid('stats format', "'json' or 'prometheus'", format)
  const stats = state.stats
  if (format === 'prometheus') return stats === undefined ? '' : formatPrometheus(stats.counters(), { client: state.name })
  if (stats === undefined) return { windowMs: 0, bucketMs: 0, at: new Date().toISOString(), origins: {} }
  return stats.snapshot()
}

/** `client.recentFailures()`: newest first. */
export function recentFailures(state: ObserveState): FailureEntry[] {
  return state.recorder?.recent() ?? []
}

/** Stops the fleet timer and flushes what is left (for a state made without `shared`). */
export async function closeObserveState(state: ObserveState): Promise<void> {
  await state.fleet?.close()
}
