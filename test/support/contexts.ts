/**
 * A real CallContext for driving one layer with a fake `next`, without a client or a transport:
 * one record builder and one context builder, for the layer tests (`fakeContext`), the observe
 * and attempt-span layers (`observeCall`: the record made as the client makes it) and the cache
 * layer (`contextFor`: the cache's options on the call).
 */
import type { Logger } from 'pino'
import { CallContext } from '../../src/context.js'
import type { HttpCache } from '../../src/cache/http-cache.js'
import type { RequestCacheMode } from '../../src/cache/cache-request.js'
import { newCallRecord } from '../../src/observe/call-info.js'
import { DEFAULT_REDACT_RULES, type RedactRules } from '../../src/observe/redact.js'
import type { ResolvedCallOptions } from '../../src/options.js'
import type { CallRecord, OutboundRequest } from '../../src/types.js'

/** A fresh call record, as the client starts one. */
export function newRecord(method = 'GET', url = 'http://x/', id = 't', startedAt = 0): CallRecord {
  return { id, method, url, startedAt, attempts: 0, redirects: 0, bytes: 0, timings: {}, attemptLog: [] }
}

export interface FakeContextInit {
  /** Extra call options, merged in (a test sets only what the layer under test reads, e.g. `{ retry: RETRY_DEFAULTS }`). */
  options?: Record<string, unknown>
  /** Milliseconds left before the deadline; Infinity (the default) for none. */
  remainingMs?: number
  logger?: Logger
  /** The record (default: a new one for `method` and `url`, id 'test-1', started now). */
  record?: CallRecord
  method?: string
  url?: string
}

export function fakeContext(init: FakeContextInit = {}): CallContext {
  const record = init.record ?? newRecord(init.method ?? 'GET', init.url ?? 'https://api.example.test/items', 'test-1', Date.now())
  const remaining = init.remainingMs ?? Infinity
  const deadline = remaining === Infinity ? Infinity : performance.now() + remaining
  const options = { ...init.options } as unknown as ResolvedCallOptions
  return new CallContext(options, record, deadline, init.logger)
}

/** A context for the cache layer over `cache`: its options (and the request's cache mode) on the call. */
export function contextFor(cache: HttpCache, record: CallRecord, cacheMode?: RequestCacheMode): CallContext {
  return fakeContext({ record, options: { cache: cache.options, ...(cacheMode === undefined ? {} : { cacheMode }) } })
}

export interface ObserveCall {
  readonly ctx: CallContext
  readonly req: OutboundRequest
}

/** One call's request and context, with its record created (and its URL redacted) as the client does. */
export function observeCall(init: { method?: string; url?: string; logger?: Logger; headers?: Record<string, string>; rules?: RedactRules } = {}): ObserveCall {
  const method = init.method ?? 'GET'
  const url = new URL(init.url ?? 'https://api.example.test/items?token=s3cr3t-t0ken&page=2')
  const record = newCallRecord(method, url, init.rules ?? DEFAULT_REDACT_RULES)
  const ctx = fakeContext({ record, ...(init.logger === undefined ? {} : { logger: init.logger }) })
  return { ctx, req: { url, method, headers: init.headers ?? {}, body: null } }
}
