import { describe, expect, it } from 'vitest'
import { SafeFetchError, type ErrorCode } from '../../src/errors.js'
import { NO_RETRY, decideRetry, errorRetryReason, hasIdempotencyKey, isIdempotentRequest, type RetryDecisionInput } from '../../src/retry/retry-decision.js'
import { RETRY_DEFAULTS, resolveRetryOptions, type ResolvedRetryOptions } from '../../src/retry/retry-options.js'

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0)

/** An error as the transport raises it: our code, the system error somewhere down the cause chain. */
function err(code: ErrorCode, sys?: string): SafeFetchError {
  if (sys === undefined) return new SafeFetchError(code, code)
  const system = Object.assign(new Error(sys), { code: sys })
  const wrapped = new TypeError('fetch failed', { cause: system })
  return new SafeFetchError(code, code, { cause: wrapped })
}

function opts(input: Parameters<typeof resolveRetryOptions>[0]): ResolvedRetryOptions {
  const resolved = resolveRetryOptions(input)
  if (resolved === false) throw new Error('retries off')
  return resolved
}

function input(over: Partial<RetryDecisionInput>): RetryDecisionInput {
  return {
    options: RETRY_DEFAULTS,
    method: 'GET',
    headers: {},
    replayable: true,
    attempt: 1,
    remainingMs: Infinity,
    now: NOW,
    random: () => 0.5,
    ...over,
  }
}

type Expected = { retry: false; reason: string } | { retry: true; reason: string; delayMs: number }

describe('decideRetry', () => {
  const table: [string, Partial<RetryDecisionInput>, Expected][] = [
    // Statuses
    ['200 is not retried', { status: 200 }, NO_RETRY.status],
    ['404 is not retried', { status: 404 }, NO_RETRY.status],
    ['501 is not retried', { status: 501 }, NO_RETRY.status],
    ['503 on the first attempt: backoff 0 -> [0, 100)', { status: 503 }, { retry: true, reason: 'status 503', delayMs: 50 }],
    ['502 on the second attempt: [0, 200)', { status: 502, attempt: 2 }, { retry: true, reason: 'status 502', delayMs: 100 }],
    ['408 is retried', { status: 408 }, { retry: true, reason: 'status 408', delayMs: 50 }],
    ['third attempt over limit 2', { status: 503, attempt: 3 }, NO_RETRY.limit],
    ['limit 0 never retries', { status: 503, options: opts({ limit: 0 }) }, NO_RETRY.limit],
    // Retry-After on 429 and 503
    ['503 + Retry-After: 1', { status: 503, retryAfter: '1' }, { retry: true, reason: 'status 503, Retry-After', delayMs: 1_000 }],
    ['429 + Retry-After: 0', { status: 429, retryAfter: '0' }, { retry: true, reason: 'status 429, Retry-After', delayMs: 0 }],
    [
      '503 + Retry-After as an HTTP-date',
      { status: 503, retryAfter: 'Sun, 01 Jun 2025 12:00:02 GMT' },
      { retry: true, reason: 'status 503, Retry-After', delayMs: 2_000 },
    ],
    [
      '503 + Retry-After in the past: at once',
      { status: 503, retryAfter: 'Sun, 01 Jun 2025 11:00:00 GMT' },
      { retry: true, reason: 'status 503, Retry-After', delayMs: 0 },
    ],
    ['503 + Retry-After beyond maxRetryAfter', { status: 503, retryAfter: '31' }, NO_RETRY.retryAfterTooLong],
    ['503 + Retry-After exactly maxRetryAfter', { status: 503, retryAfter: '30' }, { retry: true, reason: 'status 503, Retry-After', delayMs: 30_000 }],
    ['429 + Retry-After past the deadline', { status: 429, retryAfter: '5', remainingMs: 4_000 }, NO_RETRY.retryAfterPastDeadline],
    ['429 + Retry-After equal to the time left', { status: 429, retryAfter: '4', remainingMs: 4_000 }, NO_RETRY.retryAfterPastDeadline],
    ['503 + malformed Retry-After: backoff', { status: 503, retryAfter: 'later' }, { retry: true, reason: 'status 503', delayMs: 50 }],
    ['500 ignores Retry-After', { status: 500, retryAfter: '20' }, { retry: true, reason: 'status 500', delayMs: 50 }],
    // Deadline
    ['backoff ends after the deadline', { status: 503, remainingMs: 40 }, NO_RETRY.backoffPastDeadline],
    ['backoff just fits before the deadline', { status: 503, remainingMs: 51 }, { retry: true, reason: 'status 503', delayMs: 50 }],
    ['deadline already passed', { status: 503, remainingMs: -5, random: () => 0 }, NO_RETRY.backoffPastDeadline],
    // Methods
    ['POST without Idempotency-Key', { method: 'POST', status: 503 }, NO_RETRY.method],
    ['PATCH without Idempotency-Key', { method: 'PATCH', error: err('ERR_CONNECT_TIMEOUT') }, NO_RETRY.method],
    ['POST with Idempotency-Key', { method: 'POST', headers: { 'idempotency-key': 'k1' }, status: 503 }, { retry: true, reason: 'status 503', delayMs: 50 }],
    [
      'POST with X-Idempotency-Key',
      { method: 'POST', headers: { 'x-idempotency-key': 'k1' }, status: 502 },
      { retry: true, reason: 'status 502', delayMs: 50 },
    ],
    ['POST with an empty Idempotency-Key', { method: 'POST', headers: { 'idempotency-key': '' }, status: 503 }, NO_RETRY.method],
    [
      'POST with allowNonIdempotent',
      { method: 'POST', status: 503, options: opts({ allowNonIdempotent: true }) },
      { retry: true, reason: 'status 503', delayMs: 50 },
    ],
    ['PUT and DELETE are idempotent', { method: 'DELETE', status: 503 }, { retry: true, reason: 'status 503', delayMs: 50 }],
    ['a custom methods list', { method: 'GET', status: 503, options: opts({ methods: ['put'] }) }, NO_RETRY.method],
    // Bodies
    ['a one-shot body', { method: 'PUT', replayable: false, status: 503 }, NO_RETRY.body],
    ['a one-shot body on a network error', { method: 'PUT', replayable: false, error: err('ERR_NETWORK', 'ECONNRESET') }, NO_RETRY.body],
    // Errors before any response
    ['connection refused', { error: err('ERR_NETWORK', 'ECONNREFUSED') }, { retry: true, reason: 'ERR_NETWORK (ECONNREFUSED)', delayMs: 50 }],
    ['connection reset', { error: err('ERR_NETWORK', 'ECONNRESET') }, { retry: true, reason: 'ERR_NETWORK (ECONNRESET)', delayMs: 50 }],
    ['broken pipe', { error: err('ERR_NETWORK', 'EPIPE') }, { retry: true, reason: 'ERR_NETWORK (EPIPE)', delayMs: 50 }],
    ['undici other side closed', { error: err('ERR_NETWORK', 'UND_ERR_SOCKET') }, { retry: true, reason: 'ERR_NETWORK (UND_ERR_SOCKET)', delayMs: 50 }],
    ['a network error of another kind', { error: err('ERR_NETWORK', 'EHOSTUNREACH') }, NO_RETRY.error],
    ['a network error without a cause', { error: err('ERR_NETWORK') }, NO_RETRY.error],
    ['connect timeout', { error: err('ERR_CONNECT_TIMEOUT') }, { retry: true, reason: 'ERR_CONNECT_TIMEOUT', delayMs: 50 }],
    ['DNS temporary failure', { error: err('ERR_DNS', 'EAI_AGAIN') }, { retry: true, reason: 'ERR_DNS (EAI_AGAIN)', delayMs: 50 }],
    ['DNS name not found', { error: err('ERR_DNS', 'ENOTFOUND') }, NO_RETRY.error],
    ['headers timeout on GET', { error: err('ERR_HEADERS_TIMEOUT') }, { retry: true, reason: 'ERR_HEADERS_TIMEOUT', delayMs: 50 }],
    [
      'headers timeout on POST with an Idempotency-Key',
      { method: 'POST', headers: { 'idempotency-key': 'k' }, error: err('ERR_HEADERS_TIMEOUT') },
      { retry: true, reason: 'ERR_HEADERS_TIMEOUT', delayMs: 50 },
    ],
    [
      'headers timeout on POST listed in methods, without a key',
      { method: 'POST', error: err('ERR_HEADERS_TIMEOUT'), options: opts({ methods: ['GET', 'POST'] }) },
      NO_RETRY.error,
    ],
    [
      'ECONNREFUSED on POST listed in methods',
      { method: 'POST', error: err('ERR_NETWORK', 'ECONNREFUSED'), options: opts({ methods: ['GET', 'POST'] }) },
      { retry: true, reason: 'ERR_NETWORK (ECONNREFUSED)', delayMs: 50 },
    ],
    ['TLS is not retried by default', { error: err('ERR_TLS', 'ECONNRESET') }, NO_RETRY.error],
    ['TLS when listed', { error: err('ERR_TLS'), options: opts({ errorCodes: ['ERR_TLS'] }) }, { retry: true, reason: 'ERR_TLS', delayMs: 50 }],
    ['a code removed from errorCodes', { error: err('ERR_CONNECT_TIMEOUT'), options: opts({ errorCodes: ['ERR_NETWORK'] }) }, NO_RETRY.error],
    // Never retried
    ['ERR_ABORTED', { error: err('ERR_ABORTED', 'ECONNRESET') }, NO_RETRY.error],
    ['ERR_DEADLINE_EXCEEDED', { error: err('ERR_DEADLINE_EXCEEDED') }, NO_RETRY.error],
    ['ERR_ADDRESS_BLOCKED', { error: err('ERR_ADDRESS_BLOCKED') }, NO_RETRY.error],
    ['ERR_URL_BLOCKED', { error: err('ERR_URL_BLOCKED') }, NO_RETRY.error],
    ['ERR_URL_INVALID', { error: err('ERR_URL_INVALID') }, NO_RETRY.error],
    ['ERR_RESPONSE_TOO_LARGE', { error: err('ERR_RESPONSE_TOO_LARGE') }, NO_RETRY.error],
    ['ERR_CIRCUIT_OPEN', { error: err('ERR_CIRCUIT_OPEN') }, NO_RETRY.error],
    ['ERR_DISABLED', { error: err('ERR_DISABLED') }, NO_RETRY.error],
    ['ERR_READ_ONLY', { error: err('ERR_READ_ONLY') }, NO_RETRY.error],
    ['a plain Error with ECONNRESET (not ours)', { error: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }, NO_RETRY.error],
    ['a thrown string', { error: 'boom' }, NO_RETRY.error],
  ]

  it.each(table)('%s', (_name, over, expected) => {
    expect(decideRetry(input(over))).toEqual(expected)
  })

  it('uses the attempt number for the exponent and the backoff options', () => {
    const options = opts({ limit: 10, backoff: { base: 10, cap: 1_000 } })
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => {
      const v = decideRetry(input({ options, status: 503, attempt, random: () => 0.999 }))
      return v.retry ? v.delayMs : -1
    })
    expect(delays).toEqual([9, 19, 39, 79, 159, 319, 639, 999])
  })

  it('returns the same frozen object for a non-retryable status (no allocation on success)', () => {
    const a = decideRetry(input({ status: 200 }))
    const b = decideRetry(input({ status: 204 }))
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
  })
})

describe('idempotency helpers', () => {
  it.each([
    [{}, false],
    [{ 'idempotency-key': 'abc' }, true],
    [{ 'x-idempotency-key': 'abc' }, true],
    [{ 'idempotency-key': '' }, false],
  ] as [Record<string, string>, boolean][])('hasIdempotencyKey(%j) = %s', (headers, expected) => {
    expect(hasIdempotencyKey(headers)).toBe(expected)
  })

  it.each([
    ['GET', {}, false, true],
    ['HEAD', {}, false, true],
    ['OPTIONS', {}, false, true],
    ['TRACE', {}, false, true],
    ['PUT', {}, false, true],
    ['DELETE', {}, false, true],
    ['POST', {}, false, false],
    ['PATCH', {}, false, false],
    ['CONNECT', {}, false, false],
    ['POST', { 'idempotency-key': 'k' }, false, true],
    ['PATCH', {}, true, true],
  ] as [string, Record<string, string>, boolean, boolean][])('isIdempotentRequest(%s, %j, %s) = %s', (method, headers, allow, expected) => {
    expect(isIdempotentRequest(method, headers, allow)).toBe(expected)
  })

  it('errorRetryReason walks a deep cause chain for the system code', () => {
    const root = Object.assign(new Error('reset'), { code: 'ECONNRESET' })
    const mid = new Error('socket', { cause: root })
    const top = new SafeFetchError('ERR_NETWORK', 'network', { cause: new TypeError('fetch failed', { cause: mid }) })
    expect(errorRetryReason(top, RETRY_DEFAULTS, true)).toBe('ERR_NETWORK (ECONNRESET)')
  })
})
