/**
 * Run as a child process by body-memory.test.ts (`node --expose-gc --import tsx`), so the memory
 * measured is this client's alone. A raw-TCP origin (net, not node:http, which would refuse the
 * framing) answers with chunked encoding built to pin socket buffers: every chunk carries 1 data
 * byte, behind a 60 KB chunk extension (`ext`, `gzip-ext`) or none (`tiny`). The client holds the
 * body (read whole, left unread, or read one chunk as a stream) while the origin stops before the
 * last chunk; memory is measured then, after full GCs. Prints one JSON line.
 * Usage: node --expose-gc --import tsx body-memory.fixture.ts <ext|tiny|gzip-ext> <collect|unread|stream> <chunks> <maxResponseBytes>
 */
import { randomBytes } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import net from 'node:net'
import zlib from 'node:zlib'
import { createClient } from '../../src/index.js'

const [mode = 'ext', read = 'collect', countText = '2000', limitText = '262144'] = process.argv.slice(2)
const count = Number(countText)
const limit = Number(limitText)
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

const extension = mode.endsWith('ext') ? `;x=${'a'.repeat(60_000)}` : ''
/** The wire bytes, one per chunk: plain 'X's, or a gzip stream of incompressible bytes (so about `count` of them). */
const decoded = mode === 'gzip-ext' ? randomBytes(count) : Buffer.alloc(count, 'X')
const data = mode === 'gzip-ext' ? zlib.gzipSync(decoded) : decoded
const expected = decoded.length

let written = 0
let blockedSince = 0
let release: (() => void) | undefined
let originSocket: net.Socket | undefined
const server = net.createServer((socket) => {
  originSocket = socket
  socket.on('error', () => {})
  socket.once('data', () => {
    const head = ['HTTP/1.1 200 OK', 'content-type: application/octet-stream', 'transfer-encoding: chunked']
    if (mode === 'gzip-ext') head.push('content-encoding: gzip')
    socket.write(`${head.join('\r\n')}\r\n\r\n`)
    const writeNext = (): void => {
      while (written < data.length) {
        const byte = data.subarray(written, written + 1)
        written++
        const ok = socket.write(Buffer.concat([Buffer.from(`1${extension}\r\n`), byte, Buffer.from('\r\n')]))
        if (!ok) {
          blockedSince = performance.now()
          socket.once('drain', () => {
            blockedSince = 0
            writeNext()
          })
          return
        }
      }
      // Everything but the last chunk is out: hold it until the client's memory was measured.
      release = () => socket.end('0\r\n\r\n')
    }
    writeNext()
  })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`
const client = createClient({
  policy: { allow: ['127.0.0.1/32'] },
  maxResponseBytes: limit,
  cache: false,
  retry: false,
  timeout: { total: 120_000, read: 60_000 },
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
function measure(): { heap: number; external: number; rss: number } {
  gc!()
  gc!()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, external: m.external, rss: m.rss }
}

// Warm up (code compiled, pools made) on the same kind of body, short and complete, from its own
// origin, then take the baseline: what compiling the gzip / chunk-extension paths adds to the heap
// is not the body's memory.
const warmData = mode === 'gzip-ext' ? zlib.gzipSync(randomBytes(64)) : Buffer.alloc(64, 'X')
const warm = net.createServer((socket) => {
  socket.on('error', () => {})
  socket.once('data', () => {
    const head = ['HTTP/1.1 200 OK', 'content-type: application/octet-stream', 'transfer-encoding: chunked']
    if (mode === 'gzip-ext') head.push('content-encoding: gzip')
    const parts = [Buffer.from(`${head.join('\r\n')}\r\n\r\n`)]
    for (let i = 0; i < warmData.length; i++) parts.push(Buffer.from(`1${extension}\r\n`), warmData.subarray(i, i + 1), Buffer.from('\r\n'))
    socket.end(Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]))
  })
})
await new Promise<void>((resolve) => warm.listen(0, '127.0.0.1', resolve))
for (let i = 0; i < 3; i++) await (await client.fetch(`http://127.0.0.1:${(warm.address() as net.AddressInfo).port}/`)).arrayBuffer()
warm.close()
await sleep(20)
const before = measure()

// The client's end of the measured connection (undici announces each connection it makes).
let clientSocket: net.Socket | undefined
diagnostics.subscribe('undici:client:connected', (message) => {
  clientSocket = (message as { socket: net.Socket }).socket
})
const response = await client.fetch(url)
let body: Promise<number> | undefined
let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
if (read === 'collect') body = response.arrayBuffer().then((b) => b.byteLength)
else if (read === 'stream') {
  // Read one chunk, then stop reading: the stream's queue holds what arrives next.
  reader = response.body!.getReader()
  await reader.read()
}

// Wait until the origin has sent everything but the last chunk (collect), or until it has been
// blocked by backpressure for a while (unread / stream: the client stopped reading the socket).
// For collect, also until the client has read every byte sent: on a loaded machine it is still
// parsing the socket's backlog when the origin finishes writing, and that work's transient objects
// are not what the body holds.
const allRead = (): boolean =>
  originSocket !== undefined && clientSocket !== undefined && originSocket.writableLength === 0 && clientSocket.bytesRead >= originSocket.bytesWritten
for (let i = 0; i < 6000; i++) {
  if (release !== undefined && (read !== 'collect' || allRead())) break
  if (read !== 'collect' && blockedSince > 0 && performance.now() - blockedSince > 300) break
  await sleep(10)
}
await sleep(100)
let peak = measure()
for (let i = 0; i < 3; i++) {
  await sleep(20)
  const m = measure()
  if (m.heap + m.external > peak.heap + peak.external) peak = m
}

let received = 0
if (body !== undefined) {
  release?.()
  received = await body
} else if (reader !== undefined) await reader.cancel()
else await response.body?.cancel()
await client.close()
server.close()
console.log(JSON.stringify({ mode, read, count, limit, expected, received, written, before, peak }))
process.exit(0)
