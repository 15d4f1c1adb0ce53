/**
 * The retry decision as one pure function: given how an attempt ended, may we try again, and after
 * how long? The retry layer only does the wiring (sleep, budget, logging); everything that can be
 * decided from values is decided here and tested with tables. See docs/retries.md.
 */
import { SafeFetchError, isFinalCode, systemCode } from '../errors.js'
import { backoffDelay } from './backoff.js'
import { parseRetryAfter } from './retry-after.js'
import type { ResolvedRetryOptions } from './retry-options.js'
import { IDEMPOTENT_METHODS } from '../http.js'

type RetryVerdict = { readonly retry: true; readonly reason: string; readonly delayMs: number } | { readonly retry: false; readonly reason: string }

export interface RetryDecisionInput {
  readonly options: ResolvedRetryOptions
  /** Upper-case request method. */
  readonly method: string
  /** Request headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>
  /** False when the request body is a one-shot stream that cannot be sent again. */
  readonly replayable: boolean
  /** The attempt that just ended, 1-based. */
  readonly attempt: number
  /** The response status, when the attempt got a response. */
  readonly status?: number | undefined
  /** The response's Retry-After field value, if any. */
  readonly retryAfter?: string | undefined
  /** What the attempt threw, when it got no response. */
  readonly error?: unknown
  /** Milliseconds left before the call's deadline (Infinity without one). */
  readonly remainingMs: number
  /** Epoch milliseconds, to read a Retry-After HTTP-date. */
  readonly now: number
  /** Uniform in [0, 1), for the backoff jitter. */
  readonly random: () => number
}

// The "no" verdicts are constants: a successful response must not allocate anything here.
const no = (reason: string): RetryVerdict => Object.freeze({ retry: false, reason })
export const NO_RETRY = Object.freeze({
  status: no('status not retryable'),
  error: no('error not retryable'),
  limit: no('retry limit reached'),
  method: no('method not retryable without an Idempotency-Key'),
  body: no('request body cannot be replayed'),
  retryAfterTooLong: no('Retry-After exceeds maxRetryAfter'),
  retryAfterPastDeadline: no('Retry-After ends after the deadline'),
  backoffPastDeadline: no('backoff ends after the deadline'),
})

/**
 * Socket failures that mean "no response came back and the connection is gone", from the cause
 * chain of an ERR_NETWORK. Refused: the server never saw the request. Reset / broken pipe / undici's
 * "other side closed": typically a keep-alive socket the server had already closed.
 */
const RETRYABLE_SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET'])

/**
 * DNS failures worth another try: EAI_AGAIN is getaddrinfo's "temporary failure in name
 * resolution". ENOTFOUND (the name does not exist) will not change in a few hundred milliseconds.
 */
const RETRYABLE_DNS_CODES: ReadonlySet<string> = new Set(['EAI_AGAIN'])

/**
 * The draft-ietf-httpapi-idempotency-key-header field makes a POST/PATCH safe to repeat: the server
 * deduplicates by key. Go's transport also accepts the older `X-Idempotency-Key`.
 */
export function hasIdempotencyKey(headers: Readonly<Record<string, string>>): boolean {
  const key = headers['idempotency-key'] ?? headers['x-idempotency-key']
  return key !== undefined && key !== ''
}

/** Whether repeating the request is harmless: idempotent method, an Idempotency-Key, or the caller says so. */
export function isIdempotentRequest(method: string, headers: Readonly<Record<string, string>>, allowNonIdempotent: boolean): boolean {
  return allowNonIdempotent || IDEMPOTENT_METHODS.has(method) || hasIdempotencyKey(headers)
}

/**
 * Why the error may be retried (e.g. `ERR_NETWORK (ECONNRESET)`), or undefined when it may not.
 * @param idempotent from isIdempotentRequest(): a headers timeout means the server received the
 *   request and may have acted on it, so only an idempotent request is sent again.
 */
export function errorRetryReason(error: unknown, options: ResolvedRetryOptions, idempotent: boolean): string | undefined {
  if (!(error instanceof SafeFetchError)) return undefined
  const code = error.code
  if (isFinalCode(code) || !options.errorCodes.has(code)) return undefined
  switch (code) {
    case 'ERR_NETWORK': {
      const sys = systemCode(error)
      return sys !== undefined && RETRYABLE_SOCKET_CODES.has(sys) ? `${code} (${sys})` : undefined
    }
    case 'ERR_DNS': {
      const sys = systemCode(error)
      return sys !== undefined && RETRYABLE_DNS_CODES.has(sys) ? `${code} (${sys})` : undefined
    }
    case 'ERR_HEADERS_TIMEOUT':
      return idempotent ? code : undefined
    default:
      return code
  }
}

/**
 * Decides whether to make another attempt and how long to wait first. The checks run cheapest
 * first, so a response with a non-retryable status returns after one Set lookup.
 */
export function decideRetry(input: RetryDecisionInput): RetryVerdict {
  const { options, method, headers } = input
  let reason: string | undefined
  if (input.status !== undefined) {
    if (!options.statusCodes.has(input.status)) return NO_RETRY.status
    reason = `status ${input.status}`
  } else {
    const idempotent = isIdempotentRequest(method, headers, options.allowNonIdempotent)
    reason = errorRetryReason(input.error, options, idempotent)
    if (reason === undefined) return NO_RETRY.error
  }
  if (input.attempt > options.limit) return NO_RETRY.limit
  // POST and PATCH only with an Idempotency-Key or allowNonIdempotent (Go's transport does the same).
  if (!options.methods.has(method) && !options.allowNonIdempotent && !hasIdempotencyKey(headers)) {
    return NO_RETRY.method
  }
  if (!input.replayable) return NO_RETRY.body

  // RFC 9110 §10.2.3 / RFC 6585 §4: on 503 and 429 the server says how long to wait. We wait
  // exactly that, or not at all: retrying sooner is what the server asked us not to do.
  if (input.status === 429 || input.status === 503) {
    const retryAfter = parseRetryAfter(input.retryAfter, input.now)
    if (retryAfter !== undefined) {
      if (retryAfter > options.maxRetryAfter) return NO_RETRY.retryAfterTooLong
      if (retryAfter >= input.remainingMs) return NO_RETRY.retryAfterPastDeadline
      return { retry: true, reason: `${reason}, Retry-After`, delayMs: retryAfter }
    }
  }
  const delayMs = backoffDelay(input.attempt - 1, options.backoff.base, options.backoff.cap, input.random)
  // Waking at or after the deadline could only end in ERR_DEADLINE_EXCEEDED; the failure we have
  // now says more.
  if (delayMs >= input.remainingMs) return NO_RETRY.backoffPastDeadline
  return { retry: true, reason, delayMs }
}
