/**
 * OpenTelemetry glue, following the HTTP client semantic conventions
 * (https://opentelemetry.io/docs/specs/semconv/http/http-spans/ and http-metrics/).
 *
 * `@opentelemetry/api` is an optional peer dependency: this file imports only its types
 * statically, and loads the package at run time only when the user passed a `tracer` or `meter`
 * (which means it is installed). We never pick up a globally registered provider on our own:
 * tracing costs ~2 µs per span with the SDK (measured on Node 20), so it is opt-in and predictable.
 */
import { createRequire } from 'node:module'
import type * as OtelApiModule from '@opentelemetry/api'
import type { Attributes, Histogram, Meter, SpanContext } from '@opentelemetry/api'

export type OtelApi = typeof OtelApiModule

let api: OtelApi | undefined

/** Loads `@opentelemetry/api` synchronously, once, the first time a client is given a tracer or meter. */
export function loadOtelApi(): OtelApi {
  api ??= createRequire(import.meta.url)('@opentelemetry/api') as OtelApi
  return api
}

/** SpanKind / SpanStatusCode values of the API (stable numbers; enums are not imported at run time). */
export const SPAN_KIND_INTERNAL = 0
export const SPAN_KIND_CLIENT = 2
export const SPAN_STATUS_ERROR = 2

/** Semconv advisory buckets for `http.client.request.duration`, in seconds. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]

/** Methods semconv lets through as is; anything else is `_OTHER` plus `http.request.method_original`. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY'])

export function setMethodAttributes(attributes: Attributes, method: string): void {
  if (KNOWN_METHODS.has(method)) attributes['http.request.method'] = method
  else {
    attributes['http.request.method'] = '_OTHER'
    attributes['http.request.method_original'] = method
  }
}

/** Span name per semconv: `{method}`, or `HTTP` for a method outside the known set. */
export function clientSpanName(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'HTTP'
}

/** `server.address` (no IPv6 brackets) and `server.port` (always set for HTTP clients: required). */
export function setServerAttributes(attributes: Attributes, url: URL): void {
  const host = url.hostname
  attributes['server.address'] = host.startsWith('[') ? host.slice(1, -1) : host
  attributes['server.port'] = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
}

/**
 * `error.type`: our error code when the request failed; the status code as a string when it is
 * >= 400 (semconv: client spans treat 4xx and 5xx as errors). undefined otherwise.
 */
export function errorType(code: string | undefined, status: number | undefined): string | undefined {
  if (code !== undefined) return code
  if (status !== undefined && status >= 400) return String(status)
  return undefined
}

const HEX32_ZERO = '00000000000000000000000000000000'
const HEX16_ZERO = '0000000000000000'
const TRACE_ID = /^[0-9a-f]{32}$/
const SPAN_ID = /^[0-9a-f]{16}$/

/**
 * The W3C `traceparent` header value for a span (Trace Context §3.2:
 * `version-traceid-parentid-flags`), or undefined when the span context is not valid (e.g. a
 * non-recording span from a no-op tracer).
 */
export function traceparentOf(context: SpanContext): string | undefined {
  const { traceId, spanId } = context
  if (!TRACE_ID.test(traceId) || traceId === HEX32_ZERO || !SPAN_ID.test(spanId) || spanId === HEX16_ZERO) return undefined
  const flags = (context.traceFlags & 0xff).toString(16).padStart(2, '0')
  return `00-${traceId}-${spanId}-${flags}`
}

/** `http.client.request.duration` (histogram, seconds) with the semconv advisory buckets. */
export function createRequestDurationHistogram(meter: Meter): Histogram {
  return meter.createHistogram('http.client.request.duration', {
    unit: 's',
    description: 'Duration of HTTP client requests.',
    advice: { explicitBucketBoundaries: [...HTTP_DURATION_BUCKETS] },
  })
}
