import { afterEach, describe, expect, it, vi } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { retryLayer, type RetryLayerDeps } from '../../src/layers/retry.js'
import { RetryBudget } from '../../src/retry/retry-budget.js'
import { RETRY_DEFAULTS, resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions } from '../../src/retry/retry-options.js'
import { fakeContext, type FakeContextInit } from '../support/contexts.js'
import { fakeLogger } from '../support/logs.js'
import { body, request, response, scripted } from '../support/handlers.js'

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0) // Sun, 01 Jun 2025 12:00:00 GMT

function retry(input?: RetryOptions | false): ResolvedRetryOptions | false {
  return resolveRetryOptions(input)
}

function ctxWith(retryOptions: ResolvedRetryOptions | false = RETRY_DEFAULTS, init: FakeContextInit = {}) {
  return fakeContext({ ...init, options: { retry: retryOptions } })
}

/** The layer over `next`, with no jitter wait by default (random 0 gives a 0 ms backoff). */
function layer(next: ReturnType<typeof scripted>, deps: RetryLayerDeps = {}) {
  return retryLayer({ random: () => 0, now: () => NOW, ...deps })(next)
}

function networkError(sys: string): SafeFetchError {
  return new SafeFetchError('ERR_NETWORK', `network error (${sys})`, {
    cause: new TypeError('fetch failed', { cause: Object.assign(new Error(sys), { code: sys }) }),
  })
}

afterEach(() => {
  vi.useRealTimers()
})

describe('retry layer', () => {
  it('returns a good response at once, untouched, after one attempt', async () => {
    const ok = response(200)
    const next = scripted(ok)
    const ctx = ctxWith()
    const logger = fakeLogger()
    const res = await retryLayer({ random: () => 0 })(next)(request(), fakeContext({ options: { retry: RETRY_DEFAULTS }, logger }))
    expect(res).toBe(ok)
    expect(ok.cancelled()).toBe(false)
    expect(next.attempts).toEqual([1])
    expect(logger.warn).not.toHaveBeenCalled()
    await layer(scripted(response(404)))(request(), ctx)
    expect(ctx.record.attempts).toBe(1)
  })

  it('retries 503 twice, sets ctx.attempt and counts attempts, discards failed bodies, logs each retry', async () => {
    const failed = [response(503), response(503)]
    const ok = response(200)
    const next = scripted(failed[0]!, failed[1]!, ok)
    const logger = fakeLogger()
    const ctx = fakeContext({ options: { retry: RETRY_DEFAULTS }, logger })
    const res = await layer(next)(request(), ctx)
    expect(res).toBe(ok)
    expect(next.attempts).toEqual([1, 2, 3])
    expect(ctx.attempt).toBe(3)
    expect(ctx.record.attempts).toBe(3)
    expect(failed.map((r) => r.cancelled())).toEqual([true, true])
    expect(ok.cancelled()).toBe(false)
    expect(ctx.record.attemptLog.map((a) => [a.attempt, a.retryReason, a.retryDelayMs])).toEqual([
      [1, 'status 503', 0],
      [2, 'status 503', 0],
      [3, undefined, undefined],
    ])
    expect(logger.warn.mock.calls).toEqual([
      [{ callId: 'test-1', attempt: 1, reason: 'status 503', delayMs: 0, url: 'https://api.example.test/items' }, 'retrying'],
      [{ callId: 'test-1', attempt: 2, reason: 'status 503', delayMs: 0, url: 'https://api.example.test/items' }, 'retrying'],
    ])
  })

  it('after the limit returns the last failed response as it is (body not read)', async () => {
    const last = response(502)
    const next = scripted(response(502), response(502), last)
    const ctx = ctxWith()
    const res = await layer(next)(request(), ctx)
    expect(res).toBe(last)
    expect(last.cancelled()).toBe(false)
    expect(next.attempts).toEqual([1, 2, 3])
    expect(ctx.record.attemptLog[2]!.retryReason).toBeUndefined()
  })

  it('retries network errors from before any response, then succeeds', async () => {
    const ok = response(200)
    const next = scripted(networkError('ECONNREFUSED'), networkError('ECONNRESET'), ok)
    const ctx = ctxWith()
    await expect(layer(next)(request(), ctx)).resolves.toBe(ok)
    expect(ctx.record.attemptLog.map((a) => a.retryReason)).toEqual(['ERR_NETWORK (ECONNREFUSED)', 'ERR_NETWORK (ECONNRESET)', undefined])
  })

  it('throws the last error unchanged when retries run out', async () => {
    const errors = [networkError('EPIPE'), networkError('EPIPE'), networkError('UND_ERR_SOCKET')]
    const next = scripted(...errors)
    await expect(layer(next)(request(), ctxWith())).rejects.toBe(errors[2])
    expect(next.attempts).toEqual([1, 2, 3])
  })

  it.each([
    ['ERR_ABORTED', new SafeFetchError('ERR_ABORTED', 'x')],
    ['ERR_ADDRESS_BLOCKED', new SafeFetchError('ERR_ADDRESS_BLOCKED', 'x')],
    ['ERR_DEADLINE_EXCEEDED', new SafeFetchError('ERR_DEADLINE_EXCEEDED', 'x')],
    ['ERR_DNS ENOTFOUND', new SafeFetchError('ERR_DNS', 'x', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) })],
    ['a foreign error', new Error('boom')],
  ])('does not retry %s', async (_name, error) => {
    const next = scripted(error, response(200))
    await expect(layer(next)(request(), ctxWith())).rejects.toBe(error)
    expect(next.attempts).toEqual([1])
  })

  it('sends a POST without Idempotency-Key once, on a 503 and on a network error', async () => {
    const failed = response(503)
    const post = request('POST', 'https://api.example.test/orders', { body: body(true) })
    const a = scripted(failed, response(200))
    await expect(layer(a)(post, ctxWith())).resolves.toBe(failed)
    expect(failed.cancelled()).toBe(false)
    expect(a.attempts).toEqual([1])
    const error = networkError('ECONNRESET')
    const b = scripted(error, response(200))
    await expect(layer(b)(post, ctxWith())).rejects.toBe(error)
    expect(b.attempts).toEqual([1])
  })

  it('retries a POST that carries an Idempotency-Key, or when the call allows it', async () => {
    const keyed = request('POST', 'https://api.example.test/orders', { headers: { 'idempotency-key': '8e03978e' }, body: body(true) })
    const a = scripted(response(503), response(201))
    expect((await layer(a)(keyed, ctxWith())).status).toBe(201)
    expect(a.attempts).toEqual([1, 2])
    const plain = request('PATCH', 'https://api.example.test/orders/1', { body: body(true) })
    const b = scripted(networkError('ECONNRESET'), response(200))
    expect((await layer(b)(plain, ctxWith(retry({ allowNonIdempotent: true })))).status).toBe(200)
    expect(b.attempts).toEqual([1, 2])
  })

  it('does not retry a body that cannot be replayed', async () => {
    const failed = response(503)
    const next = scripted(failed, response(200))
    const put = request('PUT', 'https://api.example.test/blob', { body: body(false) })
    await expect(layer(next)(put, ctxWith())).resolves.toBe(failed)
    expect(next.attempts).toEqual([1])
  })

  it('waits exactly Retry-After (delta-seconds) on a 503', async () => {
    vi.useFakeTimers()
    const failed = response(503, { 'retry-after': '1' })
    const next = scripted(failed, response(200))
    const ctx = ctxWith()
    const done = layer(next)(request(), ctx)
    await vi.advanceTimersByTimeAsync(0)
    expect(next.attempts).toEqual([1])
    expect(failed.cancelled()).toBe(true) // discarded before the wait
    await vi.advanceTimersByTimeAsync(999)
    expect(next.attempts).toEqual([1])
    await vi.advanceTimersByTimeAsync(1)
    expect((await done).status).toBe(200)
    expect(next.attempts).toEqual([1, 2])
    expect(ctx.record.attemptLog[0]).toMatchObject({ retryReason: 'status 503, Retry-After', retryDelayMs: 1_000 })
  })

  it('waits until a Retry-After HTTP-date on a 429', async () => {
    vi.useFakeTimers()
    const next = scripted(response(429, { 'retry-after': 'Sun, 01 Jun 2025 12:00:03 GMT' }), response(200))
    const done = layer(next)(request(), ctxWith())
    await vi.advanceTimersByTimeAsync(2_999)
    expect(next.attempts).toEqual([1])
    await vi.advanceTimersByTimeAsync(1)
    expect((await done).status).toBe(200)
  })

  it('returns the response as it is when Retry-After asks for more than maxRetryAfter', async () => {
    const failed = response(503, { 'retry-after': '120' })
    const next = scripted(failed, response(200))
    await expect(layer(next)(request(), ctxWith())).resolves.toBe(failed)
    expect(failed.cancelled()).toBe(false)
    expect(next.attempts).toEqual([1])
  })

  it('returns the response as it is when Retry-After ends after the deadline', async () => {
    const failed = response(503, { 'retry-after': '5' })
    const next = scripted(failed, response(200))
    const ctx = ctxWith(RETRY_DEFAULTS, { remainingMs: 2_000 })
    await expect(layer(next)(request(), ctx)).resolves.toBe(failed)
    expect(next.attempts).toEqual([1])
  })

  it('never sleeps past the deadline: a backoff longer than the time left is not waited for', async () => {
    vi.useFakeTimers()
    const error = networkError('ECONNRESET')
    const next = scripted(error, response(200))
    const ctx = ctxWith(RETRY_DEFAULTS, { remainingMs: 40 })
    // random 0.9 -> a 90 ms backoff for the first retry, more than the 40 ms left.
    await expect(layer(next, { random: () => 0.9 })(request(), ctx)).rejects.toBe(error)
    expect(next.attempts).toEqual([1])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a backoff that fits is waited with a timer (fake clock)', async () => {
    vi.useFakeTimers()
    const next = scripted(response(500), response(500), response(200))
    const done = layer(next, { random: () => 0.5 })(request(), ctxWith())
    await vi.advanceTimersByTimeAsync(49)
    expect(next.attempts).toEqual([1])
    await vi.advanceTimersByTimeAsync(1) // 0.5 * 100
    expect(next.attempts).toEqual([1, 2])
    await vi.advanceTimersByTimeAsync(100) // 0.5 * 200
    expect((await done).status).toBe(200)
  })

  it('a cancelled call stops waiting at once, with the signal reason, and clears its timer', async () => {
    vi.useFakeTimers()
    const next = scripted(response(503, { 'retry-after': '10' }), response(200))
    const ctx = ctxWith()
    const done = layer(next)(request(), ctx)
    const outcome = done.then(
      () => 'resolved',
      (err: unknown) => err,
    )
    await vi.advanceTimersByTimeAsync(100)
    const reason = new SafeFetchError('ERR_ABORTED', 'caller aborted')
    ctx.signal.abort(reason)
    expect(await outcome).toBe(reason)
    expect(vi.getTimerCount()).toBe(0)
    expect(next.attempts).toEqual([1])
  })

  it('does not retry once the call is cancelled, whatever the attempt produced', async () => {
    const ctx = ctxWith()
    const error = networkError('ECONNRESET')
    const next = scripted(async () => {
      ctx.signal.abort(new SafeFetchError('ERR_ABORTED', 'x'))
      throw error
    })
    await expect(layer(next)(request(), ctx)).rejects.toBe(error)
    expect(next.attempts).toEqual([1])
  })

  it('per-call retry: false makes exactly one attempt', async () => {
    const failed = response(503)
    const next = scripted(failed, response(200))
    const ctx = ctxWith(false)
    await expect(layer(next)(request(), ctx)).resolves.toBe(failed)
    expect(next.attempts).toEqual([1])
    expect(ctx.record.attempts).toBe(1)
  })

  it('headers timeout is retried for GET', async () => {
    const next = scripted(new SafeFetchError('ERR_HEADERS_TIMEOUT', 'slow'), response(200))
    expect((await layer(next)(request(), ctxWith())).status).toBe(200)
    expect(next.attempts).toEqual([1, 2])
  })

  describe('budget', () => {
    it('counts every call and returns failures unretried once spent', async () => {
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000 }, () => 0) // 1 retry per window
      const first = scripted(response(503), response(200))
      expect((await layer(first, { budget })(request(), ctxWith())).status).toBe(200)
      const failed = response(503)
      const second = scripted(failed, response(200))
      await expect(layer(second, { budget })(request(), ctxWith())).resolves.toBe(failed)
      expect(failed.cancelled()).toBe(false)
      expect(second.attempts).toEqual([1])
      expect(budget.snapshot()).toMatchObject({ requests: 2, retries: 1, refused: 1 })
    })

    it('a call with budget: false bypasses it', async () => {
      const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, windowMs: 10_000 }, () => 0)
      const next = scripted(response(503), response(200))
      expect((await layer(next, { budget })(request(), ctxWith(retry({ budget: false })))).status).toBe(200)
      expect(budget.snapshot()).toMatchObject({ requests: 0, retries: 0, refused: 0 })
    })
  })

  it('logs the URL redacted (no userinfo, no query values) when no attempt layer recorded one, and works without a logger', async () => {
    const logger = fakeLogger()
    const ctx = fakeContext({ options: { retry: RETRY_DEFAULTS }, logger })
    const next = async () => response(503)
    const res = await retryLayer({ random: () => 0 })(next)(request('GET', 'https://user:pw@api.example.test/a/b?token=x'), ctx)
    expect(res.status).toBe(503)
    expect(logger.warn.mock.calls[0]![0]).toEqual({
      callId: 'test-1',
      attempt: 1,
      reason: 'status 503',
      delayMs: 0,
      url: 'https://api.example.test/a/b?token=REDACTED',
    })
    await expect(retryLayer({ random: () => 0 })(next)(request(), ctxWith())).resolves.toMatchObject({ status: 503 })
  })

  it('is a named function (stack traces and spans read well)', () => {
    expect(retryLayer()(scripted(response(200))).name).toBe('retryLayer')
  })
})
