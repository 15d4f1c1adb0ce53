/**
 * Integrity for records in a shared store (`cache.signingKey`): HMAC-SHA256 over the store key,
 * the canonical metadata and the body. Whoever can write to the Redis instance but does not hold
 * the key cannot forge an entry, alter one, or move a valid one to another key (another URL, or
 * another user's private partition): the key is part of what is signed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { CacheRecord } from './cache-store.js'
import { encodeMeta } from './entry-codec.js'

export function signRecord(secret: Uint8Array, key: string, record: CacheRecord): string {
  const hmac = createHmac('sha256', secret).update(key).update('\u0000').update(encodeMeta(record, false))
  if (record.kind === 'response' && record.body !== null) hmac.update(record.body)
  return hmac.digest('base64url')
}

/** A copy of `record` carrying its signature. */
export function withSignature<T extends CacheRecord>(secret: Uint8Array, key: string, record: T): T {
  return { ...record, sig: signRecord(secret, key, record) }
}

export function verifyRecord(secret: Uint8Array, key: string, record: CacheRecord): boolean {
  const sig = record.sig
  if (typeof sig !== 'string') return false
  const expected = Buffer.from(signRecord(secret, key, record), 'base64url')
  const actual = Buffer.from(sig, 'base64url')
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
