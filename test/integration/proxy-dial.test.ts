/**
 * The proxy connector dials through the same path as the direct one (src/net/dial.ts): the same
 * checks, the same Happy Eyeballs order, the same timings. A real forward proxy on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { startForwardProxy, type ForwardProxy } from '../helpers/forward-proxy.js'
import { fakeLookup, selfSignedCertificate, startHttpServer, startHttpsServer, type TestCertificate, type TestServer } from '../helpers/servers.js'
import { echo } from './support.js'

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
