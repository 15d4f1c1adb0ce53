/**
 * Redaction of secrets before anything leaves the process in a log line, a span attribute, an
 * error message or a diagnostics event. On by default: a URL or header that reaches a log
 * aggregator is readable by far more people than the credential was meant for.
 *
 * What is redacted:
 * - headers: authorization, proxy-authorization, cookie, set-cookie, plus any the user names;
 * - URL userinfo (RFC 3986 §3.2.1 deprecates `user:password@` precisely because it leaks);
 * - query values whose names look like secrets (exact names below, or a name with a secret-ish
 *   word as one of its parts, e.g. `githubToken`, `x-api-key`, `client_secret`);
 * - the fragment, which is never sent on the wire and holds OAuth implicit-flow tokens.
 */
import { SafeFetchError } from '../errors.js'

export const REDACTED = 'REDACTED'

export interface RedactOptions {
  /** Extra header names whose values are hidden (case-insensitive). Added to the defaults. */
  headers?: readonly string[]
  /** Extra query parameter names whose values are hidden (case-insensitive, exact). Added to the defaults. */
  queryParams?: readonly string[]
}

export interface RedactRules {
  /** `redact: false` turns redaction off (local debugging only). */
  readonly enabled: boolean
  /** Lower-case header names. */
  readonly headers: ReadonlySet<string>
  /** Lower-case query parameter names, matched exactly. */
  readonly queryParams: ReadonlySet<string>
  /** Decisions per raw parameter name: names repeat across calls, the word split need not. */
  readonly verdicts: Map<string, boolean>
}

export const DEFAULT_SECRET_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie']

/** Exact names (compared lower-case). Cloud pre-signed URL parameters carry the signature itself. */
export const DEFAULT_SECRET_QUERY_PARAMS: readonly string[] = [
  'token', 'key', 'api_key', 'apikey', 'api-key', 'sig', 'signature', 'password', 'passwd', 'pwd',
  'secret', 'code', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'session', 'sessionid',
  'session_id', 'auth', 'jwt', 'private_token',
  // AWS SigV4 query auth, Google Cloud Storage V4 signed URLs, Azure SAS (`sig` above).
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential',
]

/**
 * Words that make any name secret when they appear as one of its parts (split on `-`, `_`, `.`
 * and camelCase): `githubToken`, `db.password`, `X-Api-Key`. Over-redacting a `sort_key` is the
 * cheaper mistake.
 */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'token', 'secret', 'password', 'passwd', 'pwd', 'signature', 'sig', 'credential', 'credentials',
  'apikey', 'key', 'auth', 'jwt', 'session', 'sessionid',
])

/** Bound on the per-rules verdict cache: query names come from callers, so they are unbounded. */
const VERDICT_CACHE_MAX = 512

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

function nameList(value: unknown, path: string, isValid: (name: string) => boolean): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${path} must be an array of names, got ${typeof value}`)
  }
  return value.map((name: unknown, i) => {
    if (typeof name !== 'string' || name === '' || !isValid(name)) {
      throw new SafeFetchError('ERR_INVALID_OPTION', `${path}[${i}] must be a non-empty name, got ${JSON.stringify(name)}`)
    }
    return name.toLowerCase()
  })
}

/** Validates `redact` once per client. `false` disables redaction; anything else adds to the defaults. */
export function compileRedactRules(input: RedactOptions | false | undefined, path = 'redact'): RedactRules {
  if (input === false) {
    return { enabled: false, headers: new Set(), queryParams: new Set(), verdicts: new Map() }
  }
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${path} must be false or an object, got ${Array.isArray(input) ? 'an array' : String(input)}`)
  }
  const headers = nameList(input?.headers, `${path}.headers`, (n) => HEADER_NAME.test(n))
  const queryParams = nameList(input?.queryParams, `${path}.queryParams`, () => true)
  return {
    enabled: true,
    headers: new Set([...DEFAULT_SECRET_HEADERS, ...headers]),
    queryParams: new Set([...DEFAULT_SECRET_QUERY_PARAMS, ...queryParams]),
    verdicts: new Map(),
  }
}

export const DEFAULT_REDACT_RULES: RedactRules = compileRedactRules(undefined)

/** Splits `githubAPIToken`, `x-amz-date`, `db.password` into lower-case words. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
}

function decodeName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

/** Whether a query parameter (raw, as it appears in the URL) holds a secret under these rules. */
export function isSecretQueryParam(rawName: string, rules: RedactRules): boolean {
  const cached = rules.verdicts.get(rawName)
  if (cached !== undefined) return cached
  const name = decodeName(rawName)
  const lower = name.toLowerCase()
  let secret = rules.queryParams.has(lower)
  if (!secret) {
    for (const word of nameWords(name)) {
      if (SECRET_WORDS.has(word)) {
        secret = true
        break
      }
    }
  }
  if (rules.verdicts.size >= VERDICT_CACHE_MAX) rules.verdicts.clear()
  rules.verdicts.set(rawName, secret)
  return secret
}

export function isSecretHeader(name: string, rules: RedactRules): boolean {
  return rules.enabled && rules.headers.has(name.toLowerCase())
}

/** Rewrites a raw `?a=1&b=2` query, replacing secret values. Keeps non-secret bytes as they were. */
function redactSearch(search: string, rules: RedactRules): string {
  let out = '?'
  let start = 1
  while (start <= search.length) {
    let end = search.indexOf('&', start)
    if (end === -1) end = search.length
    const pair = search.slice(start, end)
    const eq = pair.indexOf('=')
    if (start > 1) out += '&'
    out += eq !== -1 && isSecretQueryParam(pair.slice(0, eq), rules) ? `${pair.slice(0, eq)}=${REDACTED}` : pair
    start = end + 1
  }
  return out
}

/**
 * The URL as it may be logged. Fast when there is nothing to hide (no userinfo, no query, no
 * fragment): `url.href` as is, no parsing.
 */
export function redactUrl(url: URL, rules: RedactRules = DEFAULT_REDACT_RULES): string {
  if (!rules.enabled) return url.href
  const search = url.search
  const hash = url.hash
  const userinfo = url.username !== '' || url.password !== ''
  if (!userinfo && search === '') {
    return hash === '' ? url.href : url.href.slice(0, -hash.length)
  }
  let out = url.protocol + '//'
  if (userinfo) out += url.password === '' ? `${REDACTED}@` : `${REDACTED}:${REDACTED}@`
  out += url.host + url.pathname
  if (search !== '') out += redactSearch(search, rules)
  return out
}

/**
 * For URL strings of unknown origin (an attempt record, a Location header): parse and redact;
 * when the string does not parse, keep only what precedes the query so nothing secret survives.
 */
export function redactUrlString(text: string, rules: RedactRules = DEFAULT_REDACT_RULES): string {
  if (!rules.enabled) return text
  if (!text.includes('?') && !text.includes('@') && !text.includes('#')) return text
  try {
    return redactUrl(new URL(text), rules)
  } catch {
    const cut = text.search(/[?#]/)
    const head = cut === -1 ? text : text.slice(0, cut)
    return head.includes('@') ? REDACTED : head
  }
}

/** A copy of the headers with secret values replaced; names are kept so the log says they were sent. */
export function redactHeaders<V extends string | readonly string[]>(
  headers: Readonly<Record<string, V>>,
  rules: RedactRules = DEFAULT_REDACT_RULES,
): Record<string, V | string> {
  const out: Record<string, V | string> = {}
  for (const name of Object.keys(headers)) {
    out[name] = isSecretHeader(name, rules) ? REDACTED : headers[name]!
  }
  return out
}

/**
 * The secret strings a URL carries (userinfo, secret query values, raw and decoded), so that free
 * text built by code we do not control (an error message, a cause) can be scrubbed of them.
 * Error path only: it parses the query.
 */
export function secretsOf(url: URL, rules: RedactRules = DEFAULT_REDACT_RULES): string[] {
  if (!rules.enabled) return []
  const found: string[] = []
  const add = (value: string): void => {
    // Very short values would scrub ordinary words out of messages; they are redacted in URLs anyway.
    if (value.length < 3) return
    found.push(value)
    try {
      const decoded = decodeURIComponent(value.replace(/\+/g, ' '))
      if (decoded !== value) found.push(decoded)
    } catch {
      // Not percent-encoded text: the raw form is enough.
    }
  }
  if (url.username !== '') add(url.username)
  if (url.password !== '') add(url.password)
  const search = url.search
  if (search.length > 1) {
    for (const pair of search.slice(1).split('&')) {
      const eq = pair.indexOf('=')
      if (eq !== -1 && isSecretQueryParam(pair.slice(0, eq), rules)) add(pair.slice(eq + 1))
    }
  }
  if (url.hash.length > 1) add(url.hash.slice(1))
  return found
}

/** Replaces every occurrence of the given secrets in free text. Longest first, so no partial remains. */
export function scrubText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return text
  const sorted = secrets.length === 1 ? secrets : [...secrets].sort((a, b) => b.length - a.length)
  let out = text
  for (const secret of sorted) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  }
  return out
}
