/**
 * The guard-origin layer: refuses a request before any socket is opened when its origin is
 * disabled (ERR_DISABLED), when the client is read-only and the method unsafe (ERR_READ_ONLY), or
 * when the origin's circuit breaker is open (ERR_CIRCUIT_OPEN); otherwise it lets the request
 * through and reports its outcome to the breaker.
 *
 * Placed between retry and attempt, so it runs once per physical request (as resilience4j puts
 * its CircuitBreaker inside its Retry): every attempt is a sample of the origin's health, a
 * half-open trial is one request, and a retry loop stops as soon as the breaker opens because
 * ERR_CIRCUIT_OPEN is not retried. Below redirect, so each hop is judged by its own origin.
 * See docs/circuit-breaker.md.
 */
import type { CallContext } from '../context.js'
import { SafeFetchError } from '../errors.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { redactUrlForError } from '../observe/redact.js'
import { errorOutcome, statusOutcome } from '../resilience/circuit-breaker.js'
import type { CircuitBreakers } from '../resilience/circuit-breaker.js'
import type { OriginSwitches } from '../resilience/origin-switches.js'

interface GuardOriginDeps {
  /** The client's runtime switches (disable/enable, read-only). */
  readonly switches: OriginSwitches
  /** The client's breakers; undefined when `breaker` is false (the default). */
  readonly breakers?: CircuitBreakers | undefined
}

export function guardOriginLayer(deps: GuardOriginDeps): Layer {
  const { switches, breakers } = deps
  if (breakers === undefined) {
    return (next) =>
      async function guardOrigin(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
        const refusal = switches.refusal(req.url, req.method)
        if (refusal !== undefined) throw refusal
        return next(req, ctx)
      }
  }
  return (next) =>
    async function guardOrigin(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      const refusal = switches.refusal(req.url, req.method)
      if (refusal !== undefined) throw refusal
      const origin = req.url.origin
      const breaker = breakers.get(origin)
      const permit = breaker.acquire()
      if (permit < 0) {
        throw new SafeFetchError(
          'ERR_CIRCUIT_OPEN',
          `circuit breaker open for ${origin}: recent calls failed; next trial in ${Math.ceil(breaker.retryInMs())} ms`,
          { url: redactUrlForError(req.url, ctx.redact) },
        )
      }
      let response: RawResponse
      try {
        response = await next(req, ctx)
      } catch (err) {
        breaker.release(permit, errorOutcome(err))
        throw err
      }
      // Judged at the headers: the body's fate is the caller's (a read timeout later is not seen here).
      breaker.release(permit, statusOutcome(response.status))
      return response
    }
}
