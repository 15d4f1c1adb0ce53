/**
 * Many concurrent calls sharing one AbortSignal (issue 12 item 3): no MaxListenersExceededWarning
 * (Node's fetch gives none), every call still aborts, and no listener stays on the signal.
 */
import { getEventListeners } from 'node:events'
import type http from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/index.js'
import { until, nextTurn } from '../support/waiting.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'

const CALLS = 25
let server: TestServer
const held: http.ServerResponse[] = []
const warnings: Error[] = []
const onWarning = (warning: Error): void => void warnings.push(warning)

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url?.startsWith('/hang') === true) held.push(res)
    else res.end('ok')
  })
  process.on('warning', onWarning)
})
afterAll(async () => {
  process.off('warning', onWarning)
  await server.close()
})
afterEach(() => {
  warnings.length = 0
  for (const res of held.splice(0)) res.destroy()
})

/** process.emitWarning emits on process.nextTick: after one event-loop turn every warning is out. */
const settleWarnings = nextTurn

describe('one AbortSignal shared by many calls', () => {
  it('aborts every call, without a MaxListenersExceededWarning', async () => {
    const client = createClient({ ...LOOPBACK, retry: false })
    const controller = new AbortController()
    const calls = Array.from({ length: CALLS }, (_, i) =>
      client.fetch(`${server.origin}/hang?${i}`, { signal: controller.signal }).catch((err: { code?: string }) => err.code),
    )
    const early = await Promise.race([Promise.all(calls), until(() => held.length === CALLS, 'all requests at the server')])
    expect(early).toBeUndefined()
    await settleWarnings()
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    expect(getEventListeners(controller.signal, 'abort').length).toBe(1)
    controller.abort()
    expect(await Promise.all(calls)).toEqual(Array.from({ length: CALLS }, () => 'ERR_ABORTED'))
    expect(getEventListeners(controller.signal, 'abort')).toEqual([])
    await client.close()
  })

  it('calls that end normally leave no listener on the signal', async () => {
    const client = createClient({ ...LOOPBACK, retry: false })
    const controller = new AbortController()
    const bodies = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => client.fetch(`${server.origin}/ok?${i}`, { signal: controller.signal }).then((res) => res.text())),
    )
    expect(bodies.every((body) => body === 'ok')).toBe(true)
    expect(getEventListeners(controller.signal, 'abort')).toEqual([])
    // Aborting afterwards touches nothing.
    controller.abort()
    await settleWarnings()
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    await client.close()
  })
})
