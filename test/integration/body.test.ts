/**
 * Response bodies: transparent decoding, the size limit by header and by stream (and the
 * connection released after it), decompression-bomb and stacked-coding guards, corrupt bodies and
 * invalid status lines. Every failure is a SafeFetchError with its code, never a crash.
 */
import { createHash, randomBytes } from 'node:crypto'
import type http from 'node:http'
import net from 'node:net'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, SafeFetchError } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(2_000) // ~90 KB
const PAYLOAD = Buffer.from(TEXT)
const zstd = zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }
const hasZstd = typeof zstd.zstdCompressSync === 'function'

/** Incompressible, so its decoded:compressed ratio stays near 1 (no bomb-guard involvement). */
const RANDOM = randomBytes(3 * 1024 * 1024)
const RANDOM_GZ = zlib.gzipSync(RANDOM, { level: 1 })
let bomb: Buffer
let server: TestServer
/** Per-request socket of the last request, and whether it closed. */
let lastSocket: { closed: boolean } = { closed: false }

function send(res: http.ServerResponse, encoding: string | undefined, body: Buffer): void {
  if (encoding !== undefined) res.setHeader('content-encoding', encoding)
  res.setHeader('content-length', body.length)
  res.end(body)
}

const socketStates = new WeakMap<net.Socket, { closed: boolean }>()

function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  let entry = socketStates.get(req.socket)
  if (entry === undefined) {
    const state = { closed: false }
    socketStates.set(req.socket, state)
    req.socket.once('close', () => (state.closed = true))
    entry = state
  }
  lastSocket = entry
  switch (req.url) {
    case '/gzip':
      return send(res, 'gzip', zlib.gzipSync(PAYLOAD))
    case '/x-gzip':
      return send(res, 'x-gzip', zlib.gzipSync(PAYLOAD))
    case '/deflate':
      return send(res, 'deflate', zlib.deflateSync(PAYLOAD))
    case '/deflate-raw':
      return send(res, 'deflate', zlib.deflateRawSync(PAYLOAD))
    case '/br':
      return send(res, 'br', zlib.brotliCompressSync(PAYLOAD))
    case '/zstd':
      return send(res, 'zstd', zstd.zstdCompressSync!(PAYLOAD))
    case '/two':
      // deflate applied first, then gzip (RFC 9110 §8.4: codings listed in the order applied)
      return send(res, 'deflate, gzip', zlib.gzipSync(zlib.deflateSync(PAYLOAD)))
    case '/three':
      return send(res, 'gzip, gzip, gzip', zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(PAYLOAD))))
    case '/unknown':
      return send(res, 'x-custom', Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    case '/identity':
      return send(res, 'identity', PAYLOAD)
    case '/corrupt-gzip':
      return send(res, 'gzip', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), Buffer.alloc(64, 0x41)]))
    case '/not-gzip':
      return send(res, 'gzip', Buffer.from('this is plain text, not gzip at all'))
    case '/bomb':
      return send(res, 'gzip', bomb)
    case '/chunked-gzip': {
      // compressed, streamed without content-length
      res.setHeader('content-encoding', 'gzip')
      const gz = zlib.createGzip()
      gz.pipe(res)
      gz.end(PAYLOAD)
      return
    }
    case '/random-gzip':
      return send(res, 'gzip', RANDOM_GZ)
    case '/big-length':
      res.setHeader('content-length', 2_000)
      res.end(Buffer.alloc(2_000, 0x61))
      return
    case '/big-chunked': {
      // No content-length: the limit has to be enforced while streaming.
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(1_000, 0x62))
      res.end()
      return
    }
    default:
      res.end('ok')
  }
}

beforeAll(async () => {
  bomb = zlib.gzipSync(Buffer.alloc(50_000_000), { level: 9 }) // 50 MB of zeros → ~50 KB
  server = await startHttpServer(route)
})
afterAll(async () => {
  await server.close()
})

describe('decoding', () => {
  const client = createClient(LOOPBACK)
  afterAll(() => client.close())

  const cases: [string, string][] = [
    ['/gzip', 'gzip'],
    ['/x-gzip', 'x-gzip'],
    ['/deflate', 'deflate (zlib)'],
    ['/deflate-raw', 'deflate (raw)'],
    ['/br', 'br'],
    ['/two', 'deflate, gzip'],
    ['/chunked-gzip', 'gzip, chunked'],
    ['/identity', 'identity'],
  ]
  if (hasZstd) cases.push(['/zstd', 'zstd'])

  it.each(cases)('%s (%s) is decoded', async (path) => {
    const res = await client.fetch(`${server.origin}${path}`)
    expect(await res.text()).toBe(TEXT)
    expect(getCallInfo(res)?.bytes).toBe(PAYLOAD.length)
  })

  it.skipIf(hasZstd)('zstd is not advertised on this Node (no zlib zstd)', async () => {
    const res = await client.fetch(`${server.origin}/`)
    await res.text()
    expect(server.requests.at(-1)?.headers['accept-encoding']).toBe('gzip, deflate, br')
  })

  it('advertises what it decodes', async () => {
    const res = await client.fetch(`${server.origin}/`)
    await res.text()
    expect(server.requests.at(-1)?.headers['accept-encoding']).toBe(hasZstd ? 'gzip, deflate, br, zstd' : 'gzip, deflate, br')
  })

  it('decodes into a stream too', async () => {
    const res = await client.fetch(`${server.origin}/br`)
    const chunks: Uint8Array[] = []
    for await (const chunk of res.body!) chunks.push(chunk)
    expect(Buffer.concat(chunks).toString()).toBe(TEXT)
  })

  it('a large compressed body read slowly arrives whole (backpressure through the decoder)', async () => {
    const res = await client.fetch(`${server.origin}/random-gzip`)
    const reader = res.body!.getReader()
    let total = 0
    const hash = createHash('sha256')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      total += value.byteLength
      hash.update(value)
      await new Promise((resolve) => setImmediate(resolve)) // a consumer slower than the socket
    }
    expect(total).toBe(RANDOM.length)
    expect(hash.digest('hex')).toBe(createHash('sha256').update(RANDOM).digest('hex'))
  })

  it('an unknown coding is passed through untouched', async () => {
    const res = await client.fetch(`${server.origin}/unknown`)
    expect(res.headers.get('content-encoding')).toBe('x-custom')
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([0xde, 0xad, 0xbe, 0xef])
  })

  it('decompress: false sends no Accept-Encoding and passes bytes through', async () => {
    const res = await client.fetch(`${server.origin}/gzip`, { decompress: false })
    const raw = Buffer.from(await res.arrayBuffer())
    expect(zlib.gunzipSync(raw).toString()).toBe(TEXT)
    expect(server.requests.at(-1)?.headers['accept-encoding']).toBeUndefined()
  })

  it('3 stacked codings → ERR_BAD_RESPONSE', async () => {
    const error = await rejectsWith(client.fetch(`${server.origin}/three`), 'ERR_BAD_RESPONSE')
    expect(error.message).toContain('content codings')
  })

  it.each(['/corrupt-gzip', '/not-gzip'])('a corrupt body (%s) → ERR_BAD_RESPONSE from the body read', async (path) => {
    const res = await client.fetch(`${server.origin}${path}`)
    await rejectsWith(res.text(), 'ERR_BAD_RESPONSE')
  })

  it('a gzip bomb (50 MB of zeros in ~50 KB) is refused by the ratio guard', async () => {
    expect(bomb.length).toBeLessThan(100_000)
    const res = await client.fetch(`${server.origin}/bomb`, { maxResponseBytes: 1e9 })
    const error = await rejectsWith(res.arrayBuffer(), 'ERR_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('maxDecompressionRatio')
  })

  it('the bomb also stops at maxResponseBytes when that comes first', async () => {
    const res = await client.fetch(`${server.origin}/bomb`, { maxResponseBytes: 100_000 })
    const error = await rejectsWith(res.arrayBuffer(), 'ERR_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('maxResponseBytes')
  })
})

describe('maxResponseBytes', () => {
  it('by Content-Length: the response resolves, the body read fails before reading, the socket is closed', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 1_000 })
    const res = await client.fetch(`${server.origin}/big-length`)
    expect(res.status).toBe(200)
    const socket = lastSocket
    const error = await rejectsWith(res.text(), 'ERR_RESPONSE_TOO_LARGE')
    expect(error.message).toContain('declares 2000 bytes')
    await until(() => socket.closed, 'the server to see the connection close')
    const next = await client.fetch(`${server.origin}/`)
    expect(await next.text()).toBe('ok')
    await client.close()
  })

  it('by stream (chunked): text() fails ERR_RESPONSE_TOO_LARGE and the connection is released', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 2_500 })
    const res = await client.fetch(`${server.origin}/big-chunked`)
    expect(res.headers.get('content-length')).toBeNull()
    const socket = lastSocket
    await rejectsWith(res.text(), 'ERR_RESPONSE_TOO_LARGE')
    await until(() => socket.closed, 'the server to see the connection close')
    const next = await client.fetch(`${server.origin}/`)
    expect(await next.text()).toBe('ok')
    await client.close()
  })

  it('by stream: arrayBuffer() and a stream reader fail the same way', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 2_500 })
    await rejectsWith((await client.fetch(`${server.origin}/big-chunked`)).arrayBuffer(), 'ERR_RESPONSE_TOO_LARGE')
    const res = await client.fetch(`${server.origin}/big-chunked`)
    const reader = res.body!.getReader()
    const read = async (): Promise<void> => {
      for (;;) if ((await reader.read()).done) return
    }
    await rejectsWith(read(), 'ERR_RESPONSE_TOO_LARGE')
    await client.close()
  })

  it('counts decoded bytes, not wire bytes', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 10_000 })
    // ~90 KB decoded from a few hundred wire bytes
    const res = await client.fetch(`${server.origin}/gzip`)
    await rejectsWith(res.text(), 'ERR_RESPONSE_TOO_LARGE')
    await client.close()
  })

  it('a body exactly at the limit passes', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 2_000 })
    const res = await client.fetch(`${server.origin}/big-length`)
    expect((await res.arrayBuffer()).byteLength).toBe(2_000)
    await client.close()
  })

  it('cancelling a body releases the connection', async () => {
    const client = createClient(LOOPBACK)
    const res = await client.fetch(`${server.origin}/big-chunked`)
    await res.body!.cancel()
    const next = await client.fetch(`${server.origin}/`)
    expect(await next.text()).toBe('ok')
    await client.close()
  })
})

describe('invalid responses', () => {
  let raw: net.Server
  let rawPort: number
  const answers: Record<string, string> = {
    '/999': 'HTTP/1.1 999 X\r\ncontent-length: 2\r\n\r\nok',
    '/600': 'HTTP/1.1 600 Too High\r\ncontent-length: 0\r\n\r\n',
    '/abc': 'HTTP/1.1 abc Nope\r\n\r\n',
    '/garbage': 'hello there\r\n\r\n',
    '/bad-header': 'HTTP/1.1 200 OK\r\nbad header line\r\n\r\n',
    '/bad-length': 'HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n',
    '/truncated': 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly a few bytes',
    '/huge-headers': `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\ncontent-length: 2\r\n\r\nok`,
    '/bad-chunk': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n',
  }
  beforeAll(async () => {
    raw = net.createServer((socket) => {
      socket.on('error', () => {})
      socket.once('data', (data: Buffer) => {
        const path = data.toString().split(' ')[1] ?? '/'
        const answer = answers[path]
        if (answer === undefined) return void socket.destroy()
        socket.end(answer)
      })
    })
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
    rawPort = (raw.address() as net.AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => raw.close(() => resolve())))

  it.each(['/999', '/600', '/abc', '/garbage', '/bad-header', '/bad-length', '/huge-headers'])('%s → ERR_BAD_RESPONSE, never a crash', async (path) => {
    const client = createClient(LOOPBACK)
    await rejectsWith(client.fetch(`http://127.0.0.1:${rawPort}${path}`), 'ERR_BAD_RESPONSE')
    await client.close()
  })

  it('a malformed chunk fails the body read with ERR_BAD_RESPONSE', async () => {
    const client = createClient(LOOPBACK)
    const res = await client.fetch(`http://127.0.0.1:${rawPort}/bad-chunk`)
    await rejectsWith(res.text(), 'ERR_BAD_RESPONSE')
    await client.close()
  })

  it('a body cut short by the server fails the body read with a SafeFetchError', async () => {
    const client = createClient(LOOPBACK)
    const res = await client.fetch(`http://127.0.0.1:${rawPort}/truncated`)
    const error = await res.text().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SafeFetchError)
    expect(['ERR_NETWORK', 'ERR_BAD_RESPONSE']).toContain((error as SafeFetchError).code)
    await client.close()
  })

  it('a connection closed before any answer → ERR_NETWORK', async () => {
    const client = createClient(LOOPBACK)
    await rejectsWith(client.fetch(`http://127.0.0.1:${rawPort}/hang-up`), 'ERR_NETWORK')
    await client.close()
  })
})
