/**
 * Invalid input is refused before anything is sent: options (with a message naming the option and
 * the bad value), header injection, bodies on GET/HEAD, forbidden methods, unusable URLs. And the
 * transport failures that remain map to their codes with redacted URLs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, SafeFetchError, type ClientOptions } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith, throwsWith } from '../support/assertions.js'
import { echo } from '../support/replies.js'

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer(echo)
})
afterAll(async () => {
  await server.close()
})

describe('invalid client options → ERR_INVALID_OPTION naming the option', () => {
  it.each<[string, unknown, string | RegExp]>([
    ['timeout.connect', { timeout: { connect: -1 } }, 'timeout.connect must be a positive number of milliseconds (or false to disable it), got -1'],
    ['timeout.headers', { timeout: { headers: '10' } }, 'timeout.headers must be a positive number of milliseconds (or false to disable it), got "10"'],
    ['timeout.read', { timeout: { read: 0 } }, 'timeout.read must be a positive number of milliseconds (or false to disable it), got 0'],
    ['timeout.total', { timeout: { total: Infinity } }, 'timeout.total must be a positive number of milliseconds (or false to disable it), got Infinity'],
    ['timeout', { timeout: -5 }, 'timeout must be a positive number of milliseconds (or false to disable it), got -5'],
    ['timeout typo', { timeout: { totl: 100 } }, 'timeout.totl is not a known option; did you mean timeout.total?'],
    ['maxResponseBytes', { maxResponseBytes: 0 }, 'maxResponseBytes must be a positive integer, got 0'],
    ['maxResponseBytes fraction', { maxResponseBytes: 1.5 }, 'maxResponseBytes must be a positive integer, got 1.5'],
    ['maxDecompressionRatio', { maxDecompressionRatio: -2 }, /^maxDecompressionRatio must be .*got -2$/],
    ['redirect.max', { redirect: { max: -1 } }, 'redirect.max must be a non-negative integer, got -1'],
    ['redirect mode', { redirect: 'follow-all' }, `redirect must be 'follow', 'manual', 'error' or an object, got "follow-all"`],
    ['redirect.stripHeaders', { redirect: { stripHeaders: ['bad header'] } }, 'redirect.stripHeaders[0] must be a header name, got "bad header"'],
    ['redirect.allowDowngrade', { redirect: { allowDowngrade: 'yes' } }, 'redirect.allowDowngrade must be true or false, got "yes"'],
    ['baseUrl scheme', { baseUrl: 'ftp://example.com/' }, 'baseUrl must be an absolute http(s) URL, got "ftp://example.com/"'],
    ['baseUrl relative', { baseUrl: '/v1' }, 'baseUrl must be an absolute http(s) URL, got "/v1"'],
    ['headers CR/LF', { headers: { 'x-a': 'a\r\nInjected: 1' } }, /^headers\.x-a must be a value without CR, LF or NUL/],
    ['headers name', { headers: { 'bad name': 'x' } }, /^headers must be valid header names, got "bad name"/],
    ['policy.allow', { policy: { allow: ['10.0.0.1/8'] } }, /^policy\.allow\[0\] must be a CIDR/],
    ['policy.deny', { policy: { deny: 'x' } }, /^policy\.deny must be an array/],
    ['policy typo', { policy: { allowPrivat: true } }, 'policy.allowPrivat is not a known option; did you mean policy.allowPrivate?'],
    ['policy.protocols', { policy: { protocols: ['ftp:'] } }, /^policy\.protocols\[0\]/],
    ['policy.ports', { policy: { ports: [0] } }, /^policy\.ports\[0\] must be an integer port/],
    ['lookup', { lookup: 'dns' }, 'lookup must be a function with the dns.lookup signature, got "dns"'],
    ['logger', { logger: {} }, 'logger must be a pino logger (with child, isLevelEnabled, debug, info, warn, error) or false, got {}'],
    ['logger console', { logger: console }, 'logger must be a pino logger (with child, isLevelEnabled, debug, info, warn, error) or false, got a Console'],
    ['tls', { tls: 'x' }, 'tls must be an object, got "x"'],
    ['connectionsPerOrigin', { connectionsPerOrigin: 0 }, 'connectionsPerOrigin must be a positive integer, got 0'],
    ['keepAliveTimeout', { keepAliveTimeout: -1 }, /^keepAliveTimeout must be .*got -1$/],
    ['decompress', { decompress: 'yes' }, 'decompress must be true or false, got "yes"'],
    ['allowAbsoluteUrls', { allowAbsoluteUrls: 1 }, 'allowAbsoluteUrls must be true or false, got 1'],
    ['name', { name: '' }, 'name must be a non-empty string, got ""'],
  ])('%s', (_what, options, message) => {
    const error = throwsWith(() => createClient(options as ClientOptions), 'ERR_INVALID_OPTION')
    if (typeof message === 'string') expect(error.message).toBe(message)
    else expect(error.message).toMatch(message)
  })

  it('timeouts accept false to disable them', () => {
    const client = createClient({ timeout: { connect: false, headers: false, read: false, total: false } })
    expect(client.options.timeout).toEqual({ connect: 0, headers: 0, read: 0, total: 0 })
    void client.close()
  })

  it('per-call options are validated the same way (the call rejects, nothing is sent)', async () => {
    const client = createClient(LOOPBACK)
    const before = server.requests.length
    const cases: [Record<string, unknown>, string][] = [
      [{ timeout: { read: -1 } }, 'timeout.read must be a positive number of milliseconds (or false to disable it), got -1'],
      [{ maxResponseBytes: -1 }, 'maxResponseBytes must be a positive integer, got -1'],
      [{ redirect: 'nope' }, `redirect must be 'follow', 'manual', 'error' or an object, got "nope"`],
      [{ redirect: { max: 1.5 } }, 'redirect.max must be a non-negative integer, got 1.5'],
    ]
    for (const [init, message] of cases) {
      const error = await rejectsWith(client.fetch(`${server.origin}/`, init), 'ERR_INVALID_OPTION')
      expect(error.message).toBe(message)
    }
    expect(server.requests.length).toBe(before)
    await client.close()
  })
})

describe('requests refused before sending', () => {
  const client = createClient(LOOPBACK)
  afterAll(() => client.close())
  let before = 0
  beforeAll(() => {
    before = server.requests.length
  })
  afterAll(() => {
    expect(server.requests.length).toBe(before)
  })

  it.each<[string, unknown]>([
    ['CR LF in a record', { 'x-a': 'ok\r\nx-injected: 1' }],
    ['LF alone', { 'x-a': 'ok\nx-injected: 1' }],
    ['CR alone', { 'x-a': 'ok\rx' }],
    ['NUL', { 'x-a': 'ok\0' }],
    ['CR LF in pairs', [['x-a', 'ok\r\n\r\nGET /smuggled HTTP/1.1']]],
    ['invalid name', { 'x a': 'v' }],
    ['name with colon', { 'x-a:': 'v' }],
  ])('header values or names with %s are refused', async (_what, headers) => {
    const error = await rejectsWith(client.fetch(`${server.origin}/`, { headers: headers as Record<string, string> }), 'ERR_INVALID_OPTION')
    expect(error.message).toMatch(/^init\.headers/)
  })

  it.each(['GET', 'HEAD', 'get'])('%s with a body is refused', async (method) => {
    const error = await rejectsWith(client.fetch(`${server.origin}/`, { method, body: 'x' }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain('body is not allowed')
  })

  it.each(['CONNECT', 'connect', 'TRACE', 'trace', 'TRACK'])('method %s is refused', async (method) => {
    const error = await rejectsWith(client.fetch(`${server.origin}/`, { method }), 'ERR_INVALID_OPTION')
    expect(error.message).toContain('not allowed')
  })

  it.each(['GE T', 'GET\r\n', '', 'G(ET'])('method %j is not a token', async (method) => {
    await rejectsWith(client.fetch(`${server.origin}/`, { method }), 'ERR_INVALID_OPTION')
  })

  it.each<[string, unknown]>([
    ['a number', 42],
    ['a plain object', { a: 1 }],
    ['a factory returning a number', () => 42],
  ])('a body that is %s is refused', async (_what, body) => {
    await rejectsWith(client.fetch(`${server.origin}/`, { method: 'POST', body: body as never }), 'ERR_INVALID_OPTION')
  })

  it.each([
    'not a url',
    'http://',
    'http:/127.0.0.1/',
    'http:///127.0.0.1/',
    'http:127.0.0.1/',
    ' http://127.0.0.1/',
    'http://127.0.0.1/\n',
    'http://127.0.0.1/a\tb',
    'http://[::1/',
    'http://127.0.0.1:99999/',
  ])('URL %j → ERR_URL_INVALID', async (url) => {
    await rejectsWith(client.fetch(url), 'ERR_URL_INVALID')
  })

  it('input that is not a URL, string or Request → ERR_URL_INVALID', async () => {
    await rejectsWith(client.fetch(42 as unknown as string), 'ERR_URL_INVALID')
  })

  it.each([
    ['ftp://127.0.0.1/', 'scheme'],
    ['file:///etc/passwd', 'scheme'],
    ['ws://127.0.0.1/', 'scheme'],
    ['data:text/plain,hi', 'scheme'],
    ['http://user:pass@127.0.0.1/', 'credentials'],
    ['http://user@127.0.0.1/', 'credentials'],
    ['http://127.0.0.1:0/', 'port 0'],
  ])('URL %s → ERR_URL_BLOCKED (%s)', async (url) => {
    const error = await rejectsWith(client.fetch(url), 'ERR_URL_BLOCKED')
    expect(error.url ?? '').not.toContain('pass@')
  })

  it('policy.ports refuses other ports', async () => {
    const strict = createClient({ policy: { allow: ['127.0.0.1/32'], ports: [443] } })
    const error = await rejectsWith(strict.fetch(`${server.origin}/`), 'ERR_URL_BLOCKED')
    expect(error.message).toContain('policy.ports')
    await strict.close()
  })
})

describe('transport failures', () => {
  it('a GET with body: null is fine', async () => {
    const client = createClient(LOOPBACK)
    const res = await client.fetch(`${server.origin}/`, { body: null })
    expect(res.status).toBe(200)
    await res.text()
    await client.close()
  })

  it('connection refused → ERR_NETWORK, with the URL redacted', async () => {
    const closed = await startHttpServer(echo)
    const port = closed.port
    await closed.close()
    const client = createClient(LOOPBACK)
    const error = await rejectsWith(client.fetch(`http://127.0.0.1:${port}/path?token=s3cret`), 'ERR_NETWORK')
    expect(error).toBeInstanceOf(SafeFetchError)
    expect(error.message).not.toContain('s3cret')
    expect(error.url ?? '').not.toContain('s3cret')
    await client.close()
  })

  it('a name that does not resolve → ERR_DNS', async () => {
    const client = createClient({ ...LOOPBACK, lookup: fakeLookup({}) })
    const error = await rejectsWith(client.fetch('http://nowhere.test/'), 'ERR_DNS')
    expect(error.message).toContain('ENOTFOUND')
    await client.close()
  })

  it('every failure carries a code from the ErrorCode union', async () => {
    const client = createClient(LOOPBACK)
    const results = await Promise.allSettled([client.fetch('nope'), client.fetch('http://10.0.0.1/'), client.fetch(`${server.origin}/`, { method: 'CONNECT' })])
    for (const result of results) {
      expect(result.status).toBe('rejected')
      const reason = (result as PromiseRejectedResult).reason as SafeFetchError
      expect(reason).toBeInstanceOf(SafeFetchError)
      expect(reason.name).toBe('SafeFetchError')
      expect(reason.code).toMatch(/^ERR_[A-Z_]+$/)
    }
    await client.close()
  })
})
