import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CallSignal } from '../../src/call-signal.js'
import { SafeFetchError } from '../../src/errors.js'
import { ConcurrencyLimit, resolveMaxConcurrent, type Release } from '../../src/resilience/concurrency-limit.js'
import { nextTurn } from '../support/waiting.js'

describe('ConcurrencyLimit', () => {
  it('hands out maxConcurrent slots at once, then queues', async () => {
    const limit = new ConcurrencyLimit(2, () => 0)
    const a = limit.tryAcquire()
    const b = await limit.acquire(new CallSignal(), Infinity)
    expect(a).toBeTypeOf('function')
    expect(b).toBeTypeOf('function')
    expect(limit.tryAcquire()).toBeUndefined()
    expect(limit.snapshot()).toEqual({ maxConcurrent: 2, active: 2, queued: 0 })
  })

  it('serves waiters in FIFO order, one freed slot each', async () => {
    const limit = new ConcurrencyLimit(1, () => 0)
    const first = limit.tryAcquire()!
    const order: string[] = []
    const releases: Release[] = []
    for (const name of ['a', 'b', 'c']) {
      void limit.acquire(new CallSignal(), Infinity).then((release) => {
        order.push(name)
        releases.push(release)
      })
    }
    expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 1, queued: 3 })
    // A newcomer does not overtake the queue even when a slot is about to free up.
    first()
    expect(limit.tryAcquire()).toBeUndefined()
    await nextTurn()
    expect(order).toEqual(['a'])
    releases[0]!()
    await nextTurn()
    releases[1]!()
    await nextTurn()
    expect(order).toEqual(['a', 'b', 'c'])
    releases[2]!()
    expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 0, queued: 0 })
  })

  it('release is idempotent', () => {
    const limit = new ConcurrencyLimit(2, () => 0)
    const a = limit.tryAcquire()!
    limit.tryAcquire()
    a()
    a()
    expect(limit.snapshot().active).toBe(1)
  })

  it('an aborted waiter leaves the queue at once with the signal reason, and the slot goes to the next', async () => {
    const limit = new ConcurrencyLimit(1, () => 0)
    const held = limit.tryAcquire()!
    const signalA = new CallSignal()
    const a = limit.acquire(signalA, Infinity)
    const b = limit.acquire(new CallSignal(), Infinity)
    const reason = new SafeFetchError('ERR_ABORTED', 'caller gave up')
    signalA.abort(reason)
    await expect(a).rejects.toBe(reason)
    expect(limit.snapshot().queued).toBe(1)
    held()
    const releaseB = await b
    expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 1, queued: 0 })
    releaseB()
    expect(limit.snapshot().active).toBe(0)
  })

  it('removes a waiter from the middle of the queue', async () => {
    const limit = new ConcurrencyLimit(1, () => 0)
    const held = limit.tryAcquire()!
    const signals = [new CallSignal(), new CallSignal(), new CallSignal()]
    const got: number[] = []
    const waits = signals.map((s, i) =>
      limit.acquire(s, Infinity).then(
        (release) => {
          got.push(i)
          release()
        },
        () => got.push(-i),
      ),
    )
    signals[1]!.abort(new SafeFetchError('ERR_ABORTED', 'x'))
    held()
    await Promise.all(waits)
    expect(got).toEqual([-1, 0, 2])
    expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 0, queued: 0 })
  })

  it('rejects at once when already aborted or already past the deadline', async () => {
    const limit = new ConcurrencyLimit(1, () => 100)
    limit.tryAcquire()
    const signal = new CallSignal()
    const reason = new SafeFetchError('ERR_ABORTED', 'x')
    signal.abort(reason)
    await expect(limit.acquire(signal, Infinity)).rejects.toBe(reason)
    await expect(limit.acquire(new CallSignal(), 100)).rejects.toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' })
    expect(limit.snapshot().queued).toBe(0)
  })

  it('a free slot is given even to a call whose deadline has passed (the next layer reports it)', async () => {
    const limit = new ConcurrencyLimit(1, () => 100)
    await expect(limit.acquire(new CallSignal(), 50)).resolves.toBeTypeOf('function')
  })

  describe('deadline while queued', () => {
    beforeEach(() => {
      vi.useFakeTimers()
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    it('leaves the queue with ERR_DEADLINE_EXCEEDED when the deadline passes first', async () => {
      const c = { t: 1_000 }
      const limit = new ConcurrencyLimit(1, () => c.t)
      const held = limit.tryAcquire()!
      const signal = new CallSignal()
      const waiting = limit.acquire(signal, 1_250)
      const settled = vi.fn()
      waiting.then(settled, settled)
      await vi.advanceTimersByTimeAsync(249)
      expect(settled).not.toHaveBeenCalled()
      await vi.advanceTimersByTimeAsync(1)
      await expect(waiting).rejects.toMatchObject({
        code: 'ERR_DEADLINE_EXCEEDED',
        message: 'deadline exceeded while waiting for a concurrency slot (maxConcurrent 1)',
      })
      expect(limit.snapshot().queued).toBe(0)
      // The abort listener was removed with it: aborting later does nothing.
      signal.abort(new SafeFetchError('ERR_ABORTED', 'late'))
      held()
      expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 0, queued: 0 })
      expect(vi.getTimerCount()).toBe(0)
    })

    it('a freed slot skips waiters whose deadline has passed (their timers have not fired yet) for the next live one', async () => {
      const c = { t: 0 }
      const limit = new ConcurrencyLimit(1, () => c.t)
      const held = limit.tryAcquire()!
      const expired = limit.acquire(new CallSignal(), 100)
      const live = limit.acquire(new CallSignal(), 10_000)
      const outcomes: string[] = []
      void expired.then(
        () => outcomes.push('expired got a slot'),
        (err: SafeFetchError) => outcomes.push(`expired ${err.code}`),
      )
      void live.then(() => outcomes.push('live got a slot'))
      // The clock passes the first deadline, but its timer has not run: the slot is freed first.
      c.t = 150
      held()
      await vi.advanceTimersByTimeAsync(0)
      expect(outcomes).toEqual(['expired ERR_DEADLINE_EXCEEDED', 'live got a slot'])
      expect(limit.snapshot()).toEqual({ maxConcurrent: 1, active: 1, queued: 0 })
      expect(vi.getTimerCount()).toBe(0)
    })

    it('clears its deadline timer when it gets a slot', async () => {
      const limit = new ConcurrencyLimit(1, () => 0)
      const held = limit.tryAcquire()!
      const waiting = limit.acquire(new CallSignal(), 10_000)
      expect(vi.getTimerCount()).toBe(1)
      held()
      await waiting
      expect(vi.getTimerCount()).toBe(0)
    })
  })
})

describe('resolveMaxConcurrent', () => {
  it.each([
    [undefined, undefined],
    [Infinity, undefined],
    [1, 1],
    [64, 64],
  ])('%s -> %s', (input, expected) => {
    expect(resolveMaxConcurrent(input)).toBe(expected)
  })

  it.each([0, -1, 1.5, '4', null])('refuses %j', (input) => {
    expect(() => resolveMaxConcurrent(input)).toThrow(/^maxConcurrent must be a positive integer, got /)
  })
})
