/**
 * The fetch surface against real loopback servers: Response shape, bodies of every kind, URL
 * joining and the baseUrl origin lock, per-call overrides, client isolation, close() and configure().
 */
import type http from 'node:http'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, safeFetch, SafeFetchError } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { startHttpServer, startSilentServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { echo, type Echo } from '../support/replies.js'

let server: TestServer
let other: TestServer
let silent: TestServer
/** Sockets the main server saw, with whether they closed. */
const serverSockets: { closed: boolean }[] = []

function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  const socket = req.socket
  if (!(socket as unknown as { tracked?: boolean }).tracked) {
    ;(socket as unknown as { tracked?: boolean }).tracked = true
    const entry = { closed: false }
    serverSockets.push(entry)
    socket.on('close', () => (entry.closed = true))
  }
  switch (url.pathname) {
    case '/status': {
      res.statusCode = Number(url.searchParams.get('code'))
      res.end(`status ${res.statusCode}`)
      return
    }
    case '/cookies':
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; HttpOnly'])
      res.setHeader('x-multi', ['one', 'two'])
      res.end('ok')
      return
    case '/no-content':
      res.statusCode = 204
      res.end()
      return
    case '/not-modified':
      res.statusCode = 304
      res.setHeader('etag', '"v1"')
      res.end()
      return
    case '/redirect':
      res.statusCode = 302
      res.setHeader('location', '/v1/users')
      res.end()
      return
    case '/hang':
      return // never answers
    case '/early-hints':
      res.writeEarlyHints({ link: '</style.css>; rel=preload' })
      setTimeout(() => res.end('final'), 10)
      return
    case '/slow':
      setTimeout(() => res.end('slow'), 20)
      return
    default:
      echo(req, res)
  }
}

beforeAll(async () => {
  server = await startHttpServer(route)
  other = await startHttpServer(echo)
  silent = await startSilentServer()
})
afterAll(async () => {
  await Promise.all([server.close(), other.close(), silent.close()])
})

describe('responses', () => {
  const client = createClient(LOOPBACK)
  afterAll(() => client.close())

  it('returns a standard Response with status, headers and body', async () => {
    const res = await client.fetch(`${server.origin}/hello?x=1`)
    expect(res).toBeInstanceOf(Response)
    expect(res.status).toBe(200)
    expect(res.ok).toBe(true)
    expect(res.headers.get('content-type')).toBe('application/json')
    const body = (await res.json()) as Echo
    expect(body.method).toBe('GET')
    expect(body.url).toBe('/hello?x=1')
    expect(body.headers['accept-encoding']).toContain('gzip')
    expect(res.url).toBe(`${server.origin}/hello?x=1`)
    expect(res.redirected).toBe(false)
  })

  it.each([400, 404, 418, 500, 503])('HTTP %i is a response, not an error', async (code) => {
    const res = await client.fetch(`${server.origin}/status?code=${code}`)
    expect(res.status).toBe(code)
    expect(res.ok).toBe(false)
    expect(await res.text()).toBe(`status ${code}`)
  })

  it('keeps every set-cookie value separate and joins other repeated headers', async () => {
    const res = await client.fetch(`${server.origin}/cookies`)
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly'])
    expect(res.headers.get('x-multi')).toBe('one, two')
    await res.text()
  })

  it('HEAD, 204 and 304 have no body', async () => {
    const head = await client.fetch(`${server.origin}/hello`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body).toBeNull()
    expect(await head.text()).toBe('')
    const none = await client.fetch(`${server.origin}/no-content`)
    expect(none.status).toBe(204)
    expect(none.body).toBeNull()
    const notModified = await client.fetch(`${server.origin}/not-modified`)
    expect(notModified.status).toBe(304)
    expect(notModified.body).toBeNull()
    expect(notModified.headers.get('etag')).toBe('"v1"')
  })

  it('skips interim 1xx responses (103 Early Hints) and returns the final one', async () => {
    const res = await client.fetch(`${server.origin}/early-hints`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('final')
  })

  it('sets url and redirected after a redirect', async () => {
    const res = await client.fetch(`${server.origin}/redirect`)
    expect(res.status).toBe(200)
    expect(res.redirected).toBe(true)
    expect(res.url).toBe(`${server.origin}/v1/users`)
    expect(((await res.json()) as Echo).url).toBe('/v1/users')
  })
})

describe('request bodies', () => {
  const client = createClient(LOOPBACK)
  afterAll(() => client.close())
  const post = async (body: unknown, headers?: Record<string, string>): Promise<Echo> => {
    const init: Parameters<typeof client.fetch>[1] = { method: 'POST', body: body as never }
    if (headers !== undefined) init.headers = headers
    const res = await client.fetch(`${server.origin}/echo`, init)
    return (await res.json()) as Echo
  }

  it('string → text/plain', async () => {
    const got = await post('héllo')
    expect(got.method).toBe('POST')
    expect(Buffer.from(got.body, 'latin1').toString('utf8')).toBe('héllo')
    expect(got.headers['content-type']).toBe('text/plain;charset=UTF-8')
    expect(got.headers['content-length']).toBe(String(Buffer.byteLength('héllo')))
  })

  it('Uint8Array, with no implied content-type', async () => {
    const got = await post(new Uint8Array([1, 2, 3, 250]))
    expect([...Buffer.from(got.body, 'latin1')]).toEqual([1, 2, 3, 250])
    expect(got.headers['content-type']).toBeUndefined()
  })

  it('ArrayBuffer', async () => {
    const got = await post(new Uint8Array([9, 8, 7]).buffer)
    expect([...Buffer.from(got.body, 'latin1')]).toEqual([9, 8, 7])
  })

  it('URLSearchParams → form-urlencoded', async () => {
    const got = await post(new URLSearchParams({ a: '1', b: 'x y' }))
    expect(got.body).toBe('a=1&b=x+y')
    expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=UTF-8')
  })

  it('FormData → multipart with its boundary', async () => {
    const form = new FormData()
    form.set('field', 'value')
    form.set('file', new Blob(['file-content'], { type: 'text/plain' }), 'a.txt')
    const got = await post(form)
    const type = got.headers['content-type'] ?? ''
    expect(type).toMatch(/^multipart\/form-data; boundary=/)
    const boundary = type.split('boundary=')[1]!
    expect(got.body).toContain(`--${boundary}`)
    expect(got.body).toContain('name="field"')
    expect(got.body).toContain('file-content')
    expect(got.body).toContain('filename="a.txt"')
  })

  it('Blob, with its type', async () => {
    const got = await post(new Blob(['{"a":1}'], { type: 'application/json' }))
    expect(got.body).toBe('{"a":1}')
    expect(got.headers['content-type']).toBe('application/json')
  })

  it('an explicit content-type wins over the implied one', async () => {
    const got = await post('{"a":1}', { 'content-type': 'application/json' })
    expect(got.headers['content-type']).toBe('application/json')
  })

  it('WHATWG ReadableStream', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('part1-'))
        controller.enqueue(new TextEncoder().encode('part2'))
        controller.close()
      },
    })
    const got = await post(stream)
    expect(got.body).toBe('part1-part2')
  })

  it('Node Readable', async () => {
    const got = await post(Readable.from([Buffer.from('node-'), Buffer.from('stream')]))
    expect(got.body).toBe('node-stream')
  })

  it('body factory, returning a string or a stream', async () => {
    expect((await post(() => 'from-factory')).body).toBe('from-factory')
    expect((await post(() => Readable.from([Buffer.from('factory-stream')]))).body).toBe('factory-stream')
    const web = (): ReadableStream<Uint8Array> =>
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('factory-web'))
          c.close()
        },
      })
    expect((await post(web)).body).toBe('factory-web')
  })

  it('PUT, PATCH and DELETE carry their bodies; methods are normalised', async () => {
    for (const method of ['put', 'PATCH', 'delete']) {
      const res = await client.fetch(`${server.origin}/m`, { method, body: method })
      const got = (await res.json()) as Echo
      expect(got.method).toBe(method.toUpperCase())
      expect(got.body).toBe(method)
    }
  })

  it('accepts a Request as input (method, headers, body)', async () => {
    const request = new Request(`${server.origin}/from-request`, {
      method: 'POST',
      headers: { 'x-from': 'request', 'content-type': 'text/x-custom' },
      body: 'request-body',
    })
    const res = await client.fetch(request)
    const got = (await res.json()) as Echo
    expect(got.method).toBe('POST')
    expect(got.url).toBe('/from-request')
    expect(got.headers['x-from']).toBe('request')
    expect(got.headers['content-type']).toBe('text/x-custom')
    expect(got.body).toBe('request-body')
  })

  it('init overrides a Request input', async () => {
    const request = new Request(`${server.origin}/r`, { method: 'POST', headers: { 'x-a': '1' }, body: 'old' })
    const res = await client.fetch(request, { method: 'PUT', headers: { 'x-a': '2' }, body: 'new' })
    const got = (await res.json()) as Echo
    expect(got.method).toBe('PUT')
    expect(got.headers['x-a']).toBe('2')
    expect(got.body).toBe('new')
  })
})

describe('URLs and baseUrl', () => {
  it('joins relative paths under the base path, with or without a leading slash', async () => {
    const client = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1` })
    for (const path of ['users', '/users', 'users?page=2']) {
      const res = await client.fetch(path)
      const got = (await res.json()) as Echo
      expect(got.url).toBe(path.includes('?') ? '/v1/users?page=2' : '/v1/users')
    }
    const trailing = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1/` })
    expect(((await (await trailing.fetch('/users')).json()) as Echo).url).toBe('/v1/users')
    await Promise.all([client.close(), trailing.close()])
  })

  it('refuses absolute URLs to another origin unless allowAbsoluteUrls', async () => {
    const client = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1` })
    const cases = [`${other.origin}/steal`, 'http://evil.example/x', '//evil.example/x', 'https://127.0.0.1/x', `http://127.0.0.1:${other.port}/x`]
    for (const target of cases) {
      const error = await rejectsWith(client.fetch(target), 'ERR_URL_BLOCKED')
      expect(error.message).toContain('allowAbsoluteUrls')
    }
    // `\\host` is read as `//host` by WHATWG but not by other parsers: refused outright as invalid.
    await rejectsWith(client.fetch('\\\\evil.example/x'), 'ERR_URL_INVALID')
    await rejectsWith(client.fetch('/\\evil.example/x'), 'ERR_URL_INVALID')
    expect(other.connections).toBe(0)
    // The base origin itself is fine as an absolute URL.
    const same = await client.fetch(`${server.origin}/abs`)
    expect(((await same.json()) as Echo).url).toBe('/abs')

    const open = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1`, allowAbsoluteUrls: true })
    const res = await open.fetch(`${other.origin}/allowed`)
    expect(((await res.json()) as Echo).url).toBe('/allowed')
    await Promise.all([client.close(), open.close()])
  })

  it('refuses a relative URL without baseUrl (ERR_URL_INVALID)', async () => {
    const client = createClient(LOOPBACK)
    await rejectsWith(client.fetch('/users'), 'ERR_URL_INVALID')
    await rejectsWith(client.fetch('users'), 'ERR_URL_INVALID')
    await client.close()
  })
})

describe('options', () => {
  it('per-call options override client options', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 5, redirect: 'error', headers: { 'x-client': 'c', 'x-both': 'client' } })
    // client limit 5 bytes: the echo body is larger
    const small = await client.fetch(`${server.origin}/a`)
    await rejectsWith(small.text(), 'ERR_RESPONSE_TOO_LARGE')
    const big = await client.fetch(`${server.origin}/a`, { maxResponseBytes: 100_000, headers: { 'x-both': 'call' } })
    const got = (await big.json()) as Echo
    expect(got.headers['x-client']).toBe('c')
    expect(got.headers['x-both']).toBe('call')
    // client redirect 'error', call 'follow'
    await rejectsWith(client.fetch(`${server.origin}/redirect`), 'ERR_REDIRECT_BLOCKED')
    const followed = await client.fetch(`${server.origin}/redirect`, { redirect: 'follow', maxResponseBytes: 100_000 })
    expect(followed.status).toBe(200)
    await followed.text()
    // a per-call override does not stick
    await rejectsWith(client.fetch(`${server.origin}/redirect`), 'ERR_REDIRECT_BLOCKED')
    await client.close()
  })

  it('connectionsPerOrigin caps the pool; parallel calls queue and all complete', async () => {
    const fresh = await startHttpServer(route)
    const client = createClient({ ...LOOPBACK, connectionsPerOrigin: 2 })
    const bodies = await Promise.all(Array.from({ length: 20 }, () => client.fetch(`${fresh.origin}/slow`).then((r) => r.text())))
    expect(bodies.every((b) => b === 'slow')).toBe(true)
    expect(fresh.connections).toBeLessThanOrEqual(2)
    await client.close()
    await fresh.close()
  })

  it('configure() can change the policy of a live client; a call in flight keeps its own', async () => {
    const client = createClient(LOOPBACK)
    const inFlight = client.fetch(`${server.origin}/slow`)
    client.configure({ policy: {} }) // back to the default: loopback refused
    expect(await (await inFlight).text()).toBe('slow')
    await rejectsWith(client.fetch(`${server.origin}/a`), 'ERR_ADDRESS_BLOCKED')
    client.configure(LOOPBACK)
    expect((await client.fetch(`${server.origin}/a`)).status).toBe(200)
    await client.close()
  })

  it('two clients share no state', async () => {
    const a = createClient({ ...LOOPBACK, headers: { 'x-who': 'a' } })
    const b = createClient({ headers: { 'x-who': 'b' } })
    const res = await a.fetch(`${server.origin}/a`)
    expect(((await res.json()) as Echo).headers['x-who']).toBe('a')
    // b has the default policy: loopback is refused even though a allowed it
    await rejectsWith(b.fetch(`${server.origin}/b`), 'ERR_ADDRESS_BLOCKED')
    a.configure({ timeout: { headers: 1234 } })
    expect(b.options.timeout.headers).toBe(10_000)
    await a.close()
    // closing a leaves b usable
    const c = createClient({ ...LOOPBACK, headers: { 'x-who': 'c' } })
    expect(((await (await c.fetch(`${server.origin}/c`)).json()) as Echo).headers['x-who']).toBe('c')
    await Promise.all([b.close(), c.close()])
  })

  it('configure() changes the timeouts of a live client', async () => {
    const client = createClient({ ...LOOPBACK, timeout: { headers: 60_000 } })
    const res = await client.fetch(`${server.origin}/warm`)
    await res.text()
    client.configure({ timeout: { headers: 100 } })
    expect(client.options.timeout.headers).toBe(100)
    expect(client.options.timeout.connect).toBe(5_000)
    // Without the new setting this would wait 60 s (and fail the test on its own timeout).
    await rejectsWith(client.fetch(`${server.origin}/hang`), 'ERR_HEADERS_TIMEOUT')
    await client.close()
  })

  it('configure() with an invalid value throws and keeps the old settings', async () => {
    const client = createClient({ ...LOOPBACK, timeout: { headers: 500 } })
    expect(() => client.configure({ timeout: { headers: -5 } })).toThrow(SafeFetchError)
    expect(client.options.timeout.headers).toBe(500)
    await client.close()
  })
})

describe('close()', () => {
  it('closes the pool sockets (the server sees them close) and later calls fail ERR_CLIENT_CLOSED', async () => {
    const client = createClient(LOOPBACK)
    const before = serverSockets.length
    const responses = await Promise.all([client.fetch(`${server.origin}/1`), client.fetch(`${server.origin}/2`)])
    await Promise.all(responses.map((r) => r.text()))
    const mine = serverSockets.slice(before)
    expect(mine.length).toBeGreaterThan(0)
    expect(mine.every((s) => !s.closed)).toBe(true) // kept alive
    await client.close()
    await until(() => mine.every((s) => s.closed), 'the server to see the client sockets close')
    await rejectsWith(client.fetch(`${server.origin}/after`), 'ERR_CLIENT_CLOSED')
    expect(() => client.configure({})).toThrow(SafeFetchError)
    await client.close() // idempotent
  })

  it('waits for a call in flight to end before closing', async () => {
    const client = createClient({ ...LOOPBACK, timeout: { headers: 200 } })
    const pending = client.fetch(`${server.origin}/hang`)
    const closing = client.close()
    await rejectsWith(pending, 'ERR_HEADERS_TIMEOUT')
    await closing
  })
})

describe('safeFetch()', () => {
  it('refuses loopback by default and works with a policy that allows it', async () => {
    await rejectsWith(safeFetch(`${server.origin}/default`), 'ERR_ADDRESS_BLOCKED')
    const res = await safeFetch(`${server.origin}/one-shot`, { policy: { allow: ['127.0.0.1/32'] } })
    expect(((await res.json()) as Echo).url).toBe('/one-shot')
  })
})
