/**
 * The pure URL check, on every hop before anything is sent: scheme, userinfo, port, hostname
 * rules and IP literals. Resolved addresses are checked later, inside the connector, on the exact
 * address being dialled.
 */
import type { CallContext } from '../context.js'
import type { Handler, Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { assertUrlAllowed, type CompiledPolicy } from '../net/url-policy.js'

/** `compiled`: the client's policy, of the options generation the handler is built for. */
export function policyLayer(compiled: CompiledPolicy): Layer {
  return (next: Handler): Handler =>
    function policy(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      assertUrlAllowed(compiled, req.url)
      return next(req, ctx)
    }
}
