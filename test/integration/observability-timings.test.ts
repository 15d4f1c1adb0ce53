/**
 * Phase timings of real requests (docs/observability.md, "Phase timings"): present, ordered, and
 * at least as long as the time the origin was told to wait. Only lower bounds and orderings are
 * asserted — never "faster than" — so a slow machine cannot fail them.
 *
 * Timers never fire early on Node's own clock, but a timer's millisecond is rounded, so a sleep
 * of N ms is checked as >= N - 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, type PhaseTimings } from '../../src/index.js'
import { nextTurn } from '../support/waiting.js'
import { selfSignedCertificate, startHttpsServer, startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { fakeLookup } from '../support/lookup.js'
import { originHandler } from '../support/observability-origin.js'
import { logSink } from '../support/logs.js'

const SLACK = 1

let server: TestServer
let tlsServer: TestServer
let ca: string
beforeAll(async () => {
  server = await startHttpServer(originHandler())
  const certificate = await selfSignedCertificate('api.example.com')
  ca = certificate.cert
  tlsServer = await startHttpsServer(originHandler(), certificate)
})
afterAll(async () => {
  await Promise.all([server.close(), tlsServer.close()])
})

function expectOrdered(t: PhaseTimings): void {
  expect(t.sent, 'sent').toBeGreaterThanOrEqual(0)
  expect(t.firstByte, 'firstByte').toBeGreaterThanOrEqual(t.sent!)
  expect(t.download, 'download').toBeGreaterThanOrEqual(0)
  expect(t.total, 'total').toBeGreaterThanOrEqual(t.firstByte!)
}

describe('phase timings', () => {
  it('firstByte covers a server that sleeps 150 ms before the headers; download stays small', async () => {
    const client = createClient({ ...LOOPBACK, cache: false })
    const res = await client.fetch(`${server.origin}/slow?ms=150`)
    await res.text()
    const info = getCallInfo(res)!
    const t = info.attemptLog[0]!.timings
    expectOrdered(t)
    expect(t.firstByte).toBeGreaterThanOrEqual(150 - SLACK)
    // The request was written long before the server answered.
    expect(t.sent).toBeLessThan(t.firstByte!)
    expect(t.download).toBeLessThan(t.firstByte!)
    // The call's timings are its last attempt's, with total = the whole call.
    expect(info.timings.firstByte).toBe(t.firstByte)
    expect(info.timings.total).toBe(info.durationMs)
    expect(info.durationMs).toBeGreaterThanOrEqual(150 - SLACK)
    await client.close()
  })

  it('download covers a body whose chunks come 100 ms apart', async () => {
    const client = createClient({ ...LOOPBACK, cache: false })
    const res = await client.fetch(`${server.origin}/chunks?n=3&gap=100`)
    expect((await res.text()).length).toBe(300)
    const t = getCallInfo(res)!.attemptLog[0]!.timings
    expectOrdered(t)
    // From dispatch to the last byte the origin slept 2 × 100 ms. Where the headers end and the
    // download starts is when this (shared) event loop parsed them, which may lag the origin's
    // write by a few ms — so download itself is held to one gap, the sum to both.
    expect(t.firstByte! + t.download!).toBeGreaterThanOrEqual(2 * 100 - SLACK)
    expect(t.download).toBeGreaterThanOrEqual(100 - SLACK)
    expect(t.download).toBeGreaterThan(t.firstByte!)
    expect(t.total).toBeGreaterThanOrEqual(t.firstByte! + t.download! - SLACK)
    await client.close()
  })

  it('a fresh connection has dns, connect and queued; a reused keep-alive socket has none of dns/connect/tls', async () => {
    const log = logSink('info')
    const client = createClient({ ...LOOPBACK, cache: false, logger: log.logger, lookup: fakeLookup({ 'api.test': ['127.0.0.1'] }) })
    const first = await client.fetch(`http://api.test:${server.port}/one`)
    await first.text()
    await nextTurn() // undici returns the socket to the pool on the next turn
    const second = await client.fetch(`http://api.test:${server.port}/two`)
    await second.text()

    const fresh = getCallInfo(first)!.attemptLog[0]!
    expect(fresh.reusedConnection).toBe(false)
    expect(fresh.timings.dns).toBeGreaterThanOrEqual(0)
    expect(fresh.timings.connect).toBeGreaterThanOrEqual(0)
    expect(fresh.timings.queued).toBeGreaterThanOrEqual(0)
    expect(fresh.timings).not.toHaveProperty('tls')
    // The connection phases happen between dispatch and the request being written.
    expect(fresh.timings.sent!).toBeGreaterThanOrEqual(fresh.timings.dns! + fresh.timings.connect! - 0.001)
    expectOrdered(fresh.timings)

    const reused = getCallInfo(second)!.attemptLog[0]!
    expect(reused.reusedConnection).toBe(true)
    for (const phase of ['dns', 'connect', 'tls'] as const) expect(reused.timings, phase).not.toHaveProperty(phase)
    expect(reused.timings.queued).toBeGreaterThanOrEqual(0)
    expect(reused.remoteAddress).toBe('127.0.0.1')
    expectOrdered(reused.timings)

    // The log says so too.
    const [line1, line2] = log.summaries()
    expect(line1).toMatchObject({ reusedConnection: false, timings: { dns: expect.any(Number), connect: expect.any(Number) } })
    expect(line2!.reusedConnection).toBe(true)
    expect(Object.keys(line2!.timings as object).sort()).toEqual(['download', 'firstByte', 'queued', 'sent', 'total'])
    await client.close()
  })

  it('https: the fresh connection has a tls phase; the reused one does not', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, tls: { ca }, lookup: fakeLookup({ 'api.example.com': ['127.0.0.1'] }) })
    const first = await client.fetch(`https://api.example.com:${tlsServer.port}/secure`)
    await first.text()
    await nextTurn()
    const second = await client.fetch(`https://api.example.com:${tlsServer.port}/secure-again`)
    await second.text()
    const fresh = getCallInfo(first)!.attemptLog[0]!
    expect(fresh.reusedConnection).toBe(false)
    expect(fresh.timings.tls).toBeGreaterThan(0)
    expect(fresh.timings.connect).toBeGreaterThanOrEqual(0)
    expect(fresh.timings.sent!).toBeGreaterThanOrEqual(fresh.timings.dns! + fresh.timings.connect! + fresh.timings.tls! - 0.001)
    expectOrdered(fresh.timings)
    const reused = getCallInfo(second)!.attemptLog[0]!
    expect(reused.reusedConnection).toBe(true)
    expect(reused.timings).not.toHaveProperty('tls')
    expect(tlsServer.connections).toBe(1)
    await client.close()
  })

  it('queued: a request waiting for the only connection of the pool counts that wait', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, connectionsPerOrigin: 1 })
    const [a, b] = await Promise.all([client.fetch(`${server.origin}/slow?ms=120&a`), client.fetch(`${server.origin}/slow?ms=10&b`)])
    await Promise.all([a.text(), b.text()])
    const first = getCallInfo(a)!.attemptLog[0]!
    const second = getCallInfo(b)!.attemptLog[0]!
    expect(first.reusedConnection).toBe(false)
    expect(second.reusedConnection).toBe(true)
    // b was dispatched with a (a few µs later, or ms under load: hence the 10 ms), but its request
    // could only be written once a's response was over.
    expect(second.timings.queued).toBeGreaterThanOrEqual(120 - 10)
    expect(second.timings.firstByte).toBeGreaterThanOrEqual(120 + 10 - 10)
    expect(first.timings.queued).toBeLessThan(second.timings.queued!)
    await client.close()
  })

  it('every attempt keeps its own timings; the call reports the last one', async () => {
    const client = createClient({ ...LOOPBACK, cache: false, retry: { backoff: { base: 1, cap: 2 } } })
    const res = await client.fetch(`${server.origin}/flaky/timings?fail=1`)
    await res.text()
    const info = getCallInfo(res)!
    expect(info.attemptLog).toHaveLength(2)
    for (const attempt of info.attemptLog) expectOrdered(attempt.timings)
    expect(info.attemptLog[0]!.retryDelayMs).toBeGreaterThanOrEqual(0)
    expect(info.timings.firstByte).toBe(info.attemptLog[1]!.timings.firstByte)
    expect(info.durationMs!).toBeGreaterThanOrEqual(info.attemptLog[0]!.timings.total! + info.attemptLog[1]!.timings.total!)
    await client.close()
  })
})
