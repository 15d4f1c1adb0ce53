/**
 * Drives the cache layer without a network: an HttpCache on a settable clock over a fake origin
 * (test/support/handlers.ts `fakeOrigin`), one request at a time through the real cache layer.
 */
import type { CallContext } from '../../src/context.js'
import type { Handler } from '../../src/pipeline.js'
import type { CallRecord, RawResponse } from '../../src/types.js'
import { resolveCacheOptions, type CacheOptions } from '../../src/cache/cache-options.js'
import type { RequestCacheMode } from '../../src/cache/cache-request.js'
import { HttpCache } from '../../src/cache/http-cache.js'
import { cacheLayer } from '../../src/layers/cache.js'
import { compilePolicy, type CompiledPolicy } from '../../src/net/url-policy.js'
import { Clock } from './clocks.js'
import { contextFor, newRecord } from './contexts.js'
import { readText, type FakeOrigin } from './handlers.js'

/** The policy the fake client reads entries with: it allows FAKE_REMOTE_ADDRESS (handlers.ts). */
export const FAKE_POLICY = compilePolicy({ allow: ['203.0.113.0/24'] }, 'policy')

/** The cache layer over `cache` and `next`, reading entries with `policy` (the reading client's). */
export function cacheHandler(next: Handler, cache: HttpCache, policy: CompiledPolicy = FAKE_POLICY): Handler {
  return cacheLayer({ cache, addressPolicy: policy.address })(next)
}

export interface Harness {
  readonly cache: HttpCache
  readonly clock: Clock
  /** Runs one request through the cache layer over `origin`. */
  fetch(url: string, init?: FetchInit): Promise<Result>
}

export interface FetchInit {
  method?: string
  headers?: Record<string, string>
  cacheMode?: RequestCacheMode
  ctx?: (ctx: CallContext) => void
  /** Do not wait for the cache's background work (writes, revalidations) before returning. */
  noSettle?: boolean
  /** The reading client's policy (default FAKE_POLICY). */
  policy?: CompiledPolicy
}

export interface Result {
  readonly response: RawResponse
  readonly record: CallRecord
  readonly text: string
}

export function harness(origin: FakeOrigin, options: CacheOptions = {}, clock = new Clock()): Harness {
  const resolved = resolveCacheOptions({ now: clock.now, ...options })
  if (resolved === false) throw new Error('cache off')
  const cache = new HttpCache(resolved)
  return {
    cache,
    clock,
    async fetch(url, init = {}) {
      const method = init.method ?? 'GET'
      const record = newRecord(method, url)
      const ctx = contextFor(cache, record, init.cacheMode)
      init.ctx?.(ctx)
      const handler = cacheHandler(origin.next, cache, init.policy)
      const response = await handler({ url: new URL(url), method, headers: init.headers ?? {}, body: null }, ctx)
      const text = await readText(response.body)
      if (init.noSettle !== true) await cache.settled()
      return { response, record, text }
    },
  }
}
