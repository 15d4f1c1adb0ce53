/**
 * Fleet statistics: every process periodically adds what it recorded since its last flush to
 * Redis, so the numbers of all processes can be read from any one of them.
 *
 * Layout: one hash per time slot, `{prefix}:{bucketMs}:{epoch}` where epoch = floor(t / bucketMs)
 * (the same slot boundaries in every process), with integer fields `{origin}|{counter}` bumped by
 * HINCRBY — additions commute, so processes never coordinate. Each slot hash expires (PEXPIREAT)
 * when it leaves the window. Latency is merged bucket by bucket (the histogram's buckets are
 * fixed), so fleet percentiles are as accurate as local ones.
 *
 * Delivery is best effort: a failed flush drops that interval's deltas (adding them again later
 * could count them twice if part of the pipeline had been applied).
 */
import { checkKnownKeys, invalidOption, isPlainObject } from '../option-checks.js'
import { STATS_DEFAULTS, type HostStats, type StatsSnapshot } from './host-stats.js'
import { StatCounters, type OriginStats } from './stat-counters.js'

/** The part of an ioredis pipeline we use; an ioredis `Redis` or `Cluster` instance fits. */
interface FleetRedisPipeline {
  hincrby(key: string, field: string, increment: number): unknown
  pexpireat(key: string, unixTimeMs: number): unknown
  hgetall(key: string): unknown
  exec(): Promise<[Error | null, unknown][] | null>
}

export interface FleetRedis {
  pipeline(): FleetRedisPipeline
}

export interface FleetOptions {
  /** An ioredis client, or a `redis://` URL (ioredis is then imported on the first flush and closed by close()). */
  redis: FleetRedis | string
  /** Key prefix. Default `safefetch:stats`. Processes sharing a prefix (and window settings) are one fleet. */
  prefix?: string
  /** How often to flush, in ms. Default 10 000. The timer is unref'd: it never keeps a process alive. */
  intervalMs?: number
}

export interface ResolvedFleetOptions {
  readonly redis: FleetRedis | string
  readonly prefix: string
  readonly intervalMs: number
}

/** The keys of `stats.fleet`. */
const FLEET_KEYS = ['redis', 'prefix', 'intervalMs'] as const

const FLEET_DEFAULTS = { prefix: 'safefetch:stats', intervalMs: 10_000 } as const

export function resolveFleetOptions(input: FleetOptions | undefined, path = 'stats.fleet'): ResolvedFleetOptions | undefined {
  if (input === undefined) return undefined
  if (!isPlainObject(input)) throw invalidOption(path, 'must be an object', input)
  checkKnownKeys(path, input, FLEET_KEYS)
  const redis = input.redis
  if (typeof redis !== 'string' && (redis === null || typeof redis !== 'object' || typeof (redis as FleetRedis).pipeline !== 'function')) {
    throw invalidOption(`${path}.redis`, 'must be an ioredis client or a redis:// URL', redis)
  }
  if (typeof redis === 'string' && !/^rediss?:\/\//.test(redis)) {
    throw invalidOption(`${path}.redis`, 'must be an ioredis client or a redis:// URL', redis)
  }
  const prefix = input.prefix ?? FLEET_DEFAULTS.prefix
  if (typeof prefix !== 'string' || prefix === '') throw invalidOption(`${path}.prefix`, 'must be a non-empty string', prefix)
  const intervalMs = input.intervalMs ?? FLEET_DEFAULTS.intervalMs
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs) || intervalMs < 100) {
    throw invalidOption(`${path}.intervalMs`, 'must be an integer of at least 100 ms', intervalMs)
  }
  return { redis, prefix, intervalMs }
}

export function fleetKey(prefix: string, bucketMs: number, epoch: number): string {
  return `${prefix}:${bucketMs}:${epoch}`
}

interface OwnedRedis extends FleetRedis {
  quit(): Promise<unknown>
}

async function connect(url: string): Promise<OwnedRedis> {
  // Imported lazily: ioredis is an optional peer dependency, needed only by fleet stats.
  const mod = (await import('ioredis')) as unknown as { Redis: new (url: string, options: object) => OwnedRedis }
  return new mod.Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true })
}

export class FleetStatsSink {
  private timer: NodeJS.Timeout | undefined = undefined
  private redis: FleetRedis | undefined
  private owned: OwnedRedis | undefined = undefined
  private running: Promise<void> | undefined = undefined
  /** Flushes that failed since the sink started (errors go to onError). */
  failures = 0

  constructor(
    private readonly stats: HostStats,
    readonly options: ResolvedFleetOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.redis = typeof options.redis === 'string' ? undefined : options.redis
    stats.trackDeltas()
  }

  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => {
      this.flush().catch(() => {})
    }, this.options.intervalMs)
    this.timer.unref()
  }

  /** Writes everything recorded since the last flush. Concurrent calls run one after the other. */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running
    const run = this.write().finally(() => {
      this.running = undefined
    })
    this.running = run
    return run
  }

  private async write(): Promise<void> {
    const deltas = this.stats.takeDeltas()
    if (deltas.size === 0) return
    try {
      const redis = (this.redis ??= this.owned = await connect(this.options.redis as string))
      const pipeline = redis.pipeline()
      const { bucketMs, windowMs } = this.stats
      for (const [epoch, byOrigin] of deltas) {
        const key = fleetKey(this.options.prefix, bucketMs, epoch)
        for (const [origin, counters] of byOrigin) {
          for (const [field, n] of counters.toFields()) pipeline.hincrby(key, `${origin}|${field}`, n)
        }
        // The slot [epoch·b, (epoch+1)·b) is inside the window until (epoch+1)·b + window.
        pipeline.pexpireat(key, (epoch + 1) * bucketMs + windowMs)
      }
      const results = await pipeline.exec()
      const failed = results?.find(([error]) => error !== null)
      if (failed !== undefined) throw failed[0]
    } catch (error) {
      this.failures++
      this.onError(error)
    }
  }

  /** Stops the timer, flushes what is left, and closes a connection this sink opened itself. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
    if (this.owned !== undefined) await this.owned.quit().catch(() => {})
    this.owned = undefined
  }
}

export interface ReadFleetOptions {
  /** Default `safefetch:stats`. */
  prefix?: string
  /** Must match the writers' `stats.windowMs`. Default 300 000. */
  windowMs?: number
  /** Must match the writers' `stats.buckets`. Default 10. */
  buckets?: number
  /** Epoch ms clock. Default Date.now. */
  now?: () => number
}

/** The fleet's window, merged from every process that flushed into Redis, in the shape of `stats()`. */
export async function readFleetStats(redis: FleetRedis, options: ReadFleetOptions = {}): Promise<StatsSnapshot> {
  const prefix = options.prefix ?? FLEET_DEFAULTS.prefix
  const buckets = options.buckets ?? STATS_DEFAULTS.buckets
  const bucketMs = Math.ceil((options.windowMs ?? STATS_DEFAULTS.windowMs) / buckets)
  const now = (options.now ?? Date.now)()
  const current = Math.floor(now / bucketMs)
  const pipeline = redis.pipeline()
  for (let epoch = current - buckets + 1; epoch <= current; epoch++) pipeline.hgetall(fleetKey(prefix, bucketMs, epoch))
  const results = (await pipeline.exec()) ?? []
  const merged = new Map<string, StatCounters>()
  for (const [error, value] of results) {
    if (error !== null) throw error
    const hash = value as Record<string, string> | null
    if (hash === null) continue
    for (const field of Object.keys(hash)) {
      const bar = field.lastIndexOf('|')
      if (bar <= 0) continue
      const origin = field.slice(0, bar)
      let counters = merged.get(origin)
      if (counters === undefined) merged.set(origin, (counters = new StatCounters()))
      counters.addField(field.slice(bar + 1), Number(hash[field]))
    }
  }
  const origins: Record<string, OriginStats> = {}
  for (const [origin, counters] of merged) if (counters.calls > 0) origins[origin] = counters.toJSON()
  return { windowMs: bucketMs * buckets, bucketMs, at: new Date(now).toISOString(), origins }
}
