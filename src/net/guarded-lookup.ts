/**
 * Resolve a name and judge every answer: the DNS half of the guard, shared by the connector (which
 * then dials one of the returned addresses, and only those) and by `checkUrl()`.
 *
 * If any answer is denied the whole name is refused: an attacker who controls DNS could otherwise
 * mix a public decoy with the private target and win on a retry or a reconnect.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { SafeFetchError, toSafeFetchError } from '../errors.js'
import { blockedAddressError, checkAddress, type CompiledAddressPolicy } from './address-policy.js'

type GuardedLookupCallback = (error: SafeFetchError | null, addresses: readonly string[]) => void

export function guardedLookup(
  host: string,
  policy: CompiledAddressPolicy,
  lookup: LookupFunction | undefined,
  url: string,
  callback: GuardedLookupCallback,
): void {
  // IP literals: there is nothing to resolve (and undici calls no lookup for them); judge the literal.
  if (isIP(host) !== 0) {
    const verdict = checkAddress(policy, host)
    if (verdict.allowed) callback(null, [host])
    else callback(blockedAddressError(verdict, url), [])
    return
  }
  const resolve = lookup ?? (dnsLookup as unknown as LookupFunction)
  let answered = false
  try {
    resolve(host, { all: true, family: 0 }, (err, answer, family) => {
      if (answered) return
      answered = true
      if (err) {
        callback(toSafeFetchError(err, url), [])
        return
      }
      const addresses = normalizeAnswer(answer as unknown, family)
      if (addresses.length === 0) {
        callback(new SafeFetchError('ERR_DNS', `${host} resolved to no address`, { url }), [])
        return
      }
      for (const address of addresses) {
        if (isIP(address) === 0) {
          callback(new SafeFetchError('ERR_DNS', `lookup for ${host} returned ${JSON.stringify(address)}, which is not an IP address`, { url }), [])
          return
        }
        const verdict = checkAddress(policy, address)
        if (!verdict.allowed) {
          callback(blockedAddressError(verdict, url), [])
          return
        }
      }
      callback(null, addresses)
    })
  } catch (err) {
    // A custom lookup that throws instead of calling back.
    if (!answered) {
      answered = true
      callback(toSafeFetchError(err, url), [])
    }
  }
}

/** A lookup may answer in either callback shape: (err, address, family) or (err, [{ address, family }]). */
function normalizeAnswer(answer: unknown, _family: unknown): string[] {
  if (typeof answer === 'string') return [answer]
  if (Array.isArray(answer)) {
    const out: string[] = []
    for (const item of answer as (LookupAddress | string)[]) {
      if (typeof item === 'string') out.push(item)
      else if (item !== null && typeof item === 'object' && typeof item.address === 'string') out.push(item.address)
    }
    return out
  }
  return []
}
