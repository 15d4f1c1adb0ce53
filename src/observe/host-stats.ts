/**
 * Rolling statistics per origin over a sliding window (default 5 minutes in 10 slots of 30 s).
 *
 * Each origin has a ring of time slots; a call lands in the slot of "now" and a slot is reset
 * when the ring comes back round to it, so nothing has to expire on a timer. The window read by
 * `snapshot()` is the current slot plus the previous `buckets - 1`, i.e. between
 * (buckets - 1) × bucketMs and buckets × bucketMs of history. Slot boundaries are multiples of
 * bucketMs since the epoch, so the slots of different processes line up (fleet stats).
 *
 * Memory is bounded: at most `maxOrigins` origins, least recently used dropped first; a slot's
 * latency histogram is ~1.9 KB once it has seen a call.
 */
import { checkKnownKeys, invalidOption } from '../option-checks.js'
import { StatCounters, type CallSample, type OriginStats } from './stat-counters.js'

export interface StatsOptions {
  /** Length of the window in ms. Default 300 000 (5 minutes). */
  windowMs?: number
  /** Number of slots the window is cut into. Default 10. More slots = smoother sliding, more memory. */
  buckets?: number
  /** Origins tracked at most; the least recently used is dropped. Default 1 000. */
  maxOrigins?: number
}

export interface ResolvedStatsOptions {
  readonly windowMs: number
  readonly buckets: number
  readonly maxOrigins: number
}

export const STATS_DEFAULTS: ResolvedStatsOptions = { windowMs: 300_000, buckets: 10, maxOrigins: 1_000 }

export interface StatsSnapshot {
  windowMs: number
  bucketMs: number
  /** When the snapshot was taken (ISO 8601). */
  at: string
  /** Only origins with calls in the window. */
  origins: Record<string, OriginStats>
}

function int(value: unknown, path: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(path, `must be an integer between ${min} and ${max}`, value)
  }
  return value
}

/** The keys of `stats` (`fleet` is resolved by resolveFleetOptions). */
const STATS_KEYS = ['windowMs', 'buckets', 'maxOrigins', 'fleet'] as const

export function resolveStatsOptions(input: StatsOptions | undefined, path = 'stats'): ResolvedStatsOptions {
  if (input === undefined) return STATS_DEFAULTS
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw invalidOption(path, 'must be false or an object', input)
  checkKnownKeys(path, input as Record<string, unknown>, STATS_KEYS)
  const buckets = int(input.buckets, `${path}.buckets`, STATS_DEFAULTS.buckets, 1, 1_000)
  return {
    windowMs: int(input.windowMs, `${path}.windowMs`, STATS_DEFAULTS.windowMs, buckets, 7 * 24 * 3_600_000),
    buckets,
    maxOrigins: int(input.maxOrigins, `${path}.maxOrigins`, STATS_DEFAULTS.maxOrigins, 1, 1_000_000),
  }
}

interface Slot {
  epoch: number
  readonly counters: StatCounters
}

interface OriginEntry {
  readonly slots: (Slot | undefined)[]
  /** Since the origin was first seen (or re-seen after eviction): Prometheus counters. */
  readonly totals: StatCounters
  /** Epoch of the last LRU bump: bumping once per slot keeps the Map reorder off the hot path. */
  touched: number
}

/** Window and lifetime counters of one origin, for exporters. */
export interface OriginCounters {
  readonly window: StatCounters
  readonly totals: StatCounters
}

export class HostStats {
  readonly windowMs: number
  readonly bucketMs: number
  readonly buckets: number
  readonly maxOrigins: number
  private readonly now: () => number
  private readonly origins = new Map<string, OriginEntry>()
  /** Per slot epoch and origin, what was recorded since the last takeDeltas(); only with a fleet sink. */
  private pending: Map<number, Map<string, StatCounters>> | undefined = undefined

  constructor(options: ResolvedStatsOptions = STATS_DEFAULTS, now: () => number = Date.now) {
    this.buckets = options.buckets
    this.bucketMs = Math.ceil(options.windowMs / options.buckets)
    this.windowMs = this.bucketMs * this.buckets
    this.maxOrigins = options.maxOrigins
    this.now = now
  }

  /** Number of origins currently tracked. */
  get size(): number {
    return this.origins.size
  }

  /**
   * Records one finished call against `origin` (e.g. `https://api.example.com`). `at` is when it
   * ended (epoch ms), by default now on this instance's clock — the one `snapshot()` reads, so a
   * call is in the window as soon as it is recorded (the observe layer relies on that).
   */
  record(origin: string, sample: CallSample, at: number = this.now()): void {
    const epoch = Math.floor(at / this.bucketMs)
    let entry = this.origins.get(origin)
    if (entry === undefined) {
      if (this.origins.size >= this.maxOrigins) {
        const oldest = this.origins.keys().next().value
        if (oldest !== undefined) this.origins.delete(oldest)
      }
      entry = { slots: new Array<Slot | undefined>(this.buckets).fill(undefined), totals: new StatCounters(), touched: epoch }
      this.origins.set(origin, entry)
    } else if (entry.touched !== epoch) {
      entry.touched = epoch
      this.origins.delete(origin)
      this.origins.set(origin, entry)
    }
    const position = epoch % this.buckets
    let slot = entry.slots[position]
    if (slot === undefined) {
      slot = { epoch, counters: new StatCounters() }
      entry.slots[position] = slot
    } else if (slot.epoch !== epoch) {
      slot.epoch = epoch
      slot.counters.reset()
    }
    slot.counters.add(sample)
    entry.totals.add(sample)
    if (this.pending !== undefined) {
      let byOrigin = this.pending.get(epoch)
      if (byOrigin === undefined) this.pending.set(epoch, (byOrigin = new Map()))
      let delta = byOrigin.get(origin)
      if (delta === undefined) byOrigin.set(origin, (delta = new StatCounters()))
      delta.add(sample)
    }
  }

  /** Window counters merged over the live slots, with lifetime totals, per origin. */
  counters(): Map<string, OriginCounters> {
    const current = Math.floor(this.now() / this.bucketMs)
    const oldest = current - this.buckets + 1
    const out = new Map<string, OriginCounters>()
    for (const [origin, entry] of this.origins) {
      const window = new StatCounters()
      for (const slot of entry.slots) {
        if (slot !== undefined && slot.epoch >= oldest && slot.epoch <= current) window.merge(slot.counters)
      }
      out.set(origin, { window, totals: entry.totals })
    }
    return out
  }

  /** A JSON-ready snapshot of the window, per origin with calls in it. */
  snapshot(): StatsSnapshot {
    const origins: Record<string, OriginStats> = {}
    for (const [origin, { window }] of this.counters()) {
      if (window.calls > 0) origins[origin] = window.toJSON()
    }
    return { windowMs: this.windowMs, bucketMs: this.bucketMs, at: new Date(this.now()).toISOString(), origins }
  }

  /** Starts keeping deltas for a fleet sink (costs one more counter update per call). */
  trackDeltas(): void {
    this.pending ??= new Map()
  }

  /** What was recorded since the last call, by slot epoch and origin; resets the deltas. */
  takeDeltas(): Map<number, Map<string, StatCounters>> {
    const taken = this.pending ?? new Map<number, Map<string, StatCounters>>()
    if (this.pending !== undefined) this.pending = new Map()
    return taken
  }

  clear(): void {
    this.origins.clear()
    if (this.pending !== undefined) this.pending = new Map()
  }
}
