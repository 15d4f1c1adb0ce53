/**
 * One OpenTelemetry CLIENT span per physical request, and the `http.client.request.duration`
 * metric, following the HTTP client semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client-span).
 *
 * Sits right above the transport, below retry and redirect, so every resend is its own span with
 * `http.request.resend_count` (retries and redirects alike); the spans are children of the call's
 * logical span (observe layer). A span (and the duration measure) ends when that request's body
 * has settled — read to the end, failed, or discarded by the retry layer — or when it fails
 * without a response. Left out of the stack when the client has neither a tracer nor a meter.
 *
 * With `propagateTraceContext: true` the W3C `traceparent`/`tracestate` headers are added here,
 * below the cache layer, so they never become part of a cache key.
 */
import type { Attributes, Span } from '@opentelemetry/api'
import type { AttemptRecord } from '../types.js'
import type { CallContext } from '../context.js'
import { toSafeFetchError, type SafeFetchError } from '../errors.js'
import type { ObserveState } from '../observe/observe-state.js'
import { headerSecrets, redactUrl, scrubText, secretsOf, type RedactRules } from '../observe/redact.js'
import { clientSpanName, errorType, setMethodAttributes, setServerAttributes, SPAN_KIND_CLIENT, SPAN_STATUS_ERROR, traceparentOf } from '../observe/tracing.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'

export function attemptSpanLayer(state: ObserveState): Layer {
  const tracing = state.tracing
  const histogram = state.requestDuration
  return (next) =>
    async function attemptSpan(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      const observation = ctx.observation
      const resendCount = observation === undefined ? 0 : observation.physical++
      const attributes: Attributes = {}
      setMethodAttributes(attributes, req.method)
      setServerAttributes(attributes, req.url)
      const attempt = new AttemptTrace(req.url, req.headers, state.redact, histogram, performance.now(), attributes)
      let outgoing = req
      if (tracing !== undefined) {
        attributes['url.full'] = redactUrl(req.url, state.redact)
        if (resendCount > 0) attributes['http.request.resend_count'] = resendCount
        const parent = observation?.parentContext ?? tracing.api.context.active()
        const span = tracing.tracer.startSpan(clientSpanName(req.method), { kind: SPAN_KIND_CLIENT, attributes }, parent)
        attempt.span = span
        if (tracing.propagate) outgoing = withTraceContext(req, span)
      }
      // The transport appends this request's attempt record (remote address, timings); a plain-http
      // request through a proxy that falls back to the next checked address appends one per address
      // asked for, and the span describes the last one (the address that answered or failed last).
      const logIndex = ctx.record.attemptLog.length
      let response: RawResponse
      try {
        response = await next(outgoing, ctx)
      } catch (err) {
        attempt.end(lastSince(ctx.record.attemptLog, logIndex), undefined, toSafeFetchError(err, ctx.record.url))
        throw err
      }
      const entry = lastSince(ctx.record.attemptLog, logIndex)
      const settle = response.settle
      const status = response.status
      if (settle === undefined || settle.done) attempt.end(entry, status, settle?.error)
      else settle.whenDone((bodyError) => attempt.end(entry, status, bodyError))
      return response
    }
}

/** One physical request being traced and timed, until its body settles. */
class AttemptTrace {
  span: Span | undefined = undefined
  /** Metric attributes: method and server only (URL and resend count would explode cardinality). */
  private readonly metricAttributes: Attributes | undefined

  constructor(
    private readonly url: URL,
    private readonly headers: Readonly<Record<string, string>>,
    private readonly rules: RedactRules,
    private readonly histogram: ObserveState['requestDuration'],
    private readonly start: number,
    common: Attributes,
  ) {
    this.metricAttributes = histogram === undefined ? undefined : { ...common }
  }

  end(entry: AttemptRecord | undefined, status: number | undefined, error: SafeFetchError | undefined): void {
    // A body discarded after a 4xx/5xx (retry) settles with ERR_ABORTED: the status is the story.
    const type = status !== undefined && status >= 400 ? String(status) : errorType(error?.code, status)
    const metric = this.metricAttributes
    if (this.histogram !== undefined && metric !== undefined) {
      if (status !== undefined) metric['http.response.status_code'] = status
      if (type !== undefined) metric['error.type'] = type
      this.histogram.record((performance.now() - this.start) / 1000, metric)
    }
    const span = this.span
    if (span === undefined) return
    const attributes: Attributes = {}
    if (status !== undefined) attributes['http.response.status_code'] = status
    if (entry?.remoteAddress !== undefined) attributes['network.peer.address'] = entry.remoteAddress
    if (entry?.remotePort !== undefined) attributes['network.peer.port'] = entry.remotePort
    if (type !== undefined) attributes['error.type'] = type
    span.setAttributes(attributes)
    if (error !== undefined && (status === undefined || status < 400)) {
      const message = scrubText(error.message, headerSecrets(this.headers, this.rules, secretsOf(this.url, this.rules)))
      span.recordException({ name: 'SafeFetchError', code: error.code, message })
      span.setStatus({ code: SPAN_STATUS_ERROR, message })
    } else if (type !== undefined) {
      span.setStatus({ code: SPAN_STATUS_ERROR })
    }
    span.end()
  }
}

/** Adds traceparent (and tracestate) unless the caller set its own. */
function withTraceContext(req: OutboundRequest, span: Span): OutboundRequest {
  if (req.headers['traceparent'] !== undefined) return req
  const context = span.spanContext()
  const traceparent = traceparentOf(context)
  if (traceparent === undefined) return req
  const headers: Record<string, string> = { ...req.headers, traceparent }
  const tracestate = context.traceState?.serialize()
  if (tracestate !== undefined && tracestate !== '') headers['tracestate'] = tracestate
  return { url: req.url, method: req.method, headers, body: req.body }
}

/** The newest attempt record appended at or after `from` (undefined when none was). */
function lastSince<T>(log: readonly T[], from: number): T | undefined {
  return log.length > from ? log[log.length - 1] : undefined
}
