/**
 * Redaction of secrets before anything leaves the process in a log line, a span attribute, an
 * error message or a diagnostics event. On by default: a URL or header that reaches a log
 * aggregator is readable by far more people than the credential was meant for.
 *
 * What is redacted:
 * - headers: authorization, proxy-authorization, cookie, set-cookie, plus any the user names;
 * - URL userinfo (RFC 3986 §3.2.1 deprecates `user:password@` precisely because it leaks);
 * - query values whose names look like secrets (see isSecretQueryParam), `&`- or `;`-separated;
 * - path segments that carry a credential: well-known webhook and bot-token shapes
 *   (redact-paths.ts) plus the user's `redact.paths` rules;
 * - the fragment, which is never sent on the wire and holds OAuth implicit-flow tokens.
 * Text that is not a URL at all (input that failed to parse) goes through redactUrlText, a
 * conservative textual rule.
 */
import { hash } from 'node:crypto'
import { compilePathRules, DEFAULT_PATH_RULES, pathSecrets, redactPath, type CompiledPathRule, type RedactPathRule } from './redact-paths.js'

export type { RedactPathRule } from './redact-paths.js'
import { checkKnownKeys, invalidOption, isPlainObject } from '../option-checks.js'

import { REDACTED, redactUrlText } from './redact-text.js'
import { isToken } from '../http.js'

export { REDACTED, redactUrlText }

export interface RedactOptions {
  /** Extra header names whose values are hidden (case-insensitive). Added to the defaults. */
  headers?: readonly string[]
  /** Extra query parameter names whose values are hidden (case-insensitive, exact). Added to the defaults. */
  queryParams?: readonly string[]
  /**
   * Extra path rules, applied after the defaults (docs/observability.md, "Redaction"). A RegExp is
   * matched against the raw pathname (percent-encoded, as sent); the text of each capture group —
   * or of the whole match when it has none — is replaced by REDACTED, at every match. A function
   * gets the raw pathname and returns the pathname to show.
   */
  paths?: readonly RedactPathRule[]
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
  /** Path rules: the defaults (well-known webhook and bot-token shapes), then the user's. */
  readonly paths: readonly CompiledPathRule[]
}

/** Credentials in standard fields (RFC 9110 §11.6, RFC 6265) and in the common API-key headers. */
const DEFAULT_SECRET_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
]

/**
 * Names that are secret as a whole, compared after normalising (normalizeName: lower case, no
 * `-`, `_`, `.` or spaces), so `api_key`, `Api-Key` and `apiKey` are one entry. Pre-signed URLs
 * carry their signature (and session credentials) in the query:
 * - AWS SigV4 query auth: X-Amz-Signature, X-Amz-Credential (access key id), X-Amz-Security-Token
 *   (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); SigV2's
 *   `Signature` and `AWSAccessKeyId` are caught by the word rule below;
 * - Google Cloud Storage V4 signed URLs: X-Goog-Signature, X-Goog-Credential
 *   (https://cloud.google.com/storage/docs/authentication/signatures); V2's `Signature`;
 * - Azure SAS: `sig` only (https://learn.microsoft.com/rest/api/storageservices/create-service-sas):
 *   `sv` (version), `se`/`st` (expiry/start), `sp`, `sr`, `spr`, `sip` describe the grant and are
 *   kept, so a log still says which grant expired;
 * - OAuth 2.0: code, access/refresh/id tokens, client_secret, client_assertion (RFC 7521 §4.2),
 *   code_verifier (RFC 7636); SAML's SAMLResponse carries a signed bearer assertion.
 */
const DEFAULT_SECRET_QUERY_PARAMS: readonly string[] = [
  'token',
  'key',
  'api_key',
  'sig',
  'signature',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'secret',
  'code',
  'access_token',
  'refresh_token',
  'id_token',
  'auth_token',
  'api_token',
  'client_secret',
  'client_assertion',
  'code_verifier',
  'samlresponse',
  'session',
  'session_id',
  'auth',
  'jwt',
  'private_token',
  'hmac',
  'otp',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]

/**
 * Words that make any name secret when they appear as one of its parts (split on `-`, `_`, `.`,
 * `;`, spaces and camelCase): `githubToken`, `db.password`, `X-Api-Key`, `userPass`. Over-redacting
 * a `sort_key` is the cheaper mistake.
 */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'token',
  'secret',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'signature',
  'sig',
  'credential',
  'credentials',
  'apikey',
  'key',
  'auth',
  'jwt',
  'session',
  'sessionid',
  'hmac',
  'assertion',
  'otp',
])

/**
 * For names written without separators (`accesstoken`, `apitoken`, `mysecretkey`): endings that
 * make the normalised name secret. Only endings: `token` as a prefix would catch `tokenizer`, and
 * `key` as an ending would catch `monkey`.
 */
const SECRET_SUFFIXES: readonly string[] = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'signature',
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'sessionid',
  'credential',
  'credentials',
  'hmac',
  'jwt',
]

/** Parts that make a name secret wherever they appear in it (`passwordhash`, `apikeyvalue`). */
const SECRET_INFIXES: readonly string[] = ['password', 'passwd', 'passphrase', 'apikey', 'accesstoken', 'refreshtoken', 'privatekey', 'credential']

/** Bound on the per-rules verdict cache: query names come from callers, so they are unbounded. */
const VERDICT_CACHE_MAX = 512

/** The keys of `redact`: a new rule is added here and everything else is refused. */
const REDACT_KEYS = ['headers', 'queryParams', 'paths'] as const

function nameList(value: unknown, path: string, isValid: (name: string) => boolean): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalidOption(path, 'must be an array of names', value)
  return value.map((name: unknown, i) => {
    if (typeof name !== 'string' || name === '' || !isValid(name)) throw invalidOption(`${path}[${i}]`, 'must be a non-empty name', name)
    return name.toLowerCase()
  })
}

/** Validates `redact` once per client. `false` disables redaction; anything else adds to the defaults. */
export function compileRedactRules(input: RedactOptions | false | undefined, path = 'redact'): RedactRules {
  if (input === false) {
    return { enabled: false, headers: new Set(), queryParams: new Set(), verdicts: new Map(), paths: [] }
  }
  if (input !== undefined && !isPlainObject(input)) throw invalidOption(path, 'must be false or an object', input)
  if (input !== undefined) checkKnownKeys(path, input as Record<string, unknown>, REDACT_KEYS)
  const headers = nameList(input?.headers, `${path}.headers`, (n) => isToken(n))
  const queryParams = nameList(input?.queryParams, `${path}.queryParams`, () => true)
  const paths = input?.paths === undefined ? [] : compilePathRules(input.paths, `${path}.paths`)
  return {
    enabled: true,
    headers: new Set([...DEFAULT_SECRET_HEADERS, ...headers]),
    queryParams: new Set([...DEFAULT_SECRET_QUERY_PARAMS, ...queryParams].map(normalizeName)),
    verdicts: new Map(),
    paths: [...DEFAULT_PATH_RULES, ...paths],
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

/** `X-Amz-Signature`, `x_amz.signature` and `xAmzSignature` all become `xamzsignature`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.\s]+/g, '')
}

function decodeName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

function looksSecret(name: string, rules: RedactRules): boolean {
  const normal = normalizeName(name)
  if (rules.queryParams.has(normal)) return true
  for (const word of nameWords(name)) if (SECRET_WORDS.has(word)) return true
  for (const suffix of SECRET_SUFFIXES) if (normal.endsWith(suffix)) return true
  for (const part of SECRET_INFIXES) if (normal.includes(part)) return true
  return false
}

/**
 * Whether a query parameter (raw, as it appears in the URL) holds a secret under these rules: its
 * percent-decoded, normalised name is a known secret name (or a `redact.queryParams` name), has a
 * secret word as one of its parts, or ends with a secret word (`accesstoken`).
 */
export function isSecretQueryParam(rawName: string, rules: RedactRules): boolean {
  const cached = rules.verdicts.get(rawName)
  if (cached !== undefined) return cached
  const secret = looksSecret(decodeName(rawName), rules)
  if (rules.verdicts.size >= VERDICT_CACHE_MAX) rules.verdicts.clear()
  rules.verdicts.set(rawName, secret)
  return secret
}

export function isSecretHeader(name: string, rules: RedactRules): boolean {
  return rules.enabled && rules.headers.has(name.toLowerCase())
}

/** Index of the next `&` or `;` at or after `from` (both separate parameters for some servers), or `end`. */
function nextSeparator(search: string, from: number): number {
  for (let i = from; i < search.length; i++) {
    const c = search.charCodeAt(i)
    if (c === 38 || c === 59) return i
  }
  return search.length
}

/**
 * Rewrites a raw `?a=1&b=2;c=3` query, replacing secret values. Keeps non-secret bytes and the
 * separators as they were.
 */
function redactSearch(search: string, rules: RedactRules): string {
  let out = '?'
  let start = 1
  while (start <= search.length) {
    const end = nextSeparator(search, start)
    const pair = search.slice(start, end)
    const eq = pair.indexOf('=')
    out += eq !== -1 && isSecretQueryParam(pair.slice(0, eq), rules) ? `${pair.slice(0, eq)}=${REDACTED}` : pair
    if (end < search.length) out += search[end]
    start = end + 1
  }
  return out
}

/**
 * The URL as it may be logged. Fast when there is nothing to hide (no userinfo, no query, no
 * fragment, no path rule matching): `url.href` as is, no parsing.
 */
export function redactUrl(url: URL, rules: RedactRules = DEFAULT_REDACT_RULES): string {
  if (!rules.enabled) return url.href
  const search = url.search
  const hash = url.hash
  const userinfo = url.username !== '' || url.password !== ''
  const pathname = url.pathname
  const path = redactPath(pathname, rules.paths)
  if (!userinfo && search === '' && path === pathname) {
    return hash === '' ? url.href : url.href.slice(0, -hash.length)
  }
  let out = url.protocol + '//'
  if (userinfo) out += url.password === '' ? `${REDACTED}@` : `${REDACTED}:${REDACTED}@`
  out += url.host + path
  if (search !== '') out += redactSearch(search, rules)
  return out
}

/**
 * Log-safe URL text for error messages: no userinfo, no fragment, every query value replaced by
 * REDACTED (stricter than redactUrl: error text is built before the client's rules can say which
 * query names are harmless, and it travels further than a log line), and the path rules of `rules` (by default the well-known webhook and bot-token shapes,
 * observe/redact-paths.ts) applied to the path.
 */
export function redactUrlForError(url: URL, rules: RedactRules = DEFAULT_REDACT_RULES): string {
  // `data:`/`javascript:` have no authority; everything else prints as scheme://host/path.
  const authority = url.host !== '' || url.href.startsWith('//', url.protocol.length)
  const path = rules.enabled ? redactPath(url.pathname, rules.paths) : url.pathname
  let out = authority ? `${url.protocol}//${url.host}${path}` : `${url.protocol}${path.slice(0, 64)}`
  const search = url.search
  if (search.length > 1) out += `?${redactWholeQuery(search.slice(1))}`
  return out
}

function redactWholeQuery(query: string): string {
  let out = ''
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    // A bare `?token` is as secret as `?key=token`.
    out += (out === '' ? '' : '&') + (eq < 0 ? REDACTED : `${part.slice(0, eq)}=${REDACTED}`)
  }
  return out
}

/**
 * For URL strings of unknown origin (an attempt record, a Location header): parse and redact;
 * when the string does not parse, the textual rule of redactUrlText.
 */
export function redactUrlString(text: string, rules: RedactRules = DEFAULT_REDACT_RULES): string {
  if (!rules.enabled) return text
  try {
    return redactUrl(new URL(text), rules)
  } catch {
    return redactUrlText(text, rules)
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

/** Very short values would scrub ordinary words out of messages; they are redacted in URLs anyway. */
const SCRUB_MIN_LENGTH = 3

/** Adds a secret in its raw and percent-decoded forms. */
function addSecret(found: string[], value: string): void {
  if (value.length < SCRUB_MIN_LENGTH) return
  found.push(value)
  try {
    const decoded = decodeURIComponent(value.replace(/\+/g, ' '))
    if (decoded !== value && decoded.length >= SCRUB_MIN_LENGTH) found.push(decoded)
  } catch {
    // Not percent-encoded text: the raw form is enough.
  }
}

/**
 * The secret strings a URL carries (userinfo, secret query values, secret path parts, the
 * fragment; raw and decoded), so that free text built by code we do not control (an error
 * message, a cause) can be scrubbed of them. Error path only: it parses the query.
 */
export function secretsOf(url: URL, rules: RedactRules = DEFAULT_REDACT_RULES, found: string[] = []): string[] {
  if (!rules.enabled) return found
  if (url.username !== '') addSecret(found, url.username)
  if (url.password !== '') addSecret(found, url.password)
  const search = url.search
  for (let start = 1; start < search.length;) {
    const end = nextSeparator(search, start)
    const pair = search.slice(start, end)
    const eq = pair.indexOf('=')
    if (eq !== -1 && isSecretQueryParam(pair.slice(0, eq), rules)) addSecret(found, pair.slice(eq + 1))
    start = end + 1
  }
  for (const part of pathSecrets(url.pathname, rules.paths)) addSecret(found, part)
  if (url.hash.length > 1) addSecret(found, url.hash.slice(1))
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

/**
 * The secret values among request headers, for scrubbing free text: each secret header's whole
 * value and its parts (the credential after an auth scheme, each cookie's value).
 */
export function headerSecrets(headers: Readonly<Record<string, string>>, rules: RedactRules, found: string[] = []): string[] {
  if (!rules.enabled) return found
  for (const name of Object.keys(headers)) {
    if (!isSecretHeader(name, rules)) continue
    const value = headers[name]!
    addSecret(found, value)
    const space = value.indexOf(' ')
    if (space !== -1) addSecret(found, value.slice(space + 1).trim())
    if (value.includes('=')) {
      for (const pair of value.split(';')) {
        const eq = pair.indexOf('=')
        if (eq !== -1) addSecret(found, pair.slice(eq + 1).trim())
      }
    }
  }
  return found
}

/** Properties of an error object that hold text a logger or inspector prints. */
const MAX_CAUSE_DEPTH = 8

/**
 * Removes the given secrets, in place, from an error and its `cause` chain (and AggregateError's
 * `errors`): `message`, `stack` and any other own string property (Node's URL errors carry
 * `input` and `base`; ours carry `url`). In place because the caller receives this very object
 * (and may log it with its own logger). Failure path only.
 */
export function scrubError(error: unknown, secrets: readonly string[]): void {
  if (secrets.length === 0) return
  const sorted = [...secrets].sort((a, b) => b.length - a.length)
  const seen = new Set<object>()
  const visit = (value: unknown, depth: number): void => {
    if (value === null || typeof value !== 'object' || depth > MAX_CAUSE_DEPTH || seen.has(value)) return
    seen.add(value)
    const target = value as Record<string, unknown>
    for (const key of Object.getOwnPropertyNames(value)) {
      let current: unknown
      try {
        current = target[key]
      } catch {
        continue
      }
      if (typeof current === 'string') {
        const scrubbed = scrubText(current, sorted)
        if (scrubbed !== current) {
          try {
            Object.defineProperty(value, key, { value: scrubbed })
          } catch {
            // A frozen or non-configurable property: nothing we can do without replacing the object.
          }
        }
      } else if (key === 'cause' || key === 'errors') {
        if (Array.isArray(current)) for (const item of current) visit(item, depth + 1)
        else visit(current, depth + 1)
      }
    }
  }
  visit(error, 0)
}

/**
 * A cache store key as it may be logged. Keys hold the whole target URI (`v1|s|GET|<url>#…`),
 * query and path secrets included; the log gets the method, the origin and a digest of the key,
 * enough to find the entry (hash the key you suspect and compare) without showing it.
 */
export function describeStoreKey(key: string): { method: string | undefined; origin: string | undefined; keyHash: string } {
  const keyHash = hash('sha256', key, 'base64url').slice(0, 22)
  const parts = key.split('|', 4)
  let origin: string | undefined
  const rest = key.slice(parts.slice(0, 3).join('|').length + 1)
  try {
    origin = parts.length === 4 ? new URL(rest).origin : undefined
  } catch {
    origin = undefined
  }
  return { method: parts.length === 4 ? parts[2] : undefined, origin: origin === 'null' ? undefined : origin, keyHash }
}

/**
 * Store client errors carry the command they failed on: ioredis sets `err.command = { name, args }`
 * on reply and abort errors, and `args` holds the store key (the whole URL, query secrets included)
 * and the entry (body, headers). Keeps only the command name, in place, along the cause chain,
 * before such an error is logged or handed on.
 */
export function withoutStoreCommand(error: unknown): void {
  let current: unknown = error
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current !== null && typeof current === 'object'; depth++) {
    const command = (current as { command?: unknown }).command
    if (command !== null && typeof command === 'object' && 'args' in command) {
      try {
        Object.defineProperty(current, 'command', { value: { name: (command as { name?: unknown }).name }, enumerable: true })
      } catch {
        // Not configurable: leave it; the cache logs only once per outage anyway.
      }
    }
    current = (current as { cause?: unknown }).cause
  }
}
