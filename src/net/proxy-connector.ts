/**
 * The undici connector used when the client has a `proxy`: the shared dial path of dial.ts (the
 * same lookup, policy checks, Happy Eyeballs race, backstop, timeout and timings as a direct
 * connection), with the proxy in the middle and the proxy handed only addresses we checked.
 *
 * - https target: each attempt dials the proxy and asks `CONNECT <checked-ip>:<port>`
 *   (RFC 9110 §9.3.6), then runs TLS through the tunnel with SNI and certificate verification for
 *   the URL's hostname. The proxy never sees the name, so it cannot resolve it to something else.
 * - http target: the proxy transport has already resolved and checked the name and dispatched to
 *   the IP origin with an absolute-form path (proxy-transport.ts); here that literal is judged
 *   again and a plain socket to the proxy is returned. A name arriving here is a wiring bug and is
 *   refused.
 *
 * The proxy's own address is trusted configuration: it is dialled as given (an IP, or a name
 * resolved with the client's `lookup` or the system resolver) and is not judged by the policy —
 * it usually is a private address. The socket's peer is the proxy, so the backstop judges the
 * target address the proxy was asked for, and `connectInfo` records that address.
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
import { dialChecked, dialTarget, type AddressAttempt } from './dial.js'
import { connectRequest, ipAuthority, parseConnectAnswer, proxyRefusedError, type ResolvedProxy } from './proxy.js'

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
  const via = ` through proxy ${proxy.display}`

  return function proxyConnect(opts, callback): void {
    const target = dialTarget(opts)
    const { protocol, host, port, url } = target
    const secure = protocol === 'https:'
    // Plain-http targets must arrive as the checked IP (see proxy-transport.ts): otherwise undici
    // would send an origin-form request and a name could reach the proxy.
    if (!secure && isIP(host) === 0) {
      callback(new SafeFetchError('ERR_NETWORK', `internal error: ${url} reached the proxy connector without being resolved first`, { url }), null)
      return
    }

    /** One target address through the proxy: TCP to the proxy, then CONNECT + TLS for https. */
    const attempt: AddressAttempt = (address, settle) => {
      let over = false
      let tunnelled: TLSSocket | undefined
      const fail = (error: SafeFetchError, final: boolean): void => {
        if (over) return
        over = true
        raw.destroy()
        tunnelled?.destroy()
        settle({ error, final })
      }
      const succeed = (socket: Socket, tlsStart: number | undefined): void => {
        if (over) {
          socket.destroy()
          return
        }
        over = true
        settle({ value: { socket, tlsStart, address, port } })
      }

      const raw = net.connect({ host: proxy.host, port: proxy.port, ...(options.lookup === undefined ? {} : { lookup: options.lookup }) })
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
        if (!secure) {
          // Absolute-form requests go on this socket as is; the target was judged as a literal.
          raw.removeListener('error', onRawError)
          succeed(raw, undefined)
          return
        }
        const authority = ipAuthority(address, port)
        readConnectAnswer(raw, (error, status, reason) => {
          if (over) return
          if (error !== undefined) {
            fail(new SafeFetchError('ERR_NETWORK', `proxy ${proxy.display} failed during CONNECT ${authority} for ${url} (${error})`, { url, address }), false)
            return
          }
          if (status < 200 || status > 299) {
            // 407 will be 407 for every address; other refusals (502, 503 …) concern this address.
            fail(proxyRefusedError(proxy, `CONNECT ${authority} for ${url}`, { status, reason }, url), status === 407)
            return
          }
          const tlsStart = performance.now()
          tunnelled = tls.connect({
            ...options.tls,
            socket: raw,
            // Verify the certificate for the URL's hostname; SNI never carries an IP (RFC 6066 §3).
            ...(isIP(host) === 0 ? { servername: host } : { host }),
            ALPNProtocols: ['http/1.1'],
          })
          tunnelled.on('error', (err: Error) => {
            const mapped = toSafeFetchError(err, url)
            fail(mapped, mapped.code === 'ERR_TLS')
          })
          tunnelled.once('secureConnect', () => {
            tunnelled!.removeAllListeners('error')
            // Errors on the tunnel now belong to undici, which listens on the TLS socket.
            succeed(tunnelled!, tlsStart)
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

    dialChecked(target, options, attempt, via, callback)
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
