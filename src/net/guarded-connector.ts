/**
 * The SSRF core: an undici connector that resolves the name itself, checks every answer against
 * the address policy, and dials the exact addresses it checked — raced Happy-Eyeballs style
 * (dial-race.ts, RFC 8305), so an unreachable address does not hold up the call.
 *
 * Why here and not in a pre-flight lookup: a separate lookup resolves the name twice and leaves a
 * DNS-rebinding window (first answer public, second private). Why not undici's `connect.lookup`:
 * undici skips it for IP-literal hosts (also on redirect hops). The socket's remote address is
 * checked again after connect, as a backstop.
 *
 * Timings (dns, connect, tls) are measured here and attached to the socket, so the transport can
 * tell a fresh connection from a reused keep-alive one.
 */
import net, { isIP, type LookupFunction, type Socket } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import type { buildConnector } from 'undici'
import { SafeFetchError, toSafeFetchError } from '../errors.js'
import type { TlsOptions } from '../options.js'
import { blockedAddressError, checkAddress, type CompiledAddressPolicy } from './address-policy.js'
import { dialRace, type DialAttempt } from './dial-race.js'
import { guardedLookup } from './guarded-lookup.js'
import { interceptedSocketsError } from './interceptors.js'

interface ConnectInfo {
  /** Milliseconds spent resolving the name (0 for literals). */
  readonly dns: number
  readonly connect: number
  /** undefined for plain http. */
  readonly tls: number | undefined
  readonly remoteAddress: string
  readonly remotePort: number
  /** Set once the first request has been attributed to this socket. */
  used: boolean
}

/** Connection facts per socket, read by the transport when a request is written to it. */
export const connectInfo = new WeakMap<Socket, ConnectInfo>()

interface GuardedConnectorOptions {
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  readonly tls: TlsOptions
  /** ms for TCP connect + TLS handshake across all addresses tried; 0 = none. */
  readonly connectTimeout: number
}

type ConnectorOptions = buildConnector.Options
type Connector = buildConnector.connector
type ConnectCallback = buildConnector.Callback

/** TLS session tickets per servername, so reconnects skip a full handshake. Bounded, per connector. */
const MAX_SESSIONS = 100

export function createGuardedConnector(options: GuardedConnectorOptions): Connector {
  const sessions = new Map<string, Buffer>()

  return function guardedConnect(opts: ConnectorOptions, callback: ConnectCallback): void {
    const started = performance.now()
    const protocol = opts.protocol
    const host = stripBrackets(opts.hostname)
    const port = Number(opts.port) || (protocol === 'https:' ? 443 : 80)
    const url = `${protocol}//${opts.hostname}:${port}`
    let finished = false
    const done = (err: Error | null, socket?: Socket): void => {
      if (finished) {
        socket?.destroy()
        return
      }
      finished = true
      if (err) callback(err, null)
      else callback(null, socket!)
    }

    let timer: NodeJS.Timeout | undefined
    let cancelRace: (() => void) | undefined
    if (options.connectTimeout > 0) {
      // One timeout over the lookup and the whole race of addresses (dial-race.ts).
      timer = setTimeout(() => {
        cancelRace?.()
        done(new SafeFetchError('ERR_CONNECT_TIMEOUT', `connect to ${url} took longer than ${options.connectTimeout} ms (timeout.connect)`, { url }))
      }, options.connectTimeout)
      timer.unref()
    }
    const finish = (err: Error | null, socket?: Socket): void => {
      if (timer !== undefined) clearTimeout(timer)
      done(err, socket)
    }

    /** One address: TCP (+ TLS), then the remote-address backstop. Returns how to stop it. */
    const attempt: DialAttempt<Socket> = (address, settle) => {
      const dialStarted = performance.now()
      let tcpMs = 0
      const socket: Socket =
        protocol === 'https:'
          ? tls.connect({
              ...options.tls,
              host: address,
              port,
              // The socket goes to the checked IP; the certificate is verified against the
              // URL's hostname, and SNI carries it (SNI must not carry an IP literal, RFC 6066 §3).
              ...(isIP(host) === 0 ? { servername: host } : {}),
              session: sessions.get(host),
              ALPNProtocols: ['http/1.1'],
            })
          : net.connect({ host: address, port })
      socket.setNoDelay(true)
      const onError = (err: Error): void => {
        socket.destroy()
        // Certificate errors are final; a refused address may have a sibling that answers.
        const mapped = toSafeFetchError(err, url)
        settle({ error: mapped, final: mapped.code === 'ERR_TLS' })
      }
      socket.once('error', onError)
      socket.once('connect', () => {
        tcpMs = performance.now() - dialStarted
      })
      socket.once(protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        socket.removeListener('error', onError)
        // Backstop: judge the address the kernel actually connected to.
        const remote = socket.remoteAddress
        const verdict = remote === undefined ? undefined : checkAddress(options.policy, remote)
        if (remote === undefined || (verdict !== undefined && !verdict.allowed)) {
          socket.destroy()
          settle({
            error:
              verdict !== undefined && !verdict.allowed
                ? blockedAddressError(verdict, url)
                : new SafeFetchError('ERR_NETWORK', `socket to ${url} has no remote address`, { url }),
            final: true,
          })
          return
        }
        const now = performance.now()
        connectInfo.set(socket, {
          dns: dnsMs,
          connect: protocol === 'https:' ? tcpMs : now - dialStarted,
          tls: protocol === 'https:' ? now - dialStarted - tcpMs : undefined,
          remoteAddress: remote,
          remotePort: socket.remotePort ?? port,
          used: false,
        })
        if (protocol === 'https:') {
          socket.on('session', (session: Buffer) => {
            if (sessions.size >= MAX_SESSIONS && !sessions.has(host)) {
              const oldest = sessions.keys().next()
              if (!oldest.done) sessions.delete(oldest.value)
            }
            sessions.set(host, session)
          })
          ;(socket as TLSSocket).setKeepAlive(true, 60_000)
        } else socket.setKeepAlive(true, 60_000)
        settle({ value: socket })
      })
      return () => socket.destroy()
    }

    let dnsMs = 0
    // A patched net.Socket (nock 15, msw) would fail this connection obscurely: say so instead.
    const intercepted = interceptedSocketsError(url)
    if (intercepted !== undefined) {
      finish(intercepted)
      return
    }
    guardedLookup(host, options.policy, options.lookup, url, (error, addresses) => {
      if (finished) return
      if (error !== null) {
        finish(error)
        return
      }
      dnsMs = isIP(host) === 0 ? performance.now() - started : 0
      cancelRace = dialRace(addresses, {
        attempt,
        done: (err, socket) => finish(err ?? null, socket),
        discard: (socket) => socket.destroy(),
        noAddress: () => new SafeFetchError('ERR_NETWORK', `could not connect to ${url}`, { url }),
      })
    })
  }
}

export function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}
