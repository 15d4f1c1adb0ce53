import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { guardOriginLayer } from '../../src/layers/guard-origin.js'
import { retryLayer } from '../../src/layers/retry.js'
import { compose } from '../../src/pipeline.js'
import { CircuitBreakers, type ResolvedBreakerOptions } from '../../src/resilience/circuit-breaker.js'
import { OriginSwitches } from '../../src/resilience/origin-switches.js'
import { RETRY_DEFAULTS } from '../../src/retry/retry-options.js'
import { fakeContext } from '../support/contexts.js'
import { request, response, scripted } from '../support/handlers.js'

const BREAKER: ResolvedBreakerOptions = { failureRatio: 0.5, minCalls: 2, windowMs: 10_000, cooldownMs: 1_000, halfOpenCalls: 1, maxOrigins: 10 }

function setup(readOnly = false) {
  const c = { t: 0 }
  const switches = new OriginSwitches({ readOnly })
  const breakers = new CircuitBreakers(BREAKER, () => c.t)
  return { c, switches, breakers }
}

describe('guard-origin layer', () => {
  it('without breakers: refuses disabled origins and unsafe methods in read-only mode, before calling next', async () => {
    const { switches } = setup()
    const next = scripted(response(200))
    const handler = guardOriginLayer({ switches })(next)
    expect(handler.name).toBe('guardOrigin')
    switches.disable('https://api.example.test', 'maintenance')
    await expect(handler(request(), fakeContext())).rejects.toMatchObject({
      code: 'ERR_DISABLED',
      message: 'https://api.example.test is disabled: maintenance',
    })
    expect(next.attempts).toEqual([])
    switches.enable('https://api.example.test')
    await expect(handler(request(), fakeContext())).resolves.toMatchObject({ status: 200 })
    switches.setReadOnly(true)
    await expect(handler(request('DELETE'), fakeContext())).rejects.toMatchObject({ code: 'ERR_READ_ONLY' })
    await expect(handler(request('HEAD'), fakeContext())).resolves.toMatchObject({ status: 200 })
    expect(next.attempts.length).toBe(2)
  })

  it('opens the breaker after failures and then fails fast with ERR_CIRCUIT_OPEN, without calling next', async () => {
    const { c, switches, breakers } = setup()
    const next = scripted(response(503), new SafeFetchError('ERR_CONNECT_TIMEOUT', 'slow'), response(200))
    const handler = guardOriginLayer({ switches, breakers })(next)
    await handler(request(), fakeContext())
    await expect(handler(request(), fakeContext())).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' })
    const refused = handler(request('GET', 'https://api.example.test/x?token=1'), fakeContext())
    await expect(refused).rejects.toMatchObject({
      code: 'ERR_CIRCUIT_OPEN',
      message: 'circuit breaker open for https://api.example.test: recent calls failed; next trial in 1000 ms',
      url: 'https://api.example.test/x?token=REDACTED', // redacted like every error url (path rules too)
    })
    expect(next.attempts.length).toBe(2)
    // Other origins are not affected.
    await expect(handler(request('GET', 'https://other.example.test/'), fakeContext())).resolves.toMatchObject({ status: 200 })
    // After the cool-down one trial goes through; its success closes the breaker.
    c.t = 1_000
    await expect(handler(request(), fakeContext())).resolves.toMatchObject({ status: 200 })
    expect(breakers.get('https://api.example.test').state).toBe('closed')
  })

  it('does not count aborts, deadlines or policy refusals against the origin', async () => {
    const { switches, breakers } = setup()
    const errors = ['ERR_ABORTED', 'ERR_DEADLINE_EXCEEDED', 'ERR_ADDRESS_BLOCKED'] as const
    for (const code of errors) {
      const handler = guardOriginLayer({ switches, breakers })(scripted(new SafeFetchError(code, 'x')))
      await expect(handler(request(), fakeContext())).rejects.toMatchObject({ code })
    }
    expect(breakers.get('https://api.example.test').snapshot()).toMatchObject({ state: 'closed', calls: 0 })
  })

  it('below the retry layer: each attempt counts, and the retries stop once the breaker opens', async () => {
    const { switches, breakers } = setup()
    const transport = scripted(response(503))
    const handler = compose([retryLayer({ random: () => 0 }), guardOriginLayer({ switches, breakers })], transport)
    const ctx = fakeContext({ options: { retry: RETRY_DEFAULTS } })
    // Attempts 1 and 2 get 503s and open the breaker; attempt 3 is refused and not retried.
    await expect(handler(request(), ctx)).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' })
    expect(transport.attempts).toEqual([1, 2])
    expect(ctx.record.attempts).toBe(3)
  })
})
