/**
 * Testing against a real server on loopback (docs/testing.md): everything runs, the guarded
 * connector included. The client reaches 127.0.0.1 only because the test allows it, and the API's
 * name resolves to it only because the test's `lookup` says so.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Client } from 'safefetch'
import { recordingLogger, staticLookup } from 'safefetch/testing'
import { createReposClient, getRepo } from './repos.js'

let server: http.Server
let port: number
let client: Client
const log = recordingLogger()

beforeAll(async () => {
  server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ name: req.url?.split('/').pop(), stars: 7 }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
  client = createReposClient({
    baseUrl: `http://api.example.com:${port}`,
    lookup: staticLookup({ 'api.example.com': '127.0.0.1' }),
    policy: { allow: ['127.0.0.1/32'] }, // loopback is denied by default
    logger: log.logger,
  })
})

afterAll(async () => {
  await client.close()
  await new Promise((resolve) => server.close(resolve))
})

test('a real exchange over a checked socket', async () => {
  expect(await getRepo(client, 'real')).toEqual({ name: 'real', stars: 7 })
  const [line] = log.calls()
  expect(line).toMatchObject({ status: 200, remoteAddress: '127.0.0.1' })
  expect(line).not.toHaveProperty('transport') // not a mock
  expect(client.stats().origins?.[`http://api.example.com:${port}`]?.calls).toBe(1)
})

test('without policy.allow the same server is refused', async () => {
  const strict = createReposClient({ baseUrl: `http://api.example.com:${port}`, lookup: staticLookup({ 'api.example.com': '127.0.0.1' }) })
  const res = strict.fetch('/repos/x')
  await expect(res).rejects.toMatchObject({ code: 'ERR_ADDRESS_BLOCKED', address: '127.0.0.1' })
  await strict.close()
})
