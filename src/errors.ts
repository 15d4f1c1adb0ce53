/**
 * Every failure safefetch raises is a SafeFetchError with a stable `code`.
 * Callers (and our own retry/breaker logic) decide by `code`, never by message text:
 * messages are for humans and may change, codes are API.
 */

export type ErrorCode =
  /** The input could not be parsed as an http(s) URL, or an option value is malformed for this call. */
  | 'ERR_URL_INVALID'
  /** The URL is well-formed but the policy refuses it (scheme, userinfo, port, host rules, literal IP). */
  | 'ERR_URL_BLOCKED'
  /** A resolved (or literal) address is in a denied range. */
  | 'ERR_ADDRESS_BLOCKED'
  /** Name resolution failed. */
  | 'ERR_DNS'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_HEADERS_TIMEOUT'
  | 'ERR_READ_TIMEOUT'
  /** The total deadline of the call passed (covers redirects, retries and reading the body). */
  | 'ERR_DEADLINE_EXCEEDED'
  | 'ERR_TOO_MANY_REDIRECTS'
  /** A redirect that the options refuse: `redirect: 'error'`, https→http, or a Location we cannot follow. */
  | 'ERR_REDIRECT_BLOCKED'
  | 'ERR_RESPONSE_TOO_LARGE'
  /** The caller's AbortSignal fired. */
  | 'ERR_ABORTED'
  /** TLS handshake or certificate verification failed. */
  | 'ERR_TLS'
  /** Connection refused/reset/closed, or any other transport failure without a response. */
  | 'ERR_NETWORK'
  /** The server's response could not be understood (invalid status, corrupt compressed body). */
  | 'ERR_BAD_RESPONSE'
  /** An option passed to createClient(), configure() or a call is invalid. */
  | 'ERR_INVALID_OPTION'
  /** The circuit breaker for the origin is open. */
  | 'ERR_CIRCUIT_OPEN'
  /** The origin was disabled at runtime with client.disable(). */
  | 'ERR_DISABLED'
  /** The client is read-only and the method is unsafe. */
  | 'ERR_READ_ONLY'
  /** The client was closed. */
  | 'ERR_CLIENT_CLOSED'
  /** A client with a test `dispatcher` (MockAgent): no mock matched the request (docs/testing.md). */
  | 'ERR_MOCK_NOT_MATCHED'
  /** A request interceptor (nock 15, msw) has patched net.Socket in this process: safefetch cannot dial (docs/testing.md). */
  | 'ERR_NET_INTERCEPTED'

export interface SafeFetchErrorDetails {
  cause?: unknown
  /** The URL being fetched, already redacted (no userinfo, no query values). */
  url?: string
  /** The IP address that was refused or could not be reached. */
  address?: string
  /** The special-purpose range the address fell in, e.g. `10.0.0.0/8 (private-use, RFC 1918)`. */
  range?: string
  /** The operator's reason, for ERR_DISABLED (what `client.disable(origin, reason)` was given). */
  reason?: string
}

/**
 * Brands every SafeFetchError through the global symbol registry, so isSafeFetchError() and
 * `instanceof` hold across two installed copies of safefetch (as undici does with
 * `Symbol.for('undici.error.UND_ERR')`).
 */
const BRAND = Symbol.for('safefetch.error')

export class SafeFetchError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }

  override readonly name = 'SafeFetchError'
  readonly code: ErrorCode
  readonly url: string | undefined
  readonly address: string | undefined
  readonly range: string | undefined
  readonly reason: string | undefined

  constructor(code: ErrorCode, message: string, details: SafeFetchErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.code = code
    this.url = details.url
    this.address = details.address
    this.range = details.range
    this.reason = details.reason
  }
}

Object.defineProperty(SafeFetchError.prototype, BRAND, { value: true })

/** True for a SafeFetchError from any copy of safefetch (the brand is a `Symbol.for` symbol). */
export function isSafeFetchError(value: unknown): value is SafeFetchError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
}

/** Errors that end the call for good: retrying them cannot help and may do harm. */
const FINAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_URL_INVALID',
  'ERR_URL_BLOCKED',
  'ERR_ADDRESS_BLOCKED',
  'ERR_ABORTED',
  'ERR_DEADLINE_EXCEEDED',
  'ERR_RESPONSE_TOO_LARGE',
  'ERR_TOO_MANY_REDIRECTS',
  'ERR_REDIRECT_BLOCKED',
  'ERR_INVALID_OPTION',
  'ERR_DISABLED',
  'ERR_READ_ONLY',
  'ERR_CLIENT_CLOSED',
  'ERR_MOCK_NOT_MATCHED',
  'ERR_NET_INTERCEPTED',
])

/**
 * Failures that say the origin is unwell: it could not be reached, did not answer in time, or
 * answered garbage. The breaker counts them; stale-if-error may stand in for them.
 */
export const ORIGIN_FAILURE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ERR_NETWORK',
  'ERR_DNS',
  'ERR_CONNECT_TIMEOUT',
  'ERR_HEADERS_TIMEOUT',
  'ERR_READ_TIMEOUT',
  'ERR_TLS',
  'ERR_BAD_RESPONSE',
])

export function isFinalCode(code: ErrorCode): boolean {
  return FINAL_CODES.has(code)
}

/** Walks `cause` chains (undici wraps as `TypeError('fetch failed')`, sockets wrap again). */
export function findSafeFetchError(err: unknown): SafeFetchError | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 8 && current != null; depth++) {
    if (current instanceof SafeFetchError) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** The first `code` string on the error or its causes, e.g. `ECONNRESET` or `UND_ERR_SOCKET`. */
export function systemCode(err: unknown): string | undefined {
  let current: unknown = err
  for (let depth = 0; depth < 8 && current != null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && !code.startsWith('ERR_')) return code
    if (typeof code === 'string' && code.startsWith('ERR_TLS')) return code
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT', 'ECONNREFUSED_DNS'])

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|HOSTNAME_MISMATCH|ERR_OSSL_)/

/**
 * Maps anything thrown below us (undici, net, tls, dns) to a SafeFetchError by code.
 * A SafeFetchError anywhere in the cause chain wins: it is what our own connector raised.
 */
export function toSafeFetchError(err: unknown, url: string | undefined): SafeFetchError {
  const ours = findSafeFetchError(err)
  if (ours) return ours
  const details: SafeFetchErrorDetails = { cause: err }
  if (url !== undefined) details.url = url
  let current: unknown = err
  for (let depth = 0; depth < 8 && current != null; depth++) {
    const code = (current as { code?: unknown }).code
    // undici 7 builds HTTPParserError's code from a table keyed the other way round, so parse
    // failures (invalid status line, header, Content-Length) arrive with no code: go by the class.
    if (code === undefined && (current as { name?: unknown }).name === 'HTTPParserError') {
      return new SafeFetchError(
        'ERR_BAD_RESPONSE',
        `malformed HTTP response from ${url ?? 'server'}: ${String((current as { message?: unknown }).message)}`,
        details,
      )
    }
    if (typeof code === 'string') {
      if (code === 'UND_ERR_CONNECT_TIMEOUT') return new SafeFetchError('ERR_CONNECT_TIMEOUT', `connect timed out for ${url ?? 'request'}`, details)
      if (code === 'UND_ERR_HEADERS_TIMEOUT') return new SafeFetchError('ERR_HEADERS_TIMEOUT', `no response headers in time from ${url ?? 'server'}`, details)
      if (code === 'UND_ERR_BODY_TIMEOUT') return new SafeFetchError('ERR_READ_TIMEOUT', `response body stalled from ${url ?? 'server'}`, details)
      if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return new SafeFetchError('ERR_RESPONSE_TOO_LARGE', `response too large from ${url ?? 'server'}`, details)
      if (DNS_CODES.has(code)) return new SafeFetchError('ERR_DNS', `could not resolve host for ${url ?? 'request'} (${code})`, details)
      if (TLS_CODE.test(code)) return new SafeFetchError('ERR_TLS', `TLS failed for ${url ?? 'request'} (${code})`, details)
      if (code === 'ERR_INVALID_URL') return new SafeFetchError('ERR_URL_INVALID', `invalid URL ${url ?? ''}`.trim(), details)
      if (
        code === 'Z_DATA_ERROR' ||
        code === 'Z_BUF_ERROR' ||
        code === 'ERR__ERROR_FORMAT_PADDING_1' ||
        code.startsWith('ERR_ZSTD') ||
        (code === 'UND_ERR_INVALID_ARG' && depth > 0)
      ) {
        return new SafeFetchError('ERR_BAD_RESPONSE', `could not decode the response from ${url ?? 'server'} (${code})`, details)
      }
      // Headers past undici's maxHeaderSize: the same answer every time, not a network fault.
      if (code === 'UND_ERR_HEADERS_OVERFLOW') return new SafeFetchError('ERR_BAD_RESPONSE', `response headers from ${url ?? 'server'} are too large`, details)
      if (code.startsWith('HPE_')) return new SafeFetchError('ERR_BAD_RESPONSE', `malformed HTTP response from ${url ?? 'server'} (${code})`, details)
      // The server broke HTTP/1.1 framing, not the network: a body longer than its Content-Length, two
      // different Content-Length values or Content-Length with Transfer-Encoding (RFC 9112 §6.3: an
      // unrecoverable error), and undici's 'bad response' (a 100 Continue nobody asked for — RFC 9110
      // §15.2.1 — or bytes arriving when no request is outstanding). Not ERR_NETWORK: that one is
      // retried by default, and the same server gives the same broken answer every time.
      if (code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || (code === 'UND_ERR_SOCKET' && (current as { message?: unknown }).message === 'bad response')) {
        return new SafeFetchError('ERR_BAD_RESPONSE', `malformed HTTP response from ${url ?? 'server'} (${code})`, details)
      }
    }
    current = (current as { cause?: unknown }).cause
  }
  const sys = systemCode(err)
  const reason = sys ?? (err instanceof Error ? err.message : String(err))
  return new SafeFetchError('ERR_NETWORK', `network error for ${url ?? 'request'} (${reason})`, details)
}
