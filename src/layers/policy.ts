/**
 * The pure URL check, on every hop before anything is sent: scheme, userinfo, port, hostname
 * rules and IP literals. Resolved addresses are checked later, inside the connector, on the exact
 * address being dialled.
 */
import type { CallContext } from '../context.js'
import type { Handler, Layer, OutboundRequest, RawResponse } from '../pipeline.js'
import { assertUrlAllowed } from '../net/url-policy.js'

export const policyLayer: Layer = (next: Handler): Handler =>
  function policy(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    assertUrlAllowed(ctx.client.options.policy, req.url)
    return next(req, ctx)
  }
