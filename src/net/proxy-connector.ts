/**
 * The undici connector used when the client has a `proxy`: the guard of guarded-connector.ts, with
 * the proxy in the middle and the proxy handed only addresses we checked.
 *
 * - Every connection first runs `guardedLookup` on the target (same rules, same errors as without
 *   a proxy): a name with any denied answer is refused here, and the proxy hears nothing.
 * - https target: for each checked address (raced as without a proxy: dial-race.ts), dial the proxy, `CONNECT <ip>:<port>`
 *   (RFC 9110 §9.3.6), then TLS through the tunnel with SNI and certificate verification for the
 *   URL's hostname. The proxy never sees the name, so it cannot resolve it to something else.
 * - http target: the proxy transport has already resolved and checked the name and dispatched to
 *   the IP origin with an absolute-form path; this connector re-judges that literal and returns a
 *   plain socket to the proxy. A name arriving here is a wiring bug and is refused.
 *
 * The proxy's own address is trusted configuration: it is dialled as given (an IP, or a name
 * resolved with the client's `lookup` or the system resolver) and is not judged by the policy —
 * it usually is a private address. For the same reason there is no remote-address backstop: the
 * socket's peer is the proxy. `connectInfo` records the target address the proxy was asked for.
 *
 * `timeout.connect` covers the target lookup, the TCP connect to the proxy, the CONNECT exchange
 * and the TLS handshake.
 */
import net, { isIP, type LookupFunction, type Socket } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import type { buildConnector } from 'undici'
import { SafeFetchError, systemCode, toSafeFetchError } from '../errors.js'
import type { TlsOptions } from '../options.js'
import type { CompiledAddressPolicy } from './address-policy.js'
import { connectInfo, stripBrackets } from './guarded-connector.js'
import { dialRace, type AttemptOutcome } from './dial-race.js'
import { guardedLookup } from './guarded-lookup.js'
import { connectRequest, ipAuthority, parseConnectAnswer, proxyRefusedError, type ResolvedProxy } from './proxy.js'
import { interceptedSocketsError } from './interceptors.js'

interface ProxyConnectorOptions {
  readonly proxy: ResolvedProxy
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  readonly tls: TlsOptions
  /** ms for lookup + proxy connect + CONNECT + TLS, across all addresses tried; 0 = none. */
  readonly connectTimeout: number
}

type Connector = buildConnector.connector

/** A proxy's answer to CONNECT is a few hundred bytes; more without an end is not a proxy. */
const MAX_CONNECT_HEAD = 16 * 1024

export function createProxyConnector(options: ProxyConnectorOptions): Connector {
  const proxy = options.proxy

  return function proxyConnect(opts, callback): void {
    const started = performance.now()
    const protocol = opts.protocol
    const host = stripBrackets(opts.hostname)
    const port = Number(opts.port) || (protocol === 'https:' ? 443 : 80)
    const url = `${protocol}//${opts.hostname}:${port}`
    // A patched net.Socket (nock 15, msw) would fail this connection obscurely: say so instead.
    const intercepted = interceptedSocketsError(url)
    if (intercepted !== undefined) {
      callback(intercepted, null)
      return
    }
    const sockets = new Set<Socket>()
    let finished = false
    let timer: NodeJS.Timeout | undefined
    let cancelRace: (() => void) | undefined

    const finish = (err: Error | null, socket?: Socket): void => {
      if (finished) {
        socket?.destroy()
        return
      }
      finished = true
      if (timer !== undefined) clearTimeout(timer)
      if (err) {
        for (const s of sockets) s.destroy()
        callback(err, null)
      } else callback(null, socket!)
    }

    if (options.connectTimeout > 0) {
      timer = setTimeout(() => {
        cancelRace?.()
        finish(
          new SafeFetchError(
            'ERR_CONNECT_TIMEOUT',
            `connect to ${url} through proxy ${proxy.display} took longer than ${options.connectTimeout} ms (timeout.connect)`,
            { url },
          ),
        )
      }, options.connectTimeout)
      timer.unref()
    }

    // Plain-http targets must arrive as the checked IP (see proxy-transport.ts): otherwise undici
    // would send an origin-form request and a name could reach the proxy.
    if (protocol !== 'https:' && isIP(host) === 0) {
      finish(new SafeFetchError('ERR_NETWORK', `internal error: ${url} reached the proxy connector without being resolved first`, { url }))
      return
    }

    /** The same Happy Eyeballs race as without a proxy (dial-race.ts), one CONNECT per attempt. */
    const tryAddresses = (addresses: readonly string[], dnsMs: number): void => {
      cancelRace = dialRace<Socket>(addresses, {
        attempt: (address, settle) => viaProxy(address, dnsMs, settle),
        done: (err, socket) => finish(err ?? null, socket),
        discard: (socket) => socket.destroy(),
        noAddress: () => new SafeFetchError('ERR_NETWORK', `could not connect to ${url} through proxy ${proxy.display}`, { url }),
      })
    }

    /**
     * One target address through the proxy; settles once (a failure is final when no other
     * address would do better). Returns how to stop it.
     */
    const viaProxy = (address: string, dnsMs: number, settle: (outcome: AttemptOutcome<Socket>) => void): (() => void) => {
      const dialStarted = performance.now()
      let over = false
      const fail = (error: SafeFetchError, final: boolean): void => {
        if (over) return
        over = true
        raw.destroy()
        tunnelled?.destroy()
        settle({ error, final })
      }
      const succeed = (socket: Socket, tcpMs: number): void => {
        if (over) {
          socket.destroy()
          return
        }
        over = true
        const now = performance.now()
        connectInfo.set(socket, {
          dns: dnsMs,
          connect: protocol === 'https:' ? tcpMs : now - dialStarted,
          tls: protocol === 'https:' ? now - dialStarted - tcpMs : undefined,
          remoteAddress: address,
          remotePort: port,
          used: false,
        })
        socket.setKeepAlive(true, 60_000)
        settle({ value: socket })
      }

      let tunnelled: TLSSocket | undefined
      const raw = net.connect({ host: proxy.host, port: proxy.port, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) })
      sockets.add(raw)
      raw.setNoDelay(true)
      let connected = false
      const onRawError = (err: Error): void => {
        if (tunnelled !== undefined) {
          tunnelled.destroy(err)
          return
        }
        const reason = systemCode(err) ?? err.message
        // Before connect the proxy itself is unreachable: no other target address will do better.
        if (!connected) fail(new SafeFetchError('ERR_NETWORK', `could not connect to proxy ${proxy.display} for ${url} (${reason})`, { url, cause: err }), true)
        else
          fail(
            new SafeFetchError('ERR_NETWORK', `proxy ${proxy.display} failed during CONNECT ${ipAuthority(address, port)} for ${url} (${reason})`, {
              url,
              address,
              cause: err,
            }),
            false,
          )
      }
      raw.on('error', onRawError)
      raw.once('connect', () => {
        if (over) return
        connected = true
        if (protocol !== 'https:') {
          // Absolute-form requests go on this socket as is; the target was judged as a literal.
          raw.removeListener('error', onRawError)
          succeed(raw, 0)
          return
        }
        const target = ipAuthority(address, port)
        readConnectAnswer(raw, (error, status, reason) => {
          if (over) return
          if (error !== undefined) {
            fail(new SafeFetchError('ERR_NETWORK', `proxy ${proxy.display} failed during CONNECT ${target} for ${url} (${error})`, { url, address }), false)
            return
          }
          if (status < 200 || status > 299) {
            // 407 will be 407 for every address; other refusals (502, 503 …) concern this address.
            fail(proxyRefusedError(proxy, `CONNECT ${target} for ${url}`, { status, reason }, url), status === 407)
            return
          }
          const tcpAndConnectMs = performance.now() - dialStarted
          tunnelled = tls.connect({
            ...options.tls,
            socket: raw,
            // Verify the certificate for the URL's hostname; SNI never carries an IP (RFC 6066 §3).
            ...(isIP(host) === 0 ? { servername: host } : { host }),
            ALPNProtocols: ['http/1.1'],
          })
          sockets.add(tunnelled)
          tunnelled.on('error', (err: Error) => {
            const mapped = toSafeFetchError(err, url)
            fail(mapped, mapped.code === 'ERR_TLS')
          })
          tunnelled.once('secureConnect', () => {
            tunnelled!.removeAllListeners('error')
            // Errors on the tunnel now belong to undici, which listens on the TLS socket.
            succeed(tunnelled!, tcpAndConnectMs)
          })
        })
        raw.write(connectRequest(address, port, proxy.headers))
      })
      return () => {
        over = true
        raw.destroy()
        tunnelled?.destroy()
      }
    }

    guardedLookup(host, options.policy, options.lookup, url, (error, addresses) => {
      if (finished) return
      if (error !== null) finish(error)
      else tryAddresses(addresses, isIP(host) === 0 ? performance.now() - started : 0)
    })
  }
}

/**
 * Reads the proxy's answer head to CONNECT from `socket`, then stops reading so TLS can take the
 * socket over. Calls back with an error text, or the status and reason phrase.
 */
function readConnectAnswer(socket: Socket, callback: (error: string | undefined, status: number, reason: string) => void): void {
  let head: Buffer = Buffer.alloc(0)
  let done = false
  const stop = (): void => {
    done = true
    socket.removeListener('data', onData)
    socket.removeListener('end', onEnd)
  }
  const onData = (chunk: Buffer): void => {
    if (done) return
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
    const end = head.indexOf('\r\n\r\n')
    if (end < 0) {
      if (head.length > MAX_CONNECT_HEAD) {
        stop()
        callback(`an answer head over ${MAX_CONNECT_HEAD} bytes`, 0, '')
      }
      return
    }
    stop()
    socket.pause()
    const answer = parseConnectAnswer(head.subarray(0, end).toString('latin1'))
    if (answer === undefined) {
      callback('an answer that is not HTTP/1.x', 0, '')
      return
    }
    // In TLS the client speaks first: a proxy that sends bytes after a 2xx head before our
    // ClientHello is not a tunnel we can trust to be transparent.
    if (end + 4 < head.length && answer.status >= 200 && answer.status <= 299) {
      callback('data after the CONNECT answer, before the TLS handshake', 0, '')
      return
    }
    callback(undefined, answer.status, answer.reason)
  }
  const onEnd = (): void => {
    if (done) return
    stop()
    callback('the proxy closed the connection', 0, '')
  }
  socket.on('data', onData)
  socket.once('end', onEnd)
}
