/**
 * Joins a relative request path to the client's `baseUrl` and keeps it under the base path.
 *
 * Why: code builds paths from input (`client.fetch(`users/${id}`)`); with base `…/v1/users/`, an
 * id of `../admin`, `%2e%2e/%2e%2e/admin` or `42/../../../admin` resolves outside the API prefix
 * the client was made for. WHATWG URL resolution removes dot segments (RFC 3986 §5.2.4), and it
 * counts `%2e` as a dot (URL Standard, "single-dot / double-dot URL path segment") and `\` as `/`
 * in http(s) URLs — so the result is checked after that resolution, not by looking at the input.
 *
 * A second check covers what servers and reverse proxies do after us: some decode `%2F` and `%5C`
 * into separators before normalising (the classic `..%2F` traversal), decode twice (`%252e`),
 * accept overlong UTF-8 dots (`%c0%ae`, IIS), fold full-width forms (`．．／`, NFKC), or drop
 * `;params` from a segment before normalising (Tomcat's `..;/`). The rest of the path after the base
 * is decoded that way and walked; a walk that climbs above its start is refused too.
 */
import { SafeFetchError } from './errors.js'
import { parseUrl } from './net/url-policy.js'
import { redactUrlForError } from './observe/redact.js'

/** How many rounds of percent-decoding the server-side view undoes (double encoding and one more). */
const DECODE_ROUNDS = 3

/**
 * `base` + relative `text` (leading slashes dropped: `'/users'` joins under the base path like axios
 * and ky do, rather than replacing it as WHATWG resolution would). Throws ERR_URL_BLOCKED when the
 * result leaves the base path.
 */
export function joinBaseUrl(base: URL, text: string): URL {
  const basePath = base.pathname.endsWith('/') ? base.pathname : `${base.pathname}/`
  const relative = text.replace(/^[\\/]+/, '')
  const joined = parseUrl(`${base.origin}${basePath}${relative}`)
  const path = joined.pathname
  // A path equal to the base without its slash (`/v1/users` for base `/v1/users/`) is the base itself.
  const inside = path.startsWith(basePath) || path === basePath.slice(0, -1)
  if (!inside || climbs(path.slice(basePath.length))) {
    const url = redactUrlForError(joined)
    throw new SafeFetchError(
      'ERR_URL_BLOCKED',
      `${url} is outside the baseUrl path ${basePath}: a relative request URL must stay under it (dot segments count, also percent-encoded, double-encoded or with encoded slashes)`,
      { url },
    )
  }
  return joined
}

/** Whether `rest` (the path after the base) climbs above its start once decoded the way servers may decode it. */
function climbs(rest: string): boolean {
  // Fast path: nothing encoded, no backslash, no full-width forms: WHATWG already removed every dot segment.
  if (!/[%\\;\uff0e\uff0f\uff3c]/.test(rest)) return false
  let text = rest
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    const decoded = decodeOnce(text)
    if (decoded === text) break
    text = decoded
  }
  let depth = 0
  for (const raw of text.normalize('NFKC').split(/[\\/]/)) {
    // Tomcat/Spring drop `;params` before normalising, so `..;x` is `..`.
    const semicolon = raw.indexOf(';')
    const segment = semicolon < 0 ? raw : raw.slice(0, semicolon)
    if (segment === '..') {
      if (--depth < 0) return true
    } else if (segment !== '.' && segment !== '') depth++
  }
  return false
}

/** One round of percent-decoding, as UTF-8 when it is valid, byte by byte otherwise; overlong dots and slashes too. */
function decodeOnce(text: string): string {
  const folded = text
    .replace(/%c0%ae|%e0%80%ae/gi, '.')
    .replace(/%c0%af|%e0%80%af/gi, '/')
    .replace(/%c1%9c/gi, '\\')
  try {
    return decodeURIComponent(folded)
  } catch {
    return folded.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  }
}
