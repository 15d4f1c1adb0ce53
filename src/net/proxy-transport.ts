/**
 * The transport used when the client has a `proxy`. It still leaves every undici call to
 * transport.ts; what it adds is the route of a plain-http request.
 *
 * https targets go out unchanged: the proxy connector opens a CONNECT tunnel to the checked IP,
 * racing the checked addresses like a direct connection (dial.ts).
 * http targets cannot be tunnelled that way (the proxy must see the request), and the absolute-form
 * request line names the target, so the name is resolved and judged here, before dispatch, and the
 * proxy is sent `GET http://93.184.216.34:80/path` with `Host: example.com` (RFC 9112 §3.2.2): the
 * proxy has nothing to resolve, so nothing to rebind. The request goes to the IP's origin, whose
 * connection the proxy connector opens to the proxy after judging that literal once more.
 *
 * Here the proxy, not we, connects to the target, so the addresses cannot be raced: a request is
 * sent once per address tried. The checked addresses are walked in the Happy Eyeballs order
 * (RFC 8305 §4, families interleaved, as the race uses):
 * - when the proxy answers that it could not reach the address it was asked for (an RFC 9209
 *   Proxy-Status error such as `connection_refused` or `connection_timeout`), the request never
 *   left the proxy, so it goes to the next checked address at once, whatever its method — as a
 *   refused dial does on a direct connection;
 * - any other answer is the answer (a 502 without Proxy-Status may come from the origin, and the
 *   proxy may have forwarded the request); when the retry layer sends the request again, attempt n
 *   starts at the n-th address, so retries do not all go to the one that failed.
 *
 * A 407 is turned into ERR_NETWORK for both kinds of target, as the Fetch Standard does for a
 * request that has no user to prompt (HTTP-network-or-cache fetch, step on status 407).
 */
import type { LookupFunction } from 'node:net'
import type { Dispatcher } from 'undici'
import type { CallContext } from '../context.js'
import { discardBody, type Handler } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import type { CompiledAddressPolicy } from './address-policy.js'
import { interleaveFamilies } from './dial-race.js'
import { resolveCheckedTarget } from './resolve-target.js'
import { ipAuthority, proxyConnectError, proxyRefusedError, type ResolvedProxy } from './proxy.js'
import { createTransport, type DispatchTarget, type Route } from './transport.js'
import { redactUrlForError } from '../observe/redact.js'

interface ProxyTransportOptions {
  readonly proxy: ResolvedProxy
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  /** timeout.connect in ms, applied to the lookup done before dispatch; 0 = none. */
  readonly connectTimeout: number
}

export function createProxyTransport(dispatcher: Dispatcher, options: ProxyTransportOptions): Handler {
  const tunnel = createTransport(dispatcher)
  const proxy = options.proxy
  const proxyHeaders = forwardedProxyHeaders(proxy)

  /** One plain-http attempt: the checked addresses in turn while the proxy says it could not reach one. */
  const forward = (req: OutboundRequest, ctx: CallContext): Promise<RawResponse> => {
    const walk = new AddressWalk(options, proxyHeaders)
    const send = createTransport(dispatcher, walk.route)
    // Only a body that can be sent again may follow the request to another address.
    const resendable = req.body === null || req.body.replayable
    const step = (): Promise<RawResponse> =>
      send(req, ctx).then((response) => {
        if (!resendable || !walk.more() || ctx.signal.aborted) return response
        const error = proxyConnectError(response.status, response.headers)
        if (error === undefined) return response
        discardBody(response)
        // This exchange has its own attempt record; say why another request follows it.
        const log = ctx.record.attemptLog
        const last = log[log.length - 1]
        if (last !== undefined) {
          last.retryReason = `proxy could not connect to ${last.remoteAddress ?? 'the address'} (Proxy-Status ${error}): next checked address`
          last.retryDelayMs = 0
        }
        return step()
      })
    return step()
  }

  return function proxyTransport(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    const exchange = req.url.protocol === 'https:' ? tunnel(req, ctx) : forward(req, ctx)
    return exchange.then((response) => {
      if (response.status !== 407) return response
      discardBody(response)
      const url = redactUrlForError(req.url, ctx.redact)
      throw proxyRefusedError(proxy, `${req.method} ${url}`, { status: 407, reason: response.statusText }, url)
    })
  }
}

/**
 * The proxy headers an absolute-form request may carry. A forward proxy passes a request's
 * end-to-end headers on to the destination, so a `proxy.headers` entry like `x-proxy-token` would
 * reach the origin: only Proxy-Authorization, which the proxy consumes (RFC 9110 §11.7.2), goes on
 * forwarded requests. Every proxy header still goes on CONNECT, which only the proxy reads. undici
 * refuses a `Connection` header that lists other fields, so they cannot be marked hop-by-hop instead.
 */
function forwardedProxyHeaders(proxy: ResolvedProxy): Readonly<Record<string, string>> {
  const credentials = proxy.headers['proxy-authorization']
  return credentials === undefined ? {} : { 'proxy-authorization': credentials }
}

/**
 * The checked addresses of one plain-http attempt, in Happy Eyeballs order. The name is resolved
 * and judged once, by the first exchange; the next ones reuse those addresses (no second lookup,
 * so no rebinding between them).
 */
class AddressWalk {
  private ordered: readonly string[] = []
  private port = 0
  private index = 0
  private tried = 0

  constructor(
    private readonly options: ProxyTransportOptions,
    private readonly proxyHeaders: Readonly<Record<string, string>>,
  ) {}

  /** Another checked address is left to ask for. */
  more(): boolean {
    return this.tried < this.ordered.length
  }

  readonly route: Route = async (req: OutboundRequest, ctx: CallContext, urlText: string): Promise<DispatchTarget> => {
    const url = req.url
    let dnsMs = 0
    if (this.tried === 0) {
      const checked = await resolveCheckedTarget(url, urlText, this.options)
      this.ordered = interleaveFamilies(checked.addresses)
      this.port = checked.port
      dnsMs = checked.dnsMs
      // Attempt n of the retry layer starts at the n-th address.
      this.index = (ctx.attempt - 1) % this.ordered.length
    } else this.index = (this.index + 1) % this.ordered.length
    this.tried++
    // Every answer was judged (one denied answer refuses the name); the proxy is asked for one.
    const authority = ipAuthority(this.ordered[this.index]!, this.port)
    return {
      origin: `http://${authority}`,
      path: `http://${authority}${url.pathname}${url.search}`,
      headers: { ...req.headers, ...this.proxyHeaders, host: req.headers.host ?? url.host },
      dnsMs,
    }
  }
}
