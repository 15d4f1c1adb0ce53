/**
 * The cache layer (RFC 9111), inside the redirect loop and above retry: a hit costs no retry
 * bookkeeping, revalidations are retried, stale-if-error applies once retries ran out, and the
 * final response is stored once. Wiring only; the rules live in src/cache/ (cache-semantics.ts
 * for responses, cache-request.ts for requests, http-cache.ts for the store). See docs/caching.md.
 *
 *   GET/HEAD  fresh hit → stored response; stale → validate (If-None-Match / If-Modified-Since);
 *             stale-while-revalidate → stale response now, one background validation per key;
 *             miss → one origin request per key at a time (coalesced), stored as it is read
 *   unsafe    after a 2xx/3xx, invalidate the URL and same-origin Location / Content-Location
 *
 * Built over the client's HttpCache and the address policy of the options generation it serves;
 * reads the call's options at `ctx.options.cache` (`false` turns caching off for one call) and the
 * fetch `cache` mode at `ctx.options.cacheMode`.
 */
import { CallContext } from '../context.js'
import type { CallRecord, OutboundRequest, RawResponse } from '../types.js'
import { SafeFetchError } from '../errors.js'
import { discardBody, type Handler, type Layer } from '../pipeline.js'
import { evaluate, requestPolicy, withoutReload, DEFAULT_REQUEST_POLICY, type RequestCacheMode, type RequestPolicy } from '../cache/cache-request.js'
import type { ResolvedCacheOptions } from '../cache/cache-options.js'
import type { ResponseRecord } from '../cache/cache-store.js'
import { hasContentCoding, isImmutable } from '../cache/cache-semantics.js'
import { addressesAllowed } from '../cache/entry-addresses.js'
import { gatewayTimeout, notModifiedFromRecord, partialFromRecord, rangeNotSatisfiable, responseFromRecord } from '../cache/hit-response.js'
import { evaluatePreconditions } from '../cache/preconditions.js'
import type { HttpCache, Lookup } from '../cache/http-cache.js'
import type { CompiledAddressPolicy } from '../net/address-policy.js'
import { exchange } from '../cache/origin-exchange.js'
import { headExchange } from '../cache/head-exchange.js'
import { scrubCallError } from './observe.js'
import { SAFE_METHODS } from '../http.js'

/** What this layer reads from the call's options and the client's runtime. */
interface CacheCallOptions {
  readonly cache?: ResolvedCacheOptions | false
  readonly cacheMode?: RequestCacheMode
  readonly decompress?: boolean
  readonly maxResponseBytes?: number
}

/** What the layer is built over: the client's cache and the policy stored entries are judged by. */
interface CacheLayerOptions {
  readonly cache: HttpCache
  /**
   * The reading client's address policy (of the options generation this handler serves): every
   * stored entry's checked addresses are judged by it before the entry is used (entry-addresses.ts).
   */
  readonly addressPolicy: CompiledAddressPolicy
}

export function cacheLayer({ cache, addressPolicy }: CacheLayerOptions): Layer {
  return (next: Handler): Handler =>
    async function cacheLayer(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      const options = ctx.options as CacheCallOptions
      if (options.cache === false) return next(req, ctx)
      const method = req.method
      if (method !== 'GET' && method !== 'HEAD') {
        ctx.record.cache = 'bypass'
        // RFC 9111 §4.4: only unsafe methods invalidate (GET and HEAD were handled above).
        if (SAFE_METHODS.has(method)) return next(req, ctx)
        const response = await next(req, ctx)
        // §4.4: invalidate after a non-error status (2xx, 3xx).
        if (response.status >= 200 && response.status < 400) await cache.invalidateAfterUnsafe(req.url, response.headers)
        return response
      }
      const policy = requestPolicy(req.headers, options.cacheMode)
      if (policy === undefined) {
        ctx.record.cache = 'bypass'
        return next(req, ctx)
      }

      let found = cache.lookup(cache.primaryKey('GET', req.url), req.headers, policy.lookup)
      if (found instanceof Promise) found = await found
      // Stored bodies are decoded (the transport undoes Content-Encoding): a call that wants the
      // bytes as sent (decompress: false) cannot use one that had a coding, nor share a flight.
      const keepsCoding = options.decompress === false
      let stored = found.record
      if (keepsCoding && stored !== undefined && hasContentCoding(stored.headers)) stored = undefined
      // A stored response is served without dialling: judge the addresses its exchange was checked
      // against by *this* client's current policy (another client sharing the store, or this one
      // before configure(), may have allowed more). Refused: a miss, and the guarded path decides.
      // Everything below (fresh, stale, validation, only-if-cached, HEAD) sees only allowed entries.
      if (stored !== undefined && !addressesAllowed(addressPolicy, stored.addresses)) stored = undefined
      // maxResponseBytes is a promise about what this caller receives, on every path: a stored body
      // over this call's limit (stored by a call with a larger one) is a miss, and the origin
      // exchange applies the limit as it would without a cache (ERR_RESPONSE_TOO_LARGE). HEAD has no body.
      const maxBytes = options.maxResponseBytes
      if (stored !== undefined && method === 'GET' && overLimit(stored, maxBytes)) stored = undefined
      if (stored !== undefined) {
        const now = cache.options.now()
        let verdict = evaluate(stored, policy, now)
        // RFC 8246 §2: a reload does not revalidate a fresh immutable response (private mode: a
        // shared cache serves many users, whose reloads are not the origin's concern).
        if (verdict === 'revalidate' && policy.softReload && cache.options.mode === 'private' && isImmutable(stored.headers)) {
          if (evaluate(stored, withoutReload(policy), now) === 'fresh') verdict = 'fresh'
        }
        if (policy.precondition) {
          // RFC 9111 §4.3.2: conditions are evaluated against a stored response the cache would use
          // as it is (fresh, or stale where the request allows it); anything else goes to the origin.
          const answer = verdict === 'fresh' || verdict === 'stale' ? answerPrecondition(stored, req, now) : undefined
          if (answer !== undefined) {
            ctx.record.cache = verdict === 'fresh' ? 'hit' : 'stale'
            return answer
          }
        } else if (verdict === 'fresh') {
          ctx.record.cache = 'hit'
          return responseFromRecord(stored, req.url, now, method === 'GET')
        } else if (verdict !== 'revalidate') {
          ctx.record.cache = 'stale'
          // Validated with a GET only: a HEAD's answer has no body to store.
          if (verdict === 'stale-while-revalidate' && method === 'GET') revalidateInBackground(next, req, ctx, cache, found, stored)
          return responseFromRecord(stored, req.url, now, method === 'GET')
        }
      }
      if (policy.onlyIfCached) {
        ctx.record.cache = 'miss'
        return gatewayTimeout(req.url)
      }
      if (policy.precondition) {
        // Not answerable here: the origin answers the application's own question, and that answer
        // (a 304 or 206 for the application, or a response to its conditions) is not stored.
        ctx.record.cache = 'bypass'
        return next(req, ctx)
      }
      if (method === 'HEAD') {
        // HEAD is answered from a usable stored GET response, else by the origin (not stored); the
        // stored response still stands in when the origin fails (stale-if-error, staleIfUnreachable).
        return headExchange(next, req, ctx, cache, found, stored, policy)
      }
      if (!policy.coalesce || keepsCoding) return fromOrigin(next, req, ctx, cache, found, stored, policy)

      const flightKey = found.partition === undefined ? found.primary : `${found.primary}#${found.partition}`
      const joined = cache.flights.join(flightKey, ctx.signal)
      if (joined === undefined) return fromOrigin(next, req, ctx, cache, found, stored, policy, flightKey)
      const shared = await joined
      if (
        shared !== undefined &&
        shared.secondary === cache.secondaryFor(req.headers, shared.vary, found.partition) &&
        // The leader may have run under another policy (a configure() since): judge it for this call.
        addressesAllowed(addressPolicy, shared.addresses) &&
        // ...and under another maxResponseBytes (a per-call option): this caller's limit holds here too.
        !overLimit(shared, maxBytes)
      ) {
        const now = cache.options.now()
        if (evaluate(shared, policy, now) !== 'revalidate') {
          ctx.record.cache = 'hit'
          return responseFromRecord(shared, req.url, now, true)
        }
      }
      // Nothing we may reuse came of it (not storable, another variant, must revalidate): go alone.
      return fromOrigin(next, req, ctx, cache, found, stored, policy)
    }
}

/** A stored body over the call's maxResponseBytes: not served (the origin exchange applies the limit). */
function overLimit(record: ResponseRecord, maxBytes: number | undefined): boolean {
  return maxBytes !== undefined && record.body !== null && record.body.byteLength > maxBytes
}

/** The stored response shaped by the request's conditions or range; undefined: ask the origin. */
function answerPrecondition(stored: ResponseRecord, req: OutboundRequest, now: number): RawResponse | undefined {
  const result = evaluatePreconditions(req.method, req.headers, stored, now)
  switch (result.kind) {
    case 'full':
      return responseFromRecord(stored, req.url, now, req.method === 'GET')
    case 'not-modified':
      return notModifiedFromRecord(stored, req.url, now)
    case 'range':
      return partialFromRecord(stored, req.url, now, result.start, result.end)
    case 'unsatisfiable':
      return rangeNotSatisfiable(stored, req.url, now)
    case 'origin':
      return undefined
  }
}

async function fromOrigin(
  next: Handler,
  req: OutboundRequest,
  ctx: CallContext,
  cache: HttpCache,
  found: Lookup,
  stored: ResponseRecord | undefined,
  policy: RequestPolicy,
  flightKey?: string,
): Promise<RawResponse> {
  const flight = flightKey === undefined ? undefined : cache.flights.lead(flightKey)
  let outcome
  try {
    outcome = await exchange(next, req, ctx, cache, found, stored, policy)
  } catch (err) {
    flight?.settle(undefined)
    throw err
  }
  ctx.record.cache = outcome.status
  if (flight !== undefined) {
    const capture = outcome.capture
    if (capture !== undefined) {
      // Waiters must not depend on how fast this caller reads: read ahead for them.
      if (flight.waiters > 0) capture.pump()
      else flight.onJoin = () => capture.pump()
      // Once the transport has delivered the whole body (or failed), finish the copy even if this
      // caller never reads it, so the flight does not outlive the exchange.
      outcome.response.settle?.whenDone(() => capture.pump())
    }
    const shared = outcome.shared
    if (shared instanceof Promise) void shared.then((r) => flight.settle(r))
    else flight.settle(shared)
  }
  return outcome.response
}

/**
 * RFC 5861 §3: the caller already has the stale response; validate it in the background, at most
 * once per key at a time. The background request has its own context (signal, deadline, record):
 * the caller's deadline or abort must not cut it short, and it must not write to the caller's
 * record after the call is over.
 */
function revalidateInBackground(next: Handler, req: OutboundRequest, ctx: CallContext, cache: HttpCache, found: Lookup, stored: ResponseRecord): void {
  const key = `${found.primary}#${stored.secondary}`
  if (!cache.beginBackground(key)) return
  const timeout = cache.options.backgroundTimeoutMs
  const record: CallRecord = {
    id: `${ctx.record.id}-revalidate`,
    method: req.method,
    url: ctx.record.url,
    startedAt: Date.now(),
    attempts: 0,
    redirects: 0,
    bytes: 0,
    timings: {},
    attemptLog: [],
  }
  const bg = new CallContext(ctx.options, record, performance.now() + timeout, ctx.logger, ctx.redact)
  bg.hop = ctx.hop
  const timer = setTimeout(() => {
    bg.signal.abort(
      new SafeFetchError('ERR_DEADLINE_EXCEEDED', `background revalidation of ${ctx.record.url} took longer than ${timeout} ms (cache.backgroundTimeoutMs)`),
    )
  }, timeout)
  timer.unref()
  const work = exchange(next, req, bg, cache, found, stored, DEFAULT_REQUEST_POLICY)
    .then(async (outcome) => {
      // A full response is stored as its body is read: read it to the end.
      if (outcome.capture !== undefined) await drain(outcome.response.body)
      else discardBody(outcome.response)
    })
    .catch((err: unknown) => {
      // Its error text was built without the client's redaction rules (no observe layer above it).
      scrubCallError(err, ctx)
      ctx.logger?.debug({ err, url: ctx.record.url }, 'background revalidation failed')
    })
    .finally(() => {
      clearTimeout(timer)
      cache.endBackground(key)
    })
  cache.track(work)
}

async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body === null) return
  const reader = body.getReader()
  while (!(await reader.read()).done) {
    // discard: the capture keeps its own copy
  }
}
