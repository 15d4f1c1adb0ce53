/**
 * A cache must keep the heap flat over many hits (FACTS.md: undici's cache interceptor grew
 * ~5.5 KB per hit, got's ~14.6 KB plus a leaked listener per hit). 200 000 memory-store hits
 * through the layer, each body read to the end; heap compared after full GCs. Not a timing test.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { expect, it } from 'vitest'
import { cacheHandler, contextFor, fakeOrigin, harness, newRecord } from './fake-context.js'

function getGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc
  if (existing !== undefined) return existing
  v8.setFlagsFromString('--expose_gc')
  return vm.runInNewContext('gc') as () => void
}

it('keeps the heap flat over 200 000 memory-cache hits', async () => {
  const gc = getGc()
  const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=3600', 'content-type': 'application/json', etag: '"e"' }, body: 'x'.repeat(1024) }))
  const h = harness(origin)
  const handler = cacheHandler(origin.next, h.cache)
  const req = { url: new URL('http://origin.test/hot'), method: 'GET', headers: { accept: '*/*' }, body: null }
  const ctx = contextFor(h.cache, newRecord())
  const hit = async (): Promise<void> => {
    const response = await handler(req, ctx)
    const reader = response.body!.getReader()
    while (!(await reader.read()).done) {
      // read to the end
    }
  }
  await hit()
  await h.cache.settled()
  for (let i = 0; i < 5_000; i++) await hit() // warm up
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  const hits = 200_000
  for (let i = 0; i < hits; i++) await hit()
  gc()
  gc()
  const after = process.memoryUsage().heapUsed
  const perHit = (after - before) / hits
  console.log(`heap: ${(before / 1048576).toFixed(1)} MiB -> ${(after / 1048576).toFixed(1)} MiB over ${hits} hits (${perHit.toFixed(2)} bytes/hit)`)
  expect(origin.count).toBe(1)
  expect(ctx.record.cache).toBe('hit')
  expect(h.cache.flights.size).toBe(0)
  // Flat: far below one byte per hit would be ideal; allow 4 MiB of noise (20 bytes/hit).
  expect(after - before).toBeLessThan(4 * 1024 * 1024)
}, 300_000)
