/**
 * A cache store in Redis, for a fleet of processes and hosts sharing one cache.
 *
 * Built on ioredis 5, chosen because it has what a cache that must never hurt a call needs: a
 * per-command timeout (`commandTimeout`), a switch to fail commands at once while disconnected
 * instead of queueing them (`enableOfflineQueue: false`), lazy connection (`lazyConnect`), and
 * automatic pipelining (the namespace and entry reads of one lookup go out in one round trip).
 * ioredis is imported lazily, only when a `url` is given, so users of the memory store do not
 * need it installed.
 *
 * Failure model: every command is bounded by `commandTimeoutMs` (our own timer on top of
 * ioredis's, so a client you pass in is bounded too) and rejects when Redis is down; the cache
 * turns a rejection into a miss (fail open) and logs one warning per outage.
 */
import { SafeFetchError } from '../errors.js'
import { describeValue } from '../option-checks.js'
import type { CacheRecord, CacheStore } from './cache-store.js'
import { decodeRecord, encodeRecord } from './entry-codec.js'

/** The few commands the store uses; an ioredis `Redis` (or `Cluster`) instance fits. */
export interface RedisLikeClient {
  getBuffer(key: string): Promise<Buffer | null>
  set(key: string, value: Buffer, millisecondsToken: 'PX', milliseconds: number): Promise<unknown>
  set(key: string, value: Buffer): Promise<unknown>
  del(...keys: string[]): Promise<number>
}

export interface RedisStoreOptions {
  /**
   * An ioredis client you configured yourself (it stays yours: `close()` does not quit it).
   * Recommended: `enableOfflineQueue: false` and a `commandTimeout`, or a Redis outage makes
   * commands queue until our timeout.
   */
  client?: RedisLikeClient
  /** `redis://` or `rediss://` URL; the store creates and owns an ioredis client. */
  url?: string
  /** Prepended to every key, to share a Redis database with other data. Default `safefetch:`. */
  prefix?: string
  /** Longest wait for one Redis command, in ms; past it the lookup is a miss. Default 250. */
  commandTimeoutMs?: number
  /**
   * Longest time any key is kept, in ms: every TTL (a response's freshness + stale windows +
   * `keepStaleMs`, and the namespace and generation records, which have none of their own) is cut
   * to it, so a `max-age=315360000` response does not sit in Redis for ten years. Default one day
   * (86 400 000). `false`: no cap (records without a TTL then never expire; rely on `maxmemory`
   * eviction). `0` is refused.
   */
  maxTtlMs?: number | false
  /**
   * Largest value written, in bytes (the encoded record: body plus metadata). A larger record is
   * not stored (and an older value under its key is deleted): the response is still served, from
   * the origin. Default 1 MiB, which keeps single Redis commands short; the cache's own
   * `maxEntryBytes` (5 MiB) still applies first. `false`: no cap. `0` is refused.
   */
  maxValueBytes?: number | false
}

const DEFAULT_REDIS_PREFIX = 'safefetch:'
const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 250
const DEFAULT_REDIS_MAX_TTL_MS = 86_400_000
const DEFAULT_REDIS_MAX_VALUE_BYTES = 1024 * 1024

interface OwnedClient extends RedisLikeClient {
  connect(): Promise<void>
  quit(): Promise<unknown>
  disconnect(): void
  on(event: 'error', listener: (err: Error) => void): unknown
}

class RedisStore implements CacheStore {
  private client: RedisLikeClient | undefined
  private connecting: Promise<RedisLikeClient> | undefined
  private closed = false

  constructor(
    given: RedisLikeClient | undefined,
    private readonly url: string | undefined,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    /** Infinity when uncapped. */
    private readonly maxTtlMs: number,
    private readonly maxValueBytes: number,
  ) {
    this.client = given
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const client = this.client ?? (await this.connect())
    const bytes = await this.bounded(client.getBuffer(this.prefix + key), 'GET')
    return bytes === null ? undefined : decodeRecord(bytes)
  }

  async set(key: string, record: CacheRecord, ttlMs: number): Promise<void> {
    const client = this.client ?? (await this.connect())
    const bytes = encodeRecord(record)
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const ttl = Math.min(ttlMs, this.maxTtlMs)
    // Too large: not stored, and the older value goes too (the key's response has changed).
    if (!(ttl > 0) || bytes.byteLength > this.maxValueBytes) await this.bounded(client.del(this.prefix + key), 'DEL')
    else if (Number.isFinite(ttl)) await this.bounded(client.set(this.prefix + key, value, 'PX', Math.max(1, Math.ceil(ttl))), 'SET')
    else await this.bounded(client.set(this.prefix + key, value), 'SET')
  }

  async delete(key: string): Promise<void> {
    const client = this.client ?? (await this.connect())
    await this.bounded(client.del(this.prefix + key), 'DEL')
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.url === undefined) return // the client is the caller's
    const pending = this.connecting
    if (pending === undefined) return
    const client = (await pending.catch(() => this.client)) as OwnedClient | undefined
    if (client === undefined) return
    try {
      await this.bounded(client.quit(), 'QUIT')
    } catch {
      // Not connected, or too slow: drop the socket.
    }
    client.disconnect()
  }

  /** Creates the owned client on first use; only that first command waits for the connection. */
  private connect(): Promise<RedisLikeClient> {
    if (this.closed) return Promise.reject(new Error('redis store is closed'))
    this.connecting ??= this.createClient()
    return this.connecting
  }

  private async createClient(): Promise<RedisLikeClient> {
    type RedisClass = new (url: string, options: object) => OwnedClient
    let mod: { Redis?: RedisClass; default?: RedisClass }
    try {
      mod = (await import('ioredis')) as unknown as typeof mod
    } catch (err) {
      throw new Error('redisStore({ url }) needs the ioredis package (npm install ioredis)', { cause: err })
    }
    const Redis = (mod.Redis ?? mod.default)!
    const client = new Redis(this.url!, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: this.timeoutMs,
      connectTimeout: Math.max(this.timeoutMs, 1_000),
      // Fail the command instead of resending it after a reconnect: the call has moved on.
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      // Keep reconnecting in the background (at most every 2 s); calls go to the origin meanwhile.
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
    })
    // Errors reach callers through rejected commands; without a listener ioredis prints them.
    client.on('error', () => {})
    try {
      await this.bounded(client.connect(), 'CONNECT')
    } catch {
      // Down at startup: commands fail fast (no offline queue) until a reconnect succeeds.
    }
    this.client = client
    return client
  }

  private bounded<T>(operation: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis ${what} took longer than ${this.timeoutMs} ms`)), this.timeoutMs)
      timer.unref()
      operation.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (err: unknown) => {
          clearTimeout(timer)
          reject(err as Error)
        },
      )
    })
  }
}

export function redisStore(options: RedisStoreOptions): CacheStore {
  if (options === null || typeof options !== 'object') {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore options must be an object, got ${describeValue(options)}`)
  }
  const { client, url } = options
  if ((client === undefined) === (url === undefined)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', 'redisStore needs exactly one of client or url')
  }
  if (client !== undefined && (client === null || typeof (client as { getBuffer?: unknown }).getBuffer !== 'function')) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.client must be an ioredis client, got ${describeValue(client)}`)
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//i.test(url))) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.url must be a redis:// or rediss:// URL, got ${describeValue(url)}`)
  }
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX
  if (typeof prefix !== 'string') throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.prefix must be a string, got ${describeValue(prefix)}`)
  const timeout = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.commandTimeoutMs must be a positive number of milliseconds, got ${describeValue(timeout)}`)
  }
  const maxTtl = options.maxTtlMs ?? DEFAULT_REDIS_MAX_TTL_MS
  if (maxTtl !== false && (typeof maxTtl !== 'number' || Number.isNaN(maxTtl) || maxTtl <= 0)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.maxTtlMs must be a positive number of milliseconds or false, got ${describeValue(maxTtl)}`)
  }
  const maxValue = options.maxValueBytes ?? DEFAULT_REDIS_MAX_VALUE_BYTES
  if (maxValue !== false && (typeof maxValue !== 'number' || !Number.isInteger(maxValue) || maxValue <= 0)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `redisStore.maxValueBytes must be a positive integer or false, got ${describeValue(maxValue)}`)
  }
  return new RedisStore(client, url, prefix, timeout, maxTtl === false ? Infinity : maxTtl, maxValue === false ? Infinity : maxValue)
}
