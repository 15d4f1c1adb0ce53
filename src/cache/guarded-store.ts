/**
 * The store as the cache uses it: every failure becomes a value (fail open), logged once per
 * outage rather than once per call; records of another version are misses; and with a signing key,
 * records are signed on the way in and verified on the way out.
 */
import type { Logger } from 'pino'
import { isCurrentRecord, type CacheRecord, type CacheStore } from './cache-store.js'
import { verifyRecord, withSignature } from './entry-signing.js'
import { describeStoreKey, withoutStoreCommand } from '../observe/redact.js'

/** A read that failed (store down, timeout), as opposed to a miss. */
export const FAILED = Symbol('store failed')
export type Read = CacheRecord | undefined | typeof FAILED

export class GuardedStore {
  /** The store answers synchronously (in-process): hits need no promise hop. */
  readonly sync: boolean
  /** Signing key, only for stores whose records leave the process. */
  private readonly secret: Uint8Array | undefined
  /** Records are signed (and so carry URL generations, see http-cache.ts). */
  readonly signed: boolean
  private failing = false

  constructor(
    private readonly store: CacheStore,
    signingKey: Uint8Array | undefined,
    private readonly logger: Logger | undefined,
  ) {
    this.sync = store.getSync !== undefined
    this.secret = store.inProcess === true ? undefined : signingKey
    this.signed = this.secret !== undefined
  }

  async read(key: string): Promise<Read> {
    let found: unknown
    try {
      found = await this.store.get(key)
    } catch (err) {
      this.failed(err)
      return FAILED
    }
    return this.accept(key, found)
  }

  readSync(key: string): Read {
    let found: unknown
    try {
      found = this.store.getSync!(key)
    } catch (err) {
      this.failed(err)
      return FAILED
    }
    return this.accept(key, found)
  }

  /** Stores `record` (signed when configured); the error when the store failed, else undefined. */
  async put(key: string, record: CacheRecord, ttlMs: number): Promise<unknown> {
    try {
      await this.store.set(key, this.sign(key, record), ttlMs)
    } catch (err) {
      this.failed(err)
      return err ?? new Error('store failed')
    }
    if (this.failing) this.recovered()
    return undefined
  }

  /** Deletes `key`; the error when the store failed, else undefined. */
  async remove(key: string): Promise<unknown> {
    try {
      await this.store.delete(key)
    } catch (err) {
      this.failed(err)
      return err ?? new Error('store failed')
    }
    return undefined
  }

  /** A record of the current version with a valid signature (when signing), else undefined. */
  private accept(key: string, found: unknown): CacheRecord | undefined {
    if (this.failing) this.recovered()
    if (found === undefined || !isCurrentRecord(found)) return undefined
    if (this.secret !== undefined && !verifyRecord(this.secret, key, found)) {
      // The key holds the whole URL, query secrets included: logged as method, origin and digest.
      this.logger?.warn({ entry: describeStoreKey(key) }, 'cache entry with a missing or wrong signature ignored (cache.signingKey)')
      return undefined
    }
    return found
  }

  private sign<T extends CacheRecord>(key: string, record: T): T {
    if (this.secret === undefined) return record
    const { sig: _old, ...unsigned } = record
    return withSignature(this.secret, key, unsigned as T)
  }

  /** One warning per outage, not one per call. */
  private failed(err: unknown): void {
    // The client's error may quote the command it failed on: the key (a URL) and the entry.
    withoutStoreCommand(err)
    if (this.failing) return
    this.failing = true
    this.logger?.warn({ err }, 'cache store unavailable: requests go to the origin until it recovers')
  }

  private recovered(): void {
    this.failing = false
    this.logger?.info('cache store available again')
  }
}
