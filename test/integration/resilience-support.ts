/**
 * Helpers for the resilience suites (retries, breaker, switches): a loopback server whose replies
 * are scripted per request and which counts what a client did to it (requests, connections
 * accepted, sockets still open, requests in flight), a log sink to read the retry lines, and a
 * port with nothing listening. Not a test file itself.
 */
import http from 'node:http'
import net from 'node:net'
import pino, { type Logger } from 'pino'
import { afterEach, vi } from 'vitest'
import { createClient, type Client, type ClientOptions } from '../../src/index.js'
import { LOOPBACK } from './support.js'

export interface SeenRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
  /** Epoch ms when the request's headers arrived (for ordering checks only). */
  at: number
}

/** Decides the reply to the n-th request (1-based, over the server's life). */
export type Script = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void

export interface ScriptedServer {
  readonly origin: string
  readonly port: number
  readonly requests: SeenRequest[]
  /** TCP connections accepted so far. */
  readonly connections: number
  /** Sockets open right now. */
  readonly openSockets: number
  /** Requests received whose response has not finished yet. */
  readonly inFlight: number
  /** Highest `inFlight` seen. */
  readonly maxInFlight: number
  /** Replaces the script (e.g. "the server recovers"). */
  setScript(script: Script): void
  close(): Promise<void>
}

export function startScriptedServer(initial: Script): Promise<ScriptedServer> {
  let script = initial
  const requests: SeenRequest[] = []
  const sockets = new Set<net.Socket>()
  let connections = 0
  let inFlight = 0
  let maxInFlight = 0
  const server = http.createServer((req, res) => {
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '', at: Date.now() }
    requests.push(seen)
    const n = requests.length
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    let ended = false
    const done = (): void => {
      if (ended) return
      ended = true
      inFlight--
    }
    res.on('finish', done)
    res.on('close', done)
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => (seen.body = Buffer.concat(chunks).toString('utf8')))
    script(req, res, n)
  })
  server.keepAliveTimeout = 10_000
  server.on('connection', (socket: net.Socket) => {
    connections++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      resolve({
        origin: `http://127.0.0.1:${port}`,
        port,
        requests,
        get connections() {
          return connections
        },
        get openSockets() {
          return sockets.size
        },
        get inFlight() {
          return inFlight
        },
        get maxInFlight() {
          return maxInFlight
        },
        setScript(next: Script) {
          script = next
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    })
  })
}

/** Answers `status` with a small text body and optional headers. */
export function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body = `status ${status}`): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers })
  res.end(body)
}

/** Drops the connection without a response, once the request has arrived (ECONNRESET / "other side closed"). */
export function resetConnection(req: http.IncomingMessage): void {
  req.socket.destroy()
}

/** A loopback port with nothing listening: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

export interface LogSink {
  readonly logger: Logger
  /** Every JSON line written, parsed. */
  readonly lines: Record<string, unknown>[]
  /** The retry layer's `warn` lines ('retrying'). */
  retries(): Record<string, unknown>[]
  /** The call summary lines (they carry `attempts`). */
  summaries(): Record<string, unknown>[]
}

/** A pino logger writing parsed JSON lines to an array (pino's own tests do the same with `sink()`). */
export function logSink(): LogSink {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return {
    logger,
    lines,
    retries: () => lines.filter((line) => line['msg'] === 'retrying'),
    summaries: () => lines.filter((line) => 'attempts' in line && 'callId' in line),
  }
}

export interface Fixtures {
  /** A scripted server, closed after the test. */
  serve(script: Script): Promise<ScriptedServer>
  /** A client allowed to reach 127.0.0.1, closed after the test. */
  client(options?: ClientOptions): Client
}

/**
 * Registers an afterEach that closes what the test opened (clients first, then servers) and
 * puts back real timers and mocked functions.
 */
export function useFixtures(): Fixtures {
  const servers: ScriptedServer[] = []
  const clients: Client[] = []
  afterEach(async () => {
    vi.useRealTimers()
    vi.restoreAllMocks()
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  return {
    async serve(script) {
      const server = await startScriptedServer(script)
      servers.push(server)
      return server
    },
    client(options = {}) {
      // No HTTP cache here: coalescing and hits would change the request counts these tests assert.
      const made = createClient({ ...LOOPBACK, cache: false, ...options })
      clients.push(made)
      return made
    },
  }
}
