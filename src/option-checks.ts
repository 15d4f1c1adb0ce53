/**
 * The one module of option checks: every resolver (client, call, retry, breaker, cache, policy,
 * proxy, observability) throws ERR_INVALID_OPTION through these, with the option path and the bad
 * value rendered one way, e.g. `retry.limit must be a non-negative integer, got -1` or
 * `timeout.totl is not a known option; did you mean timeout.total?`.
 */
import { SafeFetchError } from './errors.js'
import { redactUrlText } from './observe/redact-text.js'

/** `scheme:` or `//` at the start: shown through the textual URL redaction rule. */
const URL_LIKE = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|\/\/)/

/**
 * Renders a bad value for an error message, the one way every option error shows it: strings
 * quoted (cut at 80 characters, URL userinfo and query values redacted), plain objects and arrays as short JSON,
 * other objects by their class (`a Console`), the rest as is.
 */
export function describeValue(value: unknown): string {
  // A URL-looking value (baseUrl, a proxy or Redis URL) may carry user:password@ or query secrets.
  if (typeof value === 'string') {
    const shown = URL_LIKE.test(value) ? redactUrlText(value) : value
    return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 80)}…` : shown)
  }
  if (value instanceof URL) return JSON.stringify(redactUrlText(value.href))
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return value.toString()
  if (value !== null && typeof value === 'object') {
    if (!Array.isArray(value) && !isPlainObject(value)) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object'
    }
    try {
      const json = JSON.stringify(value)
      return json.length > 80 ? `${json.slice(0, 77)}...` : json
    } catch {
      return Array.isArray(value) ? 'an array' : 'an object'
    }
  }
  return String(value)
}

/** Option names whose values are secrets: their bad values are described, never shown. */
const SECRET_OPTION = /(?:key|passphrase|password|secret|token|pfx|cert|ca|credential)s?(?:\[\d+\])?$/i

/** `<path> must be …, got <value>`: `expected` starts with the verb (`must be a positive integer`). */
export function invalidOption(path: string, expected: string, value: unknown): SafeFetchError {
  const hide = SECRET_OPTION.test(path) && (typeof value === 'string' || (typeof value === 'object' && value !== null))
  const shown = hide ? `${describeType(value)} (value not shown)` : describeValue(value)
  return new SafeFetchError('ERR_INVALID_OPTION', `${path} ${expected}, got ${shown}`)
}

function describeType(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters`
  if (Array.isArray(value)) return 'an array'
  return isPlainObject(value) ? 'an object' : describeValue(value)
}

/** An ERR_INVALID_OPTION with a message already written (`<path> must be …, got ${describeValue(v)}`). */
export function optionError(message: string): SafeFetchError {
  return new SafeFetchError('ERR_INVALID_OPTION', message)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** The known option a typo most likely meant: same letters in another case, a prefix, or a short edit away. */
function closestOption(key: string, known: Iterable<string>): string | undefined {
  const lower = key.toLowerCase()
  let best: string | undefined
  const limit = Math.min(3, Math.max(1, Math.floor(key.length / 3)))
  let bestDistance = limit + 1
  for (const candidate of known) {
    const c = candidate.toLowerCase()
    if (c === lower) return candidate
    const edit = editDistance(lower, c)
    // A prefix (`window` for `windowMs`) counts as close, but never closer than a real short edit.
    const d = lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c)) ? Math.min(edit, limit) : edit
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** Edits (insert, delete, substitute, swap two neighbours) from a to b: optimal string alignment distance. */
function editDistance(a: string, b: string): number {
  let before: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1)
      row[j] = d
    }
    before = prev
    prev = row
  }
  return prev[b.length]!
}

/** Joins an option group's path and a key: `timeout` + `total` → `timeout.total`; the top level has path ''. */
function optionPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

/** `timeout.totl is not a known option; did you mean timeout.total?` (or the known list when nothing is close). */
export function unknownOption(path: string, key: string, known: Iterable<string>, note?: string): SafeFetchError {
  const hint = closestOption(key, known)
  const tail = hint !== undefined ? `; did you mean ${optionPath(path, hint)}?` : ` (known: ${[...known].join(', ')})`
  return new SafeFetchError('ERR_INVALID_OPTION', `${optionPath(path, key)} is not a known option${tail}${note === undefined ? '' : ` ${note}`}`)
}

/**
 * Refuses keys we do not know, so a typo (`retry.limt`) fails loudly instead of being ignored.
 * Each option group passes its one list of keys; a new option is added to that list.
 */
export function checkKnownKeys(path: string, value: Record<string, unknown>, known: readonly string[] | ReadonlySet<string>): void {
  const has = Array.isArray(known) ? (key: string) => (known as readonly string[]).includes(key) : (key: string) => (known as ReadonlySet<string>).has(key)
  for (const key of Object.keys(value)) {
    if (!has(key)) throw unknownOption(path, key, known)
  }
}

export function checkNonNegativeInteger(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidOption(path, 'must be a non-negative integer', value)
  }
  return value
}

export function checkPositiveInteger(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidOption(path, 'must be a positive integer', value)
  }
  return value
}

/** Milliseconds: a finite number >= 0 (or `Infinity` when `allowInfinity`). */
export function checkDuration(path: string, value: unknown, allowInfinity = false): number {
  const ok = typeof value === 'number' && value >= 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
  if (!ok) {
    const expected = allowInfinity ? 'must be a number of milliseconds >= 0 (or Infinity)' : 'must be a finite number of milliseconds >= 0'
    throw invalidOption(path, expected, value)
  }
  return value
}

/** A finite number > 0 (durations that divide something, such as a rolling window). */
export function checkPositiveDuration(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidOption(path, 'must be a finite number of milliseconds > 0', value)
  }
  return value
}

export function checkNonNegativeNumber(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(path, 'must be a finite number >= 0', value)
  }
  return value
}

export function checkRatio(path: string, value: unknown, min: number, max: number, minInclusive = true): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && (minInclusive ? value >= min : value > min) && value <= max
  if (!ok) throw invalidOption(path, `must be a number ${minInclusive ? '>=' : '>'} ${min} and <= ${max}`, value)
  return value
}

export function checkBoolean(path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(path, 'must be a boolean', value)
  return value
}

export function checkArray(path: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw invalidOption(path, 'must be an array', value)
  return value as readonly unknown[]
}
