/**
 * Resolving a request's host where no guarded connector dials it: a plain-http request forwarded
 * through a proxy (the proxy is asked for the checked IP) and a request handed to a test
 * dispatcher (a mock has no socket). Same rules as the connector: the client's `lookup`, every
 * answer judged by the address policy (guardedLookup), all under `timeout.connect`.
 */
import { isIP, type LookupFunction } from 'node:net'
import { SafeFetchError } from '../errors.js'
import type { CompiledAddressPolicy } from './address-policy.js'
import { stripBrackets } from './dial.js'
import { guardedLookup } from './guarded-lookup.js'

export interface CheckedTarget {
  /** The URL's port, or the scheme's default. */
  readonly port: number
  /** Every answer, each one allowed by the policy (a name with any refused answer is refused). */
  readonly addresses: readonly string[]
  /** Time spent resolving, in ms; 0 for an IP literal. */
  readonly dnsMs: number
}

export interface ResolveTargetOptions {
  readonly policy: CompiledAddressPolicy
  readonly lookup: LookupFunction | undefined
  /** timeout.connect in ms, applied to the lookup; 0 = none. */
  readonly connectTimeout: number
}

export function resolveCheckedTarget(url: URL, urlText: string, options: ResolveTargetOptions): Promise<CheckedTarget> {
  const { policy, lookup, connectTimeout } = options
  return new Promise<CheckedTarget>((resolve, reject) => {
    const host = stripBrackets(url.hostname)
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    if (connectTimeout > 0) {
      timer = setTimeout(() => {
        reject(
          new SafeFetchError('ERR_CONNECT_TIMEOUT', `resolving ${url.hostname} for ${urlText} took longer than ${connectTimeout} ms (timeout.connect)`, {
            url: urlText,
          }),
        )
      }, connectTimeout)
      timer.unref()
    }
    guardedLookup(host, policy, lookup, urlText, (error, addresses) => {
      if (timer !== undefined) clearTimeout(timer)
      if (error !== null) reject(error)
      else resolve({ port, addresses, dnsMs: isIP(host) === 0 ? performance.now() - started : 0 })
    })
  })
}
