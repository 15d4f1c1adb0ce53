/**
 * close() is bounded (issue 12 item 2): after `timeoutMs` the calls still in flight fail with
 * ERR_CLIENT_CLOSED and every socket is destroyed; a second close() returns the first one's
 * promise; close() does not wait out a grace period when nothing is in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { startHangingListener, type HangingListener } from '../support/hanging-listener.js'
import { rejectsWith } from '../support/assertions.js'

let server: TestServer
let hanging: HangingListener

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url?.startsWith('/hang') === true) return // never answers
    if (req.url === '/stall') {
      res.writeHead(200)
      res.write('first chunk') // then silence
      return
    }
    res.end('ok')
  })
  hanging = await startHangingListener()
})
afterAll(async () => {
  hanging.close()
  await server.close()
})

/** Settles with 'timeout' if `promise` has not settled within `ms` (the test itself stays bounded). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([promise, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref())])
}

const NO_TIMEOUTS = { ...LOOPBACK, retry: false, timeout: { total: false, headers: false, read: false } } as const

describe('close({ timeoutMs })', () => {
  it('fails calls still waiting for headers with ERR_CLIENT_CLOSED', async () => {
    const client = createClient(NO_TIMEOUTS)
    const before = server.requests.length
    const pending = client.fetch(`${server.origin}/hang`)
    await until(() => server.requests.length > before, 'the request at the server')
    const failed = rejectsWith(pending, 'ERR_CLIENT_CLOSED')
    const closing = client.close({ timeoutMs: 100 })
    expect(await within(closing, 5_000)).toBeUndefined()
    const error = await failed
    expect(error.message).toContain('timeoutMs')
  })

  it('fails a body still being read', async () => {
    const client = createClient(NO_TIMEOUTS)
    const res = await client.fetch(`${server.origin}/stall`)
    const failed = rejectsWith(res.text(), 'ERR_CLIENT_CLOSED')
    expect(await within(client.close({ timeoutMs: 50 }), 5_000)).toBeUndefined()
    await failed
  })

  it('waits for calls that end in time, and they succeed', async () => {
    const client = createClient(NO_TIMEOUTS)
    const pending = client.fetch(`${server.origin}/ok`).then((res) => res.text())
    await client.close({ timeoutMs: 5_000 })
    expect(await pending).toBe('ok')
  })

  it('a second close() returns the first one’s promise', async () => {
    const client = createClient(NO_TIMEOUTS)
    const pending = client.fetch(`${server.origin}/hang`).catch((err: { code?: string }) => err.code)
    const first = client.close({ timeoutMs: 100 })
    const second = client.close()
    expect(second).toBe(first)
    await first
    expect(await pending).toBe('ERR_CLIENT_CLOSED')
  })

  it('rejects a bad timeoutMs', async () => {
    const client = createClient(NO_TIMEOUTS)
    expect(() => client.close({ timeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }) as Error)
    await client.close()
  })

  it('after a deadline cut off a hanging connect, close() ends as soon as nothing is in flight', async () => {
    const client = createClient({ ...LOOPBACK, retry: false, timeout: { connect: 60_000, total: 100 } })
    await rejectsWith(client.fetch(`http://127.0.0.1:${hanging.port}/`), 'ERR_DEADLINE_EXCEEDED')
    // Was a fixed 1 s grace for the connect undici still waited on; now nothing is waited for.
    const started = performance.now()
    await client.close()
    expect(performance.now() - started).toBeLessThan(500)
  })
})
