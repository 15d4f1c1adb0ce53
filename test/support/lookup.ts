/**
 * DNS injection for tests (every client and connector takes a `lookup`): names answer from a
 * table and never reach a real resolver. And the test hosts the isolation script
 * (scripts/isolated.mjs) added to `lo`, for tests that need an address other than 127.0.0.1.
 */
import net from 'node:net'
import type { LookupFunction } from 'node:net'

export interface RecordingLookup extends LookupFunction {
  readonly queries: string[]
}

/**
 * DNS injection: answers from a table (name → addresses, or a function of the query count for
 * rebinding tests). Unknown names fail with ENOTFOUND, never reach a real resolver.
 */
export function fakeLookup(table: Record<string, string[] | ((count: number) => string[])>): RecordingLookup {
  const queries: string[] = []
  const counts = new Map<string, number>()
  const lookup = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
    const cb = typeof options === 'function' ? (options as typeof callback) : callback
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true
    queries.push(hostname)
    const count = (counts.get(hostname) ?? 0) + 1
    counts.set(hostname, count)
    const entry = table[hostname]
    const addresses = typeof entry === 'function' ? entry(count) : entry
    setImmediate(() => {
      if (addresses === undefined || addresses.length === 0) {
        cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }))
        return
      }
      const answers = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }))
      if (all) cb(null, answers)
      else cb(null, answers[0]!.address, answers[0]!.family)
    })
  }) as RecordingLookup
  Object.defineProperty(lookup, 'queries', { value: queries })
  return lookup
}

/** Test hosts the isolation script added to `lo` (empty when not isolated). */
export const testHosts: readonly string[] = (process.env.SAFEFETCH_TEST_HOSTS ?? '').split(',').filter(Boolean)
export const isolated = process.env.SAFEFETCH_NETNS === '1'
