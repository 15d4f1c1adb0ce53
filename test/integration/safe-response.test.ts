/**
 * The Response safefetch hands out makes its body stream and Headers only when asked for; it must
 * still behave like fetch's Response in every observable way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient } from '../../src/index.js'
import { startHttpServer, type TestServer } from '../support/servers.js'

let server: TestServer
const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, cache: false })

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.setHeader('x-multi', ['a', 'b'])
    res.end('\uFEFF{"ok":true,"path":' + JSON.stringify(req.url) + '}')
  })
})
afterAll(async () => {
  await client.close()
  await server.close()
})

describe('the Response', () => {
  it('is a Response with its status, url and headers, like fetch', async () => {
    const res = await client.fetch(`${server.origin}/a`)
    expect(res).toBeInstanceOf(Response)
    expect(res.ok).toBe(true)
    expect(res.url).toBe(`${server.origin}/a`)
    expect(res.redirected).toBe(false)
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('x-multi')).toBe('a, b')
    expect(res.headers).toBe(res.headers)
    expect(await res.json()).toEqual({ ok: true, path: '/a' })
  })

  it('strips a UTF-8 BOM in text() and refuses a second read', async () => {
    const res = await client.fetch(`${server.origin}/b`)
    expect(res.bodyUsed).toBe(false)
    expect(await res.text()).toBe('{"ok":true,"path":"/b"}')
    expect(res.bodyUsed).toBe(true)
    await expect(res.text()).rejects.toThrow(TypeError)
    // As with fetch, `body` is still readable as a property: a locked stream, not an exception.
    expect(res.body).toBeInstanceOf(ReadableStream)
    expect(res.body!.locked).toBe(true)
    expect(res.body).toBe(res.body)
    expect(res.bodyUsed).toBe(true)
  })

  it('gives a real stream when body is taken, the same one each time', async () => {
    const res = await client.fetch(`${server.origin}/c`)
    const body = res.body!
    expect(body).toBe(res.body)
    expect(body).toBeInstanceOf(ReadableStream)
    const text = await new Response(body).text()
    expect(text).toContain('"path":"/c"')
    expect(res.bodyUsed).toBe(true)
    await expect(res.arrayBuffer()).rejects.toThrow(TypeError)
  })

  it('arrayBuffer(), bytes() and blob() are copies of exactly the body', async () => {
    const a = await client.fetch(`${server.origin}/d`)
    const buffer = await a.arrayBuffer()
    expect(new TextDecoder().decode(buffer)).toContain('"path":"/d"')
    const b = await client.fetch(`${server.origin}/d`)
    const blob = await b.blob()
    expect(blob.type).toBe('application/json; charset=utf-8')
    expect(blob.size).toBe(buffer.byteLength)
  })

  it('clone() gives two independent bodies', async () => {
    const res = await client.fetch(`${server.origin}/e`)
    const copy = res.clone()
    expect(copy).toBeInstanceOf(Response)
    expect(copy.url).toBe(res.url)
    expect(await copy.json()).toEqual({ ok: true, path: '/e' })
    expect(await res.json()).toEqual({ ok: true, path: '/e' })
  })
})
