/**
 * The `proxy` client option: parsing, validation and the few pure pieces of the proxy protocol
 * (the CONNECT request, its answer's status line) that the proxy connector and transport share.
 *
 * A proxy re-opens the check-then-connect gap if it is handed a name: it resolves the name again,
 * and a rebinding DNS server answers it differently. So the proxy is only ever handed the IP
 * address our own guarded lookup checked (docs/security-model.md, "Proxies"):
 *   https target → `CONNECT 93.184.216.34:443` (RFC 9110 §9.3.6), TLS inside with the URL's name;
 *   http target  → `GET http://93.184.216.34:80/path` (absolute form, RFC 9112 §3.2.2), Host: name.
 *
 * The environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`) is never read: only undici's
 * EnvHttpProxyAgent reads it, and safefetch builds its own Agent. A proxy must be asked for.
 */
import { isIP } from 'node:net'
import { SafeFetchError } from '../errors.js'
import { checkKnownKeys, invalidOption } from '../option-checks.js'
import { isToken } from '../http.js'
import type { ResponseHeaders } from '../types.js'

/** `'http://user:pass@proxy.internal:3128'`, a URL, or the URL with extra headers for the proxy. */
export type ProxyOption = string | URL | { url: string | URL; headers?: Readonly<Record<string, string>> }

export interface ResolvedProxy {
  /** Host to dial, brackets removed for IPv6. Trusted configuration: not judged by the policy. */
  readonly host: string
  readonly port: number
  /** `http://proxy.internal:3128`, without credentials: safe for messages and logs. */
  readonly display: string
  /**
   * Headers for the proxy (lower-case names): `proxy-authorization` from the URL's userinfo plus
   * `proxy.headers`. All are sent on every CONNECT; an absolute-form (plain-http) request carries
   * only `proxy-authorization`, since the proxy forwards the other headers to the destination.
   */
  readonly headers: Readonly<Record<string, string>>
}

/** Headers that frame or route the message: set by us (CONNECT) or by undici, never by configuration. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive'])
/** The keys of `proxy` in its object form. */
const PROXY_KEYS = ['url', 'headers'] as const

function invalid(path: string, expected: string, got: unknown): SafeFetchError {
  return invalidOption(path, `must be ${expected}`, got)
}

function withoutCredentials(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
}

export function resolveProxyOption(value: unknown, path = 'proxy'): ResolvedProxy | undefined {
  if (value === undefined) return undefined
  let urlInput: unknown = value
  let urlPath = path
  let extra: Record<string, string> = {}
  if (value !== null && typeof value === 'object' && !(value instanceof URL)) {
    if (Array.isArray(value)) throw invalid(path, "a proxy URL like 'http://proxy.internal:3128' or { url, headers }", value)
    const o = value as Record<string, unknown>
    checkKnownKeys(path, o, PROXY_KEYS)
    urlInput = o.url
    urlPath = `${path}.url`
    extra = proxyHeaders(o.headers, `${path}.headers`)
  }
  const url = proxyUrl(urlInput, urlPath)
  const headers: Record<string, string> = { ...extra }
  if (url.username !== '' || url.password !== '') {
    if (headers['proxy-authorization'] !== undefined) {
      throw new SafeFetchError(
        'ERR_INVALID_OPTION',
        `${path} has credentials both in the URL (user:password@) and in ${path}.headers['proxy-authorization']; give them once`,
      )
    }
    headers['proxy-authorization'] = basicCredentials(url, urlPath)
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const port = url.port === '' ? 80 : Number(url.port)
  return Object.freeze({ host, port, display: withoutCredentials(url), headers: Object.freeze(headers) })
}

function proxyUrl(value: unknown, path: string): URL {
  const expected = "an http: proxy URL like 'http://proxy.internal:3128'"
  if (typeof value !== 'string' && !(value instanceof URL)) throw invalid(path, expected, value)
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw invalid(path, expected, value)
  }
  // TLS to the proxy itself (an https: proxy URL) is not supported: it would need a second set of
  // TLS options. The tunnel to an https target is end-to-end TLS whatever the proxy link is.
  if (url.protocol !== 'http:') throw invalid(path, `${expected} (only http: proxies are supported)`, value)
  if (url.hostname === '') throw invalid(path, expected, value)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw invalid(path, `${expected}, without a path, query or fragment`, value)
  }
  if (url.port === '0') throw invalid(path, `${expected}, with a port other than 0`, value)
  return url
}

function proxyHeaders(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (value === undefined) return out
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(path, 'a record of header names to values', value)
  for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
    if (!isToken(name)) throw invalid(path, 'valid header names', name)
    const key = name.toLowerCase()
    if (RESERVED_HEADERS.has(key)) throw new SafeFetchError('ERR_INVALID_OPTION', `${path}.${name} cannot be set: it frames or routes the request`)
    if (typeof raw !== 'string') throw invalid(`${path}.${name}`, 'a string', raw)
    // CR, LF and NUL would smuggle a header line into the CONNECT request (RFC 9110 §5.5).
    if (/[\r\n\0]/.test(raw)) throw invalid(`${path}.${name}`, 'a value without CR, LF or NUL', '(redacted)')
    out[key] = raw.trim()
  }
  return out
}

/** RFC 7617 Basic credentials from the URL's userinfo, percent-decoded, UTF-8 (RFC 7617 §2.1). */
function basicCredentials(url: URL, path: string): string {
  let user: string
  let password: string
  try {
    user = decodeURIComponent(url.username)
    password = decodeURIComponent(url.password)
  } catch {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${path} has malformed percent-encoding in its user:password`)
  }
  // RFC 7617 §2: a user-id containing a colon cannot be represented.
  if (user.includes(':')) throw new SafeFetchError('ERR_INVALID_OPTION', `${path} has a user name containing ":", which Basic credentials cannot carry`)
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}

/** `93.184.216.34:443` or `[2001:db8::1]:443`: the authority-form of RFC 9112 §3.2.3. */
export function ipAuthority(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`
}

/** The CONNECT request for a checked address; Host is the same authority (RFC 9110 §7.2). */
export function connectRequest(address: string, port: number, headers: Readonly<Record<string, string>>): string {
  const authority = ipAuthority(address, port)
  let text = `CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n`
  for (const name in headers) text += `${name}: ${headers[name]}\r\n`
  return `${text}\r\n`
}

interface ConnectAnswer {
  readonly status: number
  readonly reason: string
}

/** Parses the status line of the proxy's answer to CONNECT; undefined when it is not HTTP/1.x. */
export function parseConnectAnswer(head: string): ConnectAnswer | undefined {
  const end = head.indexOf('\r\n')
  const line = end < 0 ? head : head.slice(0, end)
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line)
  if (match === null) return undefined
  return { status: Number(match[1]), reason: match[2] ?? '' }
}

/** The error for a proxy that refuses CONNECT, or answers 407 to a forwarded request. */
export function proxyRefusedError(proxy: ResolvedProxy, what: string, answer: ConnectAnswer, url: string): SafeFetchError {
  const status = `${answer.status}${answer.reason === '' ? '' : ` ${answer.reason}`}`
  const advice =
    answer.status === 407
      ? proxy.headers['proxy-authorization'] === undefined
        ? ': proxy authentication required; put user:password in the proxy URL or set proxy.headers'
        : ': proxy authentication required; the proxy refused the credentials given'
      : ''
  return new SafeFetchError('ERR_NETWORK', `proxy ${proxy.display} answered ${status} to ${what}${advice}`, { url })
}

/**
 * RFC 9209 §2.3 error types after which the intermediary had not sent the request on: it could not
 * resolve, reach or connect to the next hop (dns_timeout §2.3.1 … destination_ip_unroutable §2.3.6,
 * connection_refused §2.3.7, connection_timeout §2.3.9, connection_limit_reached §2.3.12). Not
 * connection_terminated, the read/write timeouts or the http_* types: by then the request may have
 * reached the destination.
 */
const NOT_FORWARDED = new Set([
  'dns_timeout',
  'dns_error',
  'destination_not_found',
  'destination_unavailable',
  'destination_ip_prohibited',
  'destination_ip_unroutable',
  'connection_refused',
  'connection_timeout',
  'connection_limit_reached',
])

/**
 * The RFC 9209 error type when an error response carries a Proxy-Status saying an intermediary
 * could not connect to its next hop — so the request reached no origin, and may go to another
 * address; undefined otherwise.
 */
export function proxyConnectError(status: number, headers: ResponseHeaders): string | undefined {
  if (status < 500) return undefined
  const field = headers['proxy-status']
  if (field === undefined) return undefined
  for (const error of proxyStatusErrors(Array.isArray(field) ? field.join(',') : field)) if (NOT_FORWARDED.has(error)) return error
  return undefined
}

/**
 * The `error` parameter of each member of a Proxy-Status field value: a Structured Fields list
 * (RFC 8941 §3.1) of items (the intermediary's name, a token or string) with parameters. Parsed
 * leniently: a member that does not parse is skipped, not the whole field.
 */
export function proxyStatusErrors(value: string): string[] {
  const errors: string[] = []
  let segment = ''
  let param = 0 // index of the segment within its member: 0 is the item, 1… are parameters
  let quoted = false
  const flush = (): void => {
    if (param > 0) {
      const eq = segment.indexOf('=')
      if (eq > 0 && segment.slice(0, eq).trim() === 'error') {
        const v = segment.slice(eq + 1).trim()
        errors.push(v.startsWith('"') && v.endsWith('"') && v.length >= 2 ? v.slice(1, -1) : v)
      }
    }
    segment = ''
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (quoted) {
      segment += c
      if (c === '\\' && i + 1 < value.length) segment += value[++i]!
      else if (c === '"') quoted = false
      continue
    }
    if (c === '"') {
      quoted = true
      segment += c
    } else if (c === ';') {
      flush()
      param++
    } else if (c === ',') {
      flush()
      param = 0
    } else segment += c
  }
  flush()
  return errors
}
