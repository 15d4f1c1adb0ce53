/**
 * Proxies keep the policy: the target is resolved and judged locally, and the proxy (a real forward
 * proxy on loopback, test/support/forward-proxy.ts) is only ever asked for the checked IP.
 */
import type http from 'node:http'
import type { TLSSocket } from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { checkUrl, createClient, getCallInfo, type ClientOptions } from '../../src/index.js'
import { selfSignedCertificate, startHttpServer, startHttpsServer, startSilentServer, type TestCertificate, type TestServer } from '../support/servers.js'
import { fakeLookup, testHosts } from '../support/lookup.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'
import { rejectsWith } from '../support/assertions.js'
import { echo, type Echo } from '../support/replies.js'

const NAME = 'api.example.test'
const PLAIN = 'web.example.test'
let cert: TestCertificate
let otherCert: TestCertificate
let secure: TestServer // https, certificate for api.example.test
let plain: TestServer // http
let proxy: ForwardProxy
const servernames: (string | false | null | undefined)[] = []

function secureHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  servernames.push((req.socket as TLSSocket).servername)
  echo(req, res)
}

beforeAll(async () => {
  cert = await selfSignedCertificate(NAME)
  otherCert = await selfSignedCertificate('other.example.test')
  secure = await startHttpsServer(secureHandler, cert)
  plain = await startHttpServer((req, res) => {
    if (req.url === '/to-private') {
      res.writeHead(302, { location: `http://10.255.0.1:${plain.port}/secret` }).end()
      return
    }
    if (req.url === '/to-name') {
      res.writeHead(302, { location: `http://internal.example.test:${plain.port}/secret` }).end()
      return
    }
    echo(req, res)
  })
})
afterAll(async () => {
  await Promise.all([secure.close(), plain.close()])
})
const proxies: ForwardProxy[] = []
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
})

async function newProxy(options?: Parameters<typeof startForwardProxy>[0]): Promise<ForwardProxy> {
  proxy = await startForwardProxy(options)
  proxies.push(proxy)
  return proxy
}

/** Loopback allowed, DNS injected, our CA trusted, everything through `proxyUrl`. */
function options(proxyUrl: ClientOptions['proxy'], table: Parameters<typeof fakeLookup>[0] = { [NAME]: ['127.0.0.1'], [PLAIN]: ['127.0.0.1'] }): ClientOptions {
  const base: ClientOptions = { policy: { allow: ['127.0.0.1/32'] }, lookup: fakeLookup(table), tls: { ca: cert.cert }, retry: false }
  return proxyUrl === undefined ? base : { ...base, proxy: proxyUrl }
}

describe('https through a proxy: CONNECT to the checked IP', () => {
  it('the proxy sees CONNECT 127.0.0.1:P (not the name); TLS is verified for the name', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin))
    const res = await client.fetch(`https://${NAME}:${secure.port}/hello?x=1`)
    expect(res.status).toBe(200)
    const seen = (await res.json()) as Echo
    expect(seen.url).toBe('/hello?x=1')
    expect(seen.headers.host).toBe(`${NAME}:${secure.port}`)
    expect(seen.headers['proxy-authorization']).toBeUndefined()
    expect(servernames.at(-1)).toBe(NAME)
    expect(proxy.log).toEqual([
      {
        kind: 'connect',
        line: `CONNECT 127.0.0.1:${secure.port}`,
        target: `127.0.0.1:${secure.port}`,
        host: `127.0.0.1:${secure.port}`,
        proxyAuthorization: undefined,
      },
    ])
    expect(proxy.names).toEqual([])
    expect(getCallInfo(res)?.remoteAddress).toBe('127.0.0.1')
    await client.close()
  })

  it('a certificate for another name is refused through the tunnel (ERR_TLS)', async () => {
    await newProxy()
    const other = await startHttpsServer(secureHandler, otherCert)
    try {
      const client = createClient(options(proxy.origin))
      await rejectsWith(client.fetch(`https://${NAME}:${other.port}/`), 'ERR_TLS')
      expect(proxy.log.map((r) => r.line)).toEqual([`CONNECT 127.0.0.1:${other.port}`])
      await client.close()
    } finally {
      await other.close()
    }
  })

  it('an IP-literal https URL tunnels to the literal and verifies the certificate for the IP', async () => {
    await newProxy()
    const ipCert = await selfSignedCertificate('127.0.0.1')
    const server = await startHttpsServer(secureHandler, ipCert)
    try {
      const client = createClient({ ...options(proxy.origin), tls: { ca: ipCert.cert } })
      const res = await client.fetch(`https://127.0.0.1:${server.port}/ip`)
      expect(((await res.json()) as Echo).url).toBe('/ip')
      expect(proxy.log.map((r) => r.line)).toEqual([`CONNECT 127.0.0.1:${server.port}`])
      await client.close()
    } finally {
      await server.close()
    }
  })

  it('tries the next checked address when the proxy cannot reach one (502)', async () => {
    await newProxy()
    const client = createClient({ ...options(proxy.origin, { [NAME]: ['127.0.0.2', '127.0.0.1'] }), policy: { allow: ['127.0.0.0/8'] } })
    const res = await client.fetch(`https://${NAME}:${secure.port}/second`)
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect(proxy.log.map((r) => r.line)).toEqual([`CONNECT 127.0.0.2:${secure.port}`, `CONNECT 127.0.0.1:${secure.port}`])
    await client.close()
  })

  it('a refused CONNECT on every address → ERR_NETWORK naming the status', async () => {
    await newProxy({ refuseConnect: () => 403 })
    const client = createClient(options(proxy.origin))
    const error = await rejectsWith(client.fetch(`https://${NAME}:${secure.port}/`), 'ERR_NETWORK')
    expect(error.message).toContain('403 Forbidden')
    expect(error.message).toContain(`CONNECT 127.0.0.1:${secure.port}`)
    await client.close()
  })
})

describe('http through a proxy: absolute-form request to the checked IP', () => {
  it('the proxy sees GET http://127.0.0.1:P/path with Host: name:P', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin))
    const res = await client.fetch(`http://${PLAIN}:${plain.port}/path?q=1`)
    const seen = (await res.json()) as Echo
    expect(seen.url).toBe('/path?q=1')
    expect(seen.headers.host).toBe(`${PLAIN}:${plain.port}`)
    expect(proxy.log).toEqual([
      {
        kind: 'forward',
        line: `GET http://127.0.0.1:${plain.port}/path?q=1`,
        target: `http://127.0.0.1:${plain.port}/path?q=1`,
        host: `${PLAIN}:${plain.port}`,
        proxyAuthorization: undefined,
      },
    ])
    expect(proxy.names).toEqual([])
    // The response keeps the URL the caller asked for.
    expect(res.url).toBe(`http://${PLAIN}:${plain.port}/path?q=1`)
    expect(getCallInfo(res)?.remoteAddress).toBe('127.0.0.1')
    await client.close()
  })

  it('a POST body goes through the proxy', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin))
    const res = await client.fetch(`http://${PLAIN}:${plain.port}/post`, { method: 'POST', body: 'hello' })
    const seen = (await res.json()) as Echo
    expect(seen).toMatchObject({ method: 'POST', body: 'hello' })
    expect(proxy.log.map((r) => r.line)).toEqual([`POST http://127.0.0.1:${plain.port}/post`])
    await client.close()
  })

  it('an IPv6 answer is sent in brackets: GET http://[::1]:P/', async () => {
    let server: TestServer
    try {
      server = await startHttpServer(echo, '::1')
    } catch {
      console.warn('skipped: no ::1 on this loopback')
      return
    }
    try {
      await newProxy()
      const client = createClient({ ...options(proxy.origin, { [PLAIN]: ['::1'] }), policy: { allow: ['::1/128'] } })
      const res = await client.fetch(`http://${PLAIN}:${server.port}/v6`)
      expect(((await res.json()) as Echo).headers.host).toBe(`${PLAIN}:${server.port}`)
      expect(proxy.log.map((r) => r.line)).toEqual([`GET http://[::1]:${server.port}/v6`])
      await client.close()
    } finally {
      await server.close()
    }
  })
})

describe('the policy holds with a proxy', () => {
  it.each(['http', 'https'])('%s: a name resolving to a denied address is refused locally; the proxy hears nothing', async (scheme) => {
    await newProxy()
    const port = scheme === 'https' ? secure.port : plain.port
    const client = createClient(options(proxy.origin, { [NAME]: ['10.255.0.1'] }))
    const error = await rejectsWith(client.fetch(`${scheme}://${NAME}:${port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(error.address).toBe('10.255.0.1')
    expect(proxy.connections).toBe(0)
    expect(proxy.log).toEqual([])
    await client.close()
  })

  it.each(['http', 'https'])('%s: mixed answers (one allowed, one denied) are refused; the proxy hears nothing', async (scheme) => {
    await newProxy()
    const port = scheme === 'https' ? secure.port : plain.port
    const client = createClient(options(proxy.origin, { [NAME]: ['127.0.0.1', 'fd00:5afe::1'] }))
    await rejectsWith(client.fetch(`${scheme}://${NAME}:${port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.connections).toBe(0)
    await client.close()
  })

  it('a denied IP literal is refused before the proxy is dialled', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin))
    await rejectsWith(client.fetch('http://169.254.169.254/latest/meta-data/'), 'ERR_ADDRESS_BLOCKED')
    await rejectsWith(client.fetch(`https://[fd00:5afe::1]:${secure.port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.connections).toBe(0)
    await client.close()
  })

  it.each(['http', 'https'])('%s: rebinding does not help — each connection resolves once, the proxy only gets that IP', async (scheme) => {
    await newProxy()
    const port = scheme === 'https' ? secure.port : plain.port
    // First answer allowed, every later one a private test host that the proxy could reach.
    const lookup = fakeLookup({ [NAME]: (count) => (count === 1 ? ['127.0.0.1'] : ['10.255.0.1']) })
    const client = createClient({ ...options(proxy.origin), lookup })
    const res = await client.fetch(`${scheme}://${NAME}:${port}/first`, { headers: { connection: 'close' } })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    expect(lookup.queries).toEqual([NAME])
    expect(proxy.log.map((r) => r.target)).toEqual([scheme === 'https' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}/first`])
    // The next resolution rebinds: refused locally, nothing more reaches the proxy.
    await rejectsWith(client.fetch(`${scheme}://${NAME}:${port}/second`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.log).toHaveLength(1)
    expect(proxy.names).toEqual([])
    await client.close()
  })

  it('checkUrl() then fetch: the fetch resolves and judges again (TOCTOU)', async () => {
    await newProxy()
    const lookup = fakeLookup({ [NAME]: (count) => (count === 1 ? ['127.0.0.1'] : ['10.255.0.1']) })
    const verdict = await checkUrl(`https://${NAME}:${secure.port}/`, { allow: ['127.0.0.1/32'] }, { lookup })
    expect(verdict.allowed).toBe(true)
    const client = createClient({ ...options(proxy.origin), lookup })
    await rejectsWith(client.fetch(`https://${NAME}:${secure.port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.connections).toBe(0)
    await client.close()
  })

  it('redirect hops are checked: a Location to a private literal is refused', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin))
    const error = await rejectsWith(client.fetch(`http://${PLAIN}:${plain.port}/to-private`), 'ERR_ADDRESS_BLOCKED')
    expect(error.address).toBe('10.255.0.1')
    expect(proxy.log.map((r) => r.line)).toEqual([`GET http://127.0.0.1:${plain.port}/to-private`])
    await client.close()
  })

  it('redirect hops are checked: a Location to a name resolving to a private address is refused', async () => {
    await newProxy()
    const client = createClient(options(proxy.origin, { [PLAIN]: ['127.0.0.1'], 'internal.example.test': ['192.168.255.1'] }))
    await rejectsWith(client.fetch(`http://${PLAIN}:${plain.port}/to-name`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.log).toHaveLength(1)
    expect(proxy.names).toEqual([])
    await client.close()
  })

  it('a proxy on loopback does not make loopback targets reachable', async () => {
    // The proxy listens on loopback; this client's policy does NOT allow loopback targets.
    await newProxy()
    const client = createClient({ proxy: proxy.origin, lookup: fakeLookup({ [NAME]: ['127.0.0.1'] }), retry: false })
    await rejectsWith(client.fetch(`http://${NAME}:${plain.port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(proxy.connections).toBe(0)
    await client.close()
  })

  it.skipIf(!testHosts.includes('10.255.0.1'))(
    "the proxy's own address is trusted configuration: a proxy on 10.255.0.1 is dialled although targets there are refused",
    async () => {
      const server = await startForwardProxy({ host: '10.255.0.1' })
      try {
        const client = createClient(options(server.origin))
        const res = await client.fetch(`https://${NAME}:${secure.port}/via-10`)
        expect(res.status).toBe(200)
        await res.arrayBuffer()
        expect(server.log.map((r) => r.line)).toEqual([`CONNECT 127.0.0.1:${secure.port}`])
        await client.close()
      } finally {
        await server.close()
      }
    },
  )
})

describe('proxy authentication', () => {
  const expected = `Basic ${Buffer.from('alice:p@ss wörd', 'utf8').toString('base64')}`

  it.each(['http', 'https'])('%s: userinfo in the proxy URL becomes Proxy-Authorization', async (scheme) => {
    await newProxy({ requireAuthorization: expected })
    const port = scheme === 'https' ? secure.port : plain.port
    const client = createClient(options(`http://alice:p%40ss%20w%C3%B6rd@127.0.0.1:${proxy.port}`))
    const res = await client.fetch(`${scheme}://${NAME}:${port}/auth`)
    expect(res.status).toBe(200)
    // The origin never sees the proxy credentials (a tunnel for https; the proxy strips them for http).
    expect(((await res.json()) as Echo).headers['proxy-authorization']).toBeUndefined()
    expect(proxy.log.map((r) => r.proxyAuthorization)).toEqual([expected])
    await client.close()
  })

  it('proxy.headers are sent to the proxy', async () => {
    await newProxy({ requireAuthorization: 'Bearer proxy-token' })
    const client = createClient(options({ url: proxy.origin, headers: { 'Proxy-Authorization': 'Bearer proxy-token' } }))
    const res = await client.fetch(`https://${NAME}:${secure.port}/token`)
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    await client.close()
  })

  it.each(['http', 'https'])('%s: 407 without credentials → ERR_NETWORK "proxy authentication required"', async (scheme) => {
    await newProxy({ requireAuthorization: expected })
    const port = scheme === 'https' ? secure.port : plain.port
    const client = createClient(options(proxy.origin))
    const error = await rejectsWith(client.fetch(`${scheme}://${NAME}:${port}/`), 'ERR_NETWORK')
    expect(error.message).toContain('407')
    expect(error.message).toContain('proxy authentication required')
    await client.close()
  })

  it('407 with wrong credentials says the credentials were refused, and does not show them', async () => {
    await newProxy({ requireAuthorization: expected })
    const client = createClient(options(`http://alice:wrong-secret@127.0.0.1:${proxy.port}`))
    const error = await rejectsWith(client.fetch(`https://${NAME}:${secure.port}/`), 'ERR_NETWORK')
    expect(error.message).toContain('refused the credentials')
    expect(error.message).not.toContain('wrong-secret')
    expect(proxy.log).toHaveLength(1) // 407 is final: the other addresses are not tried
    await client.close()
  })
})

describe('proxy failures', () => {
  it('an unreachable proxy → ERR_NETWORK naming the proxy', async () => {
    const gone = await startForwardProxy()
    await gone.close()
    const client = createClient(options(gone.origin))
    const error = await rejectsWith(client.fetch(`https://${NAME}:${secure.port}/`), 'ERR_NETWORK')
    expect(error.message).toContain(`proxy ${gone.origin}`)
    await client.close()
  })

  it('a proxy that never answers CONNECT → ERR_CONNECT_TIMEOUT (timeout.connect covers the exchange)', async () => {
    const silent = await startSilentServer()
    try {
      const client = createClient({ ...options(silent.origin), timeout: { connect: 200 } })
      const error = await rejectsWith(client.fetch(`https://${NAME}:${secure.port}/`), 'ERR_CONNECT_TIMEOUT')
      expect(error.message).toContain('through proxy')
      await client.close()
    } finally {
      await silent.close()
    }
  })
})

describe('the environment is ignored', () => {
  const KEYS = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'NO_PROXY', 'no_proxy', 'NODE_USE_ENV_PROXY']

  it('HTTP_PROXY / HTTPS_PROXY do not route a client without `proxy`', async () => {
    await newProxy()
    const saved = KEYS.map((key) => [key, process.env[key]] as const)
    try {
      for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY']) process.env[key] = proxy.origin
      process.env.NODE_USE_ENV_PROXY = '1'
      delete process.env.NO_PROXY
      delete process.env.no_proxy
      const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, lookup: fakeLookup({ [NAME]: ['127.0.0.1'] }), tls: { ca: cert.cert } })
      const before = plain.requests.length
      const res = await client.fetch(`http://${NAME}:${plain.port}/direct`)
      expect(((await res.json()) as Echo).url).toBe('/direct')
      const secureRes = await client.fetch(`https://${NAME}:${secure.port}/direct`)
      expect(secureRes.status).toBe(200)
      await secureRes.arrayBuffer()
      expect(plain.requests.length).toBe(before + 1)
      expect(proxy.connections).toBe(0)
      await client.close()
    } finally {
      for (const [key, value] of saved) {
        if (value === undefined) delete process.env[key]
        else process.env[key] = value
      }
    }
  })
})

describe('configure()', () => {
  it('configure({ proxy }) routes new calls through the proxy', async () => {
    await newProxy()
    const client = createClient(options(undefined))
    const direct = await client.fetch(`http://${PLAIN}:${plain.port}/a`)
    await direct.arrayBuffer()
    expect(proxy.connections).toBe(0)
    client.configure({ proxy: proxy.origin })
    const proxied = await client.fetch(`http://${PLAIN}:${plain.port}/b`)
    await proxied.arrayBuffer()
    expect(proxy.log.map((r) => r.line)).toEqual([`GET http://127.0.0.1:${plain.port}/b`])
    expect(client.options.proxy?.display).toBe(proxy.origin)
    await client.close()
  })
})
