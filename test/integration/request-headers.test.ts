/**
 * Issue 9 item 6: headers that route or frame the request cannot be set by the caller.
 * The attack: `Host: admin.example.com` on a www URL reached the admin virtual host past
 * `denyHosts` (the URL policy judges the URL, the server routes on Host).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith, throwsWith } from '../support/assertions.js'

let vhosts: TestServer
let seen: { host: string | undefined; headers: Record<string, unknown> }[] = []

beforeAll(async () => {
  // One server, two virtual hosts, routed on Host like nginx/Apache would.
  vhosts = await startHttpServer((req, res) => {
    seen.push({ host: req.headers.host, headers: req.headers })
    const admin = (req.headers.host ?? '').startsWith('admin.example.com')
    res.setHeader('cache-control', 'max-age=600')
    res.end(admin ? 'ADMIN SECRET' : 'public www')
  })
})
afterAll(() => vhosts.close())

const lookup = fakeLookup({ 'www.example.com': ['127.0.0.1'], 'admin.example.com': ['127.0.0.1'] })
const options = { ...LOOPBACK, lookup, policy: { ...LOOPBACK.policy, denyHosts: ['admin.example.com'] } }

const FORBIDDEN = [
  'Host',
  'host',
  'Connection',
  'Content-Length',
  'Transfer-Encoding',
  'Keep-Alive',
  'Upgrade',
  'TE',
  'Trailer',
  'Expect',
  'Proxy-Authorization',
  'Proxy-Connection',
  'proxy-anything',
]
const VALUES: Record<string, string> = {
  host: 'admin.example.com',
  connection: 'x-secret-hop',
  'content-length': '0',
  'transfer-encoding': 'chunked',
  'keep-alive': 'timeout=5',
  upgrade: 'websocket',
  te: 'trailers',
  trailer: 'x-t',
  expect: '100-continue',
}
const valueOf = (name: string): string => VALUES[name.toLowerCase()] ?? 'Basic eA=='

describe('forbidden request headers', () => {
  it('a caller-set Host cannot reach a denied virtual host (nor be cached under the www URL)', async () => {
    const client = createClient({ ...options, cache: { mode: 'private' } })
    seen = []
    const url = `http://www.example.com:${vhosts.port}/`
    const error = await rejectsWith(client.fetch(url, { headers: { Host: `admin.example.com:${vhosts.port}` } }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain('Host')
    expect(seen).toHaveLength(0)
    // The same URL without the header gets the www site, not a cached admin page.
    expect(await (await client.fetch(url)).text()).toBe('public www')
    expect(seen.map((s) => s.host)).toEqual([`www.example.com:${vhosts.port}`])
    // and the admin host itself stays denied.
    await rejectsWith(client.fetch(`http://admin.example.com:${vhosts.port}/`), 'ERR_URL_BLOCKED')
    await client.close()
  })

  it.each(FORBIDDEN)('refuses %s in per-call headers, naming it; nothing is sent', async (name) => {
    const client = createClient(options)
    seen = []
    const error = await rejectsWith(client.fetch(`http://www.example.com:${vhosts.port}/`, { headers: { [name]: valueOf(name) } }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain(`init.headers.${name}`)
    expect(error.message).not.toContain(valueOf(name))
    expect(seen).toHaveLength(0)
    await client.close()
  })

  it.each(FORBIDDEN)('refuses %s in client headers (createClient and configure)', (name) => {
    const error = throwsWith(() => createClient({ ...options, headers: { [name]: valueOf(name) } }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain(`headers.${name}`)
    const client = createClient(options)
    throwsWith(() => client.configure({ headers: [[name, valueOf(name)]] }), 'ERR_INVALID_OPTION')
    void client.close()
  })

  it.each(FORBIDDEN)('refuses %s on a Request passed as input', async (name) => {
    const client = createClient(options)
    seen = []
    const request = new Request(`http://www.example.com:${vhosts.port}/`, { headers: { [name]: valueOf(name) } })
    const error = await rejectsWith(client.fetch(request), 'ERR_INVALID_OPTION')
    expect(error.message).toContain(`request.headers.${name.toLowerCase()}`)
    expect(seen).toHaveLength(0)
    await client.close()
  })

  it.each([
    ['X-HTTP-Method-Override', 'TRACE'],
    ['X-HTTP-Method', 'connect'],
    ['X-Method-Override', 'GET, Track'],
  ])('refuses %s naming a forbidden method (%s)', async (name, value) => {
    const client = createClient(options)
    const error = await rejectsWith(client.fetch(`http://www.example.com:${vhosts.port}/`, { headers: { [name]: value } }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain(name)
    await client.close()
  })

  it('keeps the headers a server-side client legitimately sends', async () => {
    const client = createClient(options)
    seen = []
    const headers = {
      cookie: 'sid=1',
      origin: 'https://app.example',
      referer: 'https://app.example/page',
      'accept-encoding': 'identity',
      'sec-ch-ua-mobile': '?0',
      'sec-fetch-site': 'same-origin',
      date: 'Sun, 06 Dec 2026 00:00:00 GMT',
      via: '1.1 edge',
      'x-http-method-override': 'PATCH',
    }
    // Connection may only say close / keep-alive (whether to reuse the socket).
    await (await client.fetch(`http://www.example.com:${vhosts.port}/close`, { headers: { Connection: 'close' } })).text()
    seen = []
    const res = await client.fetch(`http://www.example.com:${vhosts.port}/`, { headers })
    expect(await res.text()).toBe('public www')
    expect(seen).toHaveLength(1)
    for (const [name, value] of Object.entries(headers)) expect(seen[0]!.headers[name]).toBe(value)
    await client.close()
  })
})
