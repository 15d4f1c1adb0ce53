import { describe, expect, it } from 'vitest'
import { decodeRecord, encodeMeta, encodeRecord } from '../../src/cache/entry-codec.js'
import { signRecord, verifyRecord, withSignature } from '../../src/cache/entry-signing.js'
import type { CacheRecord, ResponseRecord } from '../../src/cache/cache-store.js'
import { responseRecord } from './store-suite.js'

const secret = new TextEncoder().encode('0123456789abcdef0123456789abcdef')

describe('entry codec', () => {
  it('round-trips every record kind', () => {
    const records: CacheRecord[] = [
      responseRecord(),
      responseRecord({ body: null }),
      { v: 1, kind: 'vary', ns: 'n', gen: 'g', vary: ['accept'], keys: ['k1'], expires: 5 },
      { v: 1, kind: 'ns', ns: 'token' },
    ]
    for (const record of records) {
      const decoded = decodeRecord(encodeRecord(record))
      expect(decoded).toBeDefined()
      expect(encodeMeta(decoded!, true)).toBe(encodeMeta(record, true))
      if (record.kind === 'response') expect((decoded as ResponseRecord).body).toEqual(record.body)
    }
  })

  it('returns undefined for other versions and garbage (a miss, never an exception)', () => {
    const bytes = encodeRecord(responseRecord())
    const otherFormat = bytes.slice()
    otherFormat[3] = 2
    expect(decodeRecord(otherFormat)).toBeUndefined()
    const otherRecordVersion = encodeRecord({ ...responseRecord(), v: 2 } as unknown as CacheRecord)
    expect(decodeRecord(otherRecordVersion)).toBeUndefined()
    expect(decodeRecord(new Uint8Array([1, 2, 3]))).toBeUndefined()
    expect(decodeRecord(bytes.subarray(0, 20))).toBeUndefined()
    const badJson = bytes.slice()
    badJson[9] = 0x7b
    expect(decodeRecord(badJson)).toBeUndefined()
  })
})

describe('entry signing (HMAC-SHA256 over key, metadata and body)', () => {
  it('verifies what it signed, after an encode/decode round trip', () => {
    const signed = withSignature(secret, 'key', responseRecord())
    expect(verifyRecord(secret, 'key', signed)).toBe(true)
    expect(verifyRecord(secret, 'key', decodeRecord(encodeRecord(signed))!)).toBe(true)
  })

  it('refuses a tampered body or field, another key, another secret, or no signature', () => {
    const signed = withSignature(secret, 'key', responseRecord())
    const body = signed.body!.slice()
    body[0] = body[0]! ^ 1
    expect(verifyRecord(secret, 'key', { ...signed, body })).toBe(false)
    expect(verifyRecord(secret, 'key', { ...signed, status: 203 })).toBe(false)
    expect(verifyRecord(secret, 'key', { ...signed, headers: { ...signed.headers, 'x-injected': '1' } })).toBe(false)
    expect(verifyRecord(secret, 'other-key', signed)).toBe(false)
    expect(verifyRecord(new TextEncoder().encode('another secret, another secret!'), 'key', signed)).toBe(false)
    expect(verifyRecord(secret, 'key', responseRecord())).toBe(false)
    expect(signRecord(secret, 'key', signed)).toBe(signed.sig)
  })
})
