/**
 * The `safefetch:call:*` diagnostics channels and the flight recorder, through the real client
 * (docs/observability.md, "diagnostics_channel events" and "Flight recorder").
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK, closedPort } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { rejectsWith } from '../support/assertions.js'
import { originHandler } from '../support/observability-origin.js'
import { logSink } from '../support/logs.js'

const NAMES = ['start', 'end', 'error', 'retry', 'blocked'] as const
type ChannelName = (typeof NAMES)[number]
type Message = Record<string, unknown> & { id: string }

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer(originHandler())
})
afterAll(async () => {
  await server.close()
})

describe('diagnostics channels', () => {
  let seen: { channel: ChannelName; message: Message }[] = []
  const listeners = NAMES.map((channel) => [channel, (message: unknown) => seen.push({ channel, message: message as Message })] as const)
  beforeEach(() => {
    seen = []
    for (const [channel, listener] of listeners) subscribe(`safefetch:call:${channel}`, listener)
  })
  afterEach(() => {
    for (const [channel, listener] of listeners) unsubscribe(`safefetch:call:${channel}`, listener)
  })
  const of = (id: string) => seen.filter((e) => e.message.id === id)

  it('start, retry, end for a retried call, all with the call id (the log callId too)', async () => {
    const log = logSink('info')
    const client = createClient({ ...LOOPBACK, cache: false, name: 'events', logger: log.logger, retry: { backoff: { base: 1, cap: 2 } } })
    const res = await client.fetch(`${server.origin}/flaky/events?fail=1&token=TOKEN-SECRET`)
    await res.text()
    const id = getCallInfo(res)!.id
    await expect.poll(() => of(id).map((e) => e.channel)).toEqual(['start', 'retry', 'end'])
    const [start, retry, end] = of(id)
    expect(start!.message).toEqual({ id, client: 'events', method: 'GET', url: `${server.origin}/flaky/events?fail=1&token=REDACTED` })
    expect(retry!.message).toMatchObject({ id, attempt: 1, hop: 0, reason: expect.any(String), delayMs: expect.any(Number), status: 503 })
    expect(end!.message).toMatchObject({ id, client: 'events', record: { id, status: 200, attempts: 2 } })
    expect(log.summaries()[0]!.callId).toBe(id)
    await client.close()
  })

  it('start and error for a failed call', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, name: 'events' })
    const port = await closedPort()
    await rejectsWith(client.fetch(`http://127.0.0.1:${port}/`, { retry: false }), 'ERR_NETWORK')
    const start = seen.find((e) => e.channel === 'start' && (e.message.url as string).includes(`:${port}/`))!
    const events = of(start.message.id)
    expect(events.map((e) => e.channel)).toEqual(['start', 'error'])
    expect(events[1]!.message).toMatchObject({ client: 'events', record: { errorCode: 'ERR_NETWORK' }, error: { code: 'ERR_NETWORK' } })
    await client.close()
  })

  it('blocked: an IP literal refused by the URL policy, no connection made', async () => {
    const client = createClient({ cache: false, name: 'guard' })
    await rejectsWith(client.fetch('http://169.254.169.254/latest/meta-data?token=TOKEN-SECRET'), 'ERR_ADDRESS_BLOCKED')
    const blocked = seen.filter((e) => e.channel === 'blocked')
    expect(blocked).toHaveLength(1)
    const id = blocked[0]!.message.id
    expect(of(id).map((e) => e.channel)).toEqual(['start', 'error', 'blocked'])
    expect(blocked[0]!.message).toMatchObject({ client: 'guard', code: 'ERR_ADDRESS_BLOCKED', url: 'http://169.254.169.254/latest/meta-data?token=REDACTED' })
    expect(blocked[0]!.message.address).toBe('169.254.169.254')
    expect(blocked[0]!.message.range).toEqual(expect.any(String))
    await client.close()
  })

  it('blocked: a name that resolves to a private address, refused in the connector', async () => {
    const client = createClient({ cache: false, name: 'guard', lookup: fakeLookup({ 'internal.test': ['10.9.8.7'] }) })
    const connections = server.connections
    await rejectsWith(client.fetch(`http://internal.test:${server.port}/`), 'ERR_ADDRESS_BLOCKED')
    const blocked = seen.filter((e) => e.channel === 'blocked')
    expect(blocked).toHaveLength(1)
    expect(blocked[0]!.message).toMatchObject({ client: 'guard', code: 'ERR_ADDRESS_BLOCKED', address: '10.9.8.7', range: expect.any(String) })
    expect(of(blocked[0]!.message.id).map((e) => e.channel)).toEqual(['start', 'error', 'blocked'])
    expect(server.connections).toBe(connections)
    await client.close()
  })
})

describe('flight recorder', () => {
  it('keeps the last N failures (errors and 5xx), newest first, with their full records', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, recentFailures: 3 })
    const port = await closedPort()
    const fail = (path: string) => client.fetch(`${server.origin}${path}`, { retry: false }).then((r) => r.text())
    await fail('/status/500?n=1')
    await fail('/status/200')
    await rejectsWith(client.fetch(`http://127.0.0.1:${port}/down?key=KEY-SECRET`, { retry: false }), 'ERR_NETWORK')
    await fail('/status/404') // a 4xx is an answer, not a failure
    await fail('/status/503?n=2')
    await rejectsWith(
      client.fetch(`${server.origin}/slow?ms=300`, { retry: false, timeout: { headers: 50 } }).then((r) => r.text()),
      'ERR_HEADERS_TIMEOUT',
    )

    const failures = client.recentFailures()
    expect(failures.map((f) => f.error?.code ?? f.record.status)).toEqual(['ERR_HEADERS_TIMEOUT', 503, 'ERR_NETWORK'])
    const [timeout, unavailable, refused] = failures
    expect(Date.parse(timeout!.at)).not.toBeNaN()
    expect(timeout!.error!.message).toMatch(/timeout\.headers/)
    expect(timeout!.record).toMatchObject({ errorCode: 'ERR_HEADERS_TIMEOUT', attempts: 1, url: `${server.origin}/slow?ms=300` })
    expect(timeout!.record.attemptLog[0]).toMatchObject({ errorCode: 'ERR_HEADERS_TIMEOUT', remoteAddress: '127.0.0.1' })
    expect(unavailable!.record).toMatchObject({ status: 503, url: `${server.origin}/status/503?n=2` })
    expect(unavailable).not.toHaveProperty('error')
    expect(unavailable!.record.attemptLog[0]!.timings.firstByte).toBeGreaterThanOrEqual(0)
    expect(refused!.record.url).toBe(`http://127.0.0.1:${port}/down?key=REDACTED`)
    // Copies: later calls do not change what was recorded.
    await fail('/status/502')
    expect(unavailable!.record.status).toBe(503)
    expect(client.recentFailures().map((f) => f.error?.code ?? f.record.status)).toEqual([502, 'ERR_HEADERS_TIMEOUT', 503])
    await client.close()
  })

  it('recentFailures: 0 keeps nothing', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, recentFailures: 0 })
    await (await client.fetch(`${server.origin}/status/500`, { retry: false })).text()
    expect(client.recentFailures()).toEqual([])
    await client.close()
  })
})
