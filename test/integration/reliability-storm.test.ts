/**
 * Waves of calls that reach their deadline together must not make the pool dial for requests that
 * are already settled (issue 12 item 1). The origin counts the connections it accepts and which of
 * them ever carried a request; no assertion is on wall time.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/index.js'
import { LOOPBACK } from './support.js'

const POOL = 8
const MARGIN = 2 * POOL
const CALLS = 1_500

/** A raw origin: answers each request after `delayMs` (never when undefined); counts connections. */
interface CountingOrigin {
  readonly url: string
  /** Connections accepted / connections that never received a byte (closed or still open). */
  counts(): { connections: number; empty: number }
  reset(): void
  close(): Promise<void>
}

async function countingOrigin(delayMs: number | undefined): Promise<CountingOrigin> {
  const sockets = new Map<net.Socket, { bytes: number }>()
  let closedConnections: { bytes: number }[] = []
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
    reset() {
      closedConnections = []
      for (const socket of sockets.keys()) socket.destroy()
      closedConnections = []
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets.keys()) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

let silent: CountingOrigin
let slow: CountingOrigin

beforeAll(async () => {
  silent = await countingOrigin(undefined)
  slow = await countingOrigin(120)
})
afterAll(async () => {
  await Promise.all([silent.close(), slow.close()])
})

async function wave(origin: CountingOrigin, extra: Record<string, unknown>): Promise<{ codes: Record<string, number>; connections: number; empty: number }> {
  origin.reset()
  const client = createClient({ ...LOOPBACK, connectionsPerOrigin: POOL, retry: false, timeout: { total: 400 }, ...extra })
  const codes: Record<string, number> = {}
  const count = (key: string): void => void (codes[key] = (codes[key] ?? 0) + 1)
  await Promise.all(
    Array.from({ length: CALLS }, (_, i) =>
      client.fetch(`${origin.url}/${i}`).then(
        async (res) => {
          await res.arrayBuffer()
          count(String(res.status))
        },
        (err: { code?: string }) => count(err.code ?? 'other'),
      ),
    ),
  )
  // Anything undici would still dial for the settled requests happens on the next turns.
  await new Promise((resolve) => setTimeout(resolve, 150))
  const counted = origin.counts()
  await client.close()
  return { codes, ...counted }
}

// Bounds: a connection may carry no request only when its dial started for a call that was still
// live and ended during the dial — calls created a few ms after the ones cut off at their deadline
// are still live when a slot frees, and on a loaded machine their timers fire before the connect
// completes. That tail is a few dials per pool connection, not one per call: MARGIN = 2 × POOL.
// Each request cut off after it was written also costs its socket (an HTTP/1.1 exchange cannot be
// cancelled otherwise). Before the gate, undici dialled once per expired call (121–360 empty
// connections in the maxConcurrent case, 12–26 without it, measured on this scenario).
describe('deadline waves (issue 12 item 1)', () => {
  it('a silent origin: no connection is opened for a settled call', async () => {
    const { codes, connections, empty } = await wave(silent, {})
    expect(codes).toEqual({ ERR_DEADLINE_EXCEEDED: CALLS })
    expect(empty).toBeLessThanOrEqual(MARGIN)
    expect(connections).toBeLessThanOrEqual(POOL + MARGIN)
  })

  it('a silent origin with maxConcurrent above the pool', async () => {
    const { codes, connections, empty } = await wave(silent, { maxConcurrent: 64 })
    expect(codes).toEqual({ ERR_DEADLINE_EXCEEDED: CALLS })
    expect(empty).toBeLessThanOrEqual(MARGIN)
    expect(connections).toBeLessThanOrEqual(POOL + MARGIN)
  })

  it('a slow origin: served calls reuse the pool, expired ones never dial', async () => {
    const { codes, connections, empty } = await wave(slow, { maxConcurrent: 32 })
    expect(codes['200']).toBeGreaterThan(0)
    expect((codes['200'] ?? 0) + (codes['ERR_DEADLINE_EXCEEDED'] ?? 0)).toBe(CALLS)
    expect(empty).toBeLessThanOrEqual(MARGIN)
    expect(connections).toBeLessThanOrEqual(POOL + MARGIN)
  })
})
