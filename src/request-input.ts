/**
 * A `Request` passed as fetch input: its fields count exactly as fetch counts them, with `init`
 * overriding them (Fetch Standard, Request constructor: each `init` member replaces the input's).
 *
 * Why: a `new Request(url, { redirect: 'error' })` that is followed anyway, or a Request's signal
 * that does not abort, silently drops a restriction the caller asked for.
 * - `redirect`, `cache`: the Request's value unless init sets one ('follow' / 'default' are the
 *   client's own settings, so they change nothing).
 * - `signal`: init's signal when init has the member, else the Request's.
 * - `method`, `body`: init's when given, else the Request's (build-request.ts).
 * - `headers`: init's headers **replace** the Request's (not merged), as in `new Request(req, init)`.
 * - `integrity`: subresource integrity is not checked by safefetch; a Request or init asking for it
 *   is refused rather than served unchecked.
 */
import { SafeFetchError } from './errors.js'
import type { RequestCacheMode } from './cache/cache-request.js'
import type { CallOptions, RedirectMode, RedirectOptions } from './options.js'
import type { SafeBodyInit } from './request-body.js'

/** fetch's RequestInit, with our per-call options. `redirect` also takes our object form. */
export interface SafeRequestInit extends Omit<RequestInit, 'redirect' | 'body' | 'cache' | 'dispatcher'>, CallOptions {
  body?: SafeBodyInit | null
  redirect?: RedirectMode | RedirectOptions
}

export type FetchInput = string | URL | Request

/**
 * `init` as fetch would see it: for a Request input, with the Request's redirect, cache and signal
 * filled in where init does not set them. Unchanged (same object) for a URL input.
 */
export function withRequestFields(input: unknown, init: SafeRequestInit | undefined): SafeRequestInit | undefined {
  const request = input instanceof Request ? input : undefined
  if ((init?.integrity !== undefined && init.integrity !== '') || (request !== undefined && request.integrity !== '')) {
    throw new SafeFetchError('ERR_INVALID_OPTION', 'integrity (subresource integrity) is not supported: safefetch would not check it; verify the body yourself')
  }
  if (request === undefined) return init
  const out: SafeRequestInit = { ...init }
  if (request.redirect !== 'follow' && out.redirect === undefined) out.redirect = request.redirect as RedirectMode
  if (request.cache !== 'default' && out.cache === undefined) out.cache = request.cache as RequestCacheMode
  // `signal: null` in init means no signal at all; only an absent member takes the Request's.
  if (out.signal === undefined) out.signal = request.signal
  return out
}
