/**
 * Each timeout fires with its own code against a real misbehaving peer; a user abort and the total
 * deadline are told apart by which signal fired. Assertions are on codes, never on wall time.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type http from 'node:http'
import net, { type LookupFunction } from 'node:net'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, SafeFetchError } from '../../src/index.js'
import { startHttpServer, startSilentServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'

const LARGE = 2_000_000
/**
 * Retries off: each test asks which code one timeout raises, not whether it is retried (the retry
 * layer has its own tests); with retries on, every timed-out call would be waited out three times.
 */
const CLIENT = { ...LOOPBACK, retry: false } as const
let server: TestServer
let silent: TestServer
/** Resolved when the server has received a request on /hang or /stall (so an abort lands mid-call). */
let onArrival: (() => void) | undefined

function route(req: http.IncomingMessage, res: http.ServerResponse): void {
  onArrival?.()
  switch (req.url) {
    case '/hang':
      return // read the request, never answer
    case '/stall':
      // Headers and a first chunk, then silence.
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('first chunk')
      return
    case '/drip': {
      // A byte every 20 ms: never silent for long, but slow overall.
      res.writeHead(200, { 'content-type': 'text/plain' })
      const timer = setInterval(() => res.write('.'), 20)
      res.on('close', () => clearInterval(timer))
      return
    }
    case '/large':
      res.end(Buffer.alloc(LARGE, 0x61))
      return
    default:
      res.end('ok')
  }
}

function arrival(): Promise<void> {
  return new Promise((resolve) => (onArrival = () => ((onArrival = undefined), resolve())))
}

beforeAll(async () => {
  server = await startHttpServer(route)
  silent = await startSilentServer()
})
afterAll(async () => {
  await Promise.all([server.close(), silent.close()])
})

describe('per-phase timeouts', () => {
  it('a server that accepts and never answers → ERR_HEADERS_TIMEOUT', async () => {
    const client = createClient({ ...CLIENT, timeout: { headers: 150 } })
    const error = await rejectsWith(client.fetch(`${silent.origin}/`), 'ERR_HEADERS_TIMEOUT')
    expect(error.message).toContain('timeout.headers')
    expect(silent.connections).toBeGreaterThan(0)
    // an HTTP server that reads the request and stays silent: same code
    await rejectsWith(client.fetch(`${server.origin}/hang`), 'ERR_HEADERS_TIMEOUT')
    await client.close()
  })

  it('headers then a stalled body → the response resolves, res.text() fails ERR_READ_TIMEOUT', async () => {
    const client = createClient({ ...CLIENT, timeout: { read: 150 } })
    const res = await client.fetch(`${server.origin}/stall`)
    expect(res.status).toBe(200)
    const error = await rejectsWith(res.text(), 'ERR_READ_TIMEOUT')
    expect(error.message).toContain('timeout.read')
    await client.close()
  })

  it('the read timeout is per chunk: a slow but steady body is not cut by it', async () => {
    const client = createClient({ ...CLIENT, timeout: { read: 5_000, total: 1_000 } })
    const res = await client.fetch(`${server.origin}/drip`)
    // the total deadline ends it, not the read timeout
    await rejectsWith(res.text(), 'ERR_DEADLINE_EXCEEDED')
    await client.close()
  })

  describe('a connect that never completes', () => {
    // A listener whose accept queue is full: Linux drops further SYNs, so connect() hangs.
    let child: ChildProcess | undefined
    let port = 0
    const fillers: net.Socket[] = []
    beforeAll(async () => {
      // A child that listens but never calls accept(): its event loop is blocked for good.
      // Node turns `backlog: 0` into its default 511, so ask for 1 (the kernel then queues 2).
      const script = `
        const net = require('node:net')
        const server = net.createServer()
        server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
          process.stdout.write(server.address().port + '\\n', () => {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
          })
        })`
      child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
      port = await new Promise<number>((resolve, reject) => {
        let text = ''
        child!.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString()
          if (text.includes('\n')) resolve(Number(text.trim()))
        })
        child!.once('exit', (code) => reject(new Error(`listener child exited early (${code})`)))
      })
      // Fill the accept queue: open connections until one no longer completes its handshake.
      for (let i = 0; i < 8; i++) {
        const socket = net.connect({ host: '127.0.0.1', port })
        socket.on('error', () => {})
        fillers.push(socket)
        const connected = await new Promise<boolean>((resolve) => {
          socket.once('connect', () => resolve(true))
          setTimeout(() => resolve(false), 300)
        })
        if (!connected) break
      }
    })
    afterAll(() => {
      for (const socket of fillers) socket.destroy()
      child?.kill('SIGKILL')
    })

    it('the accept queue did fill up', () => {
      expect(port).toBeGreaterThan(0)
      expect(fillers.length).toBeLessThan(8)
    })

    it('→ ERR_CONNECT_TIMEOUT', async () => {
      const client = createClient({ ...CLIENT, timeout: { connect: 200 } })
      const error = await rejectsWith(client.fetch(`http://127.0.0.1:${port}/`), 'ERR_CONNECT_TIMEOUT')
      expect(error.message).toContain('timeout.connect')
      await client.close()
    })

    it('the total deadline ends a hanging connect with ERR_DEADLINE_EXCEEDED', async () => {
      const client = createClient({ ...CLIENT, timeout: { connect: 60_000, total: 150 } })
      await rejectsWith(client.fetch(`http://127.0.0.1:${port}/`), 'ERR_DEADLINE_EXCEEDED')
      await client.close()
    })

    it('a user abort ends a hanging connect with ERR_ABORTED', async () => {
      const client = createClient({ ...CLIENT, timeout: { connect: 60_000, total: 60_000 } })
      const controller = new AbortController()
      const pending = client.fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal })
      setTimeout(() => controller.abort(), 50)
      await rejectsWith(pending, 'ERR_ABORTED')
      await client.close()
    })
  })

  it('a lookup that never answers is covered by the connect timeout', async () => {
    const lookup = (() => {}) as unknown as LookupFunction
    const client = createClient({ ...CLIENT, lookup, timeout: { connect: 100 } })
    await rejectsWith(client.fetch('http://never.test/'), 'ERR_CONNECT_TIMEOUT')
    await client.close()
  })

  it('a slow consumer is not cut by the read timeout (backpressure is not server silence)', async () => {
    const client = createClient({ ...CLIENT, timeout: { read: 100 } })
    const res = await client.fetch(`${server.origin}/large`)
    // Let the stream queue fill and the socket pause for longer than timeout.read.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect((await res.arrayBuffer()).byteLength).toBe(LARGE)
    await client.close()
  })
})

describe('deadline and cancellation', () => {
  it('the total deadline over a call waiting for headers → ERR_DEADLINE_EXCEEDED', async () => {
    const client = createClient({ ...CLIENT, timeout: { total: 150, headers: 60_000 } })
    const error = await rejectsWith(client.fetch(`${server.origin}/hang`), 'ERR_DEADLINE_EXCEEDED')
    expect(error.message).toContain('timeout.total')
    await client.close()
  })

  it('the total deadline covers reading the body', async () => {
    // Long enough for the headers to arrive on a loaded machine, short against the stalled body.
    const client = createClient({ ...CLIENT, timeout: { total: 1_000, read: 60_000 } })
    const res = await client.fetch(`${server.origin}/stall`)
    await rejectsWith(res.text(), 'ERR_DEADLINE_EXCEEDED')
    await client.close()
  })

  it('a per-call total overrides the client one', async () => {
    const client = createClient({ ...CLIENT, timeout: { total: 60_000, headers: 60_000 } })
    await rejectsWith(client.fetch(`${server.origin}/hang`, { timeout: { total: 100 } }), 'ERR_DEADLINE_EXCEEDED')
    await client.close()
  })

  it('a user abort while waiting for headers → ERR_ABORTED, with the signal reason as cause', async () => {
    const client = createClient({ ...CLIENT, timeout: { total: 60_000 } })
    const controller = new AbortController()
    const arrived = arrival()
    const pending = client.fetch(`${server.origin}/hang`, { signal: controller.signal })
    await arrived
    const reason = new Error('user gave up')
    controller.abort(reason)
    const error = await rejectsWith(pending, 'ERR_ABORTED')
    expect(error.cause).toBe(reason)
    await client.close()
  })

  it('user abort and deadline are told apart by which fired, whichever is first', async () => {
    const client = createClient({ ...CLIENT, timeout: { total: 100 } })
    const controller = new AbortController()
    // the deadline fires first; the signal (still un-aborted) changes nothing
    await rejectsWith(client.fetch(`${server.origin}/hang`, { signal: controller.signal }), 'ERR_DEADLINE_EXCEEDED')
    controller.abort()
    // and a later abort of that signal does not disturb anything
    const ok = await client.fetch(`${server.origin}/ok`)
    expect(await ok.text()).toBe('ok')
    await client.close()
  })

  it('a user abort during the body read → ERR_ABORTED from res.text()', async () => {
    const client = createClient({ ...CLIENT, timeout: { read: 60_000, total: 60_000 } })
    const controller = new AbortController()
    const res = await client.fetch(`${server.origin}/stall`, { signal: controller.signal })
    const reading = res.text()
    controller.abort()
    await rejectsWith(reading, 'ERR_ABORTED')
    await client.close()
  })

  it('an already aborted signal → ERR_ABORTED and no connection', async () => {
    const fresh = await startHttpServer(route)
    const client = createClient(CLIENT)
    await rejectsWith(client.fetch(`${fresh.origin}/`, { signal: AbortSignal.abort() }), 'ERR_ABORTED')
    const request = new Request(`${fresh.origin}/`, { signal: AbortSignal.abort() })
    await rejectsWith(client.fetch(request), 'ERR_ABORTED')
    expect(fresh.connections).toBe(0)
    // the client is still usable (the aborted calls released their slot)
    const res = await client.fetch(`${fresh.origin}/ok`)
    expect(await res.text()).toBe('ok')
    await client.close()
    await fresh.close()
  })

  it('aborting after the body was read changes nothing', async () => {
    const client = createClient(CLIENT)
    const controller = new AbortController()
    const res = await client.fetch(`${server.origin}/ok`, { signal: controller.signal })
    expect(await res.text()).toBe('ok')
    controller.abort()
    await client.close()
  })

  it('timers do not keep the process alive', async () => {
    // A separate process makes a successful call, a headers timeout and a refused call, with long
    // timeouts left armed by default, closes nothing, and must exit by itself.
    const entry = fileURLToPath(new URL('../../src/index.ts', import.meta.url))
    const script = `
      import { createClient } from ${JSON.stringify(entry)}
      const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, timeout: { connect: 600000, read: 600000, total: 600000, headers: 600000 } })
      const res = await client.fetch(${JSON.stringify(`${server.origin}/ok`)})
      const text = await res.text()
      const quick = createClient({ policy: { allow: ['127.0.0.1/32'] }, timeout: { headers: 100, total: 600000 } })
      const code = await quick.fetch(${JSON.stringify(`${server.origin}/hang`)}).then(() => 'none', (e) => e.code)
      const blocked = await createClient().fetch('http://10.0.0.1/').then(() => 'none', (e) => e.code)
      console.log(JSON.stringify({ text, code, blocked }))`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    // A guard so a regression fails this test instead of hanging the suite.
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
    clearTimeout(guard)
    expect(signal, 'the child had to be killed: something kept it alive').toBeNull()
    expect(code).toBe(0)
    expect(JSON.parse(out.trim())).toEqual({ text: 'ok', code: 'ERR_HEADERS_TIMEOUT', blocked: 'ERR_ADDRESS_BLOCKED' })
  })
})

describe('errors are SafeFetchErrors', () => {
  it('every timeout error is a SafeFetchError', async () => {
    const client = createClient({ ...CLIENT, timeout: { headers: 50 } })
    const error = await client.fetch(`${silent.origin}/`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SafeFetchError)
    await client.close()
  })
})
