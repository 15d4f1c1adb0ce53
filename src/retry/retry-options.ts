/**
 * Retry options: the user-facing shape, the defaults in one literal, and `resolveRetryOptions()`,
 * which merges and validates them once (per client, and per call when a call overrides `retry`).
 * See docs/retries.md.
 */
import type { ErrorCode } from '../errors.js'
import {
  checkArray,
  checkBoolean,
  checkDuration,
  checkKnownKeys,
  checkNonNegativeInteger,
  checkPositiveDuration,
  checkNonNegativeNumber,
  invalidOption,
  isPlainObject,
} from '../option-checks.js'
import { IDEMPOTENT_METHODS, isToken } from '../http.js'

export interface RetryBackoffOptions {
  /** Milliseconds. The first retry waits up to `base`, the n-th up to `base * 2^(n-1)`. Default 100. */
  base?: number
  /** Milliseconds. Upper bound of any backoff delay. Default 5000. */
  cap?: number
}

export interface RetryBudgetOptions {
  /** Retries may add at most this share of the requests made in the window. Default 0.2 (20%). */
  ratio?: number
  /** Retries per second always allowed, however few requests were made. Default 10. */
  minPerSecond?: number
  /** Milliseconds. Length of the rolling window. Default 10000. */
  windowMs?: number
}

export interface RetryOptions {
  /** Retries after the first attempt (`2` = up to 3 attempts). `0` never retries. Default 2. */
  limit?: number
  /** Methods retried without an Idempotency-Key. Default GET HEAD OPTIONS PUT DELETE TRACE. */
  methods?: readonly string[]
  /** Response statuses that are retried. Default 408 429 500 502 503 504. */
  statusCodes?: readonly number[]
  /** Error codes that are retried (refined by cause, see docs/retries.md). */
  errorCodes?: readonly ErrorCode[]
  backoff?: RetryBackoffOptions
  /** Milliseconds. A longer `Retry-After` is not waited for: the response is returned. Default 30000. */
  maxRetryAfter?: number
  /** Per-client retry budget; `false` turns it off. */
  budget?: RetryBudgetOptions | false
  /** Retry any method (POST, PATCH...) as if it were idempotent. Meant for one call at a time. Default false. */
  allowNonIdempotent?: boolean
}

export interface ResolvedRetryBudgetOptions {
  readonly ratio: number
  readonly minPerSecond: number
  readonly windowMs: number
}

export interface ResolvedRetryOptions {
  readonly limit: number
  readonly methods: ReadonlySet<string>
  readonly statusCodes: ReadonlySet<number>
  readonly errorCodes: ReadonlySet<ErrorCode>
  readonly backoff: { readonly base: number; readonly cap: number }
  readonly maxRetryAfter: number
  readonly budget: ResolvedRetryBudgetOptions | false
  readonly allowNonIdempotent: boolean
}

/**
 * Error codes that may be listed in `retry.errorCodes`. The final codes of errors.ts can never be
 * retried. ERR_READ_TIMEOUT is absent on purpose: a body timeout happens after the response was
 * handed to the caller, and nothing is retried past that point.
 */
const RETRYABLE_ERROR_CODES = [
  'ERR_NETWORK',
  'ERR_CONNECT_TIMEOUT',
  'ERR_DNS',
  'ERR_HEADERS_TIMEOUT',
  'ERR_TLS',
  'ERR_BAD_RESPONSE',
] as const satisfies readonly ErrorCode[]

export const RETRY_DEFAULTS: ResolvedRetryOptions = Object.freeze({
  limit: 2,
  // RFC 9110 §9.2.2: the idempotent methods (CONNECT and the unsafe-but-not-idempotent POST/PATCH excluded).
  methods: new Set(IDEMPOTENT_METHODS),
  // 408 Request Timeout, 429 Too Many Requests, and the 5xx that signal a transient condition.
  statusCodes: new Set([408, 429, 500, 502, 503, 504]),
  errorCodes: new Set<ErrorCode>(['ERR_NETWORK', 'ERR_CONNECT_TIMEOUT', 'ERR_DNS', 'ERR_HEADERS_TIMEOUT']),
  backoff: Object.freeze({ base: 100, cap: 5_000 }),
  maxRetryAfter: 30_000,
  budget: Object.freeze({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }),
  allowNonIdempotent: false,
})

const RETRY_KEYS = ['limit', 'methods', 'statusCodes', 'errorCodes', 'backoff', 'maxRetryAfter', 'budget', 'allowNonIdempotent'] as const
const BACKOFF_KEYS = ['base', 'cap'] as const
const BUDGET_KEYS = ['ratio', 'minPerSecond', 'windowMs'] as const

/**
 * Validates `input` and merges it over `base` (the defaults, or the client's resolved options when
 * a call overrides some of them). `false` turns retries off; `undefined` keeps `base`.
 * Throws ERR_INVALID_OPTION naming the option path, e.g. `retry.limit must be ..., got -1`.
 */
export function resolveRetryOptions(
  input: RetryOptions | false | undefined,
  path = 'retry',
  base: ResolvedRetryOptions = RETRY_DEFAULTS,
): ResolvedRetryOptions | false {
  if (input === undefined) return base
  if (input === false) return false
  if (!isPlainObject(input)) throw invalidOption(path, 'must be an object or false', input)
  checkKnownKeys(path, input, RETRY_KEYS)
  const raw = input as Record<string, unknown>
  return {
    limit: raw['limit'] === undefined ? base.limit : checkNonNegativeInteger(`${path}.limit`, raw['limit']),
    methods: raw['methods'] === undefined ? base.methods : resolveMethods(`${path}.methods`, raw['methods']),
    statusCodes: raw['statusCodes'] === undefined ? base.statusCodes : resolveStatusCodes(`${path}.statusCodes`, raw['statusCodes']),
    errorCodes: raw['errorCodes'] === undefined ? base.errorCodes : resolveErrorCodes(`${path}.errorCodes`, raw['errorCodes']),
    backoff: raw['backoff'] === undefined ? base.backoff : resolveBackoff(`${path}.backoff`, raw['backoff'], base.backoff),
    maxRetryAfter: raw['maxRetryAfter'] === undefined ? base.maxRetryAfter : checkDuration(`${path}.maxRetryAfter`, raw['maxRetryAfter'], true),
    budget: raw['budget'] === undefined ? base.budget : resolveBudget(`${path}.budget`, raw['budget'], base.budget),
    allowNonIdempotent:
      raw['allowNonIdempotent'] === undefined ? base.allowNonIdempotent : checkBoolean(`${path}.allowNonIdempotent`, raw['allowNonIdempotent']),
  }
}

function resolveMethods(path: string, value: unknown): ReadonlySet<string> {
  const list = checkArray(path, value)
  const methods = new Set<string>()
  list.forEach((method, i) => {
    if (typeof method !== 'string' || !isToken(method)) throw invalidOption(`${path}[${i}]`, 'must be an HTTP method name', method)
    methods.add(method.toUpperCase())
  })
  return methods
}

function resolveStatusCodes(path: string, value: unknown): ReadonlySet<number> {
  const list = checkArray(path, value)
  const codes = new Set<number>()
  list.forEach((code, i) => {
    // Only 4xx/5xx: a 1xx/2xx/3xx is never a failure worth repeating the request for.
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 400 || code > 599) {
      throw invalidOption(`${path}[${i}]`, 'must be an integer status between 400 and 599', code)
    }
    codes.add(code)
  })
  return codes
}

function resolveErrorCodes(path: string, value: unknown): ReadonlySet<ErrorCode> {
  const list = checkArray(path, value)
  const codes = new Set<ErrorCode>()
  const allowed: readonly string[] = RETRYABLE_ERROR_CODES
  list.forEach((code, i) => {
    if (typeof code !== 'string' || !allowed.includes(code)) {
      throw invalidOption(`${path}[${i}]`, `must be one of ${RETRYABLE_ERROR_CODES.join(', ')}`, code)
    }
    codes.add(code as ErrorCode)
  })
  return codes
}

function resolveBackoff(path: string, value: unknown, base: ResolvedRetryOptions['backoff']): ResolvedRetryOptions['backoff'] {
  if (!isPlainObject(value)) throw invalidOption(path, 'must be an object', value)
  checkKnownKeys(path, value, BACKOFF_KEYS)
  return {
    base: value['base'] === undefined ? base.base : checkDuration(`${path}.base`, value['base']),
    cap: value['cap'] === undefined ? base.cap : checkDuration(`${path}.cap`, value['cap']),
  }
}

function resolveBudget(path: string, value: unknown, base: ResolvedRetryBudgetOptions | false): ResolvedRetryBudgetOptions | false {
  if (value === false) return false
  if (!isPlainObject(value)) throw invalidOption(path, 'must be an object or false', value)
  checkKnownKeys(path, value, BUDGET_KEYS)
  const from = base === false ? (RETRY_DEFAULTS.budget as ResolvedRetryBudgetOptions) : base
  return {
    ratio: value['ratio'] === undefined ? from.ratio : checkNonNegativeNumber(`${path}.ratio`, value['ratio']),
    minPerSecond: value['minPerSecond'] === undefined ? from.minPerSecond : checkNonNegativeNumber(`${path}.minPerSecond`, value['minPerSecond']),
    windowMs: value['windowMs'] === undefined ? from.windowMs : checkPositiveDuration(`${path}.windowMs`, value['windowMs']),
  }
}
