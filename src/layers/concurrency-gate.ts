/**
 * The concurrency gate: a call waits here for one of the client's `maxConcurrent` slots, its
 * deadline and signal still running (a call cancelled while queued leaves the queue). The time
 * spent waiting goes to `ctx.record.timings.queued`.
 *
 * Placed once per call, just below the deadline layer (so the deadline covers the wait) and above
 * redirect (so one call holds one slot across its hops and retries, and never waits for a second
 * slot while holding one: no deadlock at maxConcurrent 1).
 *
 * The slot is held until the response body settles (read to the end, cancelled or failed), which
 * happens after this handler returns: it is released from the response's `settle` (BodySettle).
 * A response without one (no body, or a body already in memory) and an error release at once.
 */
import type { CallContext } from '../context.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import type { ConcurrencyLimit } from '../resilience/concurrency-limit.js'

/** Leave the layer out when `maxConcurrent` is unlimited (the default). */
export function concurrencyGateLayer(limit: ConcurrencyLimit): Layer {
  return (next) =>
    async function concurrencyGate(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      let release = limit.tryAcquire()
      if (release === undefined) {
        const start = performance.now()
        release = await limit.acquire(ctx.signal, ctx.deadline)
        ctx.record.timings.queued = (ctx.record.timings.queued ?? 0) + (performance.now() - start)
      }
      let response: RawResponse
      try {
        response = await next(req, ctx)
      } catch (err) {
        release()
        throw err
      }
      const settle = response.settle
      if (settle === undefined) release()
      else settle.whenDone(release)
      return response
    }
}
