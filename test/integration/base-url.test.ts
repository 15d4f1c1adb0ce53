/**
 * Issue 9 item 7: a relative request URL stays under the baseUrl path, whatever its encoding.
 * The attack: with base `…/v1/users/`, `../admin`, `%2e%2e/%2e%2e/admin` and `42/../../../admin`
 * reached `/v1/admin` and `/admin`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'

let server: TestServer
let paths: string[] = []
let client: Client

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    paths.push(req.url ?? '')
    res.end(req.url)
  })
  client = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1/users/` })
})
afterAll(async () => {
  await client.close()
  await server.close()
})

/** Inputs that leave /v1/users/ (per WHATWG resolution, or per a server that decodes further). */
const ESCAPES = [
  '..',
  '../',
  '../admin',
  '/../admin',
  '../../admin',
  './../admin',
  '42/../../admin',
  '42/../../../admin',
  '%2e%2e/admin',
  '%2E%2E/admin',
  '%2e%2e/%2e%2e/admin',
  '.%2e/admin',
  '.%2E/admin',
  '%2e./admin',
  '42/%2e%2e/%2e%2e/admin',
  '..%2fadmin',
  '..%2Fadmin',
  '%2e%2e%2fadmin',
  '..%5cadmin',
  '%2e%2e%5cadmin',
  '%252e%252e/admin',
  '%252e%252e%252fadmin',
  '%25252e%25252e/admin',
  '..;/admin',
  '..;jsessionid=x/admin',
  '%c0%ae%c0%ae/admin',
  '%c0%ae%c0%ae%c0%afadmin',
  '．．/admin',
  '%ef%bc%8e%ef%bc%8e/admin',
  '..／admin',
  'a/b/../../../admin',
  '..?q=1',
  '../admin#frag',
]

/** Backslash forms: the URL parser guard refuses a raw backslash in the path before anything else. */
const BACKSLASHES = ['..\\admin', '42\\..\\..\\admin', '\\..\\admin', '42/..\\..\\admin']

/** Inputs that stay under it. */
const INSIDE: [string, string][] = [
  ['42', '/v1/users/42'],
  ['/42', '/v1/users/42'],
  ['42/', '/v1/users/42/'],
  ['42/../43', '/v1/users/43'],
  ['./42', '/v1/users/42'],
  ['a/b/../c', '/v1/users/a/c'],
  ['42?q=../../x', '/v1/users/42?q=../../x'],
  ['42#../../x', '/v1/users/42'],
  ['a%2Fb', '/v1/users/a%2Fb'],
  ['v1..2', '/v1/users/v1..2'],
  ['..x/y', '/v1/users/..x/y'],
  ['a/..%2f', '/v1/users/a/..%2f'],
  ['', '/v1/users/'],
  ['.', '/v1/users/'],
]

describe('baseUrl confinement', () => {
  it.each(ESCAPES)('refuses %j with ERR_URL_BLOCKED and sends nothing', async (input) => {
    paths = []
    const connections = server.connections
    const error = await rejectsWith(client.fetch(input), 'ERR_URL_BLOCKED')
    expect(error.message).toContain('outside the baseUrl path /v1/users/')
    expect(paths).toEqual([])
    expect(server.connections).toBe(connections)
  })

  it.each(BACKSLASHES)('refuses %j (ERR_URL_INVALID: a backslash WHATWG reads as /)', async (input) => {
    paths = []
    await rejectsWith(client.fetch(input), 'ERR_URL_INVALID')
    expect(paths).toEqual([])
  })

  it.each(INSIDE)('allows %j (→ %s)', async (input, path) => {
    paths = []
    const res = await client.fetch(input)
    expect(await res.text()).toBe(path.replace(/#.*/, ''))
    expect(paths).toEqual([path])
  })

  it('a base without a trailing slash confines to its last segment as a directory', async () => {
    const other = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/v1` })
    paths = []
    expect(await (await other.fetch('users')).text()).toBe('/v1/users')
    await rejectsWith(other.fetch('../v2/users'), 'ERR_URL_BLOCKED')
    await rejectsWith(other.fetch('%2e%2e/v2'), 'ERR_URL_BLOCKED')
    expect(paths).toEqual(['/v1/users'])
    await other.close()
  })

  it('a Request with a relative-looking absolute URL keeps the origin rule only', async () => {
    // Absolute URLs (string, URL or Request) are the caller's explicit choice: only the origin is confined.
    const res = await client.fetch(`${server.origin}/v1/other`)
    expect(await res.text()).toBe('/v1/other')
  })
})
