/**
 * Addresses of a name are raced Happy-Eyeballs style (RFC 8305; issue 12 item 4): an address whose
 * SYN goes unanswered no longer holds up every call for a whole connect timeout. Needs the test
 * hosts on `lo` of the isolated namespace (scripts/isolated.mjs).
 */
import http from 'node:http'
import https from 'node:https'
import type net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo } from '../../src/index.js'
import { selfSignedCertificate } from '../support/servers.js'
import { fakeLookup, isolated, testHosts } from '../support/lookup.js'
import { startForwardProxy } from '../support/forward-proxy.js'
import { startHangingListener, type HangingListener } from '../support/hanging-listener.js'
import { rejectsWith } from '../support/assertions.js'

const hostsPresent = isolated && ['10.255.0.1', '192.168.255.1', 'fd00:5afe::1'].every((h) => testHosts.includes(h))

const POLICY = { allow: ['10.255.0.1/32', '192.168.255.1/32', 'fd00:5afe::1/128'] }

/** An HTTP server on `host`:`port` that counts the connections it accepts. */
async function serverOn(host: string, port: number): Promise<{ server: http.Server; connections: () => number }> {
  let connections = 0
  const server = http.createServer((_req, res) => res.end(`hello from ${host}`))
  server.on('connection', (socket: net.Socket) => {
    connections++
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  return { server, connections: () => connections }
}

describe.skipIf(!hostsPresent)('Happy Eyeballs over checked addresses [needs the isolated namespace]', () => {
  let hanging: HangingListener
  let ten: Awaited<ReturnType<typeof serverOn>>
  let home: Awaited<ReturnType<typeof serverOn>>
  let port = 0

  beforeAll(async () => {
    // The same port on three addresses: fd00:5afe::1 drops SYNs, the two IPv4 hosts answer.
    hanging = await startHangingListener('fd00:5afe::1')
    port = hanging.port
    ten = await serverOn('10.255.0.1', port)
    home = await serverOn('192.168.255.1', port)
  })
  afterAll(async () => {
    hanging?.close()
    ten?.server.closeAllConnections()
    home?.server.closeAllConnections()
    await Promise.all([ten, home].map((s) => s && new Promise((resolve) => s.server.close(resolve))))
  })

  it('an unreachable IPv6 address first does not cost the connect timeout', async () => {
    const lookup = fakeLookup({ 'dual.test': ['fd00:5afe::1', '10.255.0.1'] })
    const client = createClient({ policy: POLICY, lookup, retry: false, timeout: { connect: 3_000 } })
    // Dialled one after another this was ERR_CONNECT_TIMEOUT: the SYN to fd00:5afe::1 never returns.
    const res = await client.fetch(`http://dual.test:${port}/`)
    expect(await res.text()).toBe('hello from 10.255.0.1')
    expect(getCallInfo(res)?.remoteAddress).toBe('10.255.0.1')
    await client.close()
  })

  it('a first address that answers is the only one dialled', async () => {
    const before = { ten: ten.connections(), home: home.connections() }
    const lookup = fakeLookup({ 'two.test': ['10.255.0.1', '192.168.255.1'] })
    const client = createClient({ policy: POLICY, lookup, retry: false })
    expect(await (await client.fetch(`http://two.test:${port}/`)).text()).toBe('hello from 10.255.0.1')
    expect(ten.connections() - before.ten).toBe(1)
    expect(home.connections() - before.home).toBe(0)
    await client.close()
  })

  it('the connect timeout covers the whole race', async () => {
    const lookup = fakeLookup({ 'dark.test': ['fd00:5afe::1', 'fd00:5afe::1'] })
    const client = createClient({ policy: POLICY, lookup, retry: false, timeout: { connect: 600 } })
    await rejectsWith(client.fetch(`http://dark.test:${port}/`), 'ERR_CONNECT_TIMEOUT')
    await client.close()
  })

  it('every answer is still checked: one denied address refuses the name before any dial', async () => {
    const before = ten.connections()
    const lookup = fakeLookup({ 'mixed.test': ['10.255.0.1', '169.254.169.254'] })
    const client = createClient({ policy: POLICY, lookup, retry: false })
    await rejectsWith(client.fetch(`http://mixed.test:${port}/`), 'ERR_ADDRESS_BLOCKED')
    expect(ten.connections()).toBe(before)
    await client.close()
  })

  it('through a proxy: the same race, one CONNECT per attempt', async () => {
    const cert = await selfSignedCertificate('dual.test')
    const secure = https.createServer({ cert: cert.cert, key: cert.key }, (_req, res) => res.end('secure hello'))
    // The https origin takes the port on another address than the plain ones: 127.0.0.2 is on lo too.
    await new Promise<void>((resolve, reject) => {
      secure.once('error', reject)
      secure.listen(port, '127.0.0.2', resolve)
    })
    const proxy = await startForwardProxy()
    try {
      const lookup = fakeLookup({ 'dual.test': ['fd00:5afe::1', '127.0.0.2'] })
      const client = createClient({
        policy: { allow: ['127.0.0.2/32', 'fd00:5afe::1/128'] },
        lookup,
        proxy: proxy.origin,
        tls: { ca: cert.cert },
        retry: false,
        timeout: { connect: 3_000 },
      })
      const res = await client.fetch(`https://dual.test:${port}/`)
      expect(await res.text()).toBe('secure hello')
      expect(proxy.log.map((record) => record.target)).toEqual([`[fd00:5afe::1]:${port}`, `127.0.0.2:${port}`])
      await client.close()
    } finally {
      secure.closeAllConnections()
      await new Promise((resolve) => secure.close(resolve))
      await proxy.close()
    }
  })
})
