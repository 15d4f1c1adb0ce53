/**
 * Waves of calls that reach their deadline together must not make the pool dial for requests that
 * are already settled (issue 12 item 1). The origin counts the connections it accepts and which of
 * them ever carried a request; no assertion is on wall time.
 *
 * Two ways of ending a wave. `together`: one AbortSignal ends every call at the same instant, so
 * the bound is exact — at most one connection per pool slot, whatever the machine's load.
 * `deadline`: each call has its own `timeout.total`, as in the issue; the deadlines then spread
 * over the time the calls take to start (15 ms on a quiet machine, 100–400 ms on a loaded one),
 * and a call still live in that spread is rightly dispatched with a few ms left — on a loaded loop
 * its deadline fires before the connect completes, a connection that carried nothing. That tail
 * depends on the load, not on the code (8–22 seen with a silent origin and no maxConcurrent, which
 * made that case flaky under a 16 bound; before the gate it was 12–26, so it never told the two
 * apart): the silent cases end `together`, the deadline path keeps its margin where the old code
 * was far outside it.
 */
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { createClient, type SafeRequestInit } from '../../src/index.js'
import { LOOPBACK } from '../support/servers.js'
import { until } from '../support/waiting.js'

const POOL = 8
const CALLS = 1_500
/** From the start of a wave to the deadline all its calls share. */
const WAVE_MS = 400

/** A raw origin: answers each request after `delayMs` (never when undefined); counts connections. */
interface CountingOrigin {
  readonly url: string
  /** Connections accepted / connections that never received a byte (closed or still open). */
  counts(): { connections: number; empty: number }
  close(): Promise<void>
}

async function countingOrigin(delayMs: number | undefined): Promise<CountingOrigin> {
  const sockets = new Map<net.Socket, { bytes: number }>()
  const closedConnections: { bytes: number }[] = []
  const server = net.createServer((socket) => {
    const state = { bytes: 0 }
    sockets.set(socket, state)
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      closedConnections.push(state)
    })
    let pending = ''
    socket.on('data', (chunk: Buffer) => {
      state.bytes += chunk.length
      if (delayMs === undefined) return
      pending += chunk.toString('latin1')
      // One answer per complete request head (GET, no body).
      while (pending.includes('\r\n\r\n')) {
        pending = pending.slice(pending.indexOf('\r\n\r\n') + 4)
        setTimeout(() => {
          if (!socket.destroyed) socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
        }, delayMs)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    counts() {
      const all = [...closedConnections, ...sockets.values()]
      return { connections: all.length, empty: all.filter((s) => s.bytes === 0).length }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.keys()) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

interface WaveOptions {
  /** Client options besides the pool (maxConcurrent). */
  extra?: Record<string, unknown>
  /**
   * How the calls end: `deadline` — each its own `timeout.total` of WAVE_MS (the case: the
   * deadlines spread over the time the loop takes to start the calls); `together` — one
   * AbortSignal, aborted WAVE_MS after the start, ends every call that is still running at once.
   */
  end: 'deadline' | 'together'
  /** Calls started first, with a long deadline, and on the wire before the others start. */
  first?: number
}

/**
 * One wave against a fresh origin (`delayMs` as in countingOrigin): on a loaded machine a connection
 * of an earlier wave's client can reach a shared origin's accept late and be counted in the next one.
 */
async function wave(
  delayMs: number | undefined,
  { extra = {}, end, first = 0 }: WaveOptions,
): Promise<{ codes: Record<string, number>; connections: number; empty: number }> {
  const origin = await countingOrigin(delayMs)
  const client = createClient({ ...LOOPBACK, connectionsPerOrigin: POOL, retry: false, timeout: { total: WAVE_MS }, ...extra })
  const codes: Record<string, number> = {}
  const count = (key: string): void => void (codes[key] = (codes[key] ?? 0) + 1)
  const call = (i: number, init: SafeRequestInit): Promise<void> =>
    client.fetch(`${origin.url}/${i}`, init).then(
      async (res) => {
        await res.arrayBuffer()
        count(String(res.status))
      },
      (err: { code?: string }) => count(err.code ?? 'other'),
    )
  const calls: Promise<void>[] = []
  for (let i = 0; i < first; i++) calls.push(call(i, { timeout: { total: 30_000 } }))
  if (first > 0) await until(() => origin.counts().connections >= first, 'the first calls to reach the origin')
  const abort = new AbortController()
  const timer = end === 'together' ? setTimeout(() => abort.abort(), WAVE_MS) : undefined
  const init: SafeRequestInit = end === 'together' ? { signal: abort.signal, timeout: { total: 30_000 } } : {}
  for (let i = first; i < CALLS; i++) calls.push(call(i, init))
  await Promise.all(calls)
  clearTimeout(timer)
  // Anything undici would still dial for the settled requests happens on the next turns.
  await new Promise((resolve) => setTimeout(resolve, 150))
  const counted = origin.counts()
  await client.close()
  await origin.close()
  return { codes, ...counted }
}

// Calls ending together: the gate hands no slot to a settled call and undici never holds a request
// it could dial for, so the origin sees at most one connection per pool slot, whatever the load.
// Before the gate (2712c8a): 23–27 empty connections without maxConcurrent, 140–211 with 64.
//
// Deadlines spread over the start-up of the calls: a call a few ms younger than the ones cut off
// is still live when their slots free, so it is dispatched (rightly: it may still be answered),
// and on a loaded loop its deadline fires before the connect completes — a connection that carried
// nothing (kept idle for the next call). That tail grows with the load, not with the calls: a few
// dials per pool slot, MARGIN = 2 × POOL (0–1 extra seen here under load). Each request cut off
// after it was written also costs its socket (an HTTP/1.1 exchange cannot be cancelled otherwise).
// Before the gate: 196–457 empty connections in the maxConcurrent 64 case.
const MARGIN = 2 * POOL

describe('deadline waves (issue 12 item 1)', () => {
  it.each([
    ['without maxConcurrent', {}],
    ['with maxConcurrent above the pool', { maxConcurrent: 64 }],
  ])('a silent origin, every call ending at once (%s): no connection beyond the pool', async (_name, extra) => {
    const { codes, connections, empty } = await wave(undefined, { extra, end: 'together' })
    expect(codes).toEqual({ ERR_ABORTED: CALLS })
    expect(connections).toBeLessThanOrEqual(POOL)
    expect(empty).toBeLessThanOrEqual(POOL)
  })

  it('a silent origin, calls reaching their deadlines with maxConcurrent above the pool: no connection is opened for a settled call', async () => {
    const { codes, connections, empty } = await wave(undefined, { extra: { maxConcurrent: 64 }, end: 'deadline' })
    expect(codes).toEqual({ ERR_DEADLINE_EXCEEDED: CALLS })
    expect(empty).toBeLessThanOrEqual(MARGIN)
    expect(connections).toBeLessThanOrEqual(POOL + MARGIN)
  })

  it('a slow origin: served calls reuse the pool, expired ones never dial', async () => {
    // The first POOL calls have time to be answered whatever the load; the rest race their deadlines.
    const { codes, connections, empty } = await wave(120, { extra: { maxConcurrent: 32 }, end: 'deadline', first: POOL })
    expect(codes['200']).toBeGreaterThanOrEqual(POOL)
    expect((codes['200'] ?? 0) + (codes['ERR_DEADLINE_EXCEEDED'] ?? 0)).toBe(CALLS)
    expect(empty).toBeLessThanOrEqual(MARGIN)
    expect(connections).toBeLessThanOrEqual(POOL + MARGIN)
  })
})
