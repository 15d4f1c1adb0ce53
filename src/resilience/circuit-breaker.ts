/**
 * A circuit breaker per origin (`url.origin`). While an origin keeps failing, calls to it fail at
 * once with ERR_CIRCUIT_OPEN instead of each waiting for its own timeout, which spares both the
 * caller's threads of work and the struggling origin. See docs/circuit-breaker.md.
 *
 *   closed     calls go through; outcomes are counted in a rolling window of buckets. When at
 *              least `minCalls` were seen and `failureRatio` of them failed, the breaker opens.
 *   open       calls are refused for `cooldownMs`.
 *   half-open  up to `halfOpenCalls` trial calls go through; if they all succeed the breaker
 *              closes (with a fresh window), the first failure opens it again.
 *
 * Each admitted call holds a permit: the generation of the state it was admitted in. An outcome
 * reported with a permit of an older generation (a call that started before the breaker opened)
 * is ignored, so a slow straggler cannot close or re-open a breaker that has moved on.
 */
import { LRUCache } from 'lru-cache'
import { ORIGIN_FAILURE_CODES, type ErrorCode } from '../errors.js'
import { checkDuration, checkKnownKeys, checkPositiveDuration, checkPositiveInteger, checkRatio, invalidOption, isPlainObject } from '../option-checks.js'
import { RollingCounts } from '../retry/rolling-counts.js'

export interface BreakerOptions {
  /** Share of failed calls in the window that opens the breaker, in (0, 1]. Default 0.5. */
  failureRatio?: number
  /** Calls the window must hold before the ratio is trusted. Default 20. */
  minCalls?: number
  /** Milliseconds. Length of the rolling window of outcomes. Default 30000. */
  windowMs?: number
  /** Milliseconds. How long an open breaker refuses calls before trying again. Default 15000. */
  cooldownMs?: number
  /** Trial calls let through when half-open; all must succeed to close. Default 3. */
  halfOpenCalls?: number
  /** Origins tracked at most; the least recently used breaker is dropped past it. Default 1000. */
  maxOrigins?: number
}

export interface ResolvedBreakerOptions {
  readonly failureRatio: number
  readonly minCalls: number
  readonly windowMs: number
  readonly cooldownMs: number
  readonly halfOpenCalls: number
  readonly maxOrigins: number
}

export const BREAKER_DEFAULTS: ResolvedBreakerOptions = Object.freeze({
  failureRatio: 0.5,
  minCalls: 20,
  windowMs: 30_000,
  cooldownMs: 15_000,
  halfOpenCalls: 3,
  maxOrigins: 1_000,
})

const BREAKER_KEYS = ['failureRatio', 'minCalls', 'windowMs', 'cooldownMs', 'halfOpenCalls', 'maxOrigins'] as const

/**
 * Off by default (docs/circuit-breaker.md says why): `undefined` and `false` give false, `true`
 * gives the defaults, an object is merged over `base`.
 */
export function resolveBreakerOptions(
  input: BreakerOptions | boolean | undefined,
  path = 'breaker',
  base: ResolvedBreakerOptions = BREAKER_DEFAULTS,
): ResolvedBreakerOptions | false {
  if (input === undefined || input === false) return false
  if (input === true) return base
  if (!isPlainObject(input)) throw invalidOption(path, 'must be a boolean or an object', input)
  checkKnownKeys(path, input, BREAKER_KEYS)
  const raw = input as Record<string, unknown>
  const pick = <T>(key: (typeof BREAKER_KEYS)[number], check: (p: string, v: unknown) => T, fallback: T): T =>
    raw[key] === undefined ? fallback : check(`${path}.${key}`, raw[key])
  return {
    failureRatio: pick('failureRatio', (p, v) => checkRatio(p, v, 0, 1, false), base.failureRatio),
    minCalls: pick('minCalls', checkPositiveInteger, base.minCalls),
    windowMs: pick('windowMs', checkPositiveDuration, base.windowMs),
    cooldownMs: pick('cooldownMs', (p, v) => checkDuration(p, v), base.cooldownMs),
    halfOpenCalls: pick('halfOpenCalls', checkPositiveInteger, base.halfOpenCalls),
    maxOrigins: pick('maxOrigins', checkPositiveInteger, base.maxOrigins),
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/** How a call ended, as far as the origin's health goes. `ignore` says nothing about the origin. */
export type BreakerOutcome = 'success' | 'failure' | 'ignore'

/** Failures that say the origin is unwell (errors.ts): it could not be reached, did not answer in time, or answered garbage. */
const FAILURE_CODES = ORIGIN_FAILURE_CODES

/**
 * Server errors count as failures, except 501 Not Implemented and 505 HTTP Version Not Supported
 * (RFC 9110 §15.6.2, §15.6.6): they describe the request, not the server's health. 4xx (429
 * included) are the caller's business and count as successes: the origin answered.
 */
export function statusOutcome(status: number): BreakerOutcome {
  return status >= 500 && status !== 501 && status !== 505 ? 'failure' : 'success'
}

/**
 * Errors from `FAILURE_CODES` count as failures. Everything else is ignored: a user abort, the
 * call's own deadline, our SSRF policy or a bad URL say nothing about the origin.
 */
export function errorOutcome(error: unknown): BreakerOutcome {
  const code = (error as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' && FAILURE_CODES.has(code as ErrorCode) ? 'failure' : 'ignore'
}

export interface BreakerSnapshot {
  readonly state: BreakerState
  /** Outcomes counted in the current window (closed state). */
  readonly calls: number
  readonly failures: number
  /** Milliseconds until an open breaker lets trial calls through; 0 otherwise. */
  readonly retryInMs: number
}

const CALLS = 0
const FAILURES = 1

export class CircuitBreaker {
  private readonly options: ResolvedBreakerOptions
  private readonly now: () => number
  private readonly window: RollingCounts
  private current: BreakerState = 'closed'
  private generation = 0
  private openedAt = 0
  private trialsAdmitted = 0
  private trialSuccesses = 0

  /** @param now milliseconds on a monotonic clock (performance.now, or a test clock) */
  constructor(options: ResolvedBreakerOptions, now: () => number = () => performance.now()) {
    this.options = options
    this.now = now
    this.window = new RollingCounts(2, options.windowMs, 10, now)
  }

  /** The state as of now (an open breaker whose cool-down is over reads as half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) return 'half-open'
    return this.current
  }

  /**
   * Asks to make a call. Returns a permit (>= 0) to pass to `release()` when the call ends, or -1
   * when the breaker refuses the call. Every permit must be released exactly once.
   */
  acquire(): number {
    if (this.current === 'closed') return this.generation
    if (this.current === 'open') {
      if (this.now() - this.openedAt < this.options.cooldownMs) return -1
      this.moveTo('half-open')
    }
    if (this.trialsAdmitted >= this.options.halfOpenCalls) return -1
    this.trialsAdmitted++
    return this.generation
  }

  /** Reports how the call admitted with `permit` ended. */
  release(permit: number, outcome: BreakerOutcome): void {
    if (permit !== this.generation) return
    if (this.current === 'closed') {
      if (outcome === 'ignore') return
      this.window.add(CALLS)
      if (outcome === 'success') return
      this.window.add(FAILURES)
      const calls = this.window.total(CALLS)
      if (calls >= this.options.minCalls && this.window.total(FAILURES) >= this.options.failureRatio * calls) {
        this.moveTo('open')
      }
      return
    }
    if (this.current !== 'half-open') return
    if (outcome === 'ignore') {
      // The trial told us nothing (aborted by its caller): give its place to another call.
      this.trialsAdmitted--
    } else if (outcome === 'failure') {
      this.moveTo('open')
    } else if (++this.trialSuccesses >= this.options.halfOpenCalls) {
      this.moveTo('closed')
    }
  }

  /** Milliseconds until an open breaker admits trial calls; 0 when it admits calls now. */
  retryInMs(): number {
    if (this.current !== 'open') return 0
    return Math.max(0, this.options.cooldownMs - (this.now() - this.openedAt))
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      calls: this.window.total(CALLS),
      failures: this.window.total(FAILURES),
      retryInMs: this.retryInMs(),
    }
  }

  private moveTo(state: BreakerState): void {
    this.current = state
    this.generation++
    this.trialsAdmitted = 0
    this.trialSuccesses = 0
    if (state === 'open') this.openedAt = this.now()
    // Each state judges the origin afresh: old failures must not re-open a breaker that just closed.
    this.window.reset()
  }
}

/**
 * The breakers of one client, one per origin, created on first use. Bounded: past `maxOrigins` the
 * least recently used breaker is dropped (a client that talks to an unbounded set of hosts must
 * not grow without limit). Dropping an open breaker only means its origin gets a fresh one.
 */
export class CircuitBreakers {
  readonly options: ResolvedBreakerOptions
  private readonly now: () => number
  private readonly breakers: LRUCache<string, CircuitBreaker>

  constructor(options: ResolvedBreakerOptions, now: () => number = () => performance.now()) {
    this.options = options
    this.now = now
    this.breakers = new LRUCache<string, CircuitBreaker>({ max: options.maxOrigins })
  }

  /** The breaker for `origin` (as `URL.origin` spells it), created closed if there is none. */
  get(origin: string): CircuitBreaker {
    let breaker = this.breakers.get(origin)
    if (breaker === undefined) {
      breaker = new CircuitBreaker(this.options, this.now)
      this.breakers.set(origin, breaker)
    }
    return breaker
  }

  /** The breaker for `origin` if one exists, without creating it or refreshing its recency. */
  peek(origin: string): CircuitBreaker | undefined {
    return this.breakers.peek(origin)
  }

  get size(): number {
    return this.breakers.size
  }

  /** State per origin, for `client.stats()`. Closed breakers with an empty window are left out. */
  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {}
    for (const [origin, breaker] of this.breakers.entries()) {
      const snap = breaker.snapshot()
      if (snap.state !== 'closed' || snap.calls !== 0) out[origin] = snap
    }
    return out
  }
}
