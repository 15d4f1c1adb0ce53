/**
 * Run as a separate Node process by cache-redis.test.ts: a real client of its own, with a Redis
 * store, fetches one URL from the parent's loopback origin, so the entry in Redis is written by
 * another process than the one that reads it.
 * Usage: node --import tsx cache-redis-child.fixture.ts <redis-url> <prefix> <url> [signingKey]
 * Prints one JSON line: { cache, status, text, pid }.
 */
import { createClient, getCallInfo, redisStore } from '../../src/index.js'

const [redisUrl, prefix, url, signingKey] = process.argv.slice(2) as [string, string, string, string | undefined]
const client = createClient({
  policy: { allow: ['127.0.0.1/32'] },
  cache: { store: redisStore({ url: redisUrl, prefix, commandTimeoutMs: 2_000 }), ...(signingKey === undefined ? {} : { signingKey }) },
})
const response = await client.fetch(url)
const text = await response.text()
// close() waits for the entry to be written to Redis before quitting the connection.
await client.close()
process.stdout.write(JSON.stringify({ cache: getCallInfo(response)?.cache, status: response.status, text, pid: process.pid }))
