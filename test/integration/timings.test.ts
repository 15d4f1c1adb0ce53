/**
 * getCallInfo(): connection phases on a fresh connection, none on a reused keep-alive one.
 * Timings are checked for presence and sign, never against wall-clock bounds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { echo } from '../support/replies.js'

let server: TestServer
beforeAll(async () => {
  server = await startHttpServer(echo)
})
afterAll(async () => {
  await server.close()
})

describe('call info', () => {
  it('a fresh connection has dns/connect; the next call over keep-alive reuses it with neither', async () => {
    const client = createClient({ ...LOOPBACK, lookup: fakeLookup({ 'api.test': ['127.0.0.1'] }) })
    const connectionsBefore = server.connections

    const first = await client.fetch(`http://api.test:${server.port}/one?key=secret`)
    await first.text()
    const info1 = getCallInfo(first)!
    expect(info1).toBeDefined()
    expect(info1.status).toBe(200)
    expect(info1.url).toBe(`http://api.test:${server.port}/one?key=REDACTED`)
    expect(info1.remoteAddress).toBe('127.0.0.1')
    expect(info1.attempts).toBe(1)
    expect(info1.bytes).toBeGreaterThan(0)
    expect(info1.attemptLog[0]?.reusedConnection).toBe(false)
    expect(info1.timings.dns).toBeGreaterThanOrEqual(0)
    expect(info1.timings.connect).toBeGreaterThanOrEqual(0)
    expect(info1.timings.firstByte).toBeGreaterThanOrEqual(0)
    expect(info1.timings.total).toBeGreaterThanOrEqual(info1.timings.firstByte!)

    // undici hands a finished keep-alive socket back to the pool one event-loop turn later (so a
    // server that closes despite keep-alive is noticed): a call made in the same turn would dial again.
    await new Promise((resolve) => setImmediate(resolve))
    const second = await client.fetch(`http://api.test:${server.port}/two`)
    await second.text()
    const info2 = getCallInfo(second)!
    expect(info2.attemptLog[0]?.reusedConnection).toBe(true)
    expect(info2.timings.dns).toBeUndefined()
    expect(info2.timings.connect).toBeUndefined()
    expect(info2.remoteAddress).toBe('127.0.0.1')
    expect(server.connections).toBe(connectionsBefore + 1)
    await client.close()
  })

  it('a redirected call counts its hops and reports the final URL', async () => {
    const redirecting = await startHttpServer((req, res) => {
      if (req.url === '/start') {
        res.statusCode = 302
        res.setHeader('location', '/end')
        res.end()
      } else echo(req, res)
    })
    const client = createClient(LOOPBACK)
    const res = await client.fetch(`${redirecting.origin}/start`)
    await res.text()
    const info = getCallInfo(res)!
    expect(info.redirects).toBe(1)
    expect(info.finalUrl).toBe(`${redirecting.origin}/end`)
    expect(info.attemptLog.map((a) => a.hop)).toEqual([0, 1])
    expect(info.attemptLog.map((a) => a.status)).toEqual([302, 200])
    await client.close()
    await redirecting.close()
  })

  it('a failed body read records its error code', async () => {
    const client = createClient({ ...LOOPBACK, maxResponseBytes: 10 })
    const res = await client.fetch(`${server.origin}/too-large-for-ten-bytes`)
    await res.text().catch(() => {})
    expect(getCallInfo(res)?.errorCode).toBe('ERR_RESPONSE_TOO_LARGE')
    await client.close()
  })
})
