/**
 * Real loopback servers for tests, all on one listening core that counts connections (so a test
 * can prove a refused request never opened a socket) and destroys its sockets on close:
 * - `startHttpServer` / `startHttpsServer` (self-signed certificate made in the run): one handler,
 *   every request recorded;
 * - `startScriptedServer`: a script decides the n-th reply; it counts what a client did to it
 *   (connections, sockets open now, requests in flight) and can be re-scripted;
 * - `startSilentServer`: accepts and never says a word;
 * - `closedPort()`: a port nothing listens on.
 * `LOOPBACK` is the client option that lets a test reach them (loopback is denied by default).
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { generate } from 'selfsigned'

/** Client option that lets a test reach its server on 127.0.0.1 (loopback is denied by default). */
export const LOOPBACK = { policy: { allow: ['127.0.0.1/32'] } } as const

export interface TestServer {
  /** e.g. http://127.0.0.1:34567 */
  readonly origin: string
  readonly port: number
  readonly host: string
  /** TCP connections accepted so far. */
  connections: number
  /** Requests received so far (method + url). */
  readonly requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[]
  close(): Promise<void>
}

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void

/** Listens on `host`, counting connections and keeping the open sockets (destroyed on close). */
function track<R extends { method: string; url: string; headers: http.IncomingHttpHeaders }>(
  server: net.Server,
  host: string,
  protocol: 'http' | 'https',
  requests: R[],
): Promise<TestServer & { readonly requests: R[]; readonly sockets: ReadonlySet<net.Socket> }> {
  const sockets = new Set<net.Socket>()
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      const urlHost = host.includes(':') ? `[${host}]` : host
      const result = {
        origin: `${protocol}://${urlHost}:${port}`,
        port,
        host,
        connections: 0,
        requests,
        sockets,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      }
      server.on('connection', (socket: net.Socket) => {
        result.connections++
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
      })
      resolve(result)
    })
  })
}

export function startHttpServer(handler: RequestHandler, host = '127.0.0.1'): Promise<TestServer> {
  const requests: TestServer['requests'] = []
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res)
  })
  server.keepAliveTimeout = 10_000
  return track(server, host, 'http', requests)
}

export interface TestCertificate {
  cert: string
  key: string
}

// A cache of what `generate` made, keyed by name: never changed by a test, so safe to share.
const certificates = new Map<string, Promise<TestCertificate>>()

/** A self-signed certificate for `hostname` (and 127.0.0.1), generated in the test run. */
export function selfSignedCertificate(hostname: string): Promise<TestCertificate> {
  let pending = certificates.get(hostname)
  if (pending === undefined) {
    pending = generate([{ name: 'commonName', value: hostname }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: hostname },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    }).then((pems) => ({ cert: pems.cert, key: pems.private }))
    certificates.set(hostname, pending)
  }
  return pending
}

export async function startHttpsServer(handler: RequestHandler, certificate: TestCertificate, host = '127.0.0.1'): Promise<TestServer> {
  const requests: TestServer['requests'] = []
  const server = https.createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    handler(req, res)
  })
  return track(server, host, 'https', requests)
}

/** Accepts connections and never says a word. */
export function startSilentServer(host = '127.0.0.1'): Promise<TestServer> {
  const server = net.createServer(() => {})
  return track(server, host, 'http', [])
}

/** A loopback port with nothing listening: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

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

export async function startScriptedServer(initial: Script): Promise<ScriptedServer> {
  let script = initial
  const requests: SeenRequest[] = []
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
  const tracked = await track(server, '127.0.0.1', 'http', requests)
  return {
    origin: tracked.origin,
    port: tracked.port,
    requests,
    get connections() {
      return tracked.connections
    },
    get openSockets() {
      return tracked.sockets.size
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
    close: () => tracked.close(),
  }
}
