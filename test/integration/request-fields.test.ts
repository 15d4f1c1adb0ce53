/**
 * Issue 9 item 10: a Request passed as input counts as fetch counts it (redirect, signal, method,
 * headers, body), with init overriding its fields. Before: `new Request(u, { redirect: 'error' })`
 * was followed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type Client } from '../../src/index.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { echo, type Echo } from '../support/replies.js'

let server: TestServer
let client: Client
let hits: string[] = []

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    hits.push(`${req.method} ${req.url}`)
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/target' }).end()
      return
    }
    if (req.url === '/slow') return // never answers: only an abort ends the call
    echo(req, res)
  })
  client = createClient({ ...LOOPBACK, cache: false, retry: false, headers: { 'x-client': 'c' } })
})
afterAll(async () => {
  await client.close()
  await server.close()
})

describe('Request fields', () => {
  it("redirect: 'error' on the Request refuses the redirect and never fetches the target", async () => {
    hits = []
    await rejectsWith(client.fetch(new Request(`${server.origin}/redirect`, { redirect: 'error' })), 'ERR_REDIRECT_BLOCKED')
    expect(hits).toEqual(['GET /redirect'])
  })

  it("redirect: 'manual' on the Request returns the 3xx", async () => {
    const res = await client.fetch(new Request(`${server.origin}/redirect`, { redirect: 'manual' }))
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/target')
    await res.arrayBuffer()
  })

  it("init's redirect overrides the Request's", async () => {
    const res = await client.fetch(new Request(`${server.origin}/redirect`, { redirect: 'error' }), { redirect: 'follow' })
    expect(((await res.json()) as Echo).url).toBe('/target')
    await rejectsWith(client.fetch(new Request(`${server.origin}/redirect`), { redirect: 'error' }), 'ERR_REDIRECT_BLOCKED')
  })

  it("the Request's signal aborts the call; init's signal replaces it; signal: null drops it", async () => {
    const controller = new AbortController()
    const pending = client.fetch(new Request(`${server.origin}/slow`, { signal: controller.signal }))
    setTimeout(() => controller.abort(new Error('stop')), 20)
    await rejectsWith(pending, 'ERR_ABORTED')

    const aborted = AbortSignal.abort()
    await rejectsWith(client.fetch(new Request(`${server.origin}/echo`), { signal: aborted }), 'ERR_ABORTED')
    const res = await client.fetch(new Request(`${server.origin}/echo`, { signal: aborted }), { signal: null })
    expect(res.status).toBe(200)
    await res.arrayBuffer()
  })

  it("method, headers and body come from the Request; init's headers replace them (not merged)", async () => {
    const request = new Request(`${server.origin}/echo`, { method: 'PUT', headers: { 'x-req': 'r', 'content-type': 'text/plain' }, body: 'from request' })
    const got = (await (await client.fetch(request)).json()) as Echo
    expect(got.method).toBe('PUT')
    expect(got.body).toBe('from request')
    expect(got.headers['x-req']).toBe('r')
    expect(got.headers['x-client']).toBe('c')

    const second = new Request(`${server.origin}/echo`, { method: 'PUT', headers: { 'x-req': 'r' }, body: 'from request' })
    const over = (await (await client.fetch(second, { method: 'POST', headers: { 'x-init': 'i' }, body: 'from init' })).json()) as Echo
    expect(over.method).toBe('POST')
    expect(over.body).toBe('from init')
    expect(over.headers['x-init']).toBe('i')
    expect(over.headers['x-req']).toBeUndefined()
    expect(over.headers['x-client']).toBe('c')
  })

  it('refuses integrity rather than serving a body it did not check', async () => {
    hits = []
    await rejectsWith(client.fetch(new Request(`${server.origin}/echo`, { integrity: 'sha256-abc' })), 'ERR_INVALID_OPTION')
    await rejectsWith(client.fetch(`${server.origin}/echo`, { integrity: 'sha256-abc' }), 'ERR_INVALID_OPTION')
    expect(hits).toEqual([])
  })
})
