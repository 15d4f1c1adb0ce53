/**
 * TLS through the guarded connector: the socket goes to the checked IP, but the certificate is
 * verified against the URL's hostname and SNI carries that hostname.
 */
import type http from 'node:http'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { selfSignedCertificate, startHttpsServer, type TestCertificate, type TestServer, LOOPBACK } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'

let apiCert: TestCertificate
let otherCert: TestCertificate
let api: TestServer // certificate for api.example.com
let other: TestServer // certificate for other.example.com
const seenServernames: (string | false | null | undefined)[] = []

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  seenServernames.push((req.socket as TLSSocket).servername)
  res.setHeader('content-type', 'text/plain')
  res.end(`secure ${req.url}`)
}

beforeAll(async () => {
  apiCert = await selfSignedCertificate('api.example.com')
  otherCert = await selfSignedCertificate('other.example.com')
  api = await startHttpsServer(handler, apiCert)
  other = await startHttpsServer(handler, otherCert)
})
afterAll(async () => {
  await Promise.all([api.close(), other.close()])
})

const lookup = () => fakeLookup({ 'api.example.com': ['127.0.0.1'] })

describe('TLS', () => {
  it('verifies the certificate against the URL hostname and sends it as SNI', async () => {
    const client = createClient({ ...LOOPBACK, lookup: lookup(), tls: { ca: apiCert.cert } })
    const res = await client.fetch(`https://api.example.com:${api.port}/hello`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('secure /hello')
    expect(seenServernames.at(-1)).toBe('api.example.com')
    const info = getCallInfo(res)
    expect(info?.remoteAddress).toBe('127.0.0.1')
    expect(info?.timings.tls).toBeGreaterThanOrEqual(0)
    await client.close()
  })

  it('a certificate for another name → ERR_TLS', async () => {
    const client = createClient({ ...LOOPBACK, lookup: lookup(), tls: { ca: [apiCert.cert, otherCert.cert] } })
    const error = await rejectsWith(client.fetch(`https://api.example.com:${other.port}/`), 'ERR_TLS')
    expect(error.message).toMatch(/TLS/)
    await client.close()
  })

  it('without the CA → ERR_TLS', async () => {
    const client = createClient({ ...LOOPBACK, lookup: lookup() })
    await rejectsWith(client.fetch(`https://api.example.com:${api.port}/`), 'ERR_TLS')
    await client.close()
  })

  it('an IP-literal URL sends no SNI and is verified against the IP', async () => {
    const ipCert = await selfSignedCertificate('127.0.0.1') // SAN includes IP 127.0.0.1
    const server = await startHttpsServer(handler, ipCert)
    const client = createClient({ ...LOOPBACK, tls: { ca: ipCert.cert } })
    const res = await client.fetch(`${server.origin}/ip`)
    expect(await res.text()).toBe('secure /ip')
    expect(seenServernames.at(-1)).toBe(false)
    await client.close()
    await server.close()
  })

  it('a refused address is refused before any TLS handshake', async () => {
    const client = createClient({ lookup: lookup(), tls: { ca: apiCert.cert } }) // loopback not allowed
    const before = api.connections
    await rejectsWith(client.fetch(`https://api.example.com:${api.port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(api.connections).toBe(before)
    await client.close()
  })
})
