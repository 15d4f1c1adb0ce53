import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { RETRY_DEFAULTS, resolveRetryOptions, type ResolvedRetryOptions } from '../../src/retry/retry-options.js'

function resolved(input: unknown, base?: ResolvedRetryOptions): ResolvedRetryOptions {
  const r = resolveRetryOptions(input as never, 'retry', base)
  if (r === false) throw new Error('unexpected false')
  return r
}

describe('resolveRetryOptions', () => {
  it('gives the documented defaults', () => {
    const r = resolved(undefined)
    expect(r).toBe(RETRY_DEFAULTS)
    expect(r.limit).toBe(2)
    expect([...r.methods]).toEqual(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
    expect([...r.statusCodes]).toEqual([408, 429, 500, 502, 503, 504])
    expect([...r.errorCodes]).toEqual(['ERR_NETWORK', 'ERR_CONNECT_TIMEOUT', 'ERR_DNS', 'ERR_HEADERS_TIMEOUT'])
    expect(r.backoff).toEqual({ base: 100, cap: 5_000 })
    expect(r.maxRetryAfter).toBe(30_000)
    expect(r.budget).toEqual({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 })
    expect(r.allowNonIdempotent).toBe(false)
  })

  it('false turns retries off', () => {
    expect(resolveRetryOptions(false)).toBe(false)
  })

  it('merges partial input over the defaults, nested objects included', () => {
    const r = resolved({ limit: 5, backoff: { cap: 1_000 }, budget: { ratio: 0.5 } })
    expect(r.limit).toBe(5)
    expect(r.backoff).toEqual({ base: 100, cap: 1_000 })
    expect(r.budget).toEqual({ ratio: 0.5, minPerSecond: 10, windowMs: 10_000 })
    expect(r.methods).toBe(RETRY_DEFAULTS.methods)
  })

  it('upper-cases methods', () => {
    expect([...resolved({ methods: ['get', 'Post'] }).methods]).toEqual(['GET', 'POST'])
  })

  it('merges a per-call override over the client options (the base)', () => {
    const client = resolved({ limit: 4, budget: false })
    const call = resolved({ allowNonIdempotent: true }, client)
    expect(call.limit).toBe(4)
    expect(call.budget).toBe(false)
    expect(call.allowNonIdempotent).toBe(true)
    // A budget object over a base without budget starts from the defaults.
    expect(resolved({ budget: { windowMs: 5_000 } }, client).budget).toEqual({ ratio: 0.2, minPerSecond: 10, windowMs: 5_000 })
  })

  it('accepts budget: false, limit 0, maxRetryAfter Infinity and an empty methods list', () => {
    const r = resolved({ budget: false, limit: 0, maxRetryAfter: Infinity, methods: [] })
    expect(r.budget).toBe(false)
    expect(r.limit).toBe(0)
    expect(r.maxRetryAfter).toBe(Infinity)
    expect(r.methods.size).toBe(0)
  })

  const invalid: [string, unknown, string][] = [
    ['not an object', true, 'retry must be an object or false, got true'],
    ['null', null, 'retry must be an object or false, got null'],
    ['an array', [1], 'retry must be an object or false, got [1]'],
    ['unknown key', { limt: 1 }, 'retry.limt is not a known option'],
    ['negative limit', { limit: -1 }, 'retry.limit must be a non-negative integer, got -1'],
    ['fractional limit', { limit: 1.5 }, 'retry.limit must be a non-negative integer, got 1.5'],
    ['string limit', { limit: '2' }, 'retry.limit must be a non-negative integer, got "2"'],
    ['methods not an array', { methods: 'GET' }, 'retry.methods must be an array, got "GET"'],
    ['bad method', { methods: ['GET', 'GE T'] }, 'retry.methods[1] must be an HTTP method name, got "GE T"'],
    ['status 200', { statusCodes: [503, 200] }, 'retry.statusCodes[1] must be an integer status between 400 and 599, got 200'],
    ['status 600', { statusCodes: [600] }, 'retry.statusCodes[0] must be an integer status between 400 and 599, got 600'],
    ['status string', { statusCodes: ['503'] }, 'retry.statusCodes[0] must be an integer status between 400 and 599, got "503"'],
    ['final error code', { errorCodes: ['ERR_ABORTED'] }, 'retry.errorCodes[0] must be one of ERR_NETWORK, ERR_CONNECT_TIMEOUT'],
    ['unknown error code', { errorCodes: ['ERR_NETWROK'] }, 'retry.errorCodes[0] must be one of'],
    ['backoff not an object', { backoff: 100 }, 'retry.backoff must be an object, got 100'],
    ['backoff unknown key', { backoff: { max: 1 } }, 'retry.backoff.max is not a known option'],
    ['negative base', { backoff: { base: -1 } }, 'retry.backoff.base must be a finite number of milliseconds >= 0, got -1'],
    ['infinite cap', { backoff: { cap: Infinity } }, 'retry.backoff.cap must be a finite number of milliseconds >= 0, got Infinity'],
    ['NaN maxRetryAfter', { maxRetryAfter: NaN }, 'retry.maxRetryAfter must be a number of milliseconds >= 0 (or Infinity), got NaN'],
    ['budget true', { budget: true }, 'retry.budget must be an object or false, got true'],
    ['budget ratio negative', { budget: { ratio: -0.1 } }, 'retry.budget.ratio must be a finite number >= 0, got -0.1'],
    ['budget minPerSecond string', { budget: { minPerSecond: 'ten' } }, 'retry.budget.minPerSecond must be a finite number >= 0, got "ten"'],
    ['budget windowMs 0', { budget: { windowMs: 0 } }, 'retry.budget.windowMs must be a finite number of milliseconds > 0, got 0'],
    ['budget unknown key', { budget: { ttl: 1 } }, 'retry.budget.ttl is not a known option'],
    ['allowNonIdempotent string', { allowNonIdempotent: 'yes' }, 'retry.allowNonIdempotent must be a boolean, got "yes"'],
  ]
  it.each(invalid)('refuses %s with ERR_INVALID_OPTION naming the option', (_name, input, message) => {
    let caught: unknown
    try {
      resolveRetryOptions(input as never)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(SafeFetchError)
    expect((caught as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    expect((caught as SafeFetchError).message).toContain(message)
  })

  it('names the path it is given (per-call options)', () => {
    expect(() => resolveRetryOptions({ limit: -2 }, 'init.retry')).toThrow('init.retry.limit must be a non-negative integer, got -2')
  })
})
