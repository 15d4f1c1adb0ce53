/**
 * The contract between the HTTP cache and a storage backend, for third-party stores too.
 *
 * A store is a key/value map with per-key expiry. It does not interpret records: the cache
 * decides everything (freshness, variants, namespaces, signatures) and only needs the store to
 * give back what it was given, until the TTL passes or the store evicts it. Everything is async;
 * a store that fails should reject (or time out) — the cache then fails open: the request goes to
 * the origin and the failure is logged once per outage. A store must never hang: give every
 * remote operation a short timeout.
 *
 * Records are versioned (`v: 1`). A record of any other version, or any value that is not a
 * record, is treated as a miss, so a format change never serves garbage. A store that serialises
 * (Redis, files, a database) can use `encodeRecord()` / `decodeRecord()` from entry-codec.ts.
 */
import type { ResponseHeaders } from '../types.js'
import type { Freshness } from './cache-semantics.js'

const RECORD_VERSION = 1

/** A stored response: status, headers, body, and the freshness computed when it was received. */
export interface ResponseRecord extends Freshness {
  readonly v: 1
  readonly kind: 'response'
  /** The invalidateAll() generation the record belongs to; any other is a miss. */
  readonly ns: string
  /** Hash of the varied request fields (and credentials in private mode); '' for none. */
  readonly secondary: string
  /** The Vary field names of the response (normalised), to check a request against it. */
  readonly vary: readonly string[]
  readonly url: string
  readonly status: number
  readonly statusText: string
  /** End-to-end header fields as received (origin Date kept; no Age — it is generated on hits). */
  readonly headers: ResponseHeaders
  /**
   * The remote addresses the exchange(s) behind this entry were checked against (the response's,
   * plus those of 304s that refreshed it). Every read judges them against the reading client's
   * address policy; an entry without any is never served (entry-addresses.ts).
   */
  readonly addresses: readonly string[]
  /** The complete body; null for a response without one. Never mutated. */
  readonly body: Uint8Array | null
  /**
   * Signed stores: the URL's generation when the record was written (generationKey()); a record of
   * an older generation (captured before an invalidate() and written back) is a miss.
   */
  readonly urlGen?: string
  /** HMAC-SHA256 (base64url) over the key and the record, when a signing key is configured. */
  readonly sig?: string
}

/** Lists the variants stored for one URL (responses with Vary, and private-mode partitions). */
export interface VaryIndexRecord {
  readonly v: 1
  readonly kind: 'vary'
  readonly ns: string
  /** Random per index; part of every variant key, so deleting the index orphans all variants. */
  readonly gen: string
  readonly vary: readonly string[]
  /** Variant keys, oldest first, for prompt deletion (bounded; orphans also expire by TTL). */
  readonly keys: readonly string[]
  /** Epoch ms after which no listed variant is still alive. */
  readonly expires: number
  /** Signed stores: the URL's generation, as for responses. */
  readonly urlGen?: string
  readonly sig?: string
}

/** The current namespace token (replaced by invalidateAll()); also a URL's generation token (invalidate()). */
export interface NamespaceRecord {
  readonly v: 1
  readonly kind: 'ns'
  readonly ns: string
  readonly sig?: string
}

export type CacheRecord = ResponseRecord | VaryIndexRecord | NamespaceRecord

export interface CacheStore {
  /** The record stored under `key`, or undefined when absent or expired. */
  get(key: string): Promise<CacheRecord | undefined>
  /**
   * Optional synchronous `get`, for in-process stores only: the cache then answers a hit without
   * a single promise hop (the memory store has it). Remote stores must not implement it.
   */
  getSync?(key: string): CacheRecord | undefined
  /**
   * Stores `record` under `key` for `ttlMs` milliseconds (`Infinity`: until evicted). The store
   * may keep it shorter (eviction) but must not return it after the TTL.
   */
  set(key: string, record: CacheRecord, ttlMs: number): Promise<void>
  delete(key: string): Promise<void>
  /** Releases connections the store opened itself. */
  close?(): Promise<void>
  /**
   * True when records never leave this process (no serialisation, nobody else can write them):
   * the cache then skips signing and verifying them. Leave unset for any remote store.
   */
  readonly inProcess?: boolean
}

/** A record's approximate memory cost in bytes, for size-bounded stores. Never 0. */
export function recordSize(record: CacheRecord): number {
  switch (record.kind) {
    case 'response': {
      let size = 256 + record.url.length + record.secondary.length + (record.body?.byteLength ?? 0)
      const headers = record.headers
      for (const name in headers) {
        const value = headers[name]!
        size += name.length + 16
        if (typeof value === 'string') size += value.length
        else for (const item of value) size += item.length + 16
      }
      return size
    }
    case 'vary': {
      let size = 128
      for (const key of record.keys) size += key.length + 16
      return size
    }
    case 'ns':
      return 64 + record.ns.length
  }
}

/** True for a value that has the shape of a record of the current version. */
export function isCurrentRecord(value: unknown): value is CacheRecord {
  if (value === null || typeof value !== 'object') return false
  const record = value as { v?: unknown; kind?: unknown; ns?: unknown }
  return record.v === RECORD_VERSION && typeof record.ns === 'string' && (record.kind === 'response' || record.kind === 'vary' || record.kind === 'ns')
}
