/**
 * Small validators shared by the option resolvers of the features (retry, breaker, concurrency, cache).
 * Each throws ERR_INVALID_OPTION with the option path and the bad value in the message, e.g.
 * `retry.limit must be a non-negative integer, got -1`.
 */
import { SafeFetchError } from './errors.js'
import { redactUrlText } from './observe/redact.js'

/** `scheme:` or `//` at the start: shown through the textual URL redaction rule. */
const URL_LIKE = /^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|\/\/)/

/** Renders a bad value for an error message: strings quoted, objects as JSON, the rest as is. */
export function describeValue(value: unknown): string {
  // A URL-looking value (baseUrl, a proxy or Redis URL) may carry user:password@ or query secrets.
  if (typeof value === 'string') return JSON.stringify(URL_LIKE.test(value) ? redactUrlText(value) : value)
  if (value instanceof URL) return JSON.stringify(redactUrlText(value.href))
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (value !== null && typeof value === 'object') {
    try {
      const json = JSON.stringify(value)
      return json.length > 80 ? `${json.slice(0, 77)}...` : json
    } catch {
      return Object.prototype.toString.call(value)
    }
  }
  return String(value)
}

export function invalidOption(path: string, expected: string, value: unknown): SafeFetchError {
  return new SafeFetchError('ERR_INVALID_OPTION', `${path} ${expected}, got ${describeValue(value)}`)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Refuses keys we do not know, so a typo (`retry.limt`) fails loudly instead of being ignored. */
export function checkKnownKeys(path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new SafeFetchError('ERR_INVALID_OPTION', `${path}.${key} is not a known option (known: ${known.join(', ')})`)
    }
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
  const ok =
    typeof value === 'number' && value >= 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
  if (!ok) {
    const expected = allowInfinity
      ? 'must be a number of milliseconds >= 0 (or Infinity)'
      : 'must be a finite number of milliseconds >= 0'
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
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (minInclusive ? value >= min : value > min) &&
    value <= max
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
