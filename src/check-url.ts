/**
 * checkUrl(): the guard's verdict on a URL without fetching it — for validating user input at the
 * edge of an application (a webhook form, an avatar URL) with the same rules and the same reasons
 * as the fetch path: the URL policy, then DNS with every answer judged.
 *
 * A URL that passes here can still be refused at fetch time (DNS may answer differently by then);
 * the fetch path checks again at connect time, which is what makes it safe.
 */
import type { LookupFunction } from 'node:net'
import { SafeFetchError, toSafeFetchError } from './errors.js'
import { guardedLookup } from './net/guarded-lookup.js'
import { assertUrlAllowed, compilePolicy, parseUrl, redactUrl, type PolicyOptions } from './net/url-policy.js'

export type UrlVerdict =
  | { readonly allowed: true; readonly url: URL; readonly addresses: readonly string[] }
  | { readonly allowed: false; readonly error: SafeFetchError }

export interface CheckUrlOptions {
  /** Replaces DNS, as the client option does. */
  lookup?: LookupFunction
}

export async function checkUrl(input: string | URL, policy: PolicyOptions = {}, options: CheckUrlOptions = {}): Promise<UrlVerdict> {
  let url: URL
  try {
    // Compiled on every call (a few µs): a cache keyed by the caller's object would go stale if they mutated it.
    const rules = compilePolicy(policy, 'policy')
    url = parseUrl(input)
    assertUrlAllowed(rules, url)
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const addresses = await new Promise<readonly string[]>((resolve, reject) => {
      guardedLookup(host, rules.address, options.lookup, redactUrl(url), (error, answer) => (error === null ? resolve(answer) : reject(error)))
    })
    return { allowed: true, url, addresses }
  } catch (err) {
    if (err instanceof SafeFetchError && err.code === 'ERR_INVALID_OPTION') throw err
    return { allowed: false, error: toSafeFetchError(err, undefined) }
  }
}
