/**
 * Run as a child process by cache-heap.test.ts (`node --expose-gc --import tsx`), so the heap
 * measured is this client's alone, not the test runner's: a real client with the default memory
 * cache, a real loopback origin, one miss, then N hits each read to the end (alternately whole and
 * as a stream); heapUsed after full GCs before and after. Prints one JSON line.
 * Usage: node --expose-gc --import tsx cache-heap.fixture.ts [hits]
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, getCallInfo } from '../../src/index.js'

const hits = Number(process.argv[2] ?? 200_000)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

let originRequests = 0
const body = Buffer.alloc(1024, 'x')
const server = http.createServer((_req, res) => {
  originRequests++
  res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-type': 'application/json', etag: '"e"', 'content-length': body.length })
  res.end(body)
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hot`
const client = createClient({ policy: { allow: ['127.0.0.1/32'] } })

let lastStatus: string | undefined
let n = 0
/** Alternates the two ways a hit's body is read: whole (no stream made) and as a stream. */
async function hit(): Promise<void> {
  const response = await client.fetch(url)
  let size = 0
  if (n++ % 2 === 0) size = (await response.arrayBuffer()).byteLength
  else {
    const reader = response.body!.getReader()
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) size += chunk.value.byteLength
  }
  if (size !== 1024) throw new Error(`short body: ${size}`)
  lastStatus = getCallInfo(response)?.cache
}

/** Full collections, with turns of the event loop between them for finalizers and weak maps. */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return process.memoryUsage().heapUsed
}

await hit()
for (let i = 0; i < 5_000; i++) await hit() // warm up: JIT, lazily created objects
const before = await settledHeap()
const started = performance.now()
for (let i = 0; i < hits; i++) await hit()
const seconds = (performance.now() - started) / 1000
const after = await settledHeap()
await client.close()
server.close()
process.stdout.write(JSON.stringify({ hits, before, after, perHit: (after - before) / hits, seconds, originRequests, lastStatus }))
