/**
 * Request headers a caller may not set: they route or frame the message, so only the library (or
 * undici) may write them. Refused with ERR_INVALID_OPTION on client `headers`, per-call
 * `init.headers` and the headers of a `Request` passed as input.
 *
 * Why: a caller-set `Host` sends the request to another virtual host than the one the URL names,
 * past `denyHosts` (the URL policy judges the URL's host, the server routes on Host) and into the
 * cache under the URL's key; framing headers (`Content-Length`, `Transfer-Encoding`, `TE`,
 * `Trailer`, `Connection`, `Keep-Alive`, `Upgrade`, `Expect`) desynchronise the message from its
 * body (request smuggling, RFC 9112 §6.1, §11.2); `Proxy-*` belong to the configured proxy
 * (`proxy` option), and a caller's `Proxy-Authorization` would go to whichever proxy sits on the
 * path, or to the origin.
 *
 * The list is the Fetch Standard's "forbidden request-header" (§2.2.2) cut down to what protects a
 * server-side client. Kept allowed, on purpose (see docs/security-model.md):
 * - `Cookie`, `Origin`, `Referer`, `Date`, `DNT`, `Via`, `Accept-Charset`,
 *   `Access-Control-Request-*`: a browser forbids them to keep page scripts from forging a user's
 *   ambient state; a server-side caller sends them on its own behalf and APIs need some of them.
 * - `Accept-Encoding`: the caller may narrow it (`identity`); the body is decoded only for codings
 *   we know, so the value cannot make us misread the body.
 * - `Sec-*`: in a browser they prove the request came from the browser itself; a server-side
 *   client proves nothing by them either way, and server-side renderers legitimately forward
 *   `Sec-CH-*` client hints.
 * `Connection: close` and `Connection: keep-alive` are allowed (only whether to reuse the socket).
 * Kept from the spec: the method-override headers (`X-HTTP-Method`, `X-HTTP-Method-Override`,
 * `X-Method-Override`) when they name a forbidden method, so TRACE/CONNECT cannot come in that way.
 */
import { SafeFetchError } from '../errors.js'

/** Lower-case names; `proxy-*` is matched by prefix. */
const FORBIDDEN = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect'])

const CONNECTION_VALUES = new Set(['close', 'keep-alive'])

const METHOD_OVERRIDE = new Set(['x-http-method', 'x-http-method-override', 'x-method-override'])
/** Fetch Standard §2.2.1 forbidden methods (the same set client.ts refuses as `method`). */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

/** Whether a caller may not set header `key` (lower-case). */
function isForbiddenRequestHeader(key: string): boolean {
  return FORBIDDEN.has(key) || key.startsWith('proxy-')
}

/**
 * Throws ERR_INVALID_OPTION when the caller may not set this header. `key` is lower-case, `name`
 * as given (for the message), `path` where it was given (`headers`, `init.headers` …). The value
 * is never quoted: it may be a credential.
 */
export function checkRequestHeader(key: string, name: string, value: string, path: string): void {
  // `Connection: close` / `keep-alive` only says whether to reuse the socket: undici accepts exactly
  // these two values and manages the connection itself, so they cannot list other headers as hop-by-hop.
  if (key === 'connection' && CONNECTION_VALUES.has(value.trim().toLowerCase())) return
  if (isForbiddenRequestHeader(key)) {
    throw new SafeFetchError(
      'ERR_INVALID_OPTION',
      `${path}.${name} cannot be set: ${key.startsWith('proxy-') ? 'Proxy-* headers belong to the proxy option' : 'it routes or frames the request, so safefetch and undici set it'} (a Fetch forbidden request-header)`,
    )
  }
  if (METHOD_OVERRIDE.has(key)) {
    for (const method of value.split(',')) {
      if (FORBIDDEN_METHODS.has(method.trim().toUpperCase())) {
        throw new SafeFetchError('ERR_INVALID_OPTION', `${path}.${name} cannot name the method ${method.trim().toUpperCase()}, which is not allowed`)
      }
    }
  }
}
