/**
 * Run as a separate process by redis-cache.test.ts: fetches one URL through the cache layer with
 * a Redis store (fake origin), so the entry is written by another process than the one reading it.
 * Usage: node --import tsx redis-writer.fixture.ts <redis-url> <prefix> <url> <body> [signingKey]
 */
import { resolveCacheOptions } from '../../src/cache/cache-options.js'
import { HttpCache } from '../../src/cache/http-cache.js'
import { redisStore } from '../../src/cache/redis-store.js'
import { fakeOrigin, readText } from '../support/handlers.js'
import { contextFor, newRecord } from '../support/contexts.js'
import { cacheHandler } from '../support/cache-harness.js'

const [redisUrl, prefix, url, body, signingKey] = process.argv.slice(2) as [string, string, string, string, string | undefined]
const store = redisStore({ url: redisUrl, prefix, commandTimeoutMs: 2_000 })
const options = resolveCacheOptions({ store, ...(signingKey === undefined ? {} : { signingKey }) })
if (options === false) throw new Error('unreachable')
const cache = new HttpCache(options)
const origin = fakeOrigin(() => ({ headers: { 'cache-control': 'max-age=600', 'x-writer-pid': String(process.pid) }, body }))
const record = newRecord()
const response = await cacheHandler(origin.next, cache)({ url: new URL(url), method: 'GET', headers: {}, body: null }, contextFor(cache, record))
await readText(response.body)
await cache.close()
process.stdout.write(JSON.stringify({ cache: record.cache, pid: process.pid }))
