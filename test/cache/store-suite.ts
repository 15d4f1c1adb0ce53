/**
 * One conformance suite for every CacheStore: call `storeConformance()` from a test file with a
 * factory for the store under test. Third-party stores can run it too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CacheRecord, CacheStore, ResponseRecord } from '../../src/cache/cache-store.js'
import { resolveCacheOptions } from '../../src/cache/cache-options.js'
import { HttpCache } from '../../src/cache/http-cache.js'
import { fakeOrigin, readText } from '../support/handlers.js'
import { contextFor, newRecord } from '../support/contexts.js'
import { cacheHandler } from '../support/cache-harness.js'

export interface StoreFixture {
  readonly store: CacheStore
  /** Lets `ms` milliseconds pass for the store's TTLs (a fake clock, or a real wait). */
  advance(ms: number): Promise<void>
  cleanup(): Promise<void>
}

export function responseRecord(overrides: Partial<ResponseRecord> = {}): ResponseRecord {
  return {
    v: 1,
    kind: 'response',
    ns: 'ns1',
    secondary: '',
    vary: [],
    url: 'https://example.test/a?b=c',
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'text/plain; charset=utf-8', 'set-cookie': ['a=1', 'b=2'], date: 'Wed, 01 Jan 2025 12:00:00 GMT' },
    addresses: ['203.0.113.10'],
    body: new TextEncoder().encode('héllo wörld'),
    initialAge: 1500,
    responseTime: 1_735_732_800_000,
    lifetime: 60_000,
    swr: 0,
    sie: 30_000,
    noStale: false,
    ...overrides,
  }
}

function plain(record: CacheRecord | undefined): unknown {
  if (record === undefined || record.kind !== 'response') return record
  return { ...record, body: record.body === null ? null : Array.from(record.body) }
}

export function storeConformance(name: string, options: { skip?: boolean }, make: () => Promise<StoreFixture>): void {
  describe.skipIf(options.skip === true)(`CacheStore conformance: ${name}`, () => {
    let fx: StoreFixture
    beforeEach(async () => {
      fx = await make()
    })
    afterEach(async () => {
      await fx.cleanup()
    })

    it('returns undefined for a key never set', async () => {
      expect(await fx.store.get('nope')).toBeUndefined()
    })

    it('gives back a response record as stored: fields, repeated headers, bytes', async () => {
      const record = responseRecord()
      await fx.store.set('k', record, 60_000)
      expect(plain(await fx.store.get('k'))).toEqual(plain(record))
    })

    it('keeps a null body and an empty body apart', async () => {
      await fx.store.set('null', responseRecord({ body: null }), 60_000)
      await fx.store.set('empty', responseRecord({ body: new Uint8Array(0) }), 60_000)
      const a = await fx.store.get('null')
      const b = await fx.store.get('empty')
      expect(a?.kind === 'response' && a.body).toBeNull()
      expect(b?.kind === 'response' && b.body?.byteLength).toBe(0)
    })

    it('stores vary index and namespace records', async () => {
      const index: CacheRecord = { v: 1, kind: 'vary', ns: 'n', gen: 'g', vary: ['accept'], keys: ['a#g#1', 'a#g#2'], expires: 123 }
      const ns: CacheRecord = { v: 1, kind: 'ns', ns: 'token' }
      await fx.store.set('i', index, 60_000)
      await fx.store.set('n', ns, Infinity)
      expect(await fx.store.get('i')).toEqual(index)
      expect(await fx.store.get('n')).toEqual(ns)
    })

    it('overwrites, deletes, and keeps keys apart', async () => {
      await fx.store.set('a', responseRecord({ status: 200 }), 60_000)
      await fx.store.set('b', responseRecord({ status: 404 }), 60_000)
      await fx.store.set('a', responseRecord({ status: 203 }), 60_000)
      expect((await fx.store.get('a')) as ResponseRecord).toMatchObject({ status: 203 })
      expect((await fx.store.get('b')) as ResponseRecord).toMatchObject({ status: 404 })
      await fx.store.delete('a')
      expect(await fx.store.get('a')).toBeUndefined()
      await fx.store.delete('never-set')
      expect((await fx.store.get('b')) as ResponseRecord).toMatchObject({ status: 404 })
    })

    it('handles long keys with any characters (URLs)', async () => {
      const key = `v1|s|GET|https://example.test/${'ü/%20 #?&'.repeat(300)}`
      await fx.store.set(key, responseRecord(), 60_000)
      expect(await fx.store.get(key)).toBeDefined()
      expect(await fx.store.get(key.slice(0, -1))).toBeUndefined()
    })

    it('stores a 1 MiB body byte for byte', async () => {
      const body = new Uint8Array(1024 * 1024)
      for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff
      await fx.store.set('big', responseRecord({ body }), 60_000)
      const got = (await fx.store.get('big')) as ResponseRecord
      expect(got.body?.byteLength).toBe(body.byteLength)
      expect(Buffer.from(got.body!).equals(Buffer.from(body))).toBe(true)
    })

    it('expires records after their TTL; Infinity keeps them', async () => {
      await fx.store.set('short', responseRecord(), 50)
      await fx.store.set('long', responseRecord(), 60_000)
      await fx.store.set('forever', { v: 1, kind: 'ns', ns: 'x' }, Infinity)
      await fx.advance(200)
      expect(await fx.store.get('short')).toBeUndefined()
      expect(await fx.store.get('long')).toBeDefined()
      expect(await fx.store.get('forever')).toBeDefined()
    })

    it('does not keep a record set with a TTL of 0', async () => {
      await fx.store.set('zero', responseRecord(), 0)
      expect(await fx.store.get('zero')).toBeUndefined()
    })

    it('survives many concurrent operations', async () => {
      await Promise.all(Array.from({ length: 200 }, (_, i) => fx.store.set(`c${i}`, responseRecord({ status: 200 + (i % 3) }), 60_000)))
      const got = await Promise.all(Array.from({ length: 200 }, (_, i) => fx.store.get(`c${i}`)))
      expect(got.every((r, i) => (r as ResponseRecord).status === 200 + (i % 3))).toBe(true)
    })

    it('through HttpCache: a record of another format version is a miss', async () => {
      const cache = new HttpCache(resolveCacheOptions({ store: fx.store }) as Exclude<ReturnType<typeof resolveCacheOptions>, false>)
      const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=60' }, body: 'x' }))
      const handler = cacheHandler(origin.next, cache)
      const get = async (): Promise<string | undefined> => {
        const record = newRecord()
        const response = await handler({ url: new URL('http://origin.test/v'), method: 'GET', headers: {}, body: null }, contextFor(cache, record))
        await readText(response.body)
        await cache.settled()
        return record.cache
      }
      expect(await get()).toBe('miss')
      expect(await get()).toBe('hit')
      const key = cache.primaryKey('GET', new URL('http://origin.test/v'))
      const stored = (await fx.store.get(key)) as ResponseRecord
      await fx.store.set(key, { ...stored, v: 2 } as unknown as CacheRecord, 60_000)
      expect(await get()).toBe('miss')
    })

    it('through HttpCache: variants, invalidate(url) and invalidateAll()', async () => {
      const cache = new HttpCache(resolveCacheOptions({ store: fx.store, mode: 'private' }) as Exclude<ReturnType<typeof resolveCacheOptions>, false>)
      const origin = fakeOrigin((req) => ({ headers: { 'cache-control': 'private, max-age=60' }, body: req.headers['authorization'] ?? '' }))
      const handler = cacheHandler(origin.next, cache)
      const get = async (url: string, user: string): Promise<[string | undefined, string]> => {
        const record = newRecord()
        const response = await handler({ url: new URL(url), method: 'GET', headers: { authorization: user }, body: null }, contextFor(cache, record))
        const text = await readText(response.body)
        await cache.settled()
        return [record.cache, text]
      }
      await get('http://origin.test/1', 'alice')
      await get('http://origin.test/1', 'bob')
      await get('http://origin.test/2', 'alice')
      expect(await get('http://origin.test/1', 'alice')).toEqual(['hit', 'alice'])
      expect(await get('http://origin.test/1', 'bob')).toEqual(['hit', 'bob'])
      await cache.invalidate('http://origin.test/1')
      expect(await get('http://origin.test/1', 'alice')).toEqual(['miss', 'alice'])
      expect(await get('http://origin.test/2', 'alice')).toEqual(['hit', 'alice'])
      await cache.invalidateAll()
      expect(await get('http://origin.test/2', 'alice')).toEqual(['miss', 'alice'])
      expect(await get('http://origin.test/2', 'alice')).toEqual(['hit', 'alice'])
    })
  })
}
