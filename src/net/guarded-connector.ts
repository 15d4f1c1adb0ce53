/**
 * The SSRF core for direct connections: an undici connector that dials the exact addresses the
 * shared dial path (dial.ts) resolved and checked — raced Happy-Eyeballs style, so an unreachable
 * address does not hold up the call — and hands back the socket once TCP (and TLS) are up. The
 * lookup, the policy checks, the remote-address backstop, the connect timeout and the timings are
 * dial.ts's; what is here is the part only a direct connection has: TCP/TLS to the address, SNI
 * and certificate checks for the URL's name, and the TLS session cache.
 */
import net, { isIP, type LookupFunction, type Socket } from 'node:net'
import tls from 'node:tls'
import type { buildConnector } from 'undici'
import { toSafeFetchError } from '../errors.js'
import type { TlsOptions } from '../options.js'
import type { CompiledAddressPolicy } from './address-policy.js'
import { connectInfo, dialChecked, dialTarget, type AddressAttempt } from './dial.js'

interface GuardedConnectorOptions {
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  readonly tls: TlsOptions
  /** ms for TCP connect + TLS handshake across all addresses tried; 0 = none. */
  readonly connectTimeout: number
}

type Connector = buildConnector.connector

/** TLS session tickets per servername, so reconnects skip a full handshake. Bounded, per connector. */
const MAX_SESSIONS = 100

export function createGuardedConnector(options: GuardedConnectorOptions): Connector {
  const sessions = new Map<string, Buffer>()
  const rememberSession = (host: string, session: Buffer): void => {
    if (sessions.size >= MAX_SESSIONS && !sessions.has(host)) {
      const oldest = sessions.keys().next()
      if (!oldest.done) sessions.delete(oldest.value)
    }
    sessions.set(host, session)
  }

  return function guardedConnect(opts, callback): void {
    const target = dialTarget(opts)
    const { protocol, host, port, url } = target
    const secure = protocol === 'https:'

    /** One address: TCP (+ TLS). */
    const attempt: AddressAttempt = (address, settle) => {
      let tlsStart: number | undefined
      const socket: Socket = secure
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
      if (secure) {
        socket.once('connect', () => {
          tlsStart = performance.now()
        })
      }
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        socket.removeListener('error', onError)
        // Only a socket that passed the backstop (dial.ts records it) may seed later handshakes.
        if (secure) {
          socket.on('session', (session: Buffer) => {
            if (connectInfo.has(socket)) rememberSession(host, session)
          })
        }
        settle({ value: { socket, tlsStart, address: socket.remoteAddress, port: socket.remotePort ?? port } })
      })
      return () => socket.destroy()
    }

    dialChecked(target, options, attempt, '', callback)
  }
}
