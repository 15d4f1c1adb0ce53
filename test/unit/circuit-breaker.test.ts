import { describe, expect, it } from 'vitest'
import { SafeFetchError, type ErrorCode } from '../../src/errors.js'
import {
  BREAKER_DEFAULTS,
  CircuitBreaker,
  CircuitBreakers,
  errorOutcome,
  resolveBreakerOptions,
  statusOutcome,
  type BreakerOutcome,
  type ResolvedBreakerOptions,
} from '../../src/resilience/circuit-breaker.js'
import { Clock } from '../support/clocks.js'

const SMALL: ResolvedBreakerOptions = { failureRatio: 0.5, minCalls: 4, windowMs: 10_000, cooldownMs: 5_000, halfOpenCalls: 2, maxOrigins: 3 }

/** Runs one call through the breaker: acquire, then report. Returns false when refused. */
function call(breaker: CircuitBreaker, outcome: BreakerOutcome): boolean {
  const permit = breaker.acquire()
  if (permit < 0) return false
  breaker.release(permit, outcome)
  return true
}

describe('statusOutcome / errorOutcome', () => {
  it.each([
    [200, 'success'],
    [304, 'success'],
    [404, 'success'],
    [429, 'success'],
    [500, 'failure'],
    [501, 'success'],
    [502, 'failure'],
    [503, 'failure'],
    [504, 'failure'],
    [505, 'success'],
    [599, 'failure'],
  ] as [number, BreakerOutcome][])('status %i -> %s', (status, expected) => {
    expect(statusOutcome(status)).toBe(expected)
  })

  it.each([
    ['ERR_NETWORK', 'failure'],
    ['ERR_DNS', 'failure'],
    ['ERR_CONNECT_TIMEOUT', 'failure'],
    ['ERR_HEADERS_TIMEOUT', 'failure'],
    ['ERR_READ_TIMEOUT', 'failure'],
    ['ERR_TLS', 'failure'],
    ['ERR_BAD_RESPONSE', 'failure'],
    ['ERR_ABORTED', 'ignore'],
    ['ERR_DEADLINE_EXCEEDED', 'ignore'],
    ['ERR_ADDRESS_BLOCKED', 'ignore'],
    ['ERR_URL_BLOCKED', 'ignore'],
    ['ERR_CIRCUIT_OPEN', 'ignore'],
  ] as [ErrorCode, BreakerOutcome][])('%s -> %s', (code, expected) => {
    expect(errorOutcome(new SafeFetchError(code, 'x'))).toBe(expected)
  })

  it('ignores things that are not errors with a code', () => {
    expect(errorOutcome(new Error('x'))).toBe('ignore')
    expect(errorOutcome(undefined)).toBe('ignore')
    expect(errorOutcome('ERR_NETWORK')).toBe('ignore')
  })
})

describe('CircuitBreaker', () => {
  it('stays closed below minCalls even if every call failed', () => {
    const breaker = new CircuitBreaker(SMALL, new Clock(1_000).now)
    for (let i = 0; i < 3; i++) expect(call(breaker, 'failure')).toBe(true)
    expect(breaker.state).toBe('closed')
  })

  it('opens when failures reach failureRatio of at least minCalls calls, then refuses', () => {
    const c = new Clock(1_000)
    const breaker = new CircuitBreaker(SMALL, c.now)
    call(breaker, 'success')
    call(breaker, 'success')
    call(breaker, 'failure')
    expect(breaker.state).toBe('closed')
    call(breaker, 'failure') // 2 of 4 = 0.5
    expect(breaker.state).toBe('open')
    expect(breaker.acquire()).toBe(-1)
    c.t += 1_000
    expect(breaker.retryInMs()).toBe(4_000)
    expect(breaker.snapshot()).toEqual({ state: 'open', calls: 0, failures: 0, retryInMs: 4_000 })
  })

  it('ignored outcomes do not count', () => {
    const breaker = new CircuitBreaker(SMALL, new Clock(1_000).now)
    for (let i = 0; i < 10; i++) call(breaker, 'ignore')
    call(breaker, 'failure')
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 1 })
  })

  it('forgets failures that left the window', () => {
    const c = new Clock(1_000)
    const breaker = new CircuitBreaker(SMALL, c.now)
    call(breaker, 'failure')
    call(breaker, 'failure')
    call(breaker, 'failure')
    c.t += 10_000
    call(breaker, 'failure')
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 1 })
  })

  function opened(c = new Clock(1_000)): CircuitBreaker {
    const breaker = new CircuitBreaker(SMALL, c.now)
    for (let i = 0; i < 4; i++) call(breaker, 'failure')
    expect(breaker.state).toBe('open')
    return breaker
  }

  it('after the cool-down admits halfOpenCalls trials, and closes when they all succeed', () => {
    const c = new Clock(1_000)
    const breaker = opened(c)
    c.t += 4_999
    expect(breaker.acquire()).toBe(-1)
    c.t += 1
    expect(breaker.state).toBe('half-open')
    const a = breaker.acquire()
    const b = breaker.acquire()
    expect(a).toBeGreaterThanOrEqual(0)
    expect(b).toBeGreaterThanOrEqual(0)
    expect(breaker.acquire()).toBe(-1) // only 2 trials at a time
    breaker.release(a, 'success')
    expect(breaker.state).toBe('half-open')
    breaker.release(b, 'success')
    expect(breaker.state).toBe('closed')
    expect(call(breaker, 'success')).toBe(true)
    // A fresh window: the failures that opened it are gone.
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 0 })
  })

  it('re-opens on the first failed trial, with a new cool-down', () => {
    const c = new Clock(1_000)
    const breaker = opened(c)
    c.t += 5_000
    const a = breaker.acquire()
    const b = breaker.acquire()
    breaker.release(a, 'failure')
    expect(breaker.state).toBe('open')
    expect(breaker.retryInMs()).toBe(5_000)
    // The other trial's late success belongs to a state that is gone.
    breaker.release(b, 'success')
    expect(breaker.state).toBe('open')
  })

  it('an ignored trial gives its place to another call', () => {
    const c = new Clock(1_000)
    const breaker = opened(c)
    c.t += 5_000
    const a = breaker.acquire()
    const b = breaker.acquire()
    expect(breaker.acquire()).toBe(-1)
    breaker.release(a, 'ignore')
    const d = breaker.acquire()
    expect(d).toBeGreaterThanOrEqual(0)
    breaker.release(b, 'success')
    breaker.release(d, 'success')
    expect(breaker.state).toBe('closed')
  })

  it('ignores outcomes of calls admitted before the breaker opened', () => {
    const c = new Clock(1_000)
    const breaker = new CircuitBreaker(SMALL, c.now)
    const straggler = breaker.acquire()
    for (let i = 0; i < 4; i++) call(breaker, 'failure')
    expect(breaker.state).toBe('open')
    c.t += 5_000
    const trial = breaker.acquire()
    breaker.release(straggler, 'failure') // must not re-open the half-open breaker
    expect(breaker.state).toBe('half-open')
    breaker.release(trial, 'success')
    expect(call(breaker, 'success')).toBe(true)
    expect(breaker.state).toBe('closed')
  })

  it('a cool-down of 0 goes straight to half-open', () => {
    const breaker = new CircuitBreaker({ ...SMALL, cooldownMs: 0 }, new Clock(1_000).now)
    for (let i = 0; i < 4; i++) call(breaker, 'failure')
    expect(breaker.state).toBe('half-open')
    expect(breaker.acquire()).toBeGreaterThanOrEqual(0)
  })
})

describe('CircuitBreakers', () => {
  it('keeps one breaker per origin and at most maxOrigins of them (LRU)', () => {
    const c = new Clock(1_000)
    const breakers = new CircuitBreakers(SMALL, c.now)
    const a = breakers.get('https://a.example')
    expect(breakers.get('https://a.example')).toBe(a)
    breakers.get('https://b.example')
    breakers.get('https://c.example')
    breakers.get('https://a.example') // a is now the most recently used
    breakers.get('https://d.example') // evicts b
    expect(breakers.size).toBe(3)
    expect(breakers.peek('https://b.example')).toBeUndefined()
    expect(breakers.peek('https://a.example')).toBe(a)
  })

  it('snapshot() lists the origins with something to say', () => {
    const c = new Clock(1_000)
    const breakers = new CircuitBreakers(SMALL, c.now)
    breakers.get('https://quiet.example')
    for (let i = 0; i < 4; i++) call(breakers.get('https://down.example'), 'failure')
    call(breakers.get('https://busy.example'), 'success')
    expect(breakers.snapshot()).toEqual({
      'https://down.example': { state: 'open', calls: 0, failures: 0, retryInMs: 5_000 },
      'https://busy.example': { state: 'closed', calls: 1, failures: 0, retryInMs: 0 },
    })
  })
})

describe('resolveBreakerOptions', () => {
  it('is off by default; true gives the documented defaults', () => {
    expect(resolveBreakerOptions(undefined)).toBe(false)
    expect(resolveBreakerOptions(false)).toBe(false)
    expect(resolveBreakerOptions(true)).toBe(BREAKER_DEFAULTS)
    expect(BREAKER_DEFAULTS).toEqual({ failureRatio: 0.5, minCalls: 20, windowMs: 30_000, cooldownMs: 15_000, halfOpenCalls: 3, maxOrigins: 1_000 })
  })

  it('merges an object over the defaults', () => {
    expect(resolveBreakerOptions({ minCalls: 5, cooldownMs: 0 })).toEqual({ ...BREAKER_DEFAULTS, minCalls: 5, cooldownMs: 0 })
  })

  it.each([
    [{ failureRatio: 0 }, 'breaker.failureRatio must be a number > 0 and <= 1, got 0'],
    [{ failureRatio: 1.5 }, 'breaker.failureRatio must be a number > 0 and <= 1, got 1.5'],
    [{ minCalls: 0 }, 'breaker.minCalls must be a positive integer, got 0'],
    [{ windowMs: -1 }, 'breaker.windowMs must be a finite number of milliseconds > 0, got -1'],
    [{ cooldownMs: 'soon' }, 'breaker.cooldownMs must be a finite number of milliseconds >= 0, got "soon"'],
    [{ halfOpenCalls: 1.5 }, 'breaker.halfOpenCalls must be a positive integer, got 1.5'],
    [{ maxOrigins: 0 }, 'breaker.maxOrigins must be a positive integer, got 0'],
    [{ ratio: 0.5 }, 'breaker.ratio is not a known option'],
    ['on', 'breaker must be a boolean or an object, got "on"'],
  ])('refuses %j', (input, message) => {
    expect(() => resolveBreakerOptions(input as never)).toThrow(message)
    try {
      resolveBreakerOptions(input as never)
    } catch (err) {
      expect((err as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    }
  })
})
