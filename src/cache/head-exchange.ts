/**
 * The origin leg of a HEAD the cache could not answer (nothing stored, stale, or the request wants
 * validation). A HEAD response has no body to store; with a stored GET response for the request:
 * - the origin fails (no response, or 5xx): the stored response stands in, as for GET
 *   (stale-if-error of the response or of the request, RFC 5861 §4; `cache.staleIfUnreachable`);
 * - anything else is passed on as it came.
 */
import type { CallContext } from '../context.js'
import { discardBody, type Handler } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { staleIfErrorAllows, type RequestPolicy } from './cache-request.js'
import type { ResponseRecord } from './cache-store.js'
import { responseFromRecord } from './hit-response.js'
import type { HttpCache } from './http-cache.js'
import { mayStandIn } from './origin-exchange.js'

export async function headExchange(
  next: Handler,
  req: OutboundRequest,
  ctx: CallContext,
  cache: HttpCache,
  stored: ResponseRecord | undefined,
  policy: RequestPolicy,
): Promise<RawResponse> {
  ctx.record.cache = 'miss'
  // A client that demanded validation gets no stand-in, unless it said how stale it accepts (RFC 5861 §4).
  if (stored === undefined || (policy.revalidate && policy.staleIfError === undefined)) return next(req, ctx)
  let response: RawResponse
  try {
    response = await next(req, ctx)
  } catch (err) {
    const now = cache.options.now()
    if (!mayStandIn(err, stored, cache, now, policy)) throw err
    ctx.record.cache = 'stale'
    return responseFromRecord(stored, req.url, now, false)
  }
  const now = cache.options.now()
  if (response.status >= 500 && staleIfErrorAllows(stored, now, policy.staleIfError, !policy.revalidate)) {
    discardBody(response)
    ctx.record.cache = 'stale'
    return responseFromRecord(stored, req.url, now, false)
  }
  return response
}
