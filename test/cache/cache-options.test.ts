import { describe, expect, it } from 'vitest'
import { CACHE_DEFAULTS, resolveCacheOptions } from '../../src/cache/cache-options.js'
import { memoryStore } from '../../src/cache/memory-store.js'

describe('resolveCacheOptions', () => {
  it('defaults: shared mode, a new memory store per call (no global state)', () => {
    const a = resolveCacheOptions(undefined)
    const b = resolveCacheOptions(undefined)
    expect(a).not.toBe(false)
    if (a === false || b === false) return
    expect(a.mode).toBe('shared')
    expect(a.maxEntryBytes).toBe(CACHE_DEFAULTS.maxEntryBytes)
    expect(a.partitionHeaders).toEqual(['authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token'])
    expect(a.signingKey).toBeUndefined()
    expect(a.store).not.toBe(b.store)
    expect(a.store.inProcess).toBe(true)
  })

  it('staleIfUnreachable: off by default and for false / 0; else milliseconds', () => {
    expect(resolveCacheOptions({})).toMatchObject({ staleIfUnreachable: 0 })
    expect(resolveCacheOptions({ staleIfUnreachable: false })).toMatchObject({ staleIfUnreachable: 0 })
    expect(resolveCacheOptions({ staleIfUnreachable: 60_000 })).toMatchObject({ staleIfUnreachable: 60_000 })
    expect(resolveCacheOptions({ staleIfUnreachable: Infinity })).toMatchObject({ staleIfUnreachable: Infinity })
  })

  it('false turns caching off; true means the defaults', () => {
    expect(resolveCacheOptions(false)).toBe(false)
    expect(resolveCacheOptions(true)).toMatchObject({ mode: 'shared' })
  })

  it('keeps a given store and lower-cases partition headers', () => {
    const store = memoryStore()
    const resolved = resolveCacheOptions({ store, mode: 'private', partitionHeaders: ['X-Api-Key', 'Cookie', 'X-Tenant'] })
    expect(resolved).toMatchObject({
      store,
      mode: 'private',
      partitionHeaders: ['authorization', 'cookie', 'x-api-key', 'api-key', 'x-auth-token', 'x-tenant'],
    })
  })

  it.each([
    [{ mode: 'public' }, "cache.mode must be 'shared' or 'private', got \"public\""],
    [{ maxEntryBytes: -1 }, 'cache.maxEntryBytes must be a positive integer, got -1'],
    [{ maxEntryBytes: 1.5 }, 'cache.maxEntryBytes must be a positive integer, got 1.5'],
    [{ store: {} }, 'cache.store must be a cache store (get, set, delete), got {}'],
    [{ partitionHeaders: 'x' }, 'cache.partitionHeaders must be an array, got "x"'],
    [{ partitionHeaders: ['bad header'] }, 'cache.partitionHeaders[0] must be a header name, got "bad header"'],
    [{ signingKey: 'short' }, 'cache.signingKey must be at least 16 bytes long, got 5'],
    [{ signingKey: 42 }, 'cache.signingKey must be a string or a Uint8Array of at least 16 bytes, got 42'],
    [{ backgroundTimeoutMs: 0 }, 'cache.backgroundTimeoutMs must be a positive number of milliseconds, got 0'],
    [{ keepStaleMs: -5 }, 'cache.keepStaleMs must be a number of milliseconds >= 0 (or Infinity), got -5'],
    [{ staleIfUnreachable: -1 }, 'cache.staleIfUnreachable must be a number of milliseconds >= 0 (or Infinity), or false, got -1'],
    [{ staleIfUnreachable: true }, 'cache.staleIfUnreachable must be a number of milliseconds >= 0 (or Infinity), or false, got true'],
    [{ now: 5 }, 'cache.now must be a function returning epoch milliseconds, got 5'],
    [{ mdoe: 'shared' }, 'cache.mdoe is not a known option'],
    ['yes', 'cache must be an object or false, got "yes"'],
  ])('%j → ERR_INVALID_OPTION', (input, message) => {
    let error: unknown
    try {
      resolveCacheOptions(input as never)
    } catch (err) {
      error = err
    }
    expect(error).toMatchObject({ code: 'ERR_INVALID_OPTION' })
    expect((error as Error).message).toContain(message)
  })

  it('names the option path it was given', () => {
    expect(() => resolveCacheOptions({ mode: 'x' as never }, 'init.cache')).toThrow(/^init\.cache\.mode must be/)
  })
})
