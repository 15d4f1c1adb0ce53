/**
 * The address check on the cache's read paths. The guarded connector judges every address it
 * dials, but a stored response is served without dialling: without this, a client with a looser
 * policy (`allowPrivate`, an `allow` range, an older policy before `configure()`) could store an
 * internal response that a stricter client sharing the store (one `memoryStore` passed to both,
 * or a fleet on one Redis) then reads as a hit. So every stored response carries the remote
 * addresses its exchange(s) were checked against, and every read judges them against the
 * *reading* client's current address policy: one refused address, or none recorded at all (an
 * old entry, or a writer that could not record one), and the entry is a miss (fail closed).
 *
 * Verdicts are memoised per compiled policy object: a WeakMap keyed by the policy's identity, so
 * a verdict can never be read under another policy (configure() compiles a new object), and it
 * goes when the policy does. A hit then costs a WeakMap and a Map lookup instead of a parse.
 */
import type { AttemptRecord } from '../types.js'
import { checkAddress, type CompiledAddressPolicy } from '../net/address-policy.js'

/** Addresses an entry may list (several when 304s from other addresses refreshed it). */
export const MAX_ENTRY_ADDRESSES = 8

/** Memoised verdicts per address, per policy; cleared when full (addresses are few in practice). */
const MAX_VERDICTS = 4096
const verdicts = new WeakMap<CompiledAddressPolicy, Map<string, boolean>>()

/** True when `addresses` lists at least one address and `policy` allows every one of them. */
export function addressesAllowed(policy: CompiledAddressPolicy, addresses: readonly string[] | undefined): boolean {
  // Records come from stores: do not trust the shape. No address means no proof: refuse.
  if (!Array.isArray(addresses) || addresses.length === 0) return false
  let known = verdicts.get(policy)
  if (known === undefined) {
    known = new Map()
    verdicts.set(policy, known)
  }
  for (let i = 0; i < addresses.length; i++) {
    const address: unknown = addresses[i]
    if (typeof address !== 'string') return false
    let allowed = known.get(address)
    if (allowed === undefined) {
      allowed = checkAddress(policy, address).allowed
      if (known.size >= MAX_VERDICTS) known.clear()
      known.set(address, allowed)
    }
    if (!allowed) return false
  }
  return true
}

/**
 * The checked remote address of the exchange that just answered: the transport appends one
 * attempt record per physical request (its `remoteAddress` is the address the connector judged,
 * or with a proxy the target address the proxy was asked for), the last one since `from` produced
 * the response. Undefined when none was recorded (the response must then not be stored).
 */
export function exchangeAddress(log: readonly AttemptRecord[], from: number): string | undefined {
  if (log.length <= from) return undefined
  return log[log.length - 1]!.remoteAddress
}

/**
 * The addresses of an entry refreshed by a 304 from `address`: the stored body came from the old
 * ones and the merged fields from the new one, so a reader must be allowed all of them. Undefined
 * when the list would outgrow MAX_ENTRY_ADDRESSES (dropping one would weaken the check): the
 * refreshed entry is then served to this caller but not stored.
 */
export function mergeAddresses(stored: readonly string[], address: string): readonly string[] | undefined {
  if (stored.includes(address)) return stored
  return stored.length >= MAX_ENTRY_ADDRESSES ? undefined : [...stored, address]
}
