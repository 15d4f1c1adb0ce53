/**
 * The transport used when the client has a `proxy`. It still leaves every undici call to
 * transport.ts; what it adds is the route of a plain-http request.
 *
 * https targets go out unchanged: the proxy connector opens a CONNECT tunnel to the checked IP.
 * http targets cannot be tunnelled that way (the proxy must see the request), and the absolute-form
 * request line names the target, so the name is resolved and judged here, before dispatch, and the
 * proxy is sent `GET http://93.184.216.34:80/path` with `Host: example.com` (RFC 9112 §3.2.2): the
 * proxy has nothing to resolve, so nothing to rebind. The request goes to the IP's origin, whose
 * connection the proxy connector opens to the proxy after judging that literal once more.
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
import { resolveCheckedTarget } from './resolve-target.js'
import { ipAuthority, proxyRefusedError, type ResolvedProxy } from './proxy.js'
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
  const forward = createTransport(dispatcher, forwardRoute(options))
  const proxy = options.proxy
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

/** Resolves and judges a plain-http target, then addresses the checked IP through the proxy. */
function forwardRoute(options: ProxyTransportOptions): Route {
  const proxyHeaders = forwardedProxyHeaders(options.proxy)
  return async (req: OutboundRequest, _ctx: CallContext, urlText: string): Promise<DispatchTarget> => {
    const url = req.url
    const { port, addresses, dnsMs } = await resolveCheckedTarget(url, urlText, options)
    // Every answer was judged; the first is the one the proxy is asked for. A failure is
    // retried by the retry layer, which resolves (and judges) again.
    const authority = ipAuthority(addresses[0]!, port)
    return {
      origin: `http://${authority}`,
      path: `http://${authority}${url.pathname}${url.search}`,
      headers: { ...req.headers, ...proxyHeaders, host: req.headers.host ?? url.host },
      dnsMs,
    }
  }
}
