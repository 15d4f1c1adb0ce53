/**
 * A real HTTP forward proxy on loopback, for the proxy tests: CONNECT tunnels (RFC 9110 §9.3.6)
 * and absolute-form requests (RFC 9112 §3.2.2), like squid or tinyproxy would handle them.
 *
 * It records every request line and CONNECT authority it receives, and it never resolves a name:
 * a target that is not an IP literal is recorded in `names` and refused with 502. The tests assert
 * that `names` stays empty — the client must only ever hand the proxy the address it checked.
 */
import http from 'node:http'
import net from 'node:net'

export interface ProxyRecord {
  readonly kind: 'connect' | 'forward'
  /** `CONNECT 127.0.0.1:443` or `GET http://127.0.0.1:80/path` */
  readonly line: string
  /** The CONNECT authority, or the absolute-form URL. */
  readonly target: string
  readonly host: string | undefined
  readonly proxyAuthorization: string | undefined
}

export interface ForwardProxyOptions {
  /** When set, requests without exactly this Proxy-Authorization get 407. */
  readonly requireAuthorization?: string
  /** Return a status to refuse a CONNECT to this authority (e.g. 403), or undefined to tunnel. */
  readonly refuseConnect?: (authority: string) => number | undefined
  /** Address to listen on. Default 127.0.0.1. */
  readonly host?: string
  /**
   * Answer a forwarded request whose destination cannot be reached with an RFC 9209 Proxy-Status
   * (`error=connection_refused`, `connection_timeout` …), as Envoy or Fastly do. Default: no Proxy-Status.
   */
  readonly proxyStatus?: boolean
  /** ms to wait for the TCP connect to a forwarded request's destination; then 504. Default: no limit. */
  readonly upstreamConnectTimeoutMs?: number
}

/** RFC 9209 §2.3 error type for a failed connect to the next hop. */
function proxyStatusError(code: string | undefined): string {
  if (code === 'ECONNREFUSED') return 'connection_refused'
  if (code === 'ETIMEDOUT') return 'connection_timeout'
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'destination_ip_unroutable'
  return 'proxy_internal_error'
}

export interface ForwardProxy {
  /** http://127.0.0.1:P (or the host given) */
  readonly origin: string
  readonly port: number
  readonly log: ProxyRecord[]
  /** The headers of each request in `log` (same index), as the proxy received them. */
  readonly headers: http.IncomingHttpHeaders[]
  /** Names (not IP literals) the proxy was asked to reach: must stay empty. */
  readonly names: string[]
  /** TCP connections accepted from clients. */
  connections: number
  close(): Promise<void>
}

const REASONS: Record<number, string> = { 403: 'Forbidden', 407: 'Proxy Authentication Required', 502: 'Bad Gateway' }

/** Splits `host:port` / `[v6]:port`; undefined when it does not parse. */
function splitAuthority(authority: string): { host: string; port: number } | undefined {
  try {
    const url = new URL(`http://${authority}`)
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    return { host, port: Number(url.port || 80) }
  } catch {
    return undefined
  }
}

export function startForwardProxy(options: ForwardProxyOptions = {}): Promise<ForwardProxy> {
  const log: ProxyRecord[] = []
  const headerLog: http.IncomingHttpHeaders[] = []
  const names: string[] = []
  const sockets = new Set<net.Socket>()

  const authorized = (headers: http.IncomingHttpHeaders): boolean =>
    options.requireAuthorization === undefined || headers['proxy-authorization'] === options.requireAuthorization

  const server = http.createServer((req, res) => {
    const target = req.url ?? ''
    log.push({
      kind: 'forward',
      line: `${req.method} ${target}`,
      target,
      host: req.headers.host,
      proxyAuthorization: req.headers['proxy-authorization'],
    })
    headerLog.push(req.headers)
    if (!authorized(req.headers)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-type': 'text/plain' })
      res.end('proxy auth required')
      return
    }
    let url: URL
    try {
      url = new URL(target)
    } catch {
      res.writeHead(400).end('absolute-form required')
      return
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    if (net.isIP(host) === 0) {
      names.push(host)
      res.writeHead(502).end('this proxy resolves no names')
      return
    }
    const headers = { ...req.headers }
    delete headers['proxy-authorization']
    delete headers['proxy-connection']
    const upstream = http.request(
      { host, port: Number(url.port || 80), method: req.method, path: url.pathname + url.search, headers, agent: false },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers)
        upstreamRes.pipe(res)
      },
    )
    let connected = false
    const fail = (status: number, code: string | undefined): void => {
      if (!res.headersSent) {
        const error = connected ? 'connection_terminated' : proxyStatusError(code)
        res.writeHead(status, options.proxyStatus === true ? { 'proxy-status': `forward-proxy; error=${error}` } : {})
      }
      res.end()
    }
    upstream.on('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ETIMEDOUT' ? 504 : 502, err.code))
    upstream.on('socket', (socket: net.Socket) => {
      socket.once('connect', () => {
        connected = true
      })
      const limit = options.upstreamConnectTimeoutMs
      if (limit === undefined) return
      const timer = setTimeout(() => {
        if (!connected) upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }))
      }, limit)
      socket.once('close', () => clearTimeout(timer))
      socket.once('connect', () => clearTimeout(timer))
    })
    req.pipe(upstream)
  })

  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authority = req.url ?? ''
    log.push({
      kind: 'connect',
      line: `CONNECT ${authority}`,
      target: authority,
      host: req.headers.host,
      proxyAuthorization: req.headers['proxy-authorization'],
    })
    headerLog.push(req.headers)
    client.on('error', () => {})
    const answer = (status: number, extra = ''): void => {
      client.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Refused'}\r\n${extra}content-length: 0\r\n\r\n`)
    }
    if (!authorized(req.headers)) {
      answer(407, 'proxy-authenticate: Basic realm="test"\r\n')
      return
    }
    const split = splitAuthority(authority)
    if (split === undefined) {
      answer(400)
      return
    }
    if (net.isIP(split.host) === 0) {
      names.push(split.host)
      answer(502)
      return
    }
    const refused = options.refuseConnect?.(authority)
    if (refused !== undefined) {
      answer(refused)
      return
    }
    const upstream = net.connect({ host: split.host, port: split.port })
    sockets.add(upstream)
    upstream.on('close', () => sockets.delete(upstream))
    upstream.once('error', () => answer(502))
    upstream.once('connect', () => {
      upstream.removeAllListeners('error')
      upstream.on('error', () => client.destroy())
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
  })

  return new Promise((resolve, reject) => {
    server.once('error', reject)
    const host = options.host ?? '127.0.0.1'
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      const proxy: ForwardProxy = {
        origin: `http://${net.isIPv6(host) ? `[${host}]` : host}:${port}`,
        port,
        log,
        headers: headerLog,
        names,
        connections: 0,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.closeAllConnections()
            server.close(() => done())
          }),
      }
      server.on('connection', (socket: net.Socket) => {
        proxy.connections++
        sockets.add(socket)
        socket.on('close', () => sockets.delete(socket))
      })
      resolve(proxy)
    })
  })
}
