/**
 * Redirects, followed by our own loop so that every hop goes through the policy layer and the
 * guarded connector (undici's fetch would follow up to 20 hops whatever we configure).
 *
 * Rules (WHATWG fetch "HTTP-redirect fetch", RFC 9110 §15.4), stricter where fetch is lax:
 * - 303, and 301/302 after POST, become GET without a body (HEAD stays HEAD);
 * - 307/308 resend method and body, which therefore must be replayable;
 * - credentials (Authorization, Cookie, Proxy-Authorization, Host and the user's list) are dropped
 *   whenever scheme, host or port change (reqwest's rule; fetch only drops Authorization);
 * - an https: → http: hop is refused unless redirect.allowDowngrade;
 * - a Location that is not http(s) is refused.
 */
import type { CallContext } from '../context.js'
import { SafeFetchError } from '../errors.js'
import { discardBody, headerValue, type Handler, type Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { parseUrl } from '../net/url-policy.js'
import { redactUrlForError } from '../observe/redact.js'

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308])

/** Dropped when a redirect crosses origins: they carry the caller's identity. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization', 'host']

/** Dropped when the method becomes GET: they describe a body that is no longer sent (fetch "request-body-header name"). */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location', 'transfer-encoding']

export const redirectLayer: Layer = (next: Handler): Handler =>
  async function redirect(first: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    const options = ctx.options.redirect
    const rules = ctx.redact
    let req = first
    for (let hop = 0; ; hop++) {
      ctx.hop = hop
      const response = await next(req, ctx)
      if (!REDIRECT_STATUS.has(response.status) || options.mode === 'manual') return response
      const location = headerValue(response.headers, 'location')
      if (location === undefined) return response
      const from = redactUrlForError(req.url, rules)
      if (options.mode === 'error') {
        discardBody(response)
        throw new SafeFetchError('ERR_REDIRECT_BLOCKED', `${from} redirected (${response.status}) and redirect is 'error'`, { url: from })
      }
      let target: URL
      try {
        // The same strict parser as for caller input: a Location that parsers read differently
        // (backslashes, control characters, `http:host`) is refused rather than guessed.
        target = parseUrl(location, req.url)
        // Every hop's secrets are scrubbed from the call's error text (observe layer).
        const observation = ctx.observation
        if (observation !== undefined) (observation.hops ??= []).push(target)
      } catch (cause) {
        discardBody(response)
        throw new SafeFetchError('ERR_BAD_RESPONSE', `${from} redirected to an invalid or ambiguous Location`, { url: from, cause })
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        discardBody(response)
        throw new SafeFetchError('ERR_REDIRECT_BLOCKED', `${from} redirected to a ${target.protocol} URL; only http: and https: redirects are followed`, {
          url: from,
        })
      }
      if (hop >= options.max) {
        discardBody(response)
        const start = redactUrlForError(first.url, rules)
        throw new SafeFetchError('ERR_TOO_MANY_REDIRECTS', `${first.method} ${start} redirected more than ${options.max} times (redirect.max)`, {
          url: start,
        })
      }
      if (req.url.protocol === 'https:' && target.protocol === 'http:' && !options.allowDowngrade) {
        discardBody(response)
        throw new SafeFetchError(
          'ERR_REDIRECT_BLOCKED',
          `${from} redirected from https: to ${redactUrlForError(target, rules)}; pass redirect: { allowDowngrade: true } to follow it`,
          { url: from },
        )
      }
      discardBody(response)
      req = nextHop(req, response.status, target, options.stripHeaders, from)
      ctx.record.redirects++
    }
  }

function nextHop(req: OutboundRequest, status: number, target: URL, stripHeaders: readonly string[], from: string): OutboundRequest {
  const toGet = status === 303 ? req.method !== 'HEAD' && req.method !== 'GET' : (status === 301 || status === 302) && req.method === 'POST'
  const headers: Record<string, string> = { ...req.headers }
  let body = req.body
  let method = req.method
  if (toGet) {
    method = 'GET'
    body = null
    for (const name of BODY_HEADERS) delete headers[name]
  } else if (body !== null && !body.replayable) {
    throw new SafeFetchError(
      'ERR_REDIRECT_BLOCKED',
      `${from} answered ${status}, which requires resending the body, but the body is a one-shot stream; pass a string, a buffer or a body factory`,
      { url: from },
    )
  }
  const crossOrigin = target.protocol !== req.url.protocol || target.host !== req.url.host
  if (crossOrigin) {
    for (const name of CREDENTIAL_HEADERS) delete headers[name]
    for (const name of stripHeaders) delete headers[name]
  }
  // A fragment is never sent; fetch keeps the original fragment when Location has none.
  if (target.hash === '' && req.url.hash !== '') target.hash = req.url.hash
  return { url: target, method, headers, body }
}
