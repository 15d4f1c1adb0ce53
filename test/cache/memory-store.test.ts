import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/cache/memory-store.js'
import { responseRecord, storeConformance } from './store-suite.js'

storeConformance('memoryStore', {}, async () => {
  let t = 1_000_000 // lru-cache reads a start time of 0 as "no TTL"
  const store = memoryStore({ now: () => t })
  return {
    store,
    async advance(ms) {
      t += ms
    },
    async cleanup() {
      await store.close?.()
    },
  }
})

describe('memoryStore', () => {
  it('is bounded by bytes: least recently used records go first', async () => {
    const store = memoryStore({ maxBytes: 12_000 })
    const body = new Uint8Array(3_000)
    for (const key of ['a', 'b', 'c']) await store.set(key, responseRecord({ body }), 60_000)
    await store.get('a') // a is now the most recently used
    await store.set('d', responseRecord({ body }), 60_000)
    expect(await store.get('b')).toBeUndefined()
    expect(await store.get('a')).toBeDefined()
    expect(await store.get('d')).toBeDefined()
    expect(store.size).toBeLessThanOrEqual(12_000)
  })

  it('does not keep a record larger than the whole store', async () => {
    const store = memoryStore({ maxBytes: 1_000 })
    await store.set('big', responseRecord({ body: new Uint8Array(5_000) }), 60_000)
    expect(await store.get('big')).toBeUndefined()
  })

  it('is one store per call: no global state', async () => {
    const a = memoryStore()
    const b = memoryStore()
    await a.set('k', responseRecord(), 60_000)
    expect(await b.get('k')).toBeUndefined()
  })

  it('validates its options', () => {
    expect(() => memoryStore({ maxBytes: 0 })).toThrow(/memoryStore.maxBytes must be a positive integer, got 0/)
  })
})
