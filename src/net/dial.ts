/**
 * The one dial path of both connectors (guarded-connector.ts direct, proxy-connector.ts through a
 * forward proxy). Every check lives here, so the two cannot drift apart:
 *
 * 1. A patched net.Socket (nock, msw) is reported instead of failing obscurely.
 * 2. The name is resolved with the client's `lookup` and **every** answer judged by the address
 *    policy (guarded-lookup.ts): a name with one denied answer is refused before anything is dialled.
 * 3. The checked addresses are raced Happy-Eyeballs style (dial-race.ts, RFC 8305); what an attempt
 *    does with its address (TCP + TLS, or CONNECT through the proxy) is the connector's part.
 * 4. Backstop: the address an attempt reached (the socket's peer; through a proxy, the target the
 *    proxy was asked for) is judged again before the socket is handed to undici.
 * 5. Timings (dns, connect, tls) are recorded once per socket in `connectInfo`, which the transport
 *    reads to tell a fresh connection from a reused one.
 *
 * `timeout.connect` covers the lookup and the whole race (every attempt, CONNECT and TLS included).
 * Why the connector resolves at all (and not a pre-flight lookup or undici's `connect.lookup`): a
 * second resolution leaves a DNS-rebinding window, and undici skips `connect.lookup` for IP literals.
 */
import { isIP, type LookupFunction, type Socket } from 'node:net'
import type { buildConnector } from 'undici'
import { SafeFetchError } from '../errors.js'
import { blockedAddressError, checkAddress, type CompiledAddressPolicy } from './address-policy.js'
import { dialRace, type AttemptOutcome } from './dial-race.js'
import { guardedLookup } from './guarded-lookup.js'
import { interceptedSocketsError } from './interceptors.js'

interface ConnectInfo {
  /** Milliseconds spent resolving the name (0 for literals). */
  readonly dns: number
  /** TCP connect (through a proxy: TCP to the proxy, plus the CONNECT exchange for https). */
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

/** What undici asks a connector for, normalized once. */
export interface DialTarget {
  readonly protocol: string
  /** The URL's host without IPv6 brackets: a name or an IP literal. */
  readonly host: string
  /** The URL's port, or the scheme's default. */
  readonly port: number
  /** `https://host:port`, for messages. */
  readonly url: string
}

export function dialTarget(opts: buildConnector.Options): DialTarget {
  const protocol = opts.protocol
  const port = Number(opts.port) || (protocol === 'https:' ? 443 : 80)
  return { protocol, host: stripBrackets(opts.hostname), port, url: `${protocol}//${opts.hostname}:${port}` }
}

/** What one attempt produced: a socket ready for HTTP, and where it leads. */
export interface Reached {
  readonly socket: Socket
  /** performance.now() when the TLS handshake began; undefined for plain http. */
  readonly tlsStart: number | undefined
  /** The address the socket reaches (its peer; through a proxy, the target asked for); undefined if unknown. */
  readonly address: string | undefined
  readonly port: number
}

/**
 * Opens a connection towards one checked `address` and settles once; returns how to stop it (for
 * losers and on cancel). A failure is `final` when no other address would do better.
 */
export type AddressAttempt = (address: string, settle: (outcome: AttemptOutcome<Reached>) => void) => () => void

export interface DialOptions {
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  /** ms for the lookup and the whole race; 0 = none. */
  readonly connectTimeout: number
}

/**
 * Resolves and judges `target.host`, races `attempt` over the checked addresses, judges what the
 * winner reached, records its timings, and calls `callback` once with the socket or an error.
 * `via` qualifies messages (` through proxy http://p:3128`).
 */
export function dialChecked(target: DialTarget, options: DialOptions, attempt: AddressAttempt, via: string, callback: buildConnector.Callback): void {
  const started = performance.now()
  const { host, url } = target
  // A patched net.Socket (nock 15, msw) would fail this connection obscurely: say so instead.
  const intercepted = interceptedSocketsError(url)
  if (intercepted !== undefined) {
    callback(intercepted, null)
    return
  }
  let finished = false
  let timer: NodeJS.Timeout | undefined
  let cancelRace: (() => void) | undefined
  const finish = (err: Error | undefined, socket?: Socket): void => {
    if (finished) {
      socket?.destroy()
      return
    }
    finished = true
    if (timer !== undefined) clearTimeout(timer)
    if (err !== undefined) callback(err, null)
    else callback(null, socket!)
  }
  if (options.connectTimeout > 0) {
    timer = setTimeout(() => {
      cancelRace?.()
      finish(new SafeFetchError('ERR_CONNECT_TIMEOUT', `connect to ${url}${via} took longer than ${options.connectTimeout} ms (timeout.connect)`, { url }))
    }, options.connectTimeout)
    timer.unref()
  }

  guardedLookup(host, options.policy, options.lookup, url, (error, addresses) => {
    if (finished) return
    if (error !== null) {
      finish(error)
      return
    }
    const dnsMs = isIP(host) === 0 ? performance.now() - started : 0
    cancelRace = dialRace<Socket>(addresses, {
      attempt: (address, settle) => {
        const dialStarted = performance.now()
        return attempt(address, (outcome) => {
          if (!('value' in outcome)) {
            settle(outcome)
            return
          }
          const reached = outcome.value
          const socket = reached.socket
          // Backstop: judge the address the connection actually leads to.
          const verdict = reached.address === undefined ? undefined : checkAddress(options.policy, reached.address)
          if (verdict === undefined || !verdict.allowed) {
            socket.destroy()
            settle({
              error:
                verdict === undefined
                  ? new SafeFetchError('ERR_NETWORK', `socket to ${url} has no remote address`, { url })
                  : blockedAddressError(verdict, url),
              final: true,
            })
            return
          }
          const now = performance.now()
          const tlsStart = reached.tlsStart
          connectInfo.set(socket, {
            dns: dnsMs,
            connect: (tlsStart ?? now) - dialStarted,
            tls: tlsStart === undefined ? undefined : now - tlsStart,
            remoteAddress: reached.address!,
            remotePort: reached.port,
            used: false,
          })
          socket.setKeepAlive(true, 60_000)
          settle({ value: socket })
        })
      },
      done: (err, socket) => finish(err, socket),
      discard: (socket) => socket.destroy(),
      noAddress: () => new SafeFetchError('ERR_NETWORK', `could not connect to ${url}${via}`, { url }),
    })
  })
}

export function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}
