/**
 * Ordered tokens for the namespace and URL generation records of a signed store, and the newest
 * token each process has seen per record: a record written back in an older state (a rollback by
 * someone who can write Redis and kept a copy) is noticed by every process that saw the newer one.
 *
 * A token is `<ms since epoch, base36, 9 chars>.<random>`: fixed width, so its time orders it.
 * Tokens without the time part (written by an older version) count as time 0, the oldest. Clocks
 * of different hosts may disagree: a new token is always made newer than the newest one this
 * process has seen, and a legitimate token judged old only causes misses (a fresh token is written
 * in its place), never a resurrection.
 */
import { randomBytes } from 'node:crypto'

const TIME_WIDTH = 9
const ORDERED = /^[0-9a-z]{9}\./

/** The time a token was made (ms since epoch); 0 for a token without one. */
export function tokenTime(token: string): number {
  return ORDERED.test(token) ? parseInt(token.slice(0, TIME_WIDTH), 36) : 0
}

/** A new token made at `at` (ms), unique by its random part. */
export function orderedToken(at = Date.now()): string {
  return `${Math.floor(at).toString(36).padStart(TIME_WIDTH, '0')}.${randomBytes(6).toString('base64url')}`
}

/** Newest token time seen per record key, bounded (oldest keys forgotten first). */
export class HighWater {
  private readonly newest = new Map<string, number>()

  constructor(private readonly maxKeys = 10_000) {}

  /**
   * Remembers `token` for `key`; false when it is older than a token seen before under that key
   * (the record was rolled back), in which case the remembered one stays.
   */
  accept(key: string, token: string): boolean {
    const time = tokenTime(token)
    const seen = this.newest.get(key)
    if (seen !== undefined && time < seen) return false
    if (seen === undefined || time > seen) {
      this.newest.delete(key)
      this.newest.set(key, time)
      if (this.newest.size > this.maxKeys) this.newest.delete(this.newest.keys().next().value!)
    }
    return true
  }

  /** A token newer than any seen under `key` (and remembered as the newest). */
  next(key: string): string {
    const token = orderedToken(Math.max(Date.now(), (this.newest.get(key) ?? 0) + 1))
    this.accept(key, token)
    return token
  }
}
