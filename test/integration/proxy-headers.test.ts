/**
 * Issue 9 item 10: `proxy.headers` are for the proxy. A plain-http target goes through the proxy as
 * an absolute-form request, which the proxy forwards with its end-to-end headers: before, a
 * `proxy.headers` entry such as `x-proxy-token` reached the destination. Now only
 * Proxy-Authorization (which the proxy consumes) is on forwarded requests; every proxy header still
 * goes on CONNECT (https), which only the proxy reads. A real forward proxy on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type ClientOptions } from '../../src/index.js'
import { selfSignedCertificate, startHttpServer, startHttpsServer, type TestCertificate, type TestServer } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'
import { echo, type Echo } from '../support/replies.js'

const NAME = 'api.example.test'
let cert: TestCertificate
let secure: TestServer
let plain: TestServer
let proxy: ForwardProxy

beforeAll(async () => {
  cert = await selfSignedCertificate(NAME)
  secure = await startHttpsServer(echo, cert)
  plain = await startHttpServer(echo)
})
afterAll(async () => {
  await Promise.all([secure.close(), plain.close()])
})
afterEach(async () => {
  await proxy.close()
})

const PROXY_HEADERS = { 'Proxy-Authorization': 'Bearer proxy-token', 'X-Proxy-Token': 'team-secret', 'X-Proxy-Route': 'blue' }

function options(): ClientOptions {
  return {
    policy: { allow: ['127.0.0.1/32'] },
    lookup: fakeLookup({ [NAME]: ['127.0.0.1'] }),
    tls: { ca: cert.cert },
    retry: false,
    cache: false,
    proxy: { url: proxy.origin, headers: PROXY_HEADERS },
  }
}

describe('proxy.headers reach only the proxy', () => {
  it('http (absolute form): the destination sees none of them; the proxy gets Proxy-Authorization', async () => {
    proxy = await startForwardProxy({ requireAuthorization: 'Bearer proxy-token' })
    const client = createClient(options())
    const res = await client.fetch(`http://${NAME}:${plain.port}/plain`, { headers: { 'x-app': 'kept' } })
    const got = (await res.json()) as Echo
    expect(got.url).toBe('/plain')
    expect(got.headers['x-app']).toBe('kept')
    expect(got.headers['x-proxy-token']).toBeUndefined()
    expect(got.headers['x-proxy-route']).toBeUndefined()
    expect(got.headers['proxy-authorization']).toBeUndefined()
    expect(proxy.log).toHaveLength(1)
    expect(proxy.log[0]!.kind).toBe('forward')
    expect(proxy.log[0]!.proxyAuthorization).toBe('Bearer proxy-token')
    expect(proxy.headers[0]!['x-proxy-token']).toBeUndefined()
    await client.close()
  })

  it('https (CONNECT): every proxy header goes on the CONNECT, none inside the tunnel', async () => {
    proxy = await startForwardProxy({ requireAuthorization: 'Bearer proxy-token' })
    const client = createClient(options())
    const got = (await (await client.fetch(`https://${NAME}:${secure.port}/tls`)).json()) as Echo
    expect(got.headers['x-proxy-token']).toBeUndefined()
    expect(got.headers['proxy-authorization']).toBeUndefined()
    expect(proxy.log).toHaveLength(1)
    expect(proxy.log[0]!.kind).toBe('connect')
    expect(proxy.headers[0]!['x-proxy-token']).toBe('team-secret')
    expect(proxy.headers[0]!['x-proxy-route']).toBe('blue')
    await client.close()
  })
})
