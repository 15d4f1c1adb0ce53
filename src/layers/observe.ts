/**
 * The outermost layer: everything a call reports about itself, once, when it ends.
 *
 * A call ends when the caller has the whole body (or the body failed or was cancelled), not when
 * the headers arrive, so the client edge calls `finishCall()` at that moment; errors thrown before
 * a response are handled here. `finishCall()` runs once per call (later calls are no-ops) and:
 * - records the call in the per-origin stats and, if it failed, in the flight recorder;
 * - writes the summary log line (info / warn when retried or served stale / error with err.code)
 *   and, at debug, one line per attempt — building nothing when the level is off;
 * - ends the logical INTERNAL span (cache result as attribute and event);
 * - publishes `safefetch:call:end` / `:error` / `:blocked` when someone subscribes.
 * See docs/observability.md.
 */
import type { Attributes, Span } from '@opentelemetry/api'
import type { CallObservation } from '../observe/call-observation.js'
import type { CallContext } from '../context.js'
import type { CallRecord } from '../types.js'
import { toSafeFetchError, type SafeFetchError } from '../errors.js'
import { blockedChannel, endChannel, errorChannel, isBlockedCode, startChannel } from '../observe/diagnostics.js'
import { FlightRecorder } from '../observe/flight-recorder.js'
import { buildAttemptLogLine, buildCallLogLine, callLogLevel } from '../observe/log-line.js'
import type { ObserveState, Tracing } from '../observe/observe-state.js'
import { headerSecrets, redactUrlString, scrubError, secretsOf } from '../observe/redact.js'
import { errorType, setMethodAttributes, setServerAttributes, SPAN_KIND_INTERNAL, SPAN_STATUS_ERROR } from '../observe/tracing.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'

/** The response shape finishCall needs: a RawResponse or a WHATWG Response both fit. */
interface FinishedResponse {
  readonly status: number
}

export function observeLayer(state: ObserveState): Layer {
  return (next) =>
    async function observe(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      const observation: CallObservation = {
        state,
        start: performance.now(),
        url: req.url,
        headers: req.headers,
        hops: undefined,
        done: false,
        span: undefined,
        parentContext: undefined,
        physical: 0,
      }
      ctx.observation = observation
      const record = ctx.record
      if (state.tracing !== undefined) startLogicalSpan(state.tracing, observation, req, record)
      if (startChannel.hasSubscribers) startChannel.publish({ id: record.id, client: state.name, method: record.method, url: record.url })
      try {
        return await next(req, ctx)
      } catch (err) {
        finishCall(ctx, undefined, err)
        throw err
      }
    }
}

function startLogicalSpan(tracing: Tracing, observation: CallObservation, req: OutboundRequest, record: CallRecord): void {
  const attributes: Attributes = { 'url.full': record.url, 'safefetch.call.id': record.id, 'safefetch.client': observation.state.name }
  if (record.transport !== undefined) attributes['safefetch.transport'] = record.transport
  setMethodAttributes(attributes, req.method)
  setServerAttributes(attributes, req.url)
  const { api, tracer } = tracing
  const parent = api.context.active()
  const span = tracer.startSpan(`safefetch ${req.method}`, { kind: SPAN_KIND_INTERNAL, attributes }, parent)
  observation.span = span
  observation.parentContext = api.trace.setSpan(parent, span)
}

/**
 * Ends the call's observation: called by the client edge when the body has settled (with the
 * body's error, if any) or when it fails after the pipeline returned; called by the layer itself
 * when the pipeline throws. Only the first call per CallContext does anything.
 */
export function finishCall(ctx: CallContext, response: FinishedResponse | undefined, error: unknown): void {
  const observation = ctx.observation
  if (observation === undefined || observation.done) return
  observation.done = true
  const state = observation.state
  const record = ctx.record
  const failure = error === undefined || error === null ? undefined : toSafeFetchError(error, record.url)
  record.durationMs ??= performance.now() - observation.start
  // With retries off no layer counts attempts; every physical request has an attemptLog entry.
  if (record.attempts < record.attemptLog.length) record.attempts = record.attemptLog.length
  if (response !== undefined) record.status ??= response.status
  if (failure !== undefined) record.errorCode ??= failure.code
  if (record.remoteAddress === undefined) {
    const last = record.attemptLog[record.attemptLog.length - 1]
    if (last?.remoteAddress !== undefined) record.remoteAddress = last.remoteAddress
  }

  // The end time for the stats slot comes from the record: no second wall-clock read.
  state.stats?.record(observation.url.origin, record, record.startedAt + record.durationMs)
  // Scrubbed once, on the failure path only, in place (the caller gets this very error): our
  // messages carry redacted URLs already, but a cause's text (or a message built from a raw URL
  // or a Location somewhere below, or a user path rule our own messages do not know) might not.
  if (failure !== undefined) scrubError(failure, callSecrets(observation))
  const message = failure?.message
  if (state.recorder !== undefined && FlightRecorder.isFailure(record)) {
    state.recorder.add(record, failure === undefined ? undefined : { code: failure.code, message: message! }, state.redact)
  }
  const logger = ctx.logger
  if (logger !== undefined) {
    const level = callLogLevel(record, failure !== undefined)
    // One level check on the common path; debug is below every summary level.
    if (logger.isLevelEnabled(level)) {
      if (logger.isLevelEnabled('debug')) {
        for (const attempt of record.attemptLog) logger.debug(buildAttemptLogLine(record, attempt, state.redact), 'attempt')
      }
      logger[level](buildCallLogLine(record, failure, message, state.redact), failure === undefined ? 'call completed' : 'call failed')
    }
  }
  if (observation.span !== undefined) endLogicalSpan(observation.span, record, failure, message)
  publishEnd(state, record, failure)
}

/**
 * For errors of work a call started but that is not the call itself (a background revalidation):
 * scrubs them in place of the call's secrets before they are logged.
 */
export function scrubCallError(error: unknown, ctx: CallContext): void {
  const observation = ctx.observation
  if (observation !== undefined) scrubError(error, callSecrets(observation))
}

/** Every secret the call carried: in its URL, its redirect hops' URLs and its secret headers. */
function callSecrets(observation: CallObservation): string[] {
  const rules = observation.state.redact
  const found = secretsOf(observation.url, rules)
  if (observation.hops !== undefined) for (const hop of observation.hops) secretsOf(hop, rules, found)
  return headerSecrets(observation.headers, rules, found)
}

function endLogicalSpan(span: Span, record: CallRecord, failure: SafeFetchError | undefined, message: string | undefined): void {
  const attributes: Attributes = { 'safefetch.attempts': record.attempts, 'safefetch.redirects': record.redirects }
  if (record.status !== undefined) attributes['http.response.status_code'] = record.status
  if (record.cache !== undefined) {
    attributes['safefetch.cache'] = record.cache
    span.addEvent('safefetch.cache', { 'safefetch.cache': record.cache })
  }
  const type = errorType(failure?.code, record.status)
  if (type !== undefined) attributes['error.type'] = type
  span.setAttributes(attributes)
  if (failure !== undefined) {
    span.recordException({ name: 'SafeFetchError', code: failure.code, message: message ?? failure.code })
    span.setStatus({ code: SPAN_STATUS_ERROR, message: message ?? failure.code })
  } else if (type !== undefined) {
    span.setStatus({ code: SPAN_STATUS_ERROR })
  }
  span.end()
}

function publishEnd(state: ObserveState, record: CallRecord, failure: SafeFetchError | undefined): void {
  if (failure === undefined) {
    if (endChannel.hasSubscribers) endChannel.publish({ id: record.id, client: state.name, record })
    return
  }
  if (errorChannel.hasSubscribers) errorChannel.publish({ id: record.id, client: state.name, record, error: failure })
  if (isBlockedCode(failure.code) && blockedChannel.hasSubscribers) {
    const message: { id: string; client: string; code: string; url: string; address?: string; range?: string } = {
      id: record.id,
      client: state.name,
      code: failure.code,
      url: failure.url === undefined ? record.url : redactUrlString(failure.url, state.redact),
    }
    if (failure.address !== undefined) message.address = failure.address
    if (failure.range !== undefined) message.range = failure.range
    blockedChannel.publish(message)
  }
}
