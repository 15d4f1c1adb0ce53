/**
 * The outermost layer, and the one place a call finishes: everything a call reports about itself,
 * once, when it ends.
 *
 * A call ends when the caller has the whole body (or the body failed or was cancelled), not when
 * the headers arrive. The layer knows the start; when the pipeline returns it subscribes to the
 * response's settle signal (as the deadline layer does), and the call ends at the later of two
 * moments: the body settled, and the client edge handed the Response out (`handOut()`). Waiting for
 * the edge keeps one outcome per call: a response the edge cannot turn into a Response (a status
 * outside 200–599) ends the call with the edge's error (`finishCall()`), even when its body had
 * settled already. A response without a settle signal (a cache hit: its bytes are in memory) ends
 * when it is handed out; a pipeline that throws ends the call at once.
 *
 * `finishCall()` runs once per call (later calls are no-ops) and:
 * - writes the record's closing fields (durationMs, status, finalUrl, remoteAddress, errorCode,
 *   attempts; bytes and the call's timings once the body is accounted for), nowhere else;
 * - records the call in the per-origin stats and, if it failed, in the flight recorder — before
 *   the caller's body promise resolves (the settle signal fires before it does);
 * - writes the summary log line (info / warn when retried or served stale / error with err.code)
 *   and, at debug, one line per attempt — building nothing when the level is off;
 * - ends the logical INTERNAL span (cache result as attribute and event);
 * - publishes `safefetch:call:end` / `:error` / `:blocked` when someone subscribes;
 * - last, runs the edge's `ctx.onEnd` hook (its user-signal listener, its in-flight count).
 * See docs/observability.md.
 */
import type { Attributes, Span } from '@opentelemetry/api'
import type { CallObservation } from '../observe/call-observation.js'
import type { CallContext } from '../context.js'
import type { BodySettle } from '../call-signal.js'
import type { CallRecord } from '../types.js'
import { toSafeFetchError, type SafeFetchError } from '../errors.js'
import { blockedChannel, endChannel, errorChannel, isBlockedCode, startChannel } from '../observe/diagnostics.js'
import { FlightRecorder } from '../observe/flight-recorder.js'
import { buildAttemptLogLine, buildCallLogLine, callLogLevel } from '../observe/log-line.js'
import type { ObserveState, Tracing } from '../observe/observe-state.js'
import { headerSecrets, redactUrl, redactUrlString, scrubError, secretsOf } from '../observe/redact.js'
import { errorType, setMethodAttributes, setServerAttributes, SPAN_KIND_INTERNAL, SPAN_STATUS_ERROR } from '../observe/tracing.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'

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
        response: undefined,
        handedOut: false,
      }
      ctx.observation = observation
      const record = ctx.record
      if (state.tracing !== undefined) startLogicalSpan(state.tracing, observation, req, record)
      if (startChannel.hasSubscribers) startChannel.publish({ id: record.id, client: state.name, method: record.method, url: record.url })
      let response: RawResponse
      try {
        response = await next(req, ctx)
      } catch (err) {
        // The caller gets the very error that was logged (scrubbed in place by finishCall).
        const failure = toSafeFetchError(err, record.url)
        finishCall(ctx, undefined, failure)
        throw failure
      }
      observation.response = response
      const settle = response.settle
      // Registered after the inner layers' listeners (transport timings, attempt span, deadline):
      // the attempt's download/total are in when the call's timings are copied from it.
      if (settle !== undefined && !settle.done) {
        settle.whenDone(finishOnSettle(ctx, observation, response, settle))
      }
      return response
    }
}

/** Made outside the async layer function, for the reason given at client.ts `endHook`. */
function finishOnSettle(
  ctx: CallContext,
  observation: CallObservation,
  response: RawResponse,
  settle: BodySettle,
): (error: SafeFetchError | undefined) => void {
  return (error) => {
    if (observation.handedOut) finishCall(ctx, response, error, settle.bytes)
  }
}

/**
 * The client edge handed the Response out: the call ends now if its body has settled already
 * (or it has none to wait for), else when it settles.
 */
export function handOut(ctx: CallContext): void {
  const observation = ctx.observation
  if (observation === undefined || observation.done || observation.response === undefined) return
  observation.handedOut = true
  const response = observation.response
  const settle = response.settle
  // No settle: the body is already in memory (a cache hit) or there is none.
  if (settle === undefined) finishCall(ctx, response, undefined, response.lazy?.size ?? 0)
  else if (settle.done) finishCall(ctx, response, settle.error, settle.bytes)
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
 * Ends the call: writes the record's closing fields and reports the call. Called by the layer when
 * the pipeline throws and when a handed-out response's body settles, by `handOut()`, and by the
 * client edge when it cannot hand the response out (with its error and `bytes` 0). Only the first
 * call per CallContext does anything.
 *
 * `bytes`: the body bytes delivered, given when the call had a response whose body is accounted
 * for; the call's timings are then the phases of the attempt that produced the answer, with the
 * whole call as `total`. Without it `bytes` and `timings` stay as they are (the summary line then
 * shows the last attempt's timings, as for a call that failed before any response).
 */
export function finishCall(ctx: CallContext, response: RawResponse | undefined, error: unknown, bytes?: number): void {
  const observation = ctx.observation
  if (observation === undefined || observation.done) return
  observation.done = true
  try {
    report(ctx, observation, response, error, bytes)
  } finally {
    // The edge's bookkeeping (user-signal listener, in-flight count) even if a report step threw.
    ctx.onEnd?.()
  }
}

function report(ctx: CallContext, observation: CallObservation, response: RawResponse | undefined, error: unknown, bytes: number | undefined): void {
  const state = observation.state
  const record = ctx.record
  const failure = error === undefined || error === null ? undefined : toSafeFetchError(error, record.url)
  const durationMs = performance.now() - observation.start
  record.durationMs = durationMs
  // With retries off no layer counts attempts; every physical request has an attemptLog entry.
  if (record.attempts < record.attemptLog.length) record.attempts = record.attemptLog.length
  const last = record.attemptLog[record.attemptLog.length - 1]
  if (response !== undefined) {
    record.status = response.status
    record.finalUrl = response.url === observation.url ? record.url : redactUrl(response.url, state.redact)
    if (bytes !== undefined) {
      record.bytes = bytes
      // The call's phases are those of the attempt that produced the answer; total is the whole call.
      if (last !== undefined) Object.assign(record.timings, last.timings)
      record.timings.total = durationMs
    }
  }
  if (failure !== undefined) record.errorCode = failure.code
  if (last?.remoteAddress !== undefined) record.remoteAddress = last.remoteAddress

  // The stats' own clock places the call in its window: the one `stats()` reads. (startedAt +
  // durationMs mixes the wall clock with the monotonic one; under a fake clock that runs ahead of
  // the stats' clock, a call landed in a slot the window did not cover yet.)
  state.stats?.record(observation.url.origin, record)
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
