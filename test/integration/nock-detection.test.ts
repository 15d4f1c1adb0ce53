/**
 * nock 15 (what `npm i nock` installs on Node 20) patches net.Socket through @mswjs/interceptors as
 * soon as it is imported. safefetch's own sockets cannot go through it; a call must fail at once
 * with ERR_NET_INTERCEPTED and a message that says what happened and where to read on, instead of
 * `Promise.withResolvers is not a function` (Node 20) or a socket with no remote address (Node 24).
 * Its own file: nock patches process globals.
 */
import nock from 'nock'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createClient, getCallInfo, type Client } from '../../src/index.js'
import { MockAgent, recordingLogger, staticLookup } from '../../src/testing.js'
import { startHttpServer, type TestServer } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'

let server: TestServer
let client: Client
const log = recordingLogger()

beforeAll(async () => {
  server = await startHttpServer((_req, res) => res.end('real'))
  client = createClient({ policy: { allow: ['127.0.0.1/32'] }, logger: log.logger })
})

afterAll(async () => {
  nock.restore()
  await client.close()
  await server.close()
})

test('with nock 15 imported, a call fails at once with ERR_NET_INTERCEPTED pointing to docs/testing.md', async () => {
  expect(nock.isActive()).toBe(true)
  const error = await rejectsWith(client.fetch(`${server.origin}/x`), 'ERR_NET_INTERCEPTED')
  expect(error.message).toContain('nock 15')
  expect(error.message).toContain('docs/testing.md')
  expect(error.message).toContain('dispatcher')
  expect(server.connections).toBe(0)
  // Final: not retried (the default client retries network errors).
  expect(log.calls().at(-1)).toMatchObject({ errorCode: 'ERR_NET_INTERCEPTED', attempts: 1 })
})

test('nock interceptors do not see safefetch calls; the call still fails with the clear error', async () => {
  const scope = nock(server.origin).get('/mocked').reply(200, 'from nock')
  await rejectsWith(client.fetch(`${server.origin}/mocked`), 'ERR_NET_INTERCEPTED')
  expect(scope.isDone()).toBe(false)
  nock.cleanAll()
})

test('a client with a MockAgent dispatcher works while nock is active (no socket involved)', async () => {
  const agent = new MockAgent()
  agent.disableNetConnect()
  agent.get('https://api.example.com').intercept({ path: '/repos/x' }).reply(200, { ok: true })
  const mocked = createClient({ dispatcher: agent, lookup: staticLookup({ 'api.example.com': '93.184.216.34' }) })
  const res = await mocked.fetch('https://api.example.com/repos/x')
  expect(await res.json()).toEqual({ ok: true })
  expect(getCallInfo(res)!.transport).toBe('mock')
  await mocked.close()
  await agent.close()
})

test('nock.restore() lifts the interception: real connections work again; nock.activate() brings the error back', async () => {
  nock.restore()
  const res = await client.fetch(`${server.origin}/after-restore`)
  expect(await res.text()).toBe('real')
  nock.activate()
  // A new client: the first one's keep-alive socket predates the interceptor.
  const fresh = createClient({ policy: { allow: ['127.0.0.1/32'] } })
  await rejectsWith(fresh.fetch(`${server.origin}/again`), 'ERR_NET_INTERCEPTED')
  await fresh.close()
})
