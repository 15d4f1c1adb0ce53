/**
 * Hostile servers: each misbehaviour must end in a clear SafeFetchError (or a correct response)
 * within the configured timeouts, with no socket left open on the server side after close() and
 * no unbounded buffering. Every server loop is bounded in count; assertions on time use generous
 * margins only (the machine is shared).
 *
 * Behaviours: endless and oversized headers, Set-Cookie floods, slowloris bodies, endless chunked
 * bodies vs maxResponseBytes, gzip/brotli bombs and stacked codings, broken chunk framing,
 * Content-Length mismatches, redirect loops and 1000-hop chains, 1xx floods (RFC 9110 §15.2),
 * a response before the request, a reset mid-body, a huge Retry-After, non-UTF-8 header bytes and
 * HTTP/0.9 (no status line, RFC 9112 §2.3 / Appendix C.1).
 */
import net from 'node:net'
import zlib from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { createClient, memoryStore, SafeFetchError, type Client } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { LOOPBACK } from '../support/servers.js'

interface RawServer {
  port: number
  open: Set<net.Socket>
  connections: number
  close(): Promise<void>
}

const servers: RawServer[] = []
const clients: Client[] = []

/** A raw TCP server: `onRequest` gets the socket once a request head arrived (or at once when `eager`). */
async function rawServer(onRequest: (socket: net.Socket, head: string) => void, eager = false): Promise<RawServer> {
  const open = new Set<net.Socket>()
  const state = { connections: 0 }
  const server = net.createServer((socket) => {
    state.connections++
    open.add(socket)
    socket.on('close', () => open.delete(socket))
    socket.on('error', () => {})
    if (eager) {
      socket.resume() // read (and drop) what the client sends, so its FIN is seen
      onRequest(socket, '')
      return
    }
    let buffered = ''
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const head = buffered.slice(0, end)
      buffered = buffered.slice(end + 4)
      onRequest(socket, head)
    }
    socket.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const result: RawServer = {
    port: (server.address() as net.AddressInfo).port,
    open,
    get connections() {
      return state.connections
    },
    close: () =>
      new Promise<void>((done) => {
        for (const s of open) s.destroy()
        server.close(() => done())
      }),
  }
  servers.push(result)
  return result
}

/** Writes `piece()` every `everyMs` up to `max` times while the socket is writable (bounded). */
function drip(socket: net.Socket, piece: (i: number) => string | Buffer, everyMs: number, max: number): void {
  let i = 0
  const tick = (): void => {
    if (socket.destroyed || i >= max) return
    socket.write(piece(i++))
    setTimeout(tick, everyMs).unref()
  }
  tick()
}

const OPTIONS = {
  ...LOOPBACK,
  retry: false,
  timeout: { connect: 2_000, headers: 1_000, read: 500, total: 4_000 },
  maxResponseBytes: 256 * 1024,
} as const

function client(extra: Record<string, unknown> = {}): Client {
  const c = createClient({ ...OPTIONS, ...extra } as Parameters<typeof createClient>[0])
  clients.push(c)
  return c
}

/** The outcome of a call with its body read to the end: a status, or an error code. */
async function outcome(c: Client, url: string): Promise<{ code?: string; status?: number; body?: Buffer; error?: unknown }> {
  try {
    const res = await c.fetch(url)
    const body = Buffer.from(await res.arrayBuffer())
    return { status: res.status, body }
  } catch (err) {
    return { code: err instanceof SafeFetchError ? err.code : `not a SafeFetchError: ${String(err)}`, error: err }
  }
}

afterEach(async () => {
  const open = servers.splice(0)
  try {
    await Promise.all(clients.splice(0).map((c) => c.close()))
    // After close(), the client holds no socket: the server sees every connection closed.
    for (const s of open) await until(() => s.open.size === 0, `server-side sockets closed (${s.open.size} open)`, 3_000)
  } finally {
    await Promise.all(open.map((s) => s.close()))
  }
})

const OK_HEAD = 'HTTP/1.1 200 OK\r\n'

describe('headers', () => {
  it('endless headers end in ERR_BAD_RESPONSE (header size limit), not a hang', async () => {
    const s = await rawServer((socket) => {
      socket.write(OK_HEAD)
      drip(socket, (i) => `x-h${i}: ${'a'.repeat(100)}\r\n`.repeat(50), 5, 2_000)
    })
    const r = await outcome(client(), `http://127.0.0.1:${s.port}/`)
    expect(['ERR_BAD_RESPONSE', 'ERR_HEADERS_TIMEOUT']).toContain(r.code)
  })

  it('one header larger than the limit is ERR_BAD_RESPONSE', async () => {
    const s = await rawServer((socket) => {
      socket.end(`${OK_HEAD}x-big: ${'a'.repeat(1024 * 1024)}\r\ncontent-length: 0\r\n\r\n`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('a Set-Cookie flood past the header limit is ERR_BAD_RESPONSE', async () => {
    const s = await rawServer((socket) => {
      socket.end(`${OK_HEAD}${'set-cookie: a=b; Path=/\r\n'.repeat(20_000)}content-length: 0\r\n\r\n`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('non-UTF-8 header bytes are read as latin-1 (a correct response, not a crash)', async () => {
    const s = await rawServer((socket) => {
      socket.write(Buffer.concat([Buffer.from(`${OK_HEAD}x-odd: `), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('\r\ncontent-length: 2\r\n\r\nok')]))
    })
    const c = client()
    const res = await c.fetch(`http://127.0.0.1:${s.port}/`)
    expect(res.status).toBe(200)
    expect(typeof res.headers.get('x-odd')).toBe('string')
    expect(await res.text()).toBe('ok')
  })

  it('HTTP/0.9 (a body with no status line) is ERR_BAD_RESPONSE', async () => {
    const s = await rawServer((socket) => {
      socket.end('<html>hello, no status line</html>\n')
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('an endless 1xx flood (103 Early Hints, 100 Continue) ends within the headers timeout', async () => {
    const s = await rawServer((socket) => {
      drip(socket, (i) => (i % 2 === 0 ? 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n' : 'HTTP/1.1 100 Continue\r\n\r\n'), 5, 4_000)
    })
    const started = performance.now()
    const r = await outcome(client({ timeout: { connect: 2_000, headers: 500, read: 500, total: 10_000 } }), `http://127.0.0.1:${s.port}/`)
    expect(['ERR_HEADERS_TIMEOUT', 'ERR_BAD_RESPONSE'], String(r.error)).toContain(r.code)
    // Generous: the flood itself lasts 20 s; the total deadline is 10 s.
    expect(performance.now() - started).toBeLessThan(9_000)
  })

  it('headers dripped one byte at a time end at the headers timeout, not the total deadline', async () => {
    const head = `${OK_HEAD}${'x-slow: yes\r\n'.repeat(100)}content-length: 0\r\n\r\n`
    const s = await rawServer((socket) => {
      drip(socket, (i) => head[i] ?? '', 50, head.length)
    })
    const started = performance.now()
    const r = await outcome(client({ timeout: { connect: 2_000, headers: 500, read: 500, total: 30_000 } }), `http://127.0.0.1:${s.port}/`)
    expect(r.code, String(r.error)).toBe('ERR_HEADERS_TIMEOUT')
    // Generous: the drip lasts ~70 s, the total deadline is 30 s.
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it('an endless flood of 103 Early Hints alone ends within the deadline', async () => {
    const s = await rawServer((socket) => {
      drip(socket, () => 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n', 5, 4_000)
    })
    const started = performance.now()
    const r = await outcome(client({ timeout: { connect: 2_000, headers: 500, read: 500, total: 2_000 } }), `http://127.0.0.1:${s.port}/`)
    expect(['ERR_HEADERS_TIMEOUT', 'ERR_DEADLINE_EXCEEDED', 'ERR_BAD_RESPONSE'], String(r.error)).toContain(r.code)
    expect(performance.now() - started).toBeLessThan(12_000)
  })

  it('many 1xx then a final response: the final response is returned', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n'.repeat(200))
      socket.write(`${OK_HEAD}content-length: 2\r\n\r\nok`)
    })
    const r = await outcome(client(), `http://127.0.0.1:${s.port}/`)
    expect(r.status).toBe(200)
    expect(r.body?.toString()).toBe('ok')
  })

  it('a response written before the request is a SafeFetchError, not a crash', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 5\r\n\r\nearly`)
    }, true)
    const r = await outcome(client(), `http://127.0.0.1:${s.port}/`)
    // undici may read it as the answer (it arrived on a fresh connection) or refuse it: both are fine,
    // as long as it is a clean outcome.
    if (r.code !== undefined) expect(r.error).toBeInstanceOf(SafeFetchError)
    else expect(r.status).toBe(200)
  })
})

describe('bodies', () => {
  it('slowloris: one byte at a time under the read timeout is stopped by the total deadline', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 100000\r\n\r\n`)
      drip(socket, () => 'a', 100, 200)
    })
    const started = performance.now()
    const r = await outcome(client({ timeout: { connect: 2_000, headers: 1_000, read: 1_000, total: 1_500 } }), `http://127.0.0.1:${s.port}/`)
    expect(['ERR_DEADLINE_EXCEEDED', 'ERR_READ_TIMEOUT']).toContain(r.code)
    expect(performance.now() - started).toBeLessThan(15_000)
  })

  it('a body that stalls is ERR_READ_TIMEOUT', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 100\r\n\r\nabc`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_READ_TIMEOUT')
  })

  it('a never-ending chunked body is cut at maxResponseBytes', async () => {
    const chunk = `4000\r\n${'z'.repeat(0x4000)}\r\n`
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}transfer-encoding: chunked\r\n\r\n`)
      drip(socket, () => chunk, 1, 2_000) // at most 32 MiB, far past the 256 KiB limit
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_RESPONSE_TOO_LARGE')
  })

  it.each([
    ['gzip', (b: Buffer) => zlib.gzipSync(b, { level: 9 })],
    ['br', (b: Buffer) => zlib.brotliCompressSync(b)],
    ['deflate', (b: Buffer) => zlib.deflateSync(b, { level: 9 })],
    ['gzip, gzip', (b: Buffer) => zlib.gzipSync(zlib.gzipSync(b, { level: 9 }), { level: 9 })],
  ])('a %s bomb (16 MiB of zeros) is refused, not inflated', async (coding, encode) => {
    const bomb = encode(Buffer.alloc(16 * 1024 * 1024))
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-encoding: ${coding}\r\ncontent-length: ${bomb.length}\r\n\r\n`)
      socket.write(bomb)
    })
    const heapBefore = process.memoryUsage().arrayBuffers
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_RESPONSE_TOO_LARGE')
    // Nothing near 16 MiB was retained (generous: the limit is 256 KiB).
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(12 * 1024 * 1024)
  })

  it('Content-Encoding: gzip, gzip, gzip (more than two codings) is ERR_BAD_RESPONSE', async () => {
    const body = zlib.gzipSync(zlib.gzipSync(zlib.gzipSync(Buffer.from('hi'))))
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-encoding: gzip, gzip, gzip\r\ncontent-length: ${body.length}\r\n\r\n`)
      socket.write(body)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('a body that is not valid gzip is ERR_BAD_RESPONSE', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-encoding: gzip\r\ncontent-length: 20\r\n\r\n${'not gzip at all.....'}`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it.each([
    ['a chunk size that is not hex', 'zz\r\nabc\r\n0\r\n\r\n'],
    ['a chunk longer than announced', '2\r\nabcdef\r\n0\r\n\r\n'],
    ['a chunk size overflowing 64 bits', 'ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n'],
    ['a negative chunk size', '-1\r\nabc\r\n0\r\n\r\n'],
  ])('invalid chunk framing (%s) is ERR_BAD_RESPONSE', async (_what, framing) => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}transfer-encoding: chunked\r\n\r\n${framing}`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it('Content-Length and Transfer-Encoding together (request smuggling shape) is refused or framed by chunking', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`)
    })
    const r = await outcome(client(), `http://127.0.0.1:${s.port}/`)
    if (r.code !== undefined) expect(r.code).toBe('ERR_BAD_RESPONSE')
    else expect(r.body?.toString()).toBe('ok')
  })

  it('a body shorter than Content-Length, then close, is an error (never a truncated success)', async () => {
    const s = await rawServer((socket) => {
      socket.end(`${OK_HEAD}content-length: 100\r\n\r\nonly ten b`)
    })
    expect(['ERR_NETWORK', 'ERR_BAD_RESPONSE']).toContain((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code)
  })

  it('a body longer than Content-Length: the response is the announced length', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 2\r\n\r\nokEXTRA-BYTES-SMUGGLED`)
    })
    const r = await outcome(client(), `http://127.0.0.1:${s.port}/`)
    if (r.code === undefined) expect(r.body?.toString()).toBe('ok')
    else expect(r.error).toBeInstanceOf(SafeFetchError)
  })

  it('two different Content-Length values are ERR_BAD_RESPONSE (RFC 9112 §6.3)', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 2\r\ncontent-length: 5\r\n\r\nhello`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
  })

  it.each([
    ['two Content-Length values', 'content-length: 2\r\ncontent-length: 5\r\n\r\nhello'],
    ['a 100 Continue nobody asked for', '\r\n'],
  ])('a framing violation (%s) is not retried as a network error', async (what, rest) => {
    let asked = 0
    const s = await rawServer((socket) => {
      asked++
      socket.write(what.startsWith('a 100') ? 'HTTP/1.1 100 Continue\r\n\r\n' : `${OK_HEAD}${rest}`)
    })
    // Default retry policy (ERR_NETWORK is retried, a malformed response is not).
    expect((await outcome(client({ retry: {} }), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_BAD_RESPONSE')
    expect(asked).toBe(1)
  })

  it('a connection reset mid-body is ERR_NETWORK', async () => {
    const s = await rawServer((socket) => {
      socket.write(`${OK_HEAD}content-length: 1000\r\n\r\n${'a'.repeat(100)}`, () => setTimeout(() => socket.resetAndDestroy(), 20))
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/`)).code).toBe('ERR_NETWORK')
  })
})

describe('redirects and retries', () => {
  it('a redirect loop is ERR_TOO_MANY_REDIRECTS', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 302 Found\r\nlocation: /loop\r\ncontent-length: 0\r\n\r\n')
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/loop`)).code).toBe('ERR_TOO_MANY_REDIRECTS')
  })

  it('a 1000-hop chain stops at the redirect limit, having asked for few hops', async () => {
    let asked = 0
    const s = await rawServer((socket, head) => {
      asked++
      const n = Number(/^GET \/hop\/(\d+)/.exec(head)?.[1] ?? 0)
      socket.write(n >= 1000 ? `${OK_HEAD}content-length: 4\r\n\r\ndone` : `HTTP/1.1 301 Moved\r\nlocation: /hop/${n + 1}\r\ncontent-length: 0\r\n\r\n`)
    })
    expect((await outcome(client(), `http://127.0.0.1:${s.port}/hop/0`)).code).toBe('ERR_TOO_MANY_REDIRECTS')
    expect(asked).toBeLessThanOrEqual(25)
  })

  it('a redirect with a never-ending body is followed without reading the body to its end', async () => {
    const chunk = `4000\r\n${'z'.repeat(0x4000)}\r\n`
    const s = await rawServer((socket, head) => {
      if (head.startsWith('GET /done')) {
        socket.write(`${OK_HEAD}content-length: 4\r\n\r\ndone`)
        return
      }
      socket.write(`HTTP/1.1 302 Found\r\nlocation: /done\r\ntransfer-encoding: chunked\r\n\r\n`)
      drip(socket, () => chunk, 1, 4_000) // up to 64 MiB
    })
    const r = await outcome(client({ timeout: { connect: 2_000, headers: 1_000, read: 1_000, total: 8_000 } }), `http://127.0.0.1:${s.port}/start`)
    expect(r.body?.toString() ?? r.code).toBe('done')
  })

  it('a 503 with a never-ending body and retries on: each attempt ends, the call ends in time', async () => {
    const chunk = `4000\r\n${'z'.repeat(0x4000)}\r\n`
    let asked = 0
    const s = await rawServer((socket) => {
      asked++
      socket.write(`HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ntransfer-encoding: chunked\r\n\r\n`)
      drip(socket, () => chunk, 1, 4_000)
    })
    const started = performance.now()
    const r = await outcome(
      client({ retry: { limit: 2 }, timeout: { connect: 2_000, headers: 1_000, read: 1_000, total: 8_000 } }),
      `http://127.0.0.1:${s.port}/`,
    )
    expect(r.status ?? r.code).toSatisfy((x: unknown) => x === 'ERR_RESPONSE_TOO_LARGE' || x === 'ERR_DEADLINE_EXCEEDED' || x === 503)
    expect(asked).toBeLessThanOrEqual(3)
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it('a huge Retry-After is not waited for: the call ends within its deadline', async () => {
    let asked = 0
    const s = await rawServer((socket) => {
      asked++
      socket.write('HTTP/1.1 503 Service Unavailable\r\nretry-after: 999999999\r\ncontent-length: 0\r\n\r\n')
    })
    const started = performance.now()
    const c = client({ retry: { limit: 3 }, timeout: { connect: 2_000, headers: 1_000, read: 1_000, total: 3_000 } })
    const r = await outcome(c, `http://127.0.0.1:${s.port}/`)
    expect(r.status === 503 || r.code === 'ERR_DEADLINE_EXCEEDED').toBe(true)
    expect(performance.now() - started).toBeLessThan(15_000)
    expect(asked).toBeGreaterThanOrEqual(1)
  })

  it('a Retry-After HTTP-date far in the future is not waited for either', async () => {
    const s = await rawServer((socket) => {
      socket.write('HTTP/1.1 429 Too Many Requests\r\nretry-after: Fri, 31 Dec 9999 23:59:59 GMT\r\ncontent-length: 0\r\n\r\n')
    })
    const started = performance.now()
    const r = await outcome(
      client({ retry: { limit: 3 }, timeout: { connect: 2_000, headers: 1_000, read: 1_000, total: 3_000 } }),
      `http://127.0.0.1:${s.port}/`,
    )
    expect(r.status === 429 || r.code === 'ERR_DEADLINE_EXCEEDED').toBe(true)
    expect(performance.now() - started).toBeLessThan(15_000)
  })
})

describe('limits hold on every path', () => {
  it("a stored response larger than this call's maxResponseBytes is not served from the cache", async () => {
    let asked = 0
    const s = await rawServer((socket) => {
      asked++
      socket.write(`${OK_HEAD}cache-control: max-age=600\r\ncontent-length: ${200 * 1024}\r\n\r\n`)
      socket.write(Buffer.alloc(200 * 1024, 0x61))
    })
    const c = client({ cache: { store: memoryStore() } })
    const url = `http://127.0.0.1:${s.port}/big`
    expect((await outcome(c, url)).body?.length).toBe(200 * 1024) // stored under the client's 256 KiB limit
    // The same URL with a 1000-byte limit: the network path refuses it, and so must the cache.
    // (The network path fails the body: the error may come from fetch() or from reading the body.)
    let small: { bytes: number } | { code: string }
    try {
      const res = await c.fetch(url, { maxResponseBytes: 1000 })
      small = { bytes: (await res.arrayBuffer()).byteLength }
    } catch (err) {
      small = { code: err instanceof SafeFetchError ? err.code : String(err) }
    }
    expect(small).toEqual({ code: 'ERR_RESPONSE_TOO_LARGE' })
    // The entry still serves calls whose limit it fits.
    expect((await outcome(c, url)).body?.length).toBe(200 * 1024)
    expect(asked).toBe(2)
  })
})
