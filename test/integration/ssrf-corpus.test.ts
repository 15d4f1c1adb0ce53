/**
 * SSRF bypass corpus, table-driven, against the real client inside the test namespace.
 *
 * Rows are drawn from public literature: PayloadsAllTheThings "Server Side Request Forgery",
 * Orange Tsai "A New Era of SSRF" (Black Hat USA 2017), and the bypasses behind CVE-2023-28155
 * (request), CVE-2024-29415 / CVE-2023-42282 (node `ip`), CVE-2021-3749-era axios redirect issues,
 * CVE-2022-0155 (follow-redirects), ssrf-req-filter / request-filtering-agent IPv4-mapped bypasses.
 *
 * Every row goes through every path: the pooled client directly, a redirect from an allowed server,
 * the mock `dispatcher` path, `safeFetch`, `checkUrl()`. A catch-all server listens on `[::]:P`
 * (dual stack), so any connection to any local address on port P — 127.0.0.1, 0.0.0.0, the namespace's
 * test hosts 10.255.0.1 / 192.168.255.1 / fd00:5afe::1, ::ffff:… — is counted: it must stay at zero.
 * The tripwire fails any attempt to leave loopback.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkUrl, createClient, safeFetch, SafeFetchError, type Client } from '../../src/index.js'
import { MockAgent } from '../../src/testing.js'
import { runCli } from '../cli/run-cli.js'
import { fakeLookup } from '../support/lookup.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'

/** Codes that mean "refused before anything was sent". */
const REFUSED = new Set(['ERR_URL_INVALID', 'ERR_URL_BLOCKED', 'ERR_ADDRESS_BLOCKED', 'ERR_REDIRECT_BLOCKED', 'ERR_DNS'])

/** The only address the tests treat as "public": the redirector listens here. */
const PUBLIC_ADDRESS = '127.0.0.2'
const POLICY = { allow: [`${PUBLIC_ADDRESS}/32`] }

let catchAll: net.Server
let catchAllConnections = 0
const catchAllSockets = new Set<net.Socket>()
let P = 0
let redirector: net.Server
let Q = 0
let proxy: ForwardProxy

/** Location values by index, written raw (any byte) by the redirector. */
const locations: string[] = []

function listen(server: net.Server, port: number, host: string, ipv6Only = false): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host, ipv6Only }, () => resolve((server.address() as net.AddressInfo).port))
  })
}

const dec = (a: number, b: number, c: number, d: number): string => String(((a << 24) | (b << 16) | (c << 8) | d) >>> 0)
const hex = (a: number, b: number, c: number, d: number): string => `0x${(((a << 24) | (b << 16) | (c << 8) | d) >>> 0).toString(16)}`
const oct = (...o: number[]): string => o.map((x) => `0${x.toString(8)}`).join('.')

/** Hosts (as written in the URL authority, before `:port`). */
function hostRows(): string[] {
  return [
    // IPv4 loopback / this-host spellings (WHATWG IPv4 parser: decimal, octal, hex, short forms)
    '127.0.0.1',
    '2130706433',
    '0177.0.0.1',
    '0x7f.1',
    '0x7f.0.0.1',
    '127.1',
    '127.0.1',
    '0177.1',
    '017700000001',
    '0x7f000001',
    '127.000.000.001',
    '0',
    '0.0.0.0',
    '0x0',
    '00',
    '0.0.0',
    '127.0.0.1.',
    '0x7F.1',
    '127.0.0.255',
    '127.255.255.254',
    '%31%32%37.0.0.1',
    '127%2e0%2e0%2e1',
    '127%2E0.0.1',
    '１２７.０.０.１',
    '127。0。0。1',
    '127．0．0．1',
    '127｡0｡0｡1',
    '①②⑦.⓪.⓪.①',
    // the namespace's private test hosts in every spelling
    '10.255.0.1',
    dec(10, 255, 0, 1),
    hex(10, 255, 0, 1),
    oct(10, 255, 0, 1),
    '10.16711681',
    '012.0xff.0.01',
    '10.255.1',
    '10.255.0.1.',
    '192.168.255.1',
    dec(192, 168, 255, 1),
    hex(192, 168, 255, 1),
    oct(192, 168, 255, 1),
    '192.11075329',
    '0xc0.0xa8.0xff.0x1',
    // metadata and other special IPv4
    '169.254.169.254',
    dec(169, 254, 169, 254),
    hex(169, 254, 169, 254),
    oct(169, 254, 169, 254),
    '169.254.43518',
    '169.16689662',
    '0xa9.0xfe.0xa9.0xfe',
    '169.254.170.2',
    '100.100.100.200',
    '100.64.0.1',
    '100.127.255.254',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '255.255.255.255',
    '0.1.2.3',
    '192.0.0.170',
    '192.0.2.1',
    '240.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.88.99.1',
    // IPv6
    '[::]',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[0000::1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[::FFFF:7F00:1]',
    '[0:0:0:0:0:ffff:a9fe:a9fe]',
    '[::ffff:169.254.169.254]',
    '[::ffff:a00:1]',
    '[::ffff:10.255.0.1]',
    '[::10.0.0.1]',
    '[::127.0.0.1]',
    '[::a9fe:a9fe]',
    '[::ffff:0:7f00:1]',
    '[64:ff9b::a00:1]',
    '[64:ff9b::127.0.0.1]',
    '[64:ff9b::a9fe:a9fe]',
    '[64:ff9b:1::a00:1]',
    '[64:ff9b:1::808:808]',
    '[2002:a00:1::]',
    '[2002:7f00:1::1]',
    '[2002:a9fe:a9fe::]',
    '[2001:0:4136:e378:8000:63bf:3fff:fdd2]',
    '[2001::1]',
    '[fe80::1]',
    '[fe80::1%25eth0]',
    '[fe80::1%25lo]',
    '[fd00:5afe::1]',
    '[fc00::1]',
    '[fd00:ec2::254]',
    '[fec0::1]',
    '[ff02::1]',
    '[ff05::2]',
    '[2001:db8::1]',
    '[100::1]',
    '[::ffff:0.0.0.0]',
    '[::0.0.0.0]',
    '[::ffff:192.168.255.1]',
    '[3fff::1]',
    '[5f00::1]',
    // names that can only mean "inside"
    'localhost',
    'LOCALHOST',
    'localhost.',
    'foo.localhost',
    'a.b.LOCALHOST.',
    'ｌｏｃａｌｈｏｓｔ',
    'loc%61lhost',
    'localhost%2e',
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'metadata',
    'instance-data',
    'instance-data.ec2.internal',
    'metadata.goog',
    'ip6-localhost',
    'kubernetes.default.svc',
    'db',
    'printer.local',
    'x.internal',
    'router.home.arpa',
    // names whose DNS answers are private (lookup injection below)
    'private.test',
    'mixed.test',
    'mixed6.test',
    'mapped.test',
    'nat64.test',
    'zero.test',
    'meta.test',
    'nip.test',
    ...ODD_ANSWERS.flatMap((_, i) => [`odd${i}.test`, `oddmix${i}.test`]),
  ]
}

/** DNS injection: every name of the corpus answers an internal address; only `public.test` is allowed. */
const DNS: Record<string, string[]> = {
  'public.test': [PUBLIC_ADDRESS],
  'private.test': ['10.255.0.1'],
  'mixed.test': [PUBLIC_ADDRESS, '192.168.255.1'],
  'mixed6.test': [PUBLIC_ADDRESS, 'fd00:5afe::1'],
  'mapped.test': ['::ffff:10.255.0.1'],
  'nat64.test': ['64:ff9b::c0a8:ff01'],
  'zero.test': ['0.0.0.0'],
  'meta.test': ['169.254.169.254'],
  'nip.test': ['127.0.0.1'],
  localhost: ['127.0.0.1'],
  'foo.localhost': ['127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  metadata: ['169.254.169.254'],
  'instance-data': ['169.254.169.254'],
  db: ['10.255.0.1'],
}
/** Odd DNS answers a custom or compromised resolver could return: each must be refused, never dialled. */
const ODD_ANSWERS = [
  '0x7f.1',
  '127.1',
  '2130706433',
  '0177.0.0.1',
  ' 127.0.0.1',
  '127.0.0.1 ',
  '127.0.0.1\n',
  '010.255.0.1',
  'fe80::1%lo',
  'fd00:5afe::1%lo',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::127.0.0.1',
  '[::1]',
  '[fd00:5afe::1]',
  'localhost',
  '10.255.0.1.',
  '１２７.０.０.１',
  '::',
  '0.0.0.0',
]
ODD_ANSWERS.forEach((answer, i) => {
  DNS[`odd${i}.test`] = [answer]
  DNS[`oddmix${i}.test`] = [PUBLIC_ADDRESS, answer]
})
const lookup = fakeLookup(DNS)

/** Whole URLs (not host rows): scheme, userinfo, parser-confusion and port tricks. */
function urlRows(): string[] {
  const t = `10.255.0.1:${P}`
  return [
    `HTTP://${t}/`,
    `HtTpS://${t}/`,
    `http://public.test@${t}/`,
    `http://public.test:x@${t}/`,
    `http://${t}#@public.test:${Q}/`,
    `http://${t}?@public.test:${Q}/`,
    `http://public.test\\@${t}/`,
    `http://public.test:${Q}\\@${t}/`,
    `http:\\\\${t}/`,
    `http:/${t}/`,
    `http:${t}/`,
    `http:///${t}/`,
    `http://${t}\t/`,
    `http://10.255\t.0.1:${P}/`,
    `http://10.255.0.1\n:${P}/`,
    ` http://${t}/`,
    `http://${t}/ `,
    `http://[::ffff:10.255.0.1]:${P}/`,
    `http://public.test:0/`,
    `http://public.test:65536/`,
    `http://public.test:+${Q}/`,
    `http://public.test:${Q}:${Q}/`,
    `http://${t}%2f@public.test/`,
    `http://%31%30.255.0.1:${P}/`,
    `http://0x0a.0xff.0x00.0x01:${P}/`,
    `file:///etc/passwd`,
    `file://10.255.0.1/etc/passwd`,
    `gopher://${t}/_GET%20/`,
    `dict://${t}/info`,
    `ftp://${t}/`,
    `ldap://${t}/`,
    `data:text/plain,hello`,
    `javascript:alert(1)`,
    `blob:http://public.test/x`,
    `ws://${t}/`,
    `jar:http://${t}/x!/`,
    `netdoc:///etc/passwd`,
  ]
}

/** Location header values (each written raw by the redirector). */
function locationRows(): string[] {
  const t = `10.255.0.1:${P}`
  return [
    ...hostRows().map((h) => `http://${h}:${P}/`),
    ...urlRows(),
    // Non-ASCII hosts as a server would percent-encode them (raw UTF-8 bytes are covered above)
    ...hostRows()
      .filter((h) => [...h].some((ch) => ch.charCodeAt(0) > 127))
      .map((h) => encodeURI(`http://${h}:${P}/`)),
    `//${t}/`,
    `/\\${t}/`,
    `\\\\${t}/`,
    `\\/${t}/`,
    `/\t/${t}/`,
    `http:\\\\${t}\\`,
    ` http://${t}/`,
    `http://${t}/\r\nX: y`,
    `https:${t}/`,
    `http:/\\${t}/`,
    `http://${t}`,
    `///${t}/`,
  ]
}

beforeAll(async () => {
  catchAll = net.createServer((socket) => {
    catchAllConnections++
    catchAllSockets.add(socket)
    socket.on('close', () => catchAllSockets.delete(socket))
    socket.on('error', () => {})
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nREACHED')
  })
  P = await listen(catchAll, 0, '::')
  // The redirector: /r/<i> answers 302 with locations[i], written as raw bytes.
  redirector = net.createServer((socket) => {
    socket.on('error', () => {})
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1')
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const path = /^[A-Z]+ (\S+)/.exec(buffered)?.[1] ?? '/'
      buffered = ''
      const m = /^\/r\/(\d+)$/.exec(path)
      if (m !== null) {
        const location = Buffer.from(locations[Number(m[1])] ?? '/', 'utf8').toString('latin1')
        socket.write(`HTTP/1.1 302 Found\r\nlocation: ${location}\r\ncontent-length: 0\r\n\r\n`, 'latin1')
      } else {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
      }
    })
  })
  Q = await listen(redirector, 0, PUBLIC_ADDRESS)
  proxy = await startForwardProxy()
  locations.push(...locationRows())
})

afterAll(async () => {
  for (const s of catchAllSockets) s.destroy()
  await new Promise<void>((r) => catchAll.close(() => r()))
  await new Promise<void>((r) => redirector.close(() => r()))
  await proxy.close()
})

function codeOf(err: unknown): string {
  return err instanceof SafeFetchError ? err.code : `not a SafeFetchError: ${String(err)}`
}

/** Runs `call`; a response or a non-refusal error is a hole. Returns the error code. */
async function refused(call: () => Promise<Response>, label: string, alsoAccept: readonly string[] = []): Promise<string> {
  const before = catchAllConnections
  let outcome: string
  try {
    const res = await call()
    await res.arrayBuffer().catch(() => undefined)
    outcome = `answered ${res.status}`
  } catch (err) {
    outcome = codeOf(err)
  }
  expect({ label, outcome, reachedInternal: catchAllConnections - before }).toEqual({
    label,
    outcome: expect.toSatisfy((o: string) => REFUSED.has(o) || alsoAccept.includes(o)),
    reachedInternal: 0,
  })
  return outcome
}

function client(extra: Record<string, unknown> = {}): Client {
  return createClient({ policy: POLICY, lookup, retry: false, ...extra } as Parameters<typeof createClient>[0])
}

describe('SSRF corpus', () => {
  it('the redirector is reachable (the harness itself works)', async () => {
    const c = client()
    const res = await c.fetch(`http://public.test:${Q}/ok`)
    expect(await res.text()).toBe('ok')
    await c.close()
  })

  it('every host row is refused on every path, and checkUrl agrees', async () => {
    const c = client()
    const agent = new MockAgent()
    agent.disableNetConnect()
    const mock = createClient({ policy: POLICY, lookup, retry: false, dispatcher: agent } as Parameters<typeof createClient>[0])
    const rows = hostRows()
    for (const h of rows) {
      const url = `http://${h}:${P}/`
      const direct = await refused(() => c.fetch(url), `direct ${url}`)
      // new URL() / new Request() may refuse the spelling themselves: then there is nothing to fetch.
      if (URL.canParse(url)) {
        const object = new URL(url)
        await refused(() => c.fetch(object), `URL object ${url}`)
        const request = new Request(object)
        await refused(() => c.fetch(request), `Request ${url}`)
      }
      await refused(() => mock.fetch(url), `mock dispatcher ${url}`)
      await refused(() => safeFetch(url, { lookup, retry: false } as Parameters<typeof safeFetch>[1]), `safeFetch ${url}`)
      const verdict = await checkUrl(url, POLICY, { lookup })
      expect({ url, allowed: verdict.allowed }).toEqual({ url, allowed: false })
      if (!verdict.allowed) expect({ url, code: verdict.error.code }).toEqual({ url, code: direct })
    }
    expect(catchAllConnections).toBe(0)
    await c.close()
    await mock.close()
    await agent.close()
  })

  it('every whole-URL row (schemes, userinfo, parser confusion, ports) is refused', async () => {
    const c = client()
    for (const url of urlRows()) {
      const direct = await refused(() => c.fetch(url), `direct ${url}`)
      const verdict = await checkUrl(url, POLICY, { lookup })
      expect({ url, allowed: verdict.allowed }).toEqual({ url, allowed: false })
      if (!verdict.allowed) expect({ url, code: verdict.error.code }).toEqual({ url, code: direct })
    }
    await c.close()
  })

  it('every Location row is refused as a redirect target, pooled and through the mock dispatcher', async () => {
    const c = client()
    const agent = new MockAgent()
    agent.disableNetConnect()
    // The mock answers the first hop like the redirector would; the second hop must never be dispatched.
    const pool = agent.get(`http://public.test:${Q}`)
    const mock = createClient({ policy: POLICY, lookup, retry: false, dispatcher: agent } as Parameters<typeof createClient>[0])
    for (let i = 0; i < locations.length; i++) {
      const location = locations[i] as string
      // A Location that does not parse (or raw non-ASCII header bytes) is the server's malformed
      // response: ERR_BAD_RESPONSE, with nothing dialled, is a refusal too (layers/redirect.ts).
      const extra = ['ERR_BAD_RESPONSE']
      await refused(() => c.fetch(`http://public.test:${Q}/r/${i}`), `redirect to ${JSON.stringify(location)}`, extra)
      if (/[\r\n]/.test(location)) continue // undici's mock cannot carry a header with CR/LF
      pool.intercept({ path: `/r/${i}` }).reply(302, '', { headers: { location } })
      await refused(() => mock.fetch(`http://public.test:${Q}/r/${i}`), `mock redirect to ${JSON.stringify(location)}`, extra)
    }
    expect(catchAllConnections).toBe(0)
    await c.close()
    await mock.close()
    await agent.close()
  })

  it('baseUrl: absolute, protocol-relative and backslash paths never leave the base origin', async () => {
    const c = client({ baseUrl: `http://public.test:${Q}/api/` })
    const t = `10.255.0.1:${P}`
    for (const path of [
      `http://${t}/`,
      `//${t}/`,
      `/\\${t}/`,
      `\\\\${t}/`,
      `..//${t}/`,
      `/%2e%2e//${t}/`,
      `HTTP://${t}/`,
      `http:${t}/`,
      `http:/${t}/`,
      `%2f%2f${t}/`,
      ` //${t}/`,
      `\t//${t}/`,
      `/\t/${t}/`,
      `\\/${t}/`,
      `/%5c${t}/`,
      `%5c%5c${t}/`,
      `.//${t}/`,
      `./\\${t}/`,
      `https://${t}/`,
      `http://public.test:${Q}@${t}/`,
    ]) {
      const before = catchAllConnections
      try {
        const res = await c.fetch(path)
        await res.arrayBuffer()
        // Only an answer from the base origin is acceptable.
        expect({ path, url: res.url.startsWith(`http://public.test:${Q}/`) }).toEqual({ path, url: true })
      } catch (err) {
        expect({ path, code: codeOf(err) }).toEqual({ path, code: expect.toSatisfy((x: string) => REFUSED.has(x)) })
      }
      expect({ path, reached: catchAllConnections - before }).toEqual({ path, reached: 0 })
    }
    await c.close()
  })

  it('through a proxy: internal targets are refused before the proxy is asked', async () => {
    const c = client({ proxy: proxy.origin, policy: { allow: [`${PUBLIC_ADDRESS}/32`, '127.0.0.1/32'] } })
    // 127.0.0.1 is allowed here only so the proxy itself is reachable; targets are judged on their own.
    const before = proxy.log.length
    for (const h of [
      '10.255.0.1',
      '169.254.169.254',
      '[::ffff:192.168.255.1]',
      '[fd00:5afe::1]',
      'private.test',
      'mixed.test',
      'metadata.google.internal',
      '0',
      '2852039166',
    ]) {
      await refused(() => c.fetch(`http://${h}:${P}/`), `proxy ${h}`)
      await refused(() => c.fetch(`https://${h}:${P}/`), `proxy https ${h}`)
    }
    expect(proxy.log.slice(before)).toEqual([])
    // Redirects to internal targets through the proxy: only the first (allowed) hop reaches it.
    const hops = [`http://10.255.0.1:${P}/`, `http://[::ffff:169.254.169.254]:${P}/`, `http://private.test:${P}/`, `http://${dec(10, 255, 0, 1)}:${P}/`].map(
      (l) => locations.indexOf(l),
    )
    expect(hops.every((i) => i >= 0)).toBe(true)
    for (const i of hops) await refused(() => c.fetch(`http://public.test:${Q}/r/${i}`), `proxy redirect to ${locations[i]}`)
    expect(proxy.log.length).toBe(before + hops.length)
    // Control: an allowed target does go through this proxy (so the rows above did take the proxy path).
    expect(await (await c.fetch(`http://public.test:${Q}/ok`)).text()).toBe('ok')
    expect(proxy.log.length).toBe(before + hops.length + 1)
    expect(proxy.names).toEqual([])
    await c.close()
  })

  it('DNS rebinding through the mock dispatcher: public first, private next → refused', async () => {
    const rebind = fakeLookup({ 'rebind.test': (n) => (n === 1 ? [PUBLIC_ADDRESS] : ['10.255.0.1']) })
    const agent = new MockAgent()
    agent.disableNetConnect()
    agent.get(`http://rebind.test:${Q}`).intercept({ path: '/' }).reply(200, 'ok').times(2)
    const mock = createClient({ policy: POLICY, lookup: rebind, retry: false, dispatcher: agent } as Parameters<typeof createClient>[0])
    expect(await (await mock.fetch(`http://rebind.test:${Q}/`)).text()).toBe('ok')
    await refused(() => mock.fetch(`http://rebind.test:${Q}/`), 'rebinding second call')
    await mock.close()
    await agent.close()
  })

  it('the CLI `safefetch check` refuses every host row and every whole-URL row too', async () => {
    // IPv4-only DNS rows: --resolve takes host:addr[,addr] and an IPv6 answer would read as a port.
    const resolve = Object.entries(DNS)
      .filter(([, answers]) => answers.every((a) => net.isIPv4(a)))
      .flatMap(([name, answers]) => ['--resolve', `${name}:${answers.join(',')}`])
    // (--resolve also refuses an answer that is not an IP address, so the odd-answer rows stay out.)
    const v6Names = new Set(Object.keys(DNS).filter((n) => !DNS[n]!.every((a) => net.isIPv4(a))))
    const urls = [
      ...hostRows()
        .filter((h) => !v6Names.has(h))
        .map((h) => `http://${h}:${P}/`),
      ...urlRows().filter((u) => !/[\t\n]/.test(u) && u.trim() === u),
    ]
    const result = await runCli(['check', '--json', '--allow', `${PUBLIC_ADDRESS}/32`, ...resolve, '-'], { stdin: `${urls.join('\n')}\n`, timeoutMs: 60_000 })
    expect(result.code, result.stderr).toBe(1)
    const rows = JSON.parse(result.out) as Array<{ input: string; allowed: boolean; error?: { code: string } }>
    expect(rows.length).toBe(urls.length)
    for (const row of rows)
      expect({ input: row.input, allowed: row.allowed, refused: REFUSED.has(row.error?.code ?? '') }).toEqual({
        input: row.input,
        allowed: false,
        refused: true,
      })
    expect(catchAllConnections).toBe(0)
  })

  it('the CLI `safefetch get` refuses literal, DNS and redirect targets without connecting (exit 3)', async () => {
    const common = [
      'get',
      '--retry',
      '0',
      '--allow',
      `${PUBLIC_ADDRESS}/32`,
      '--resolve',
      `public.test:${PUBLIC_ADDRESS}`,
      '--resolve',
      'private.test:10.255.0.1',
    ]
    const index = locations.indexOf(`http://[::ffff:10.255.0.1]:${P}/`)
    expect(index).toBeGreaterThanOrEqual(0)
    for (const url of [`http://0x7f.1:${P}/`, `http://[::ffff:a00:1]:${P}/`, `http://private.test:${P}/`, `http://public.test:${Q}/r/${index}`]) {
      const result = await runCli([...common, url], { timeoutMs: 60_000 })
      expect({ url, code: result.code }).toEqual({ url, code: 3 })
    }
    expect(catchAllConnections).toBe(0)
  })
})
