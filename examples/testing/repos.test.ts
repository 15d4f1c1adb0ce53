/**
 * Testing code that uses safefetch with undici's MockAgent (docs/testing.md): no server, no
 * network, every safefetch layer running. Runs in `npm test`.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { getCallInfo, SafeFetchError, type Client } from 'safefetch'
import { MockAgent, recordingLogger, staticLookup, type RecordingLogger } from 'safefetch/testing'
import { createReposClient, getRepo } from './repos.js'

const JSON_HEADERS = { 'content-type': 'application/json' }

let mockAgent: MockAgent
let log: RecordingLogger
let client: Client

beforeEach(() => {
  mockAgent = new MockAgent()
  mockAgent.disableNetConnect() // an unmatched request fails instead of going anywhere
  log = recordingLogger()
  client = createReposClient({
    dispatcher: mockAgent,
    // Names resolve from this table and every answer is still judged by the address policy.
    lookup: staticLookup({ 'api.example.com': '93.184.216.34' }),
    logger: log.logger,
  })
})

afterEach(async () => {
  vi.useRealTimers()
  await client.close()
  await mockAgent.close()
})

test('returns the repo', async () => {
  mockAgent
    .get('https://api.example.com')
    .intercept({ path: '/repos/safefetch', headers: { accept: 'application/json' } })
    .reply(200, { name: 'safefetch', stars: 42 }, { headers: JSON_HEADERS })

  expect(await getRepo(client, 'safefetch')).toEqual({ name: 'safefetch', stars: 42 })
  mockAgent.assertNoPendingInterceptors()
})

test('a 503 is retried after Retry-After, with fake timers', async () => {
  vi.useFakeTimers()
  const api = mockAgent.get('https://api.example.com')
  api.intercept({ path: '/repos/busy' }).reply(503, 'busy', { headers: { 'retry-after': '2' } })
  api.intercept({ path: '/repos/busy' }).reply(200, { name: 'busy', stars: 1 }, { headers: JSON_HEADERS })

  const pending = getRepo(client, 'busy')
  await vi.advanceTimersByTimeAsync(2_000) // the Retry-After wait, on the fake clock
  expect(await pending).toEqual({ name: 'busy', stars: 1 })

  // One summary line per call: a retried call is logged at warn with its retries.
  const [line] = log.calls()
  expect(line).toMatchObject({ level: 40, transport: 'mock', status: 200, attempts: 2, retries: 1 })
  expect(client.stats().origins?.['https://api.example.com']).toMatchObject({ calls: 1, retries: 1 })
})

test('a slow answer hits the headers timeout, on the fake clock', async () => {
  vi.useFakeTimers()
  mockAgent.get('https://api.example.com').intercept({ path: '/repos/slow' }).reply(200, { name: 'slow', stars: 0 }).delay(60_000)

  const pending = client.fetch('/repos/slow', { retry: false }).catch((err: unknown) => err)
  await vi.advanceTimersByTimeAsync(5_000) // timeout.headers of createReposClient()
  expect(await pending).toMatchObject({ code: 'ERR_HEADERS_TIMEOUT' })
})

test('the cache answers the second call; the fake clock makes it stale', async () => {
  vi.useFakeTimers() // after createClient(): safefetch reads the clocks on every call
  const api = mockAgent.get('https://api.example.com')
  api.intercept({ path: '/repos/c' }).reply(200, { name: 'c', stars: 1 }, { headers: { ...JSON_HEADERS, 'cache-control': 'max-age=60' } })
  api.intercept({ path: '/repos/c' }).reply(200, { name: 'c', stars: 2 }, { headers: { ...JSON_HEADERS, 'cache-control': 'max-age=60' } })

  expect((await getRepo(client, 'c')).stars).toBe(1)
  expect((await getRepo(client, 'c')).stars).toBe(1) // a hit: the second interceptor is unused
  vi.advanceTimersByTime(61_000)
  expect((await getRepo(client, 'c')).stars).toBe(2)
  expect(log.calls().map((line) => line.cache)).toEqual(['miss', 'hit', 'miss'])
})

describe('failures are SafeFetchErrors with stable codes', () => {
  test('an unmatched request', async () => {
    const error = await getRepo(client, 'nope').catch((err: unknown) => err)
    expect(error).toBeInstanceOf(SafeFetchError)
    expect(error).toMatchObject({ code: 'ERR_MOCK_NOT_MATCHED' })
    expect((error as SafeFetchError).message).toContain('no mock matched GET https://api.example.com/repos/nope')
  })

  test('an internal address is refused before any mock sees it', async () => {
    const internal = createReposClient({ dispatcher: mockAgent, lookup: staticLookup({}), allowAbsoluteUrls: true })
    await expect(internal.fetch('http://10.0.0.1/')).rejects.toMatchObject({ code: 'ERR_ADDRESS_BLOCKED', address: '10.0.0.1' })
    await expect(internal.fetch('http://169.254.169.254/latest/meta-data/')).rejects.toMatchObject({ code: 'ERR_ADDRESS_BLOCKED' })
    await internal.close()
  })

  test('a name that resolves inside is refused too', async () => {
    const rebinding = createReposClient({ dispatcher: mockAgent, lookup: staticLookup({ 'api.example.com': '10.0.0.7' }) })
    await expect(getRepo(rebinding, 'x')).rejects.toMatchObject({ code: 'ERR_ADDRESS_BLOCKED', address: '10.0.0.7' })
    await rebinding.close()
  })
})

test('the call info and the log line show the mock', async () => {
  mockAgent.get('https://api.example.com').intercept({ path: '/repos/info' }).reply(200, { name: 'info', stars: 0 }, { headers: JSON_HEADERS })
  const res = await client.fetch('/repos/info')
  await res.arrayBuffer()
  expect(getCallInfo(res)).toMatchObject({ transport: 'mock', remoteAddress: '93.184.216.34', attempts: 1 })
  expect(log.calls()[0]).toMatchObject({ client: 'repos', msg: 'call completed', transport: 'mock', url: 'https://api.example.com/repos/info' })
})
