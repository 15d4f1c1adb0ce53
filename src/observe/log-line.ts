/**
 * The one summary line per call and the debug line per attempt. Field names are API (dashboards
 * and alerts query them); docs/observability.md lists them. Objects are built with a fixed shape
 * and only when the level is enabled; pino drops undefined fields when it serializes.
 */
import type { AttemptRecord, CacheStatus, CallRecord, PhaseTimings } from '../types.js'
import type { SafeFetchError } from '../errors.js'
import { systemCode } from '../errors.js'
import { redactUrlString, type RedactRules } from './redact.js'
import { retriesOf } from './stat-counters.js'

type CallLogLevel = 'info' | 'warn' | 'error'

/** Phase timings in milliseconds, rounded to the microsecond. */
interface TimingsLine {
  queued: number | undefined
  dns: number | undefined
  connect: number | undefined
  tls: number | undefined
  sent: number | undefined
  firstByte: number | undefined
  download: number | undefined
  total: number | undefined
}

interface CallLogLine {
  callId: string
  method: string
  /** The requested URL, redacted. */
  url: string
  /** The URL of the last hop when the call was redirected, redacted. */
  finalUrl: string | undefined
  status: number | undefined
  durationMs: number | undefined
  /** Physical requests made (0 for a cache hit). */
  attempts: number
  retries: number
  redirects: number
  cache: CacheStatus | undefined
  /** 'mock' for a client with a test dispatcher (docs/testing.md); absent otherwise. */
  transport: 'mock' | undefined
  bytes: number
  remoteAddress: string | undefined
  /** True when the last request went over an already open keep-alive connection (no dns/connect/tls). */
  reusedConnection: boolean | undefined
  errorCode: string | undefined
  timings: TimingsLine | undefined
  err: { code: string; message: string; cause: string | undefined } | undefined
}

/**
 * The `err` serializer of safefetch's child logger. The summary line's `err` (already scrubbed of
 * secrets) is kept as `{ type: 'SafeFetchError', code, message, cause }`; a real error (a cache
 * store or fleet stats failure) becomes `{ type, code, message, stack }`.
 */
export function serializeLogError(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (!(value instanceof Error)) return { type: 'SafeFetchError', ...value }
  const code = (value as { code?: unknown }).code
  return {
    type: value.constructor.name || value.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: value.message,
    stack: value.stack ?? '',
  }
}

interface AttemptLogLine {
  callId: string
  attempt: number
  hop: number
  url: string
  status: number | undefined
  errorCode: string | undefined
  remoteAddress: string | undefined
  remotePort: number | undefined
  reusedConnection: boolean | undefined
  timings: TimingsLine | undefined
  retryReason: string | undefined
  retryDelayMs: number | undefined
}

function ms(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 1000) / 1000
}

function timingsLine(t: PhaseTimings | undefined): TimingsLine | undefined {
  if (t === undefined) return undefined
  return {
    queued: ms(t.queued),
    dns: ms(t.dns),
    connect: ms(t.connect),
    tls: ms(t.tls),
    sent: ms(t.sent),
    firstByte: ms(t.firstByte),
    download: ms(t.download),
    total: ms(t.total),
  }
}

function hasTimings(t: PhaseTimings): boolean {
  for (const _ in t) return true
  return false
}

function wasRetried(record: Pick<CallRecord, 'attempts' | 'redirects' | 'attemptLog'>): boolean {
  return retriesOf(record) > 0
}

/** error for a failure, warn for a retried or stale-from-cache response, info otherwise. */
export function callLogLevel(record: CallRecord, failed: boolean): CallLogLevel {
  if (failed) return 'error'
  if (record.cache === 'stale' || wasRetried(record)) return 'warn'
  return 'info'
}

/**
 * The summary line. `message` is the error message already scrubbed of secrets (see
 * scrubText); URLs in the record are redacted when it is created, attempt URLs again here.
 */
export function buildCallLogLine(record: CallRecord, error: SafeFetchError | undefined, message: string | undefined, rules: RedactRules): CallLogLine {
  const log = record.attemptLog
  const last: AttemptRecord | undefined = log.length === 0 ? undefined : log[log.length - 1]
  const timings = hasTimings(record.timings) ? record.timings : last?.timings
  const errorCode = record.errorCode ?? error?.code
  return {
    callId: record.id,
    method: record.method,
    url: record.url,
    finalUrl: record.finalUrl === undefined || record.redirects === 0 ? undefined : redactUrlString(record.finalUrl, rules),
    status: record.status,
    durationMs: ms(record.durationMs),
    attempts: record.attempts,
    retries: retriesOf(record),
    redirects: record.redirects,
    cache: record.cache,
    transport: record.transport,
    bytes: record.bytes,
    remoteAddress: record.remoteAddress ?? last?.remoteAddress,
    reusedConnection: last?.reusedConnection,
    errorCode,
    timings: timingsLine(timings),
    err: error === undefined ? undefined : { code: error.code, message: message ?? error.message, cause: systemCode(error.cause) },
  }
}

export function buildAttemptLogLine(record: CallRecord, attempt: AttemptRecord, rules: RedactRules): AttemptLogLine {
  return {
    callId: record.id,
    attempt: attempt.attempt,
    hop: attempt.hop,
    url: redactUrlString(attempt.url, rules),
    status: attempt.status,
    errorCode: attempt.errorCode,
    remoteAddress: attempt.remoteAddress,
    remotePort: attempt.remotePort,
    reusedConnection: attempt.reusedConnection,
    timings: timingsLine(attempt.timings),
    retryReason: attempt.retryReason,
    retryDelayMs: attempt.retryDelayMs,
  }
}
