import { afterEach, describe, expect, it, vi } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { concurrencyGateLayer } from '../../src/layers/concurrency-gate.js'
import type { RawResponse } from '../../src/types.js'
import { ConcurrencyLimit } from '../../src/resilience/concurrency-limit.js'
import { fakeContext } from '../support/contexts.js'
import { request, response, scripted } from '../support/handlers.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('concurrency gate layer', () => {
  it('holds the slot until the body settles, then the next call gets it', async () => {
    const limit = new ConcurrencyLimit(1)
    const first = response(200)
    const next = scripted(first, response(200))
    const handler = concurrencyGateLayer(limit)(next)
    expect(handler.name).toBe('concurrencyGate')
    const res = await handler(request(), fakeContext())
    expect(limit.snapshot()).toMatchObject({ active: 1 })
    const ctx2 = fakeContext()
    const second = handler(request(), ctx2)
    await new Promise((r) => setImmediate(r))
    expect(next.attempts.length).toBe(1)
    expect(limit.snapshot()).toMatchObject({ active: 1, queued: 1 })
    // The caller cancels (or finishes reading) the first body: its settle releases the slot.
    await res.body!.cancel()
    await second
    expect(next.attempts.length).toBe(2)
    expect(ctx2.record.timings.queued).toBeGreaterThanOrEqual(0)
  })

  it('releases at once for a response without settle, and when next throws', async () => {
    const limit = new ConcurrencyLimit(1)
    const bare: RawResponse = { status: 204, statusText: '', headers: {}, body: null, url: new URL('https://api.example.test/') }
    const error = new SafeFetchError('ERR_NETWORK', 'x')
    const handler = concurrencyGateLayer(limit)(scripted(bare, error))
    await handler(request(), fakeContext())
    expect(limit.snapshot().active).toBe(0)
    await expect(handler(request(), fakeContext())).rejects.toBe(error)
    expect(limit.snapshot().active).toBe(0)
  })

  it('a queued call obeys its deadline and leaves the queue', async () => {
    vi.useFakeTimers()
    const limit = new ConcurrencyLimit(1)
    const held = limit.tryAcquire()!
    const next = scripted(response(200))
    const ctx = fakeContext({ remainingMs: 500 })
    const waiting = concurrencyGateLayer(limit)(next)(request(), ctx)
    const outcome = waiting.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(500)
    expect(await outcome).toMatchObject({ code: 'ERR_DEADLINE_EXCEEDED' })
    expect(next.attempts).toEqual([])
    expect(limit.snapshot()).toMatchObject({ active: 1, queued: 0 })
    held()
  })

  it('a queued call that is aborted leaves the queue with the abort reason', async () => {
    const limit = new ConcurrencyLimit(1)
    limit.tryAcquire()
    const ctx = fakeContext()
    const waiting = concurrencyGateLayer(limit)(scripted(response(200)))(request(), ctx)
    const reason = new SafeFetchError('ERR_ABORTED', 'x')
    ctx.signal.abort(reason)
    await expect(waiting).rejects.toBe(reason)
    expect(limit.snapshot().queued).toBe(0)
  })
})
