/**
 * A client with a test dispatcher (undici's MockAgent): every layer still runs (policy, redirects
 * with per-hop checks, retries, cache, timeouts, logging, stats), names are resolved with the
 * client's lookup and judged before dispatch, unmatched requests fail with ERR_MOCK_NOT_MATCHED,
 * and the dispatcher never reaches the network.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { createClient, getCallInfo, safeFetch, type Client, type ClientOptions } from '../../src/index.js'
import { MockAgent, recordingLogger, staticLookup } from '../../src/testing.js'
import { startHttpServer, type TestServer } from '../support/servers.js'
import { rejectsWith, throwsWith } from '../support/assertions.js'
import { tracing } from '../support/telemetry.js'

const API = 'https://api.example.com'
/** Public addresses for the mocked names (never dialled), and names that resolve inside. */
const lookup = staticLookup({
  'api.example.com': '93.184.216.34',
  'cdn.example.com': ['93.184.216.35', '2606:2800:220:1:248:1893:25c8:1946'],
  'internal.example.com': '10.1.2.3',
  'mixed.example.com': ['93.184.216.36', '169.254.169.254'],
})

const clients: Client[] = []
const agents: MockAgent[] = []
const servers: TestServer[] = []

function mockAgent(): MockAgent {
  const agent = new MockAgent()
  agent.disableNetConnect()
  agents.push(agent)
  return agent
}

function client(dispatcher: MockAgent, options: ClientOptions = {}): Client {
  const c = createClient({ dispatcher, lookup, retry: { backoff: { base: 1, cap: 5 } }, ...options })
  clients.push(c)
  return c
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all(agents.splice(0).map((a) => a.close()))
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('mocked responses through every layer', () => {
  test('mocked JSON, then a cache hit; the record and the log line say transport: mock and carry the checked address', async () => {
    const agent = mockAgent()
    agent
      .get(API)
      .intercept({ path: '/repos/x' })
      .reply(200, { name: 'x' }, { headers: { 'content-type': 'application/json', 'cache-control': 'max-age=60' } })
    const log = recordingLogger()
    const c = client(agent, { logger: log.logger })

    const first = await c.fetch(`${API}/repos/x`)
    expect(await first.json()).toEqual({ name: 'x' })
    const info = getCallInfo(first)!
    expect(info.transport).toBe('mock')
    expect(info.cache).toBe('miss')
    expect(info.remoteAddress).toBe('93.184.216.34')
    expect(info.attemptLog[0]).toMatchObject({ remoteAddress: '93.184.216.34', remotePort: 443, status: 200 })

    // The interceptor was used once: the second answer can only come from the cache.
    const second = await c.fetch(`${API}/repos/x`)
    expect(await second.json()).toEqual({ name: 'x' })
    expect(getCallInfo(second)!.cache).toBe('hit')
    expect(getCallInfo(second)!.transport).toBe('mock')

    const lines = log.calls()
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ msg: 'call completed', transport: 'mock', status: 200, remoteAddress: '93.184.216.34', cache: 'miss' })
    expect(lines[1]).toMatchObject({ transport: 'mock', cache: 'hit' })
    agent.assertNoPendingInterceptors()
  })

  test('a mocked 503 is retried as in production and shows in stats()', async () => {
    const agent = mockAgent()
    const pool = agent.get(API)
    pool.intercept({ path: '/flaky' }).reply(503, 'busy')
    pool.intercept({ path: '/flaky' }).reply(200, 'ok')
    const c = client(agent)
    const res = await c.fetch(`${API}/flaky`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok')
    const info = getCallInfo(res)!
    expect(info.attempts).toBe(2)
    expect(info.attemptLog.map((a) => a.status)).toEqual([503, 200])
    const stats = c.stats().origins![API]!
    expect(stats.calls).toBe(1)
    expect(stats.retries).toBe(1)
  })

  test('an error reply is a network failure: a reset (ECONNRESET) is retried, then ERR_NETWORK; a plain error is not retried', async () => {
    const agent = mockAgent()
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    agent.get(API).intercept({ path: '/reset' }).replyWithError(reset).times(3)
    agent.get(API).intercept({ path: '/broken' }).replyWithError(new Error('something else'))
    const log = recordingLogger()
    const c = client(agent, { logger: log.logger, retry: { limit: 2, backoff: { base: 1, cap: 5 } } })
    const error = await rejectsWith(c.fetch(`${API}/reset`), 'ERR_NETWORK')
    expect(error.url).toBe(`${API}/reset`)
    await rejectsWith(c.fetch(`${API}/broken`), 'ERR_NETWORK')
    expect(log.calls().map((line) => [line.errorCode, line.attempts])).toEqual([
      ['ERR_NETWORK', 3],
      ['ERR_NETWORK', 1],
    ])
  })

  test('timeouts run on mocked exchanges: a delayed reply hits timeout.headers', async () => {
    const agent = mockAgent()
    agent.get(API).intercept({ path: '/slow' }).reply(200, 'late').delay(5_000)
    const c = client(agent, { retry: false, timeout: { headers: 50 } })
    await rejectsWith(c.fetch(`${API}/slow`), 'ERR_HEADERS_TIMEOUT')
  })

  test('a mocked POST is not retried on 503 (not idempotent), as in production', async () => {
    const agent = mockAgent()
    agent.get(API).intercept({ path: '/orders', method: 'POST', body: '{"n":1}' }).reply(503, 'busy')
    const c = client(agent)
    const res = await c.fetch(`${API}/orders`, { method: 'POST', body: '{"n":1}' })
    expect(res.status).toBe(503)
    expect(getCallInfo(res)!.attempts).toBe(1)
  })

  test('every answer of the lookup is judged; IPv6 answers too', async () => {
    const agent = mockAgent()
    agent.get('https://cdn.example.com').intercept({ path: '/a.js' }).reply(200, 'js')
    const c = client(agent)
    const res = await c.fetch('https://cdn.example.com/a.js')
    expect(await res.text()).toBe('js')
    expect(getCallInfo(res)!.remoteAddress).toBe('93.184.216.35')
  })
})

test('spans: a call span marked safefetch.transport=mock and one client span per attempt', async () => {
  const agent = mockAgent()
  const pool = agent.get(API)
  pool.intercept({ path: '/traced' }).reply(503, 'busy')
  pool.intercept({ path: '/traced' }).reply(200, 'ok')
  const trace = tracing()
  const c = client(agent, { tracer: trace.tracer })
  await (await c.fetch(`${API}/traced`)).text()
  const spans = trace.spans()
  const call = spans.find((s) => s.name === 'safefetch GET')!
  expect(call.attributes['safefetch.transport']).toBe('mock')
  const attempts = spans.filter((s) => s.parentSpanContext?.spanId === call.spanContext().spanId)
  expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 200])
  expect(attempts[1]!.attributes['network.peer.address']).toBe('93.184.216.34')
})

describe('the address policy still holds', () => {
  test.each([
    ['http://10.0.0.1/', '10.0.0.1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[::1]/', '::1'],
    ['https://internal.example.com/', '10.1.2.3'],
    ['https://mixed.example.com/', '169.254.169.254'],
  ])('%s is refused with ERR_ADDRESS_BLOCKED before the mock sees it', async (url, address) => {
    const agent = mockAgent()
    const origin = new URL(url).origin
    let invoked = 0
    agent
      .get(origin)
      .intercept({ path: () => true })
      .reply(() => {
        invoked++
        return { statusCode: 200, data: 'internal data' }
      })
      .persist()
    const c = client(agent)
    const error = await rejectsWith(c.fetch(url), 'ERR_ADDRESS_BLOCKED')
    expect(error.address).toBe(address)
    expect(invoked).toBe(0)
  })

  test('a mocked redirect to a name that resolves inside is refused at that hop', async () => {
    const agent = mockAgent()
    agent
      .get(API)
      .intercept({ path: '/go' })
      .reply(302, '', { headers: { location: 'https://internal.example.com/admin' } })
    agent.get('https://internal.example.com').intercept({ path: '/admin' }).reply(200, 'secret')
    const c = client(agent)
    const error = await rejectsWith(c.fetch(`${API}/go`), 'ERR_ADDRESS_BLOCKED')
    expect(error.url).toBe('https://internal.example.com/admin')
    expect(agent.pendingInterceptors().map((i) => i.path)).toEqual(['/admin'])
  })

  test('policy.allow opens a range for a mock as it does for the network', async () => {
    const agent = mockAgent()
    agent.get('https://internal.example.com').intercept({ path: '/ok' }).reply(200, 'inside')
    const c = client(agent, { policy: { allow: ['10.1.2.3/32'] } })
    expect(await (await c.fetch('https://internal.example.com/ok')).text()).toBe('inside')
  })

  test('a name the lookup does not know fails with ERR_DNS', async () => {
    const c = client(mockAgent(), { retry: false })
    await rejectsWith(c.fetch('https://unknown.example.com/'), 'ERR_DNS')
  })

  test('hostname rules and URL checks run before the mock', async () => {
    const agent = mockAgent()
    const c = client(agent, { policy: { denyHosts: ['*.example.com'] } })
    await rejectsWith(c.fetch(`${API}/x`), 'ERR_URL_BLOCKED')
    await rejectsWith(c.fetch('https://user:pw@api.example.com/x'), 'ERR_URL_BLOCKED')
  })
})

describe('unmatched requests', () => {
  test('net connect disabled: ERR_MOCK_NOT_MATCHED names the method and the redacted URL, not the headers; not retried', async () => {
    const agent = mockAgent()
    agent.get(API).intercept({ path: '/repos/x' }).reply(200, 'x')
    const log = recordingLogger()
    const c = client(agent, { logger: log.logger })
    const error = await rejectsWith(
      c.fetch(`${API}/repos/y?token=s3cret`, { method: 'DELETE', headers: { authorization: 'Bearer s3cret' } }),
      'ERR_MOCK_NOT_MATCHED',
    )
    expect(error.message).toContain('no mock matched DELETE https://api.example.com/repos/y')
    expect(error.message).toContain('docs/testing.md')
    expect(error.message).not.toContain('s3cret')
    const line = log.calls()[0]!
    expect(line).toMatchObject({ msg: 'call failed', errorCode: 'ERR_MOCK_NOT_MATCHED', attempts: 1, transport: 'mock' })
    expect(JSON.stringify(log.lines)).not.toContain('s3cret')
  })

  test('net connect enabled: the dispatcher is never allowed to reach the network (nothing is written)', async () => {
    const server = await startHttpServer((_req, res) => res.end('real'))
    servers.push(server)
    const agent = new MockAgent() // net connect enabled: undici's default
    agents.push(agent)
    const c = client(agent, { lookup: staticLookup({ 'loopback.test': '127.0.0.1' }), policy: { allow: ['127.0.0.1/32'] } })
    const error = await rejectsWith(c.fetch(`http://127.0.0.1:${server.port}/real`), 'ERR_MOCK_NOT_MATCHED')
    expect(error.message).toContain('sent it to the network')
    expect(server.requests).toHaveLength(0)
  })
})

describe('options', () => {
  test('dispatcher needs a lookup (no DNS query may leave a test)', () => {
    const error = throwsWith(() => createClient({ dispatcher: new MockAgent() }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain('dispatcher needs a lookup')
  })

  test('dispatcher must be a Dispatcher and cannot be combined with a proxy', () => {
    throwsWith(() => createClient({ dispatcher: {} as MockAgent, lookup }), 'ERR_INVALID_OPTION')
    throwsWith(() => createClient({ dispatcher: 'mock' as unknown as MockAgent, lookup }), 'ERR_INVALID_OPTION')
    throwsWith(() => createClient({ dispatcher: new MockAgent(), lookup, proxy: 'http://127.0.0.1:3128' }), 'ERR_INVALID_OPTION')
  })

  test('a call cannot bring its own dispatcher: ERR_INVALID_OPTION says to use a client', async () => {
    const agent = mockAgent()
    const c = client(agent)
    const init = { dispatcher: new MockAgent() } as unknown as RequestInit
    const error = await rejectsWith(c.fetch(`${API}/x`, init as never), 'ERR_INVALID_OPTION')
    expect(error.message).toContain('dispatcher cannot be set for one call')
    expect(error.message).toContain('createClient({ dispatcher })')
  })

  test('a client without a dispatcher has no transport field', async () => {
    const server = await startHttpServer((_req, res) => res.end('real'))
    servers.push(server)
    const log = recordingLogger()
    const c = createClient({ policy: { allow: ['127.0.0.1/32'] }, logger: log.logger })
    clients.push(c)
    const res = await c.fetch(`${server.origin}/`)
    await res.text()
    expect(getCallInfo(res)!.transport).toBeUndefined()
    expect(log.calls()[0]).not.toHaveProperty('transport')
  })

  test('configure() can swap the mock; the client does not close a dispatcher it did not make', async () => {
    const first = mockAgent()
    first.get(API).intercept({ path: '/v' }).reply(200, 'one')
    const second = mockAgent()
    second.get(API).intercept({ path: '/v' }).reply(200, 'two')
    const c = client(first, { cache: false })
    expect(await (await c.fetch(`${API}/v`)).text()).toBe('one')
    c.configure({ dispatcher: second })
    expect(await (await c.fetch(`${API}/v`)).text()).toBe('two')
    await c.close()
    first.get(API).intercept({ path: '/after' }).reply(200, 'still open')
    const again = client(first)
    expect(await (await again.fetch(`${API}/after`)).text()).toBe('still open')
  })

  test('safeFetch() takes dispatcher and lookup for a one-shot client', async () => {
    const agent = mockAgent()
    agent.get(API).intercept({ path: '/once' }).reply(200, 'once')
    const res = await safeFetch(`${API}/once`, { dispatcher: agent, lookup })
    expect(await res.text()).toBe('once')
    expect(getCallInfo(res)!.transport).toBe('mock')
  })
})
