/**
 * The fetch edge, inbound: (input, init) as fetch takes them become one OutboundRequest. The URL
 * is resolved against `baseUrl` and must stay under it; the method is a token and not one of the
 * Fetch Standard's forbidden ones; headers are the client's merged with the call's; the body is
 * prepared once (replayable or not); default Accept, Accept-Encoding and User-Agent are added.
 */
import { joinBaseUrl } from './base-url.js'
import { SafeFetchError } from './errors.js'
import { isToken } from './http.js'
import { ACCEPT_ENCODING } from './net/response-body.js'
import { parseUrl } from './net/url-policy.js'
import { redactUrlForError } from './observe/redact.js'
import { describeValue as describe } from './option-checks.js'
import { normalizeHeaders, type ResolvedCallOptions, type ResolvedClientOptions } from './options.js'
import { prepareBody, type PreparedBody } from './request-body.js'
import type { FetchInput, SafeRequestInit } from './request-input.js'
import type { OutboundRequest } from './types.js'

const SIMPLE_METHODS: Record<string, string> = { get: 'GET', head: 'HEAD', post: 'POST', put: 'PUT', delete: 'DELETE', options: 'OPTIONS', patch: 'PATCH' }
/**
 * The Fetch Standard's forbidden methods (§2.2.1): CONNECT would open a tunnel; TRACE echoes the
 * request back, credentials included (cross-site tracing); TRACK is IIS's TRACE.
 */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])

function normalizeMethod(method: unknown): string {
  if (method === undefined) return 'GET'
  if (typeof method !== 'string' || !isToken(method)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `method must be an HTTP method token, got ${describe(method)}`)
  }
  const normalized = SIMPLE_METHODS[method.toLowerCase()] ?? method
  if (FORBIDDEN_METHODS.has(normalized.toUpperCase())) throw new SafeFetchError('ERR_INVALID_OPTION', `method ${normalized} is not allowed`)
  return normalized
}

/** A string that names its own origin: a scheme, or a scheme-relative `//host` (also `\\host`). */
const ABSOLUTE = /^(?:[a-zA-Z][a-zA-Z\d+\-.]*:|[\\/]{2})/

export function resolveTarget(input: string | URL, options: ResolvedClientOptions): URL {
  const base = options.baseUrl
  if (base === undefined || input instanceof URL) return checkOrigin(parseUrl(input), options)
  const text = input.trim()
  if (ABSOLUTE.test(text)) return checkOrigin(parseUrl(text, base), options)
  // Join like axios/ky: baseUrl 'https://api/v1' + 'users' or '/users' → https://api/v1/users.
  // (WHATWG resolution would drop the base path for '/users', a classic surprise.) The result must
  // stay under the base path: '../admin' and its encodings are refused (base-url.ts).
  return checkOrigin(joinBaseUrl(base, text), options)
}

function checkOrigin(url: URL, options: ResolvedClientOptions): URL {
  const base = options.baseUrl
  if (base !== undefined && !options.allowAbsoluteUrls && url.origin !== base.origin) {
    const shown = redactUrlForError(url)
    throw new SafeFetchError(
      'ERR_URL_BLOCKED',
      `${shown} is outside baseUrl ${base.origin}; pass allowAbsoluteUrls: true to allow absolute URLs to other origins`,
      { url: shown },
    )
  }
  return url
}

/** The prepared form of "no body" (every GET): shared, never changed. */
const NO_BODY: PreparedBody = { body: null, contentType: undefined }

/**
 * Synchronous when the input is a URL and there is no body to read (every plain GET): no promise
 * is made then. May throw (bad input) rather than reject; the caller awaits it inside a try.
 */
export function buildRequest(
  input: FetchInput,
  init: SafeRequestInit | undefined,
  clientOptions: ResolvedClientOptions,
  options: ResolvedCallOptions,
): OutboundRequest | Promise<OutboundRequest> {
  if (typeof input === 'string' || input instanceof URL) {
    const url = resolveTarget(input, clientOptions)
    const method = normalizeMethod(init?.method)
    const headers = mergeHeaders(clientOptions.headers, init?.headers)
    const body = init?.body
    if (body === undefined || body === null) return outbound(url, method, headers, NO_BODY, options)
    return prepareBody(body, method).then((prepared) => outbound(url, method, headers, prepared, options))
  }
  return fromRequest(input, init, clientOptions, options)
}

async function fromRequest(
  input: FetchInput,
  init: SafeRequestInit | undefined,
  clientOptions: ResolvedClientOptions,
  options: ResolvedCallOptions,
): Promise<OutboundRequest> {
  if (!(input instanceof Request)) {
    throw new SafeFetchError('ERR_URL_INVALID', `input must be a URL string, a URL or a Request, got ${describe(input)}`)
  }
  const url = resolveTarget(input.url, clientOptions)
  const method = normalizeMethod(init?.method ?? input.method)
  // As in `new Request(request, init)`: init's headers replace the Request's, they are not merged.
  const headers =
    init?.headers !== undefined ? mergeHeaders(clientOptions.headers, init.headers) : mergeHeaders(clientOptions.headers, input.headers, 'request.headers')
  const body = init?.body !== undefined ? init.body : input.body === null ? null : new Uint8Array(await input.arrayBuffer())
  return outbound(url, method, headers, await prepareBody(body, method), options)
}

/** The request with the default fields added where the caller set none. */
function outbound(url: URL, method: string, headers: Record<string, string>, prepared: PreparedBody, options: ResolvedCallOptions): OutboundRequest {
  if (prepared.contentType !== undefined && headers['content-type'] === undefined) headers['content-type'] = prepared.contentType
  if (headers['accept'] === undefined) headers['accept'] = '*/*'
  if (options.decompress && headers['accept-encoding'] === undefined) headers['accept-encoding'] = ACCEPT_ENCODING
  if (headers['user-agent'] === undefined) headers['user-agent'] = 'safefetch'
  return { url, method, headers, body: prepared.body }
}

function mergeHeaders(base: Readonly<Record<string, string>>, extra: unknown, path = 'init.headers'): Record<string, string> {
  if (extra === undefined || extra === null) return { ...base }
  return { ...base, ...normalizeHeaders(extra, path) }
}
