import { describe, expect, it } from 'vitest'
import { RetryBudget } from '../../src/retry/retry-budget.js'
import { Clock } from '../support/clocks.js'

describe('RetryBudget', () => {
  it('allows the floor (minPerSecond × window) even without requests', () => {
    const c = new Clock(0)
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, c.now)
    let granted = 0
    for (let i = 0; i < 50; i++) if (budget.tryRetry()) granted++
    expect(granted).toBe(10)
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 10, allowed: 10, available: 0, refused: 40 })
  })

  it('allows ratio × requests under load, not ratio + floor', () => {
    const c = new Clock(0)
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }, c.now)
    for (let i = 0; i < 1_000; i++) budget.recordRequest()
    let granted = 0
    for (let i = 0; i < 1_000; i++) if (budget.tryRetry()) granted++
    expect(granted).toBe(200)
  })

  it('needs a whole retry: 7 requests at 20% allow one retry, not two', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, windowMs: 1_000 }, () => 0)
    for (let i = 0; i < 7; i++) budget.recordRequest()
    expect([budget.tryRetry(), budget.tryRetry()]).toEqual([true, false])
  })

  it('ratio 0 and no floor: never', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, windowMs: 1_000 }, () => 0)
    budget.recordRequest()
    expect(budget.tryRetry()).toBe(false)
  })

  it('refills as old requests and retries leave the window', () => {
    const c = new Clock(0)
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, windowMs: 10_000 }, c.now)
    for (let i = 0; i < 4; i++) budget.recordRequest()
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, false])
    c.t = 5_000
    for (let i = 0; i < 4; i++) budget.recordRequest()
    // 8 requests in the window allow 4 retries, 2 already spent.
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, false])
    // At 10 s the first second's bucket (4 requests, 2 retries) is gone: 4 requests allow 2, 2 spent.
    c.t = 10_000
    expect(budget.snapshot()).toMatchObject({ requests: 4, retries: 2, allowed: 2, available: 0 })
    c.t = 15_000
    expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 0, available: 0 })
    expect(budget.snapshot().refused).toBe(2)
  })

  it('snapshot() reports the options', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }, () => 0)
    expect(budget.snapshot()).toEqual({
      ratio: 0.2,
      minPerSecond: 10,
      windowMs: 10_000,
      requests: 0,
      retries: 0,
      allowed: 100,
      available: 100,
      refused: 0,
    })
  })
})
