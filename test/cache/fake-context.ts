/**
 * Drives the cache layer without a network: a CallContext carrying an HttpCache, and a fake
 * `next` handler that answers from a script and counts the requests it received.
 */
import { CallContext } from '../../src/context.js'
import type { CallRecord } from '../../src/types.js'
import type { ResolvedCallOptions } from '../../src/options.js'
import type { Handler } from '../../src/pipeline.js'
import type { OutboundRequest, RawResponse } from '../../src/types.js'
import { resolveCacheOptions, type CacheOptions } from '../../src/cache/cache-options.js'
import type { RequestCacheMode } from '../../src/cache/cache-request.js'
import { HttpCache } from '../../src/cache/http-cache.js'
import { cacheLayer } from '../../src/layers/cache.js'
import { compilePolicy, type CompiledPolicy } from '../../src/net/url-policy.js'
import { Clock } from '../support/clocks.js'

/**
 * The address every fake exchange reports (a documentation address, RFC 5737: nothing is dialled)
 * and the policy the fake client reads entries with, which allows it. The cache layer judges the
 * addresses of every stored entry by the reading client's policy (entry-addresses.ts).
 */
export const FAKE_REMOTE_ADDRESS = '203.0.113.10'
export const FAKE_POLICY = compilePolicy({ allow: ['203.0.113.0/24'] }, 'policy')

export interface Reply {
  status?: number
  headers?: Record<string, string | string[]>
  body?: string | Uint8Array | ReadableStream<Uint8Array> | null
}

export type Script = (req: OutboundRequest, n: number, ctx: CallContext) => Reply | Promise<Reply>

export interface FakeOrigin {
  readonly next: Handler
  readonly requests: OutboundRequest[]
  /** The context each request was sent with. */
  readonly contexts: CallContext[]
  readonly count: number
}

export function bytesStream(bytes: Uint8Array, chunk = bytes.byteLength || 1): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(offset, offset + chunk))
      offset += chunk
    },
  })
}

export function fakeOrigin(script: Script): FakeOrigin {
  const requests: OutboundRequest[] = []
  const contexts: CallContext[] = []
  const next: Handler = async (req, ctx) => {
    requests.push(req)
    contexts.push(ctx)
    // What the transport does: one attempt record per exchange, with the checked remote address.
    ctx.record.attemptLog.push({ attempt: ctx.attempt, hop: ctx.hop, url: req.url.href, timings: {}, remoteAddress: FAKE_REMOTE_ADDRESS })
    const reply = await script(req, requests.length, ctx)
    const status = reply.status ?? 200
    let body: ReadableStream<Uint8Array> | null = null
    const raw = reply.body
    if (req.method !== 'HEAD' && status !== 304 && status !== 204 && raw !== null) {
      if (raw instanceof ReadableStream) body = raw
      else body = bytesStream(typeof raw === 'string' ? new TextEncoder().encode(raw) : (raw ?? new Uint8Array(0)))
    }
    const response: RawResponse = { status, statusText: '', headers: reply.headers ?? {}, body, url: req.url }
    return response
  }
  return {
    next,
    requests,
    contexts,
    get count() {
      return requests.length
    },
  }
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

export function newRecord(method = 'GET', url = 'http://x/'): CallRecord {
  return { id: 't', method, url, startedAt: 0, attempts: 0, redirects: 0, bytes: 0, timings: {}, attemptLog: [] }
}

export function contextFor(cache: HttpCache, record: CallRecord, cacheMode?: RequestCacheMode, deadline = Infinity): CallContext {
  const options = { cache: cache.options, ...(cacheMode === undefined ? {} : { cacheMode }) } as unknown as ResolvedCallOptions
  return new CallContext(options, record, deadline, undefined)
}

/** The cache layer over `cache` and `next`, reading entries with `policy` (the reading client's). */
export function cacheHandler(next: Handler, cache: HttpCache, policy: CompiledPolicy = FAKE_POLICY): Handler {
  return cacheLayer({ cache, addressPolicy: policy.address })(next)
}

export async function readText(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (body === null) return ''
  return new Response(body).text()
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
