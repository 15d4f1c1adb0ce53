/**
 * The origin leg of a HEAD the cache could not answer (nothing stored, stale, or the request wants
 * validation). A HEAD response has no body to store; with a stored GET response for the request:
 * - the origin fails (no response, or 5xx): the stored response stands in, as for GET
 *   (stale-if-error of the response or of the request, RFC 5861 §4; `cache.staleIfUnreachable`);
 * - a 200 freshens it (RFC 9111 §4.3.5): when it matches the stored response's validators and
 *   length, its fields update the stored ones as a 304's would (§3.2); when it does not, the
 *   stored response is marked stale, so it is validated before any reuse;
 * - the response itself is passed on as it came.
 */
import type { CallContext } from '../context.js'
import { discardBody, type Handler } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { parseVary } from './cache-key.js'
import { staleIfErrorAllows, type RequestPolicy } from './cache-request.js'
import { headSelects } from './cache-semantics.js'
import type { ResponseRecord } from './cache-store.js'
import { exchangeAddress, mergeAddresses } from './entry-addresses.js'
import { responseFromRecord } from './hit-response.js'
import type { HttpCache, Lookup } from './http-cache.js'
import { acceptsStandIn, mayStandIn, mayStore, refreshed, rulesFor, storeTtl } from './origin-exchange.js'

export async function headExchange(
  next: Handler,
  req: OutboundRequest,
  ctx: CallContext,
  cache: HttpCache,
  found: Lookup,
  stored: ResponseRecord | undefined,
  policy: RequestPolicy,
): Promise<RawResponse> {
  ctx.record.cache = 'miss'
  if (stored === undefined) return next(req, ctx)
  const standIn = acceptsStandIn(policy)
  const requestTime = cache.options.now()
  const log = ctx.record.attemptLog
  const logStart = log.length
  let response: RawResponse
  try {
    response = await next(req, ctx)
  } catch (err) {
    const now = cache.options.now()
    if (!standIn || !mayStandIn(err, stored, cache, now, policy)) throw err
    ctx.record.cache = 'stale'
    return responseFromRecord(stored, req.url, now, false)
  }
  const now = cache.options.now()
  if (response.status >= 500 && standIn && staleIfErrorAllows(stored, now, policy.staleIfError, !policy.revalidate)) {
    discardBody(response)
    ctx.record.cache = 'stale'
    return responseFromRecord(stored, req.url, now, false)
  }
  // §4.3.5: "receives a 200 (OK) response" — no other status says anything about the stored one.
  if (response.status === 200 && found.ns !== undefined) freshen(req, response, cache, found, stored, requestTime, now, exchangeAddress(log, logStart))
  return response
}

/**
 * RFC 9111 §4.3.5 for the stored response the request selected (Vary and credentials partition
 * included: the ones that "could have been chosen for that request"). The update is made under
 * the rules the entry follows: a HEAD answer that could not itself be stored there (no-store,
 * `private` under the shared rules, a request with credentials without public / s-maxage /
 * must-revalidate, §3.5) does not update a shared entry; Set-Cookie never enters one.
 */
function freshen(
  req: OutboundRequest,
  response: RawResponse,
  cache: HttpCache,
  found: Lookup,
  stored: ResponseRecord,
  requestTime: number,
  responseTime: number,
  address: string | undefined,
): void {
  const vary = parseVary(response.headers['vary'])
  const sameVary = vary !== '*' && vary.length === stored.vary.length && vary.every((name, i) => name === stored.vary[i])
  if (!sameVary || !headSelects(stored.headers, stored.body, response.headers)) {
    // "otherwise, the cache SHOULD consider the stored response to be stale": and never serve it
    // stale either (max-stale, stale-if-error), it no longer describes the resource. Kept while
    // it can be revalidated; without a validator it is useless and goes at once.
    const invalid: ResponseRecord = { ...stored, lifetime: 0, swr: 0, sie: 0, noStale: true }
    cache.save(found, invalid, Math.max(1, storeTtl(invalid, cache, responseTime)))
    return
  }
  const mode = rulesFor(cache, found)
  if (!mayStore(cache, mode, req, 200, response.headers)) return
  // The body came from the stored exchange, the fields from this one: a reader must be allowed both.
  const addresses = address === undefined ? undefined : mergeAddresses(stored.addresses, address)
  if (addresses === undefined) return
  const updated = refreshed(stored, response, requestTime, responseTime, addresses, mode)
  cache.save(found, updated, storeTtl(updated, cache, responseTime))
}
