/**
 * Parsing of the header fields caching decisions read: Cache-Control (RFC 9111 §5.2), Age (§5.1),
 * delta-seconds (§1.2.2) and comma-separated lists (Vary, Connection; RFC 9110 §5.6.1).
 *
 * Why not http-cache-semantics' parser: it keys directives case-sensitively (`Max-Age=60` is lost,
 * though §5.2 says "Cache directives are case-insensitive"), splits quoted strings on commas, and
 * lets the last duplicate win.
 */

/** Directive name (lower-case) → its argument, or `true` for a directive without one. */
export type Directives = Readonly<Record<string, string | true>>

const EMPTY: Directives = Object.freeze(Object.create(null) as Record<string, string | true>)

/** The last field value parsed and its (frozen) directives: see parseCacheControl. */
let lastText: string | undefined
let lastParsed: Directives = EMPTY

/** Joins a header that undici delivered as an array (the field line was repeated). */
export function fieldValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value.join(', ')
}

/**
 * Parses a Cache-Control field value. Names are lower-cased (§5.2: case-insensitive); a
 * quoted-string argument is unquoted (commas inside it do not split); on duplicates the first one
 * wins (§4.2.1 allows "either the first occurrence should be used or the response should be
 * considered stale"). Malformed parts are skipped, never thrown on.
 */
export function parseCacheControl(value: string | readonly string[] | undefined): Directives {
  const text = fieldValue(value)
  if (text === undefined || text === '') return EMPTY
  // A miss reads the same field 4–5 times (storability, freshness, withheld fields...) and most
  // responses of an API carry the same value: parsing costs ~1 µs (a dictionary-mode object per
  // call), comparing the string a few ns. The result is frozen, so sharing it is safe.
  if (text === lastText) return lastParsed
  const out = Object.create(null) as Record<string, string | true>
  const n = text.length
  let i = 0
  while (i < n) {
    const c = text.charCodeAt(i)
    if (c === 44 /* , */ || c === 32 || c === 9) {
      i++
      continue
    }
    const start = i
    while (i < n && text.charCodeAt(i) !== 61 /* = */ && text.charCodeAt(i) !== 44) i++
    let name = text.slice(start, i)
    let arg: string | true = true
    // RFC 9111 §5.2: `token [ "=" ( token / quoted-string ) ]` — no whitespace around "=".
    // `max-age =3600` and `max-age= 3600` are not the max-age directive (malformed: skipped).
    let malformed = false
    if (i < n && text.charCodeAt(i) === 61) {
      const last = name.charCodeAt(name.length - 1)
      const next = text.charCodeAt(i + 1)
      if (last === 32 || last === 9 || next === 32 || next === 9) malformed = true
    } else {
      name = name.trimEnd()
    }
    name = name.toLowerCase()
    if (i < n && text.charCodeAt(i) === 61) {
      i++
      if (i < n && text.charCodeAt(i) === 34 /* " */) {
        // quoted-string, RFC 9110 §5.6.4: a backslash escapes the next character.
        i++
        let quoted = ''
        while (i < n && text.charCodeAt(i) !== 34) {
          if (text.charCodeAt(i) === 92 /* \ */ && i + 1 < n) i++
          quoted += text[i]
          i++
        }
        arg = quoted
      } else {
        const argStart = i
        while (i < n && text.charCodeAt(i) !== 44) i++
        arg = text.slice(argStart, i).trim()
      }
    }
    // Skip anything after the argument up to the next comma (junk after a closing quote).
    while (i < n && text.charCodeAt(i) !== 44) i++
    if (!malformed && name !== '' && !(name in out)) out[name] = arg
  }
  lastText = text
  lastParsed = Object.freeze(out)
  return lastParsed
}

/** The largest delta-seconds a cache must represent, RFC 9111 §1.2.2. */
const MAX_DELTA_SECONDS = 2147483648

const DIGITS = /^[0-9]+$/

/**
 * A delta-seconds argument (RFC 9111 §1.2.2: `1*DIGIT`) in seconds, or undefined when absent or
 * not a non-negative integer. Values past 2^31 are clamped to 2^31, as §1.2.2 requires.
 */
export function deltaSeconds(arg: string | true | undefined): number | undefined {
  if (arg === undefined || arg === true || !DIGITS.test(arg)) return undefined
  const n = Number(arg)
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n
}

/**
 * The Age field in seconds, or undefined to ignore it. RFC 9111 §5.1: use the first member of a
 * list; "If the field value ... is invalid (e.g., it contains something other than a non-negative
 * integer), a cache SHOULD ignore the field." (http-cache-semantics' parseInt reads `-5` as -5 and
 * `12abc` as 12.)
 */
export function parseAge(value: string | readonly string[] | undefined): number | undefined {
  const text = typeof value === 'string' ? value : value?.[0]
  if (text === undefined) return undefined
  const comma = text.indexOf(',')
  return deltaSeconds((comma === -1 ? text : text.slice(0, comma)).trim())
}

/**
 * A comma-separated list of tokens (RFC 9110 §5.6.1), lower-cased, empty members dropped — so odd
 * forms such as `Vary: , *` or `Connection: ,,close` parse instead of throwing.
 */
export function parseTokenList(value: string | readonly string[] | undefined): string[] {
  const text = fieldValue(value)
  if (text === undefined) return []
  const out: string[] = []
  for (const part of text.split(',')) {
    const token = part.trim().toLowerCase()
    if (token !== '' && !out.includes(token)) out.push(token)
  }
  return out
}
