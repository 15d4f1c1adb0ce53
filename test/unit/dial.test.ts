/**
 * The shared dial path (src/net/dial.ts) with fake attempts: no socket is opened. What both
 * connectors rely on: the backstop judges what an attempt reached, timings are recorded once per
 * socket, and a denied answer stops everything before an attempt starts.
 */
import { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { SafeFetchError } from '../../src/errors.js'
import { compileAddressPolicy } from '../../src/net/address-policy.js'
import { connectInfo, dialChecked, type AddressAttempt, type DialTarget } from '../../src/net/dial.js'
import { fakeLookup } from '../support/lookup.js'

const TARGET: DialTarget = { protocol: 'http:', host: 'api.test', port: 80, url: 'http://api.test:80' }
const policy = compileAddressPolicy({ allow: ['127.0.0.0/8'] })

function dial(answers: string[], attempt: AddressAttempt): Promise<{ error: SafeFetchError | null; socket: Socket | null }> {
  return new Promise((resolve) => {
    dialChecked(TARGET, { policy, lookup: fakeLookup({ 'api.test': answers }), connectTimeout: 0 }, attempt, '', (error, socket) =>
      resolve({ error: error as SafeFetchError | null, socket: socket as Socket | null }),
    )
  })
}

describe('dialChecked', () => {
  it('records the timings and the reached address once, for the winning socket', async () => {
    const socket = new Socket()
    const tried: string[] = []
    const { error, socket: won } = await dial(['127.0.0.2'], (address, settle) => {
      tried.push(address)
      setTimeout(() => settle({ value: { socket, tlsStart: undefined, address, port: 8080 } }), 5)
      return () => {}
    })
    expect(error).toBeNull()
    expect(won).toBe(socket)
    expect(tried).toEqual(['127.0.0.2'])
    const info = connectInfo.get(socket)!
    expect(info).toMatchObject({ remoteAddress: '127.0.0.2', remotePort: 8080, tls: undefined, used: false })
    expect(info.dns).toBeGreaterThanOrEqual(0)
    expect(info.connect).toBeGreaterThan(0)
    socket.destroy()
  })

  it('the backstop refuses a connection that reached a denied address, and no other address is tried', async () => {
    const socket = new Socket()
    const tried: string[] = []
    const { error } = await dial(['127.0.0.2', '127.0.0.3'], (address, settle) => {
      tried.push(address)
      // An attempt that ended up somewhere else than it was asked to go.
      settle({ value: { socket, tlsStart: undefined, address: '169.254.169.254', port: 80 } })
      return () => {}
    })
    expect(error?.code).toBe('ERR_ADDRESS_BLOCKED')
    expect(tried).toEqual(['127.0.0.2'])
    expect(socket.destroyed).toBe(true)
    expect(connectInfo.has(socket)).toBe(false)
  })

  it('a socket without a known peer is refused', async () => {
    const socket = new Socket()
    const { error } = await dial(['127.0.0.2'], (_address, settle) => {
      settle({ value: { socket, tlsStart: undefined, address: undefined, port: 80 } })
      return () => {}
    })
    expect(error?.code).toBe('ERR_NETWORK')
    expect(socket.destroyed).toBe(true)
  })

  it('one denied answer refuses the name before any attempt', async () => {
    let attempts = 0
    const { error } = await dial(['127.0.0.2', '10.0.0.5'], () => {
      attempts++
      return () => {}
    })
    expect(error?.code).toBe('ERR_ADDRESS_BLOCKED')
    expect(attempts).toBe(0)
  })
})
