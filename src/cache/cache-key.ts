/**
 * Cache keys (RFC 9111 §2: "the primary cache key consists of the request method and target URI"
 * plus, per §4.1, the request fields a response's Vary nominates).
 *
 * Layout (the store adds its own prefix):
 *   primary   `v1|s|GET|https://host/path?q`          one record per URL: a response, or a vary index
 *   variant   `<primary>#<gen>#<secondary>`           one response per variant, listed in the index
 *   namespace `v1|ns`                                 the token that invalidateAll() replaces
 * `s`/`p` is the cache mode: a private-mode entry must never be read by a shared-mode client
 * sharing the store. `<gen>` changes whenever an index is created, so deleting the index (the one
 * key invalidate() must reach) makes every variant unreachable even if a concurrent writer's
 * variant never made it into the list. The secondary key is a SHA-256 over the varied request
 * fields (normalised) and, in private mode, over the credentials — raw tokens and cookies never
 * appear in a key or in a stored entry.
 */
import { hash } from 'node:crypto'
import type { CacheMode } from './cache-semantics.js'
import { parseTokenList } from './cache-control.js'

const KEY_FORMAT = 'v1'
export const NAMESPACE_KEY = `${KEY_FORMAT}|ns`

/** The target URI without its fragment (never sent, so never part of the key). */
export function primaryKey(mode: CacheMode, method: string, url: URL): string {
  const href = url.hash === '' ? url.href : url.href.slice(0, url.href.length - url.hash.length)
  return `${KEY_FORMAT}|${mode === 'shared' ? 's' : 'p'}|${method}|${href}`
}

/**
 * Where the URL's generation lives (signed stores only): `v1|gen|GET|<url>`, one per URL for both
 * cache modes. invalidate() replaces it; every signed entry names the generation it was written
 * under, so an entry captured before an invalidation and written back later is a miss.
 */
export function generationKey(primary: string): string {
  // primary = `v1|<s|p>|GET|<url>`: drop the mode, keep method and URL.
  return `${KEY_FORMAT}|gen|${primary.slice(KEY_FORMAT.length + 3)}`
}

export function variantKey(primary: string, gen: string, secondary: string): string {
  return `${primary}#${gen}#${secondary}`
}

/**
 * Vary field names: lower-cased, de-duplicated, sorted (so `Accept, Accept-Language` and
 * `accept-language, accept` index the same variants). `*` is reported as such; it never matches.
 */
export function parseVary(value: string | readonly string[] | undefined): readonly string[] | '*' {
  const names = parseTokenList(value)
  if (names.includes('*')) return '*'
  return names.sort()
}

/**
 * A request field value normalised for Vary matching (§4.1 allows "adding or removing whitespace,
 * where allowed in the header field's syntax" and combining field lines): list members trimmed and
 * joined with a bare comma.
 */
export function normalizeFieldValue(value: string): string {
  if (value.indexOf(',') === -1) return value.trim()
  return value
    .split(',')
    .map((part) => part.trim())
    .join(',')
}

/**
 * The credentials a private-mode entry is partitioned by: SHA-256 over the named request fields
 * (Authorization, Cookie and the ones the user added). '' when none is present: requests without
 * credentials share one partition.
 */
export function partitionOf(headers: Readonly<Record<string, string>>, names: readonly string[]): string {
  let material: string | undefined
  for (const name of names) {
    const value = headers[name]
    if (value === undefined) continue
    material = `${material ?? ''}${name}\u0000${value}\u0000`
  }
  // crypto.hash (one shot) costs a third of createHash().update().digest() on Node 20.
  return material === undefined ? '' : hash('sha256', material, 'base64url')
}

/**
 * Whether the request carries any of the named credential fields (Authorization, Cookie and the
 * partition headers). A shared cache treats such a request as RFC 9111 §3.5 treats one with
 * Authorization: its response is stored only when the origin says it may be shared.
 */
export function carriesCredentials(headers: Readonly<Record<string, string>>, names: readonly string[]): boolean {
  for (let i = 0; i < names.length; i++) if (headers[names[i]!] !== undefined) return true
  return false
}

/**
 * The secondary key: '' when there is nothing to vary on (shared mode, no Vary: the response is
 * stored at the primary key itself), else SHA-256 over the partition and the varied fields.
 * `partition` is undefined in shared mode; in private mode every entry is a variant, even for a
 * request without credentials, so one user's entries never replace the index of another's.
 * An absent field and an empty one differ (§4.1: a field absent from both requests matches).
 */
export function secondaryKey(headers: Readonly<Record<string, string>>, vary: readonly string[], partition: string | undefined): string {
  if (vary.length === 0 && partition === undefined) return ''
  let material = `${partition ?? ''}\u0001`
  for (const name of vary) {
    const value = headers[name]
    material += value === undefined ? `${name}\u0002\u0000` : `${name}=${normalizeFieldValue(value)}\u0000`
  }
  return hash('sha256', material, 'base64url')
}
