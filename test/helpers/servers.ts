/**
 * Real loopback servers for tests, with connection counting so a test can prove that a refused
 * request never opened a socket.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { LookupFunction } from 'node:net'
import { generate } from 'selfsigned'

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

function track(server: net.Server, host: string, protocol: 'http' | 'https', requests: TestServer['requests']): Promise<TestServer> {
  const sockets = new Set<net.Socket>()
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      const urlHost = host.includes(':') ? `[${host}]` : host
      const result: TestServer = {
        origin: `${protocol}://${urlHost}:${port}`,
        port,
        host,
        connections: 0,
        requests,
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

export interface RecordingLookup extends LookupFunction {
  readonly queries: string[]
}

/**
 * DNS injection: answers from a table (name → addresses, or a function of the query count for
 * rebinding tests). Unknown names fail with ENOTFOUND, never reach a real resolver.
 */
export function fakeLookup(table: Record<string, string[] | ((count: number) => string[])>): RecordingLookup {
  const queries: string[] = []
  const counts = new Map<string, number>()
  const lookup = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    const cb = typeof options === 'function' ? (options as typeof callback) : callback
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true
    queries.push(hostname)
    const count = (counts.get(hostname) ?? 0) + 1
    counts.set(hostname, count)
    const entry = table[hostname]
    const addresses = typeof entry === 'function' ? entry(count) : entry
    setImmediate(() => {
      if (addresses === undefined || addresses.length === 0) {
        cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }))
        return
      }
      const answers = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }))
      if (all) cb(null, answers)
      else cb(null, answers[0]!.address, answers[0]!.family)
    })
  }) as RecordingLookup
  Object.defineProperty(lookup, 'queries', { value: queries })
  return lookup
}

/** Test hosts the isolation script added to `lo` (empty when not isolated). */
export const testHosts: readonly string[] = (process.env.SAFEFETCH_TEST_HOSTS ?? '').split(',').filter(Boolean)
export const isolated = process.env.SAFEFETCH_NETNS === '1'
