/**
 * One client's HTTP cache: the store, read and written through keys, namespaces, variant indexes
 * and signatures, with every store failure turned into a miss (fail open). Surfaced to users as
 * `client.cache` (`invalidate`, `invalidateAll`); the cache layer uses the rest.
 *
 * Namespaces ("cache_version" trick): every record carries the namespace token that was current
 * when it was written; `invalidateAll()` stores a new token, so every older record stops matching
 * at once, in every process sharing the store, without scanning keys. The token is read in
 * parallel with the entry (one round trip with Redis auto-pipelining). If the token record is ever
 * lost, a new random one is written — losing it can only cause misses, never resurrect entries.
 *
 * URL generations (signed stores only): a signature proves who wrote an entry, not that it is still
 * current — an entry captured from Redis before invalidate(url) and written back afterwards would
 * verify. So each URL has a generation record (generationKey()), read with the entry in the same
 * round trip; every signed record names the generation it was written under, invalidate() replaces
 * the generation, and a record naming another one (or any record while there is none) is a miss.
 * Generation and namespace tokens are ordered (generations.ts): a record written back in an older
 * state than one this process has seen is a rollback — ignored, logged, and replaced by a new one.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { SafeFetchError } from '../errors.js'
import type { ResponseHeaders } from '../types.js'
import { firstValue } from './cache-semantics.js'
import { generationKey, NAMESPACE_KEY, partitionOf, primaryKey, secondaryKey, variantKey } from './cache-key.js'
import type { ResolvedCacheOptions } from './cache-options.js'
import type { CacheStore, ResponseRecord, VaryIndexRecord } from './cache-store.js'
import { Flights } from './coalescing.js'
import { HighWater } from './generations.js'
import { FAILED, GuardedStore, type Read } from './guarded-store.js'
import { redactUrlText } from '../observe/redact.js'
import { ResourceRegistry, type Lease, type ResourceKind } from '../resource-registry.js'

/** Variant keys listed per index, oldest dropped (and deleted) first. */
const MAX_VARIANTS = 32

export interface Lookup {
  readonly primary: string
  /** The namespace to write under; undefined when the store is unreachable (nothing is written). */
  readonly ns: string | undefined
  /** Credentials hash in private mode ('' without credentials); undefined in shared mode. */
  readonly partition: string | undefined
  /** The stored response selected for the request, if any. */
  readonly record: ResponseRecord | undefined
  /**
   * Signed stores: the URL's current generation (undefined: none yet, or a store without signing).
   * Records must name it to be read, and are written with it.
   */
  readonly urlGen?: string | undefined
}

/**
 * The stores open caches use, counted the way a client family counts its shared resources
 * (resource-registry.ts), but process-wide: a store may be shared by unrelated clients (the docs
 * suggest passing one store to many), and a new cache may be built on a store before the old one
 * closes. A store is closed only by the last cache using it.
 */
const stores = new ResourceRegistry<CacheStore>()
const storeKind: ResourceKind<CacheStore, CacheStore> = {
  name: 'cache-store',
  key: (store) => [store],
  create: (store) => store,
  close: async (store) => {
    await store.close?.()
  },
}

function token(): string {
  return randomBytes(9).toString('base64url')
}

export class HttpCache {
  /** Origin requests in flight that identical requests may wait for. */
  readonly flights = new Flights()
  private readonly store: GuardedStore
  private creatingNamespace: Promise<string | undefined> | undefined
  private readonly background = new Set<string>()
  private readonly pending = new Set<Promise<void>>()
  /** Signed stores: the newest namespace and generation tokens seen, to notice a rollback. */
  private readonly seen = new HighWater()
  private closed = false
  private readonly storeLease: Lease<CacheStore> | undefined

  constructor(
    readonly options: ResolvedCacheOptions,
    private readonly logger?: Logger,
  ) {
    this.store = new GuardedStore(options.store, options.signingKey, logger)
    this.storeLease = stores.acquire(storeKind, options.store)
  }

  // ---- public API (client.cache) ----

  /** Deletes every stored variant of `url` (GET), in both cache modes. Rejects if the store fails. */
  async invalidate(url: string | URL): Promise<void> {
    let target: URL
    try {
      target = typeof url === 'string' ? new URL(url) : url
    } catch {
      // Shown by the textual rule (userinfo, query); Node's parse error is left off: it quotes the raw input.
      throw new SafeFetchError('ERR_URL_INVALID', `cache.invalidate() needs an absolute URL, got ${JSON.stringify(redactUrlText(String(url)))}`)
    }
    const failure = await this.invalidateUrl(target)
    if (failure !== undefined) throw storeError('invalidate', failure)
  }

  /** Makes every entry written so far a miss, in every process sharing the store. Rejects if the store fails. */
  async invalidateAll(): Promise<void> {
    const failure = await this.store.put(NAMESPACE_KEY, { v: 1, kind: 'ns', ns: this.newToken(NAMESPACE_KEY) }, Infinity)
    if (failure !== undefined) throw storeError('invalidateAll', failure)
  }

  /** Resolves once the entries being written have been handed to the store. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending)
  }

  /** Waits for pending writes, then closes the store unless another open cache still uses it. */
  async close(): Promise<void> {
    await this.settled()
    if (this.closed) return
    this.closed = true
    await stores.release(this.storeLease, 'now')
  }

  // ---- used by the cache layer ----

  primaryKey(method: string, url: URL): string {
    return primaryKey(this.options.mode, method, url)
  }

  secondaryFor(headers: Readonly<Record<string, string>>, vary: readonly string[], partition: string | undefined): string {
    return secondaryKey(headers, vary, partition)
  }

  /**
   * Finds the stored response for a request (`withRecord` false: only the namespace, for
   * `reload`). Synchronous when the store has `getSync` (the memory store): a hit then costs no
   * promise hop at all.
   */
  lookup(primary: string, headers: Readonly<Record<string, string>>, withRecord = true): Lookup | Promise<Lookup> {
    const partition = this.options.mode === 'private' ? partitionOf(headers, this.options.partitionHeaders) : undefined
    // Signed stores are remote by definition (in-process stores are never signed): no sync path.
    if (this.store.sync && !this.store.signed) {
      const ns = this.store.readSync(NAMESPACE_KEY)
      // No namespace yet (first use) or a failing store: take the async path, which creates it.
      if (ns !== undefined && ns !== FAILED && ns.kind === 'ns') {
        if (!withRecord) return { primary, ns: ns.ns, partition, record: undefined }
        const found = this.store.readSync(primary)
        const variant = this.variantOf(found, ns.ns, primary, headers, partition)
        const record = typeof variant === 'string' ? this.selectVariant(this.store.readSync(variant), ns.ns, headers, partition) : variant
        return { primary, ns: ns.ns, partition, record }
      }
    }
    return this.lookupAsync(primary, headers, withRecord, partition)
  }

  private async lookupAsync(primary: string, headers: Readonly<Record<string, string>>, withRecord: boolean, partition: string | undefined): Promise<Lookup> {
    // Issued together: with Redis auto-pipelining, one round trip.
    const nsRead = this.namespace()
    const genRead = this.store.signed ? this.store.read(generationKey(primary)) : undefined
    const read = withRecord ? this.store.read(primary) : undefined
    const ns = await nsRead
    const gen = await genRead
    const found = await read
    let urlGen = gen !== undefined && gen !== FAILED && gen.kind === 'ns' ? gen.ns : undefined
    if (urlGen !== undefined && !this.seen.accept(generationKey(primary), urlGen)) {
      this.rolledBack(generationKey(primary))
      urlGen = undefined // a miss; the next write makes a newer generation
    }
    if (ns === undefined) return { primary, ns, partition, record: undefined, urlGen }
    const variant = this.current(found, urlGen) ? this.variantOf(found, ns, primary, headers, partition) : undefined
    const selected = typeof variant === 'string' ? await this.store.read(variant) : variant
    const record = typeof variant === 'string' ? (this.current(selected, urlGen) ? this.selectVariant(selected, ns, headers, partition) : undefined) : variant
    return { primary, ns, partition, record, urlGen }
  }

  /** Signed stores: the record was written under the URL's current generation (there must be one). */
  private current(found: Read, urlGen: string | undefined): boolean {
    if (!this.store.signed || found === undefined || found === FAILED) return true
    return found.kind !== 'ns' && urlGen !== undefined && found.urlGen === urlGen
  }

  /**
   * What the primary record says: the response itself (shared mode, no Vary), the key of the
   * variant to read (a vary index), or undefined (nothing usable, or another namespace).
   */
  private variantOf(
    found: Read,
    ns: string,
    primary: string,
    headers: Readonly<Record<string, string>>,
    partition: string | undefined,
  ): ResponseRecord | string | undefined {
    if (found === undefined || found === FAILED || found.ns !== ns) return undefined
    if (found.kind === 'response') return partition === undefined && found.secondary === '' ? found : undefined
    if (found.kind !== 'vary') return undefined
    return variantKey(primary, found.gen, secondaryKey(headers, found.vary, partition))
  }

  private selectVariant(found: Read, ns: string, headers: Readonly<Record<string, string>>, partition: string | undefined): ResponseRecord | undefined {
    if (found === undefined || found === FAILED || found.kind !== 'response' || found.ns !== ns) return undefined
    // The key was derived from the index's Vary; the record must agree (and its own Vary decides).
    return found.secondary === secondaryKey(headers, found.vary, partition) ? found : undefined
  }

  /** Stores a response record found missing or stale by `found` (in the background; failures are logged once per outage). */
  save(found: Pick<Lookup, 'primary' | 'urlGen'>, record: ResponseRecord, ttlMs: number): void {
    if (!(ttlMs > 0)) return
    this.track(this.writeCurrent(found, record, ttlMs))
  }

  /**
   * RFC 9111 §4.4: after a non-error response to an unsafe method, invalidate the target URI and
   * the Location / Content-Location URIs when they share its origin (never another origin's entries).
   */
  async invalidateAfterUnsafe(url: URL, headers: ResponseHeaders): Promise<void> {
    const targets = [url]
    for (const name of ['location', 'content-location']) {
      const value = firstValue(headers, name)
      if (value === undefined) continue
      let other: URL
      try {
        other = new URL(value, url)
      } catch {
        continue
      }
      if (other.origin === url.origin && !targets.some((t) => t.href === other.href)) targets.push(other)
    }
    await Promise.all(targets.map((target) => this.invalidateUrl(target)))
  }

  /** Claims the one background revalidation allowed per key; false if one is running. */
  beginBackground(key: string): boolean {
    if (this.background.has(key)) return false
    this.background.add(key)
    return true
  }

  endBackground(key: string): void {
    this.background.delete(key)
  }

  /** Keeps track of background work so `settled()` and `close()` can wait for it. */
  track(work: Promise<unknown>): void {
    const done: Promise<void> = work.then(
      () => {
        this.pending.delete(done)
      },
      () => {
        this.pending.delete(done)
      },
    )
    this.pending.add(done)
  }

  // ---- internals ----

  /** Signed stores: stamps the record with the URL's generation, creating one when there is none. */
  private async writeCurrent(found: Pick<Lookup, 'primary' | 'urlGen'>, record: ResponseRecord, ttlMs: number): Promise<void> {
    if (!this.store.signed) return this.write(found.primary, record, ttlMs)
    let urlGen = found.urlGen
    if (urlGen === undefined) {
      urlGen = this.seen.next(generationKey(found.primary))
      // No TTL of our own: the store bounds it (redisStore maxTtlMs); losing it only causes misses.
      if ((await this.store.put(generationKey(found.primary), { v: 1, kind: 'ns', ns: urlGen }, Infinity)) !== undefined) return
    }
    return this.write(found.primary, { ...record, urlGen }, ttlMs, urlGen)
  }

  private async write(primary: string, record: ResponseRecord, ttlMs: number, urlGen?: string): Promise<void> {
    if (record.secondary === '') {
      await this.store.put(primary, record, ttlMs)
      return
    }
    // A variant: store it, then list it in the URL's index (kept if it belongs to this namespace).
    const current = await this.store.read(primary)
    if (current === FAILED) return
    const index = current?.kind === 'vary' && current.ns === record.ns && current.urlGen === urlGen ? current : undefined
    const gen = index?.gen ?? token()
    const key = variantKey(primary, gen, record.secondary)
    const keys = index === undefined ? [] : index.keys.filter((k) => k !== key)
    keys.push(key)
    const dropped = keys.length > MAX_VARIANTS ? keys.splice(0, keys.length - MAX_VARIANTS) : []
    const now = this.options.now()
    const expires = Math.max(index?.expires ?? 0, now + ttlMs)
    if ((await this.store.put(key, record, ttlMs)) !== undefined) return
    const next: VaryIndexRecord = { v: 1, kind: 'vary', ns: record.ns, gen, vary: record.vary, keys, expires, ...(urlGen === undefined ? {} : { urlGen }) }
    await this.store.put(primary, next, expires - now)
    for (const old of dropped) await this.store.remove(old)
  }

  /**
   * Deletes both modes' records of a URL; returns the store error, if any. Signed stores: first a
   * new generation, so a deleted record written back by someone holding a copy stays a miss.
   */
  private async invalidateUrl(url: URL): Promise<unknown> {
    if (this.store.signed) {
      const key = generationKey(primaryKey('shared', 'GET', url))
      const failure = await this.store.put(key, { v: 1, kind: 'ns', ns: this.seen.next(key) }, Infinity)
      if (failure !== undefined) return failure
    }
    const failures = await Promise.all((['shared', 'private'] as const).map((mode) => this.invalidateKey(primaryKey(mode, 'GET', url))))
    return failures.find((failure) => failure !== undefined)
  }

  private async invalidateKey(primary: string): Promise<unknown> {
    const found = await this.store.read(primary)
    if (found === FAILED) return new Error('the store could not be read')
    // Only keys under this URL: a forged index must not make us delete anything else.
    const variants = found?.kind === 'vary' ? found.keys.filter((key) => key.startsWith(`${primary}#`)) : []
    const errors = await Promise.all([...variants, primary].map((key) => this.store.remove(key)))
    return errors.find((err) => err !== undefined)
  }

  private async namespace(): Promise<string | undefined> {
    const found = await this.store.read(NAMESPACE_KEY)
    if (found === FAILED) return undefined
    if (found !== undefined && found.kind === 'ns') {
      if (!this.store.signed || this.seen.accept(NAMESPACE_KEY, found.ns)) return found.ns
      // Older than a namespace this process has seen: replace it, so the old entries stay misses.
      this.rolledBack(NAMESPACE_KEY)
    }
    this.creatingNamespace ??= this.createNamespace()
    return this.creatingNamespace
  }

  /** A namespace or generation token; ordered for signed stores (rollback detection). */
  private newToken(key: string): string {
    return this.store.signed ? this.seen.next(key) : token()
  }

  private rolledBack(key: string): void {
    this.logger?.warn(
      { record: key.startsWith(NAMESPACE_KEY) ? 'namespace' : 'generation' },
      'cache record older than one already seen ignored (rolled back in the store?)',
    )
  }

  private async createNamespace(): Promise<string | undefined> {
    const ns = this.newToken(NAMESPACE_KEY)
    const failure = await this.store.put(NAMESPACE_KEY, { v: 1, kind: 'ns', ns }, Infinity)
    this.creatingNamespace = undefined
    return failure === undefined ? ns : undefined
  }
}

function storeError(operation: string, cause: unknown): SafeFetchError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  return new SafeFetchError('ERR_NETWORK', `cache.${operation}() failed: the cache store is unavailable (${reason})`, { cause })
}
