/**
 * When and how a call finishes: the record every consumer reads (summary log line, getCallInfo,
 * per-origin stats, flight recorder, diagnostics channels, the INTERNAL span) is written once, by
 * the observe layer, when the body has settled — or at once for an error, a cache hit, or a response
 * the client edge could not turn into a Response. Real loopback servers, real pino, real OTel SDK.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createClient, getCallInfo, type CallInfo, type Client, type ClientOptions } from '../../src/index.js'
import { MockAgent, staticLookup } from '../../src/testing.js'
import { startHttpServer, type TestServer, LOOPBACK, closedPort } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { originHandler } from '../support/observability-origin.js'
import { logSink, LEVEL, type LogSink, type LogLine } from '../support/logs.js'
import { tracing } from '../support/telemetry.js'

let server: TestServer
/** Answers with the raw bytes named by the path (statuses a Response cannot carry). */
let raw: net.Server
let rawOrigin: string
const RAW_ANSWERS: Record<string, string> = {
  // The whole (empty) body arrives with the headers: the body has settled before the edge converts.
  '/600': 'HTTP/1.1 600 Too High\r\ncontent-length: 0\r\n\r\n',
  // The body is still arriving when the edge refuses the status.
  '/700': 'HTTP/1.1 700 Way Too High\r\ncontent-length: 100\r\n\r\nsome',
}

beforeAll(async () => {
  server = await startHttpServer(originHandler())
  raw = net.createServer((socket) => {
    socket.on('error', () => {})
    socket.once('data', (data: Buffer) => {
      const answer = RAW_ANSWERS[data.toString().split(' ')[1] ?? '/']
      if (answer === undefined) socket.destroy()
      else socket.write(answer)
    })
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  rawOrigin = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`
})
afterAll(async () => {
  await server.close()
  await new Promise<void>((resolve) => raw.close(() => resolve()))
})

interface Observed {
  readonly client: Client
  readonly log: LogSink
  /** end/error channel messages, the record copied when published. */
  readonly events: { channel: 'end' | 'error'; record: CallInfo }[]
  readonly spans: ReturnType<typeof tracing>
}

const open: { observed: Observed; stop: () => void }[] = []

function observed(options: ClientOptions = {}, base: ClientOptions = LOOPBACK): Observed {
  const log = logSink('info')
  const spans = tracing()
  const client = createClient({
    ...base,
    cache: false,
    name: 'finish',
    logger: log.logger,
    tracer: spans.tracer,
    retry: { backoff: { base: 1, cap: 2 } },
    ...options,
  })
  const events: Observed['events'] = []
  const onEnd = (message: unknown): void => void events.push({ channel: 'end', record: structuredClone((message as { record: CallInfo }).record) })
  const onError = (message: unknown): void => void events.push({ channel: 'error', record: structuredClone((message as { record: CallInfo }).record) })
  subscribe('safefetch:call:end', onEnd)
  subscribe('safefetch:call:error', onError)
  const result = { client, log, events, spans }
  open.push({
    observed: result,
    stop: () => {
      unsubscribe('safefetch:call:end', onEnd)
      unsubscribe('safefetch:call:error', onError)
    },
  })
  return result
}

afterEach(async () => {
  vi.useRealTimers()
  // close() waits for every call in flight: a call whose end was never reported would hang here.
  for (const { observed, stop } of open.splice(0)) {
    stop()
    await observed.client.close()
  }
})

/** The one summary line of the only call so far. */
function onlyLine(o: Observed): LogLine {
  const lines = o.log.summaries()
  expect(lines).toHaveLength(1)
  return lines[0]!
}

/** The call finished exactly once, consistently across every consumer; returns its summary line. */
function finishedOnce(o: Observed, origin: string, failed: boolean): LogLine {
  const line = onlyLine(o)
  expect(o.events.map((e) => e.channel)).toEqual([failed ? 'error' : 'end'])
  const record = o.events[0]!.record
  expect(record.id).toBe(line.callId)
  expect(record.status).toBe(line.status)
  expect(record.bytes).toBe(line.bytes)
  expect(record.errorCode).toBe(line.errorCode)
  expect(record.attempts).toBe(line.attempts)
  expect(record.durationMs).toBeCloseTo(line.durationMs as number, 2)
  const internal = o.spans.spans().filter((span) => span.name.startsWith('safefetch '))
  expect(internal).toHaveLength(1)
  expect(internal[0]!.attributes['http.response.status_code']).toBe(line.status)
  const stats = o.client.stats().origins?.[origin]
  expect(stats).toMatchObject({ calls: 1, errors: failed ? 1 : 0, bytes: line.bytes })
  const failures = o.client.recentFailures()
  if (failed || (line.status as number) >= 500) {
    expect(failures).toHaveLength(1)
    const copy = failures[0]!.record
    expect([copy.id, copy.bytes, copy.status, copy.errorCode]).toEqual([line.callId, line.bytes, line.status, line.errorCode])
  } else {
    expect(failures).toHaveLength(0)
  }
  return line
}

/** getCallInfo() agrees with the line; timings.total is the whole call on a response. */
function infoMatches(res: Response, line: LogLine): CallInfo {
  const info = getCallInfo(res)!
  expect(info).toMatchObject({ id: line.callId, status: line.status, bytes: line.bytes, attempts: line.attempts, redirects: line.redirects })
  expect(info.errorCode).toBe(line.errorCode)
  expect(info.remoteAddress).toBe(line.remoteAddress)
  expect(info.durationMs).toBeCloseTo(line.durationMs as number, 2)
  expect(info.timings.total).toBe(info.durationMs)
  return info
}

describe('the finished record', () => {
  it('success with the body read: ends when the body has been read, bytes = the body', async () => {
    const o = observed()
    const res = await o.client.fetch(`${server.origin}/chunks?n=3&gap=20`)
    expect(o.log.summaries()).toHaveLength(0) // headers in, body still arriving: not over yet
    expect(getCallInfo(res)!.durationMs).toBeUndefined()
    expect(await res.text()).toHaveLength(300)
    const line = finishedOnce(o, server.origin, false)
    expect(line).toMatchObject({ level: LEVEL.info, status: 200, bytes: 300, attempts: 1, retries: 0, redirects: 0, remoteAddress: '127.0.0.1' })
    expect(line).not.toHaveProperty('errorCode')
    expect(line).not.toHaveProperty('finalUrl')
    const info = infoMatches(res, line)
    expect(info.finalUrl).toBe(`${server.origin}/chunks?n=3&gap=20`)
    expect((line.timings as { total: number }).total).toBeCloseTo(line.durationMs as number, 2)
    // The phases are the last attempt's (copied), the total is the call's.
    expect(info.timings.firstByte).toBe(info.attemptLog[0]!.timings.firstByte)
  })

  it('success with the body cancelled: ends at the cancel, with no error and the bytes delivered so far', async () => {
    const o = observed()
    const res = await o.client.fetch(`${server.origin}/chunks?n=50&gap=20`)
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    await reader.cancel()
    const line = finishedOnce(o, server.origin, false)
    expect(line).toMatchObject({ level: LEVEL.info, status: 200 })
    expect(line).not.toHaveProperty('errorCode')
    expect(line.bytes as number).toBeGreaterThanOrEqual(first.value!.byteLength)
    expect(line.bytes as number).toBeLessThan(5_000)
    infoMatches(res, line)
  })

  it('an error before any response: ends at once with the error, status absent, bytes 0', async () => {
    const o = observed({ retry: false })
    const port = await closedPort()
    const error = await rejectsWith(o.client.fetch(`http://127.0.0.1:${port}/x?token=TOKEN-SECRET`), 'ERR_NETWORK')
    expect(error.message).not.toContain('TOKEN-SECRET')
    const line = finishedOnce(o, `http://127.0.0.1:${port}`, true)
    expect(line).toMatchObject({ level: LEVEL.error, errorCode: 'ERR_NETWORK', bytes: 0, attempts: 1 })
    expect(line).not.toHaveProperty('status')
    expect(line.durationMs as number).toBeGreaterThan(0)
    // No response, so no call timings: the line shows the last request's (docs/observability.md).
    const copy = o.client.recentFailures()[0]!.record
    expect((line.timings as { total: number }).total).toBeCloseTo(copy.attemptLog[0]!.timings.total!, 2)
    expect(o.client.recentFailures()[0]!.error).toEqual({ code: 'ERR_NETWORK', message: error.message })
  })

  it.each([
    ['the body already settled', '/600', 600],
    ['the body still arriving', '/700', 700],
  ])('a status a Response cannot carry (%s): the call ends once, with the edge’s error', async (_, path, status) => {
    const o = observed({ retry: false })
    const error = await rejectsWith(o.client.fetch(`${rawOrigin}${path}`), 'ERR_BAD_RESPONSE')
    const line = finishedOnce(o, rawOrigin, true)
    expect(line).toMatchObject({ level: LEVEL.error, errorCode: 'ERR_BAD_RESPONSE', status, bytes: 0, attempts: 1 })
    expect((line.err as { message: string }).message).toBe(error.message)
    // The cancelled body settling later does not finish the call a second time.
    await new Promise((resolve) => setImmediate(resolve))
    expect(o.log.summaries()).toHaveLength(1)
    expect(o.events).toHaveLength(1)
  })

  it('a cache hit: ends at once (bytes in memory), attempts 0', async () => {
    const o = observed({ cache: {} })
    const first = await o.client.fetch(`${server.origin}/cacheable`)
    await first.text()
    o.log.summaries() // the miss
    const res = await o.client.fetch(`${server.origin}/cacheable`)
    const lines = o.log.summaries()
    expect(lines).toHaveLength(2) // before the body is read
    const line = lines[1]!
    expect(line).toMatchObject({ level: LEVEL.info, cache: 'hit', status: 200, attempts: 0, bytes: 'cacheable body'.length })
    const info = getCallInfo(res)!
    expect(info).toMatchObject({ id: line.callId, cache: 'hit', bytes: 'cacheable body'.length, status: 200 })
    expect(info.timings.total).toBe(info.durationMs)
    expect(await res.text()).toBe('cacheable body')
    expect(o.events.map((e) => e.channel)).toEqual(['end', 'end'])
    expect(o.client.stats().origins?.[server.origin]).toMatchObject({ calls: 2, errors: 0 })
  })

  it('a retried call: attempts 2, warn, the last attempt’s address and phases', async () => {
    const o = observed()
    const res = await o.client.fetch(`${server.origin}/flaky/finish-retry?fail=1`)
    expect(await res.text()).toBe('attempt 2')
    const line = finishedOnce(o, server.origin, false)
    expect(line).toMatchObject({ level: LEVEL.warn, status: 200, attempts: 2, retries: 1, bytes: 'attempt 2'.length, remoteAddress: '127.0.0.1' })
    const info = infoMatches(res, line)
    expect(info.attemptLog.map((a) => a.status)).toEqual([503, 200])
    expect(info.timings.firstByte).toBe(info.attemptLog[1]!.timings.firstByte)
  })

  it('a redirect: finalUrl is the last hop', async () => {
    const o = observed()
    const res = await o.client.fetch(`${server.origin}/redirect?to=/status/200`)
    expect(await res.text()).toBe('status 200')
    const line = finishedOnce(o, server.origin, false)
    expect(line).toMatchObject({ status: 200, redirects: 1, attempts: 2, finalUrl: `${server.origin}/status/200` })
    expect(infoMatches(res, line).finalUrl).toBe(`${server.origin}/status/200`)
  })

  it('the mock transport: transport mock, the checked address, bytes of the mocked body', async () => {
    const agent = new MockAgent()
    agent.disableNetConnect()
    agent.get('https://api.example.com').intercept({ path: '/repos/x' }).reply(200, { name: 'x' })
    const o = observed({ dispatcher: agent, lookup: staticLookup({ 'api.example.com': '93.184.216.34' }) }, {})
    try {
      const res = await o.client.fetch('https://api.example.com/repos/x')
      expect(await res.json()).toEqual({ name: 'x' })
      const line = finishedOnce(o, 'https://api.example.com', false)
      expect(line).toMatchObject({ transport: 'mock', status: 200, bytes: '{"name":"x"}'.length, remoteAddress: '93.184.216.34' })
      infoMatches(res, line)
    } finally {
      await agent.close()
    }
  })
})

describe('the call is reported before its body promise resolves', () => {
  // A caller that reads stats, the log or recentFailures right after `await res.text()` sees its call.
  it.each([
    ['text() without a stream', (res: Response) => res.text()],
    ['arrayBuffer() of the stream', (res: Response) => new Response(res.body).arrayBuffer()],
    [
      'a stream reader',
      async (res: Response) => {
        const reader = res.body!.getReader()
        while (!(await reader.read()).done);
      },
    ],
  ])('%s', async (_, read) => {
    const o = observed()
    const res = await o.client.fetch(`${server.origin}/chunks?n=3&gap=10`)
    expect(o.client.stats().origins?.[server.origin]).toBeUndefined()
    await read(res)
    // Synchronously after the read resolves: no turn of the event loop in between.
    expect(o.client.stats().origins?.[server.origin]).toMatchObject({ calls: 1 })
    expect(o.log.summaries()).toHaveLength(1)
  })

  it('a cache miss whose body is copied into the cache', async () => {
    const o = observed({ cache: {} })
    const res = await o.client.fetch(`${server.origin}/cacheable?finish-miss`)
    await res.text()
    expect(o.client.stats().origins?.[server.origin]).toMatchObject({ calls: 1 })
    expect(o.log.summaries()).toHaveLength(1)
  })

  it('on a fake clock that runs ahead of the real one, the call is in the stats window at once', async () => {
    // The client (and its stats) made before the clock is faked, as in docs/testing.md's examples.
    const o = observed()
    vi.useFakeTimers({ now: Date.now() + 10 * 60_000, toFake: ['Date', 'performance'] })
    const res = await o.client.fetch(`${server.origin}/status/200`)
    await res.text()
    expect(o.client.stats().origins?.[server.origin]).toMatchObject({ calls: 1 })
  })
})
