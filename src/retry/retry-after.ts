/**
 * Retry-After, RFC 9110 §10.2.3:
 *
 *   Retry-After = HTTP-date / delay-seconds
 *   delay-seconds = 1*DIGIT
 *
 * A server sends it with 503 (how long the service is expected to be unavailable) and 429
 * (RFC 6585 §4: how long to wait before making a new request).
 */
import { parseHttpDate } from './http-date.js'

const DELAY_SECONDS = /^\d+$/

/**
 * The wait the server asks for, in milliseconds (>= 0), or undefined when the header is absent or
 * malformed (the caller then falls back to its own backoff). A date in the past means "now": 0.
 * @param now epoch milliseconds
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  // Field values arrive without surrounding whitespace from undici, but a proxy may add some (OWS).
  const text = value.trim()
  if (text === '') return undefined
  if (DELAY_SECONDS.test(text)) {
    // Many digits overflow to a huge number or Infinity: both exceed any maxRetryAfter, as intended.
    return Number(text) * 1000
  }
  const date = parseHttpDate(text, now)
  if (date === undefined) return undefined
  return Math.max(0, date - now)
}
