/**
 * The default store: an in-process LRU bounded by bytes (lru-cache, `maxSize` +
 * `sizeCalculation`). Records are kept as objects, not serialised, so a hit costs a map lookup.
 * One per client (createClient() makes a new one); share one explicitly by passing the same
 * store to several clients.
 */
import { LRUCache } from 'lru-cache'
import { SafeFetchError } from '../errors.js'
import { describeValue } from '../option-checks.js'
import { recordSize, type CacheRecord, type CacheStore } from './cache-store.js'

export interface MemoryStoreOptions {
  /**
   * Upper bound of the records' total size, in bytes (bodies plus an estimate for headers and
   * bookkeeping). Least recently used records go first. Default 50 MiB.
   */
  maxBytes?: number
  /** Clock for TTLs (ms, monotonic). For tests. Default `performance.now`. */
  now?: () => number
}

const DEFAULT_MEMORY_STORE_BYTES = 50 * 1024 * 1024

const resolved = Promise.resolve()

class MemoryStore implements CacheStore {
  readonly inProcess = true
  private readonly lru: LRUCache<string, CacheRecord>

  constructor(maxBytes: number, now: (() => number) | undefined) {
    this.lru = new LRUCache<string, CacheRecord>({
      maxSize: maxBytes,
      sizeCalculation: recordSize,
      // Expired records are dropped when read or evicted; no timers per entry.
      ttlAutopurge: false,
      ...(now === undefined ? {} : { perf: { now } }),
    })
  }

  get(key: string): Promise<CacheRecord | undefined> {
    return Promise.resolve(this.lru.get(key))
  }

  getSync(key: string): CacheRecord | undefined {
    return this.lru.get(key)
  }

  set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      this.lru.delete(key)
      return resolved
    }
    // lru-cache takes ttl 0 as "no expiry".
    this.lru.set(key, record, { ttl: Number.isFinite(ttlMs) ? Math.max(1, Math.ceil(ttlMs)) : 0 })
    return resolved
  }

  delete(key: string): Promise<void> {
    this.lru.delete(key)
    return resolved
  }

  close(): Promise<void> {
    this.lru.clear()
    return resolved
  }

  /** Total size of the records held, in bytes (as counted by recordSize). */
  get size(): number {
    return this.lru.calculatedSize
  }
}

export function memoryStore(options: MemoryStoreOptions = {}): CacheStore & { readonly size: number } {
  const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_STORE_BYTES
  if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `memoryStore.maxBytes must be a positive integer, got ${describeValue(maxBytes)}`)
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new SafeFetchError('ERR_INVALID_OPTION', `memoryStore.now must be a function, got ${describeValue(options.now)}`)
  }
  return new MemoryStore(maxBytes, options.now)
}
