/**
 * The proxy connector dials through the same path as the direct one (src/net/dial.ts): the same
 * checks, the same Happy Eyeballs order, the same timings. A real forward proxy on loopback.
 */
import http from 'node:http'
import type net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { selfSignedCertificate, startHttpServer, startHttpsServer, type TestCertificate, type TestServer } from '../support/servers.js'
import { fakeLookup, isolated, testHosts } from '../support/lookup.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'
import { startHangingListener, type HangingListener } from '../support/hanging-listener.js'
import { echo, type Echo } from '../support/replies.js'
import { tracing } from '../support/telemetry.js'

const NAME = 'api.example.test'
let cert: TestCertificate
let secure: TestServer
let plain: TestServer
const proxies: ForwardProxy[] = []

beforeAll(async () => {
  cert = await selfSignedCertificate(NAME)
  secure = await startHttpsServer(echo, cert)
  plain = await startHttpServer(echo)
})
afterAll(async () => {
  await Promise.all([secure.close(), plain.close()])
})
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

async function newProxy(options?: Parameters<typeof startForwardProxy>[0]): Promise<ForwardProxy> {
  const proxy = await startForwardProxy(options)
  proxies.push(proxy)
  return proxy
}

describe('timings through a proxy', () => {
  it('https: dns, connect (TCP + CONNECT) and tls are reported for a fresh tunnel', async () => {
    const proxy = await newProxy()
    const client = createClient({
      policy: { allow: ['127.0.0.1/32'] },
      lookup: fakeLookup({ [NAME]: ['127.0.0.1'] }),
      tls: { ca: cert.cert },
      retry: false,
      proxy: proxy.origin,
    })
    const res = await client.fetch(`https://${NAME}:${secure.port}/t`)
    await res.arrayBuffer()
    const info = getCallInfo(res)!
    expect(info.attemptLog[0]?.reusedConnection).toBe(false)
    expect(info.remoteAddress).toBe('127.0.0.1')
    expect(info.timings.dns).toBeGreaterThanOrEqual(0)
    expect(info.timings.connect).toBeGreaterThan(0)
    expect(info.timings.tls).toBeGreaterThan(0)
    await client.close()
  })

  it('http: dns and connect are reported, tls is not', async () => {
    const proxy = await newProxy()
    const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, lookup: fakeLookup({ [NAME]: ['127.0.0.1'] }), retry: false, proxy: proxy.origin })
    const res = await client.fetch(`http://${NAME}:${plain.port}/t`)
    await res.arrayBuffer()
    const info = getCallInfo(res)!
    expect(info.attemptLog[0]?.reusedConnection).toBe(false)
    expect(info.remoteAddress).toBe('127.0.0.1')
    expect(info.timings.dns).toBeGreaterThanOrEqual(0)
    expect(info.timings.connect).toBeGreaterThan(0)
    expect(info.timings.tls).toBeUndefined()
    await client.close()
  })
})

describe('plain http through a proxy: the checked addresses in turn', () => {
  // 127.0.0.2 is loopback too, but nothing listens on the test server's port there: refused.
  const options = (proxy: ForwardProxy, answers: string[]) => ({
    policy: { allow: ['127.0.0.0/8'] },
    lookup: fakeLookup({ [NAME]: answers }),
    retry: false as const,
    proxy: proxy.origin,
  })

  it('a first address the proxy cannot reach (Proxy-Status connection_refused): the next one is asked, once each', async () => {
    const proxy = await newProxy({ proxyStatus: true })
    const client = createClient(options(proxy, ['127.0.0.2', '127.0.0.1']))
    // Before: the proxy was only ever asked for the first address, and its 502 was the answer.
    const res = await client.fetch(`http://${NAME}:${plain.port}/second`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as Echo).headers.host).toBe(`${NAME}:${plain.port}`)
    expect(proxy.log.map((r) => r.line)).toEqual([`GET http://127.0.0.2:${plain.port}/second`, `GET http://127.0.0.1:${plain.port}/second`])
    expect(proxy.names).toEqual([])
    const info = getCallInfo(res)!
    expect(info.remoteAddress).toBe('127.0.0.1')
    // Two requests went to the proxy: the first one's record says why a second followed.
    expect(info.attemptLog.map((a) => [a.status, a.remoteAddress])).toEqual([
      [502, '127.0.0.2'],
      [200, '127.0.0.1'],
    ])
    expect(info.attemptLog[0]!.retryReason).toContain('connection_refused')
    await client.close()
  })

  it("the attempt's CLIENT span names the address that answered, not the one the proxy could not reach", async () => {
    const proxy = await newProxy({ proxyStatus: true })
    const trace = tracing()
    const client = createClient({ ...options(proxy, ['127.0.0.2', '127.0.0.1']), tracer: trace.tracer })
    const res = await client.fetch(`http://${NAME}:${plain.port}/span`)
    await res.arrayBuffer()
    const spans = trace.spans().filter((s) => s.kind === 2) // SpanKind.CLIENT
    expect(spans).toHaveLength(1)
    expect(spans[0]!.attributes['network.peer.address']).toBe('127.0.0.1')
    expect(spans[0]!.attributes['http.response.status_code']).toBe(200)
    await client.close()
  })

  it('a POST follows too: the proxy says it never reached the first address, so the origin sees it once', async () => {
    const proxy = await newProxy({ proxyStatus: true })
    const before = plain.requests.length
    const client = createClient(options(proxy, ['127.0.0.2', '127.0.0.1']))
    const res = await client.fetch(`http://${NAME}:${plain.port}/post`, { method: 'POST', body: 'once' })
    expect((await res.json()) as Echo).toMatchObject({ method: 'POST', body: 'once' })
    expect(plain.requests.length - before).toBe(1)
    expect(proxy.log.map((r) => r.line)).toEqual([`POST http://127.0.0.2:${plain.port}/post`, `POST http://127.0.0.1:${plain.port}/post`])
    await client.close()
  })

  it('a 502 without Proxy-Status is the answer (the request may have reached an origin): no second address', async () => {
    const proxy = await newProxy()
    const client = createClient(options(proxy, ['127.0.0.2', '127.0.0.1']))
    const res = await client.fetch(`http://${NAME}:${plain.port}/plain-502`, { method: 'POST', body: 'x' })
    expect(res.status).toBe(502)
    await res.arrayBuffer()
    expect(proxy.log.map((r) => r.line)).toEqual([`POST http://127.0.0.2:${plain.port}/plain-502`])
    await client.close()
  })

  it('retries start at the next address, so a retried GET does not go back to the one that failed', async () => {
    const proxy = await newProxy()
    const client = createClient({ ...options(proxy, ['127.0.0.2', '127.0.0.1']), retry: { limit: 1, backoff: { base: 1, cap: 1 } } })
    const res = await client.fetch(`http://${NAME}:${plain.port}/retried`)
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect(proxy.log.map((r) => r.line)).toEqual([`GET http://127.0.0.2:${plain.port}/retried`, `GET http://127.0.0.1:${plain.port}/retried`])
    await client.close()
  })

  it('every answer is still judged first: one denied answer refuses the name, the proxy hears nothing', async () => {
    const proxy = await newProxy({ proxyStatus: true })
    const client = createClient(options(proxy, ['127.0.0.2', '169.254.169.254', '127.0.0.1']))
    await expect(client.fetch(`http://${NAME}:${plain.port}/`)).rejects.toMatchObject({ code: 'ERR_ADDRESS_BLOCKED' })
    expect(proxy.connections).toBe(0)
    await client.close()
  })
})

const hostsPresent = isolated && ['10.255.0.1', 'fd00:5afe::1'].every((h) => testHosts.includes(h))

describe.skipIf(!hostsPresent)('through a proxy, families interleaved and a dark address [needs the isolated namespace]', () => {
  const POLICY = { allow: ['10.255.0.1/32', 'fd00:5afe::1/128', '::1/128'] }
  let hanging: HangingListener
  let ten: http.Server
  let port = 0

  beforeAll(async () => {
    // One port: fd00:5afe::1 never completes a connect, 10.255.0.1 answers, ::1 refuses.
    hanging = await startHangingListener('fd00:5afe::1')
    port = hanging.port
    ten = http.createServer((req, res) => res.end(`hello from 10.255.0.1 ${req.method}`))
    ten.on('connection', (socket: net.Socket) => socket.on('error', () => {}))
    await new Promise<void>((resolve, reject) => {
      ten.once('error', reject)
      ten.listen(port, '10.255.0.1', resolve)
    })
  })
  afterAll(async () => {
    hanging?.close()
    ten?.closeAllConnections()
    await new Promise((resolve) => ten?.close(resolve))
  })

  it('http: a first address whose connect hangs at the proxy (504 connection_timeout) → the next family', async () => {
    const proxy = await newProxy({ proxyStatus: true, upstreamConnectTimeoutMs: 300 })
    const client = createClient({ policy: POLICY, lookup: fakeLookup({ 'dual.test': ['fd00:5afe::1', '10.255.0.1'] }), proxy: proxy.origin, retry: false })
    const res = await client.fetch(`http://dual.test:${port}/`)
    expect(await res.text()).toBe('hello from 10.255.0.1 GET')
    expect(proxy.log.map((r) => r.target)).toEqual([`http://[fd00:5afe::1]:${port}/`, `http://10.255.0.1:${port}/`])
    await client.close()
  })

  it('http: families interleaved (RFC 8305 §4): v6, v4, then the second v6 — the second v6 is never asked', async () => {
    const proxy = await newProxy({ proxyStatus: true })
    const lookup = fakeLookup({ 'dual.test': ['::1', 'fd00:5afe::1', '10.255.0.1'] })
    const client = createClient({ policy: POLICY, lookup, proxy: proxy.origin, retry: false })
    const res = await client.fetch(`http://dual.test:${port}/`)
    expect(await res.text()).toBe('hello from 10.255.0.1 GET')
    expect(proxy.log.map((r) => r.target)).toEqual([`http://[::1]:${port}/`, `http://10.255.0.1:${port}/`])
    await client.close()
  })

  it('https: the CONNECT race interleaves the same way', async () => {
    const cert = await selfSignedCertificate('dual.test')
    const tlsServer = await startHttpsServer(echo, cert, '10.255.0.1')
    try {
      const proxy = await newProxy()
      const lookup = fakeLookup({ 'dual.test': ['::1', 'fd00:5afe::1', '10.255.0.1'] })
      const client = createClient({ policy: POLICY, lookup, proxy: proxy.origin, retry: false, tls: { ca: cert.cert } })
      const res = await client.fetch(`https://dual.test:${tlsServer.port}/s`)
      expect(((await res.json()) as Echo).url).toBe('/s')
      expect(proxy.log.map((r) => r.target)).toEqual([`[::1]:${tlsServer.port}`, `10.255.0.1:${tlsServer.port}`])
      await client.close()
    } finally {
      await tlsServer.close()
    }
  })
})
