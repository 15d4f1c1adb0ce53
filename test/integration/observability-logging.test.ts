/**
 * The per-call pino summary line and the debug attempt lines, read back from a real pino logger
 * through the real client and a real loopback origin (docs/observability.md, "The summary log line").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, type ClientOptions } from '../../src/index.js'
import { nextTurn } from '../support/waiting.js'
import { startHttpServer, type TestServer, LOOPBACK, closedPort } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { originHandler } from '../support/observability-origin.js'
import { logSink, LEVEL, type LogSink } from '../support/logs.js'

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer(originHandler())
})
afterAll(async () => {
  await server.close()
})

/** Fast retries so the warn case does not wait for the default backoff. */
const FAST_RETRY = { backoff: { base: 1, cap: 2 } }

function clientWith(log: LogSink, options: ClientOptions = {}) {
  return createClient({ ...LOOPBACK, cache: false, name: 'orders-api', logger: log.logger, ...options })
}

const TIMING_KEYS = ['queued', 'dns', 'connect', 'tls', 'sent', 'firstByte', 'download', 'total']

describe('summary line', () => {
  it('one info line per call with the documented fields, written when the body has been read', async () => {
    const log = logSink('info')
    const client = clientWith(log)
    // The body trickles in: the call is not over (no line yet) when the headers are in.
    const res = await client.fetch(`${server.origin}/chunks?n=3&gap=40&page=2&token=TOKEN-SECRET`)
    expect(log.summaries()).toHaveLength(0)
    const body = await res.text()
    const lines = log.summaries()
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    const info = getCallInfo(res)!
    expect(line).toMatchObject({
      level: LEVEL.info,
      msg: 'call completed',
      client: 'orders-api',
      callId: info.id,
      method: 'GET',
      url: `${server.origin}/chunks?n=3&gap=40&page=2&token=REDACTED`,
      status: 200,
      attempts: 1,
      retries: 0,
      redirects: 0,
      bytes: Buffer.byteLength(body),
      remoteAddress: '127.0.0.1',
      reusedConnection: false,
    })
    expect(line.durationMs).toBeTypeOf('number')
    expect(line.durationMs as number).toBeGreaterThan(0)
    // Absent, not null, when they do not apply: no cache on this client, no failure, no redirect.
    for (const key of ['cache', 'errorCode', 'err', 'finalUrl']) expect(line).not.toHaveProperty(key)
    const timings = line.timings as Record<string, number>
    expect(Object.keys(timings).every((key) => TIMING_KEYS.includes(key))).toBe(true)
    for (const key of ['connect', 'sent', 'firstByte', 'download', 'total']) expect(timings[key], key).toBeGreaterThanOrEqual(0)
    expect(timings).not.toHaveProperty('tls') // plain http
    expect(timings.total).toBeCloseTo(line.durationMs as number, 2)
    await client.close()
  })

  it('the cache field: miss, then hit with no physical request', async () => {
    const log = logSink('info')
    const client = createClient({ ...LOOPBACK, logger: log.logger })
    await (await client.fetch(`${server.origin}/cacheable`)).text()
    await (await client.fetch(`${server.origin}/cacheable`)).text()
    const [miss, hit] = log.summaries()
    expect(miss).toMatchObject({ level: LEVEL.info, cache: 'miss', attempts: 1, status: 200, bytes: 'cacheable body'.length })
    expect(hit).toMatchObject({ level: LEVEL.info, cache: 'hit', attempts: 0, status: 200, bytes: 'cacheable body'.length })
    expect(hit).not.toHaveProperty('remoteAddress')
    await client.close()
  })

  it('warn for a retried call, with attempts and retries', async () => {
    const log = logSink('info')
    const client = clientWith(log, { retry: FAST_RETRY })
    const res = await client.fetch(`${server.origin}/flaky/warn-once?fail=1`)
    expect(await res.text()).toBe('attempt 2')
    const lines = log.summaries()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: LEVEL.warn, msg: 'call completed', status: 200, attempts: 2, retries: 1, redirects: 0 })
    await client.close()
  })

  it('warn for a stale response served from the cache (stale-while-revalidate)', async () => {
    const log = logSink('info')
    const client = createClient({ ...LOOPBACK, logger: log.logger })
    await (await client.fetch(`${server.origin}/swr`)).text()
    await (await client.fetch(`${server.origin}/swr`)).text()
    const [first, second] = log.summaries()
    expect(first).toMatchObject({ level: LEVEL.info, cache: 'miss' })
    expect(second).toMatchObject({ level: LEVEL.warn, msg: 'call completed', cache: 'stale', status: 200 })
    await client.close()
  })

  it('a redirect is counted and the final URL logged (redacted); not a warning', async () => {
    const log = logSink('info')
    const client = clientWith(log)
    const res = await client.fetch(`${server.origin}/redirect-signed`)
    await res.text()
    const line = log.summaries()[0]!
    expect(line).toMatchObject({ level: LEVEL.info, redirects: 1, attempts: 2, retries: 0, status: 200 })
    // finalUrl is redacted by the client edge with the transport's rule (every query value), not
    // only the secret-looking ones as `url` is: `x=1` may show as `x=REDACTED`.
    expect(line.finalUrl).toMatch(new RegExp(`^${server.origin}/landing\\?sig=REDACTED&x=(1|REDACTED)$`))
    expect(log.text()).not.toContain('SIG-SECRET')
    await client.close()
  })

  it('error with errorCode and err { code, message, cause } when no response came', async () => {
    const log = logSink('info')
    const client = clientWith(log, { retry: false })
    const port = await closedPort()
    const error = await rejectsWith(client.fetch(`http://127.0.0.1:${port}/nobody-home`), 'ERR_NETWORK')
    const lines = log.summaries()
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      level: LEVEL.error,
      msg: 'call failed',
      client: 'orders-api',
      method: 'GET',
      url: `http://127.0.0.1:${port}/nobody-home`,
      errorCode: 'ERR_NETWORK',
      attempts: 1,
      bytes: 0,
      err: { code: 'ERR_NETWORK', message: error.message, cause: 'ECONNREFUSED' },
    })
    expect(lines[0]).not.toHaveProperty('status')
    await client.close()
  })

  it('error for a headers timeout, after every retry', async () => {
    const log = logSink('info')
    const client = clientWith(log, { timeout: { headers: 50 }, retry: { ...FAST_RETRY, limit: 1 } })
    await rejectsWith(client.fetch(`${server.origin}/slow?ms=400`), 'ERR_HEADERS_TIMEOUT')
    const line = log.summaries()[0]!
    expect(line).toMatchObject({ level: LEVEL.error, errorCode: 'ERR_HEADERS_TIMEOUT', attempts: 2, retries: 1 })
    await client.close()
  })

  it('error when the body fails after the headers: status and errorCode both', async () => {
    const log = logSink('info')
    const client = clientWith(log, { maxResponseBytes: 150 })
    const res = await client.fetch(`${server.origin}/chunks?n=3&gap=1`)
    await expect(res.text()).rejects.toMatchObject({ code: 'ERR_RESPONSE_TOO_LARGE' })
    await expect.poll(() => log.summaries().length).toBe(1)
    expect(log.summaries()[0]).toMatchObject({ level: LEVEL.error, status: 200, errorCode: 'ERR_RESPONSE_TOO_LARGE', err: { code: 'ERR_RESPONSE_TOO_LARGE' } })
    await client.close()
  })

  it('a 5xx that is not retried is a response: info, with the status', async () => {
    const log = logSink('info')
    const client = clientWith(log, { retry: false })
    await (await client.fetch(`${server.origin}/status/500`)).text()
    expect(log.summaries()[0]).toMatchObject({ level: LEVEL.info, status: 500 })
    expect(log.summaries()[0]).not.toHaveProperty('errorCode')
    await client.close()
  })

  it('nothing is written when the logger level is above the line', async () => {
    const log = logSink('warn')
    const client = clientWith(log)
    await (await client.fetch(`${server.origin}/quiet`)).text()
    expect(log.text()).toBe('')
    await client.close()
  })
})

describe('debug attempt lines', () => {
  it('one `attempt` line per physical request, before the summary, sharing the callId', async () => {
    const log = logSink('debug')
    const client = clientWith(log, { retry: FAST_RETRY })
    const res = await client.fetch(`${server.origin}/flaky/debug-twice?fail=2&key=KEY-SECRET`)
    await res.text()
    const id = getCallInfo(res)!.id
    const all = log.lines().filter((l) => l.callId === id)
    // The `retrying` warnings carry the callId too; this test is about the attempt lines.
    expect(all.filter((l) => l.msg === 'retrying')).toHaveLength(2)
    const mine = all.filter((l) => l.msg !== 'retrying')
    expect(mine.map((l) => l.msg)).toEqual(['attempt', 'attempt', 'attempt', 'call completed'])
    const attempts = mine.slice(0, 3)
    expect(attempts.map((l) => l.level)).toEqual([LEVEL.debug, LEVEL.debug, LEVEL.debug])
    expect(attempts.map((l) => l.attempt)).toEqual([1, 2, 3])
    expect(attempts.map((l) => l.hop)).toEqual([0, 0, 0])
    expect(attempts.map((l) => l.status)).toEqual([503, 503, 200])
    expect(attempts.map((l) => l.retryReason)).toEqual([expect.any(String), expect.any(String), undefined])
    expect(attempts[0]!.retryDelayMs).toBeTypeOf('number')
    for (const line of attempts) {
      expect(line).toMatchObject({ client: 'orders-api', remoteAddress: '127.0.0.1', remotePort: server.port })
      expect(line.reusedConnection).toBeTypeOf('boolean')
      expect((line.timings as Record<string, number>).firstByte).toBeGreaterThanOrEqual(0)
      expect(line.url).not.toContain('KEY-SECRET')
    }
    expect(mine[3]).toMatchObject({ level: LEVEL.warn, attempts: 3, retries: 2 })
    await client.close()
  })
})

describe('pino file destination', () => {
  it('the summary line reaches a file written by pino.destination', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'safefetch-log-'))
    const file = join(dir, 'calls.log')
    const destination = pino.destination({ dest: file, sync: true })
    const client = createClient({ ...LOOPBACK, cache: false, name: 'file-client', logger: pino({ level: 'info' }, destination) })
    for (let i = 0; i < 3; i++) {
      await (await client.fetch(`${server.origin}/file/${i}`)).text()
      await nextTurn()
    }
    await client.close()
    destination.flushSync()
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.map((l) => l.url)).toEqual([0, 1, 2].map((i) => `${server.origin}/file/${i}`))
    expect(lines.map((l) => l.reusedConnection)).toEqual([false, true, true])
    expect(lines.every((l) => l.client === 'file-client' && l.level === LEVEL.info)).toBe(true)
    destination.end()
    rmSync(dir, { recursive: true, force: true })
  })
})
