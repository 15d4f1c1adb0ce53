/**
 * Which IP addresses may be dialled. Pure and synchronous: the guarded connector calls checkAddress
 * for every DNS answer and for the socket's remote address, the URL policy for literal hosts.
 *
 * Precedence (docs/range-table.md):
 *   1. `deny`    always wins. Matches the address and every IPv4 address embedded in it.
 *   2. `allow`   wins over the cloud preset and the default table.
 *   3. `denyPreset: 'cloud'`  metadata endpoints, even when `allowPrivate` is true.
 *   4. the default table (ip-ranges.ts), switched off by `allowPrivate: true` except for the
 *      NEVER_A_DESTINATION rows, which no configuration short of `allow` re-enables.
 *
 * IPv4 addresses are compared in their IPv4-mapped form (::ffff:a.b.c.d, RFC 4291 §2.5.5.2), so an
 * IPv4 CIDR in `allow` or `deny` also matches `::ffff:10.0.0.5`. An IPv6 CIDR matches IPv4 addresses
 * only when it lies inside ::ffff:0:0/96: `::/0` means "all IPv6", not "everything".
 */
import { SafeFetchError } from '../errors.js'
import { describeValue as show, optionError as invalid } from '../option-checks.js'
import {
  cidrContains,
  embeddedIpv4s,
  findIpv4Range,
  findSpecialRange,
  formatIp,
  formatIpv4,
  isIpv4Mapped,
  parseCidr,
  parseIp,
  parseIpv4,
  type ParsedCidr,
  type ParsedIp,
} from './ip-ranges.js'

export interface AddressPolicyOptions {
  /** Turn the default special-range table off (private, loopback, link-local ...). Default false. */
  allowPrivate?: boolean
  /** CIDRs or addresses always allowed (unless also in `deny`). */
  allow?: readonly string[]
  /** CIDRs or addresses always refused. Wins over everything. */
  deny?: readonly string[]
  /** Extra deny lists; 'cloud' adds metadata endpoints (see CLOUD_PRESET). */
  denyPreset?: 'cloud' | readonly 'cloud'[]
}

declare const opaque: unique symbol
/** Opaque and immutable; build with compileAddressPolicy. */
export interface CompiledAddressPolicy {
  readonly [opaque]: 'CompiledAddressPolicy'
}

export type AddressVerdict =
  | { allowed: true }
  | {
      allowed: false
      address: string
      cidr: string
      /** e.g. `10.0.0.0/8 (private-use, RFC 1918)` */
      range: string
      rule: 'default' | 'deny' | 'preset'
      /** For the default table: the registry row's name and reference, e.g. `link-local`, `RFC 3927`. */
      name?: string
      reference?: string
      /** The IPv4 address inside an IPv6 one that decided the verdict, and how it was embedded. */
      embeddedIpv4?: string
      via?: string
      /** Where the options live, for messages (`policy`). */
      optionPath?: string
    }

export type DeniedVerdict = Extract<AddressVerdict, { allowed: false }>

interface Entry {
  readonly cidr: ParsedCidr
  readonly text: string
  readonly label: string
}

interface Internal {
  readonly allowPrivate: boolean
  readonly allow: readonly Entry[]
  readonly deny: readonly Entry[]
  readonly preset: readonly Entry[]
  readonly optionPath: string
}

/**
 * Metadata and host-agent endpoints. Opt-in because most are already in the default table and the
 * rest are public addresses; the preset matters when `allowPrivate: true` opens the private ranges
 * for internal services but the instance's credentials must stay out of reach.
 */
const CLOUD_PRESET: ReadonlyArray<readonly [cidr: string, label: string]> = [
  // AWS, GCP, Azure IMDS, OCI, DigitalOcean, OpenStack, Tencent (169.254.0.23), Scaleway
  // (169.254.42.42), ECS task credentials (169.254.170.2): all link-local, default-denied already.
  ['169.254.0.0/16', 'link-local metadata (AWS, GCP, Azure, OCI, ...)'],
  // Azure WireServer / host agent: a PUBLIC address, reachable from every Azure VM. Opt-in because
  // outside Azure it is an ordinary (Microsoft) public address and the default table blocks no public IP.
  ['168.63.129.16/32', 'Azure WireServer'],
  // Alibaba Cloud metadata: inside 100.64.0.0/10, default-denied already.
  ['100.100.100.200/32', 'Alibaba Cloud metadata'],
  // Oracle Cloud legacy metadata: inside 192.0.0.0/24, default-denied already.
  ['192.0.0.192/32', 'Oracle Cloud metadata'],
  // AWS IMDS over IPv6 (Nitro): ULA, default-denied already.
  ['fd00:ec2::254/128', 'AWS IMDS IPv6'],
  // GCP metadata server over IPv6: ULA, default-denied already.
  ['fd20:ce::254/128', 'GCP metadata IPv6'],
]

/**
 * Rows that stay denied with `allowPrivate: true`: they are never a useful destination, and
 * 0.0.0.0 / :: are dialled as localhost by Linux, a classic guard bypass. `allow` still wins.
 */
const NEVER_A_DESTINATION: ReadonlySet<string> = new Set(['this-network', 'this-host', 'unspecified', 'multicast', 'limited-broadcast', 'not-an-ip-address'])

/** Whether `allowPrivate: true` re-opens a row of the default table (false for NEVER_A_DESTINATION rows). */
export function reopenedByAllowPrivate(rowName: string): boolean {
  return !NEVER_A_DESTINATION.has(rowName)
}

const ALLOWED: AddressVerdict = Object.freeze({ allowed: true })

function compileList(value: unknown, path: string): Entry[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw invalid(`${path} must be an array of CIDRs like 10.0.0.0/8, got ${show(value)}`)
  return value.map((item: unknown, i) => {
    const where = `${path}[${i}]`
    const cidr = typeof item === 'string' ? parseCidr(item) : undefined
    if (cidr === undefined) {
      throw invalid(`${where} must be a CIDR like 10.0.0.0/8 or an IP address, got ${show(item)}`)
    }
    const text = item as string
    if (!cidr.exact) {
      const network = networkText(cidr)
      throw invalid(`${where} must be a CIDR like 10.0.0.0/8 or an IP address, got ${show(text)} (bits set after the prefix; did you mean "${network}"?)`)
    }
    return { cidr, text, label: text }
  })
}

function networkText(c: ParsedCidr): string {
  const ip: ParsedIp = { version: c.version, w0: c.n0 >>> 0, w1: c.n1 >>> 0, w2: c.n2 >>> 0, w3: c.n3 >>> 0 }
  return `${formatIp(ip)}/${c.version === 4 ? c.prefix - 96 : c.prefix}`
}

export function compileAddressPolicy(o: AddressPolicyOptions, optionPath = 'policy'): CompiledAddressPolicy {
  if (o === null || typeof o !== 'object') throw invalid(`${optionPath} must be an object, got ${show(o)}`)
  if (o.allowPrivate !== undefined && typeof o.allowPrivate !== 'boolean') {
    throw invalid(`${optionPath}.allowPrivate must be a boolean, got ${show(o.allowPrivate)}`)
  }
  const presets = o.denyPreset === undefined ? [] : Array.isArray(o.denyPreset) ? o.denyPreset : [o.denyPreset]
  presets.forEach((p: unknown, i) => {
    if (p !== 'cloud') {
      const where = Array.isArray(o.denyPreset) ? `${optionPath}.denyPreset[${i}]` : `${optionPath}.denyPreset`
      throw invalid(`${where} must be 'cloud', got ${show(p)}`)
    }
  })
  const preset: Entry[] = presets.length === 0 ? [] : CLOUD_PRESET.map(([text, label]) => ({ cidr: parseCidr(text) as ParsedCidr, text, label }))
  const policy: Internal = {
    allowPrivate: o.allowPrivate === true,
    allow: Object.freeze(compileList(o.allow, `${optionPath}.allow`)),
    deny: Object.freeze(compileList(o.deny, `${optionPath}.deny`)),
    preset: Object.freeze(preset),
    optionPath,
  }
  return Object.freeze(policy) as unknown as CompiledAddressPolicy
}

/** First entry containing the address; IPv4(-mapped) addresses only meet IPv4-block entries. */
function matchList(list: readonly Entry[], ip: ParsedIp): Entry | undefined {
  const mapped = isIpv4Mapped(ip)
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as Entry
    if (mapped && !e.cidr.ipv4Block) continue
    if (cidrContains(e.cidr, ip)) return e
  }
  return undefined
}

interface Hit {
  readonly entry: Entry
  readonly embeddedIpv4?: string
  readonly via?: string
}

/** Match the address itself, then each IPv4 address embedded in it (deny lists must not be tunnelled). */
function matchWithEmbedded(list: readonly Entry[], ip: ParsedIp): Hit | undefined {
  const direct = matchList(list, ip)
  if (direct !== undefined) return { entry: direct }
  if (ip.version === 4 || isIpv4Mapped(ip)) return undefined
  for (const { v4, via } of embeddedIpv4s(ip)) {
    const entry = matchList(list, { version: 4, w0: 0, w1: 0, w2: 0xffff, w3: v4 })
    if (entry !== undefined) return { entry, embeddedIpv4: formatIpv4(v4), via }
  }
  return undefined
}

function denied(
  address: string,
  cidr: string,
  range: string,
  rule: DeniedVerdict['rule'],
  optionPath: string,
  embeddedIpv4: string | undefined,
  via: string | undefined,
  row?: { readonly name: string; readonly reference: string },
): DeniedVerdict {
  const v: DeniedVerdict = { allowed: false, address, cidr, range, rule, optionPath }
  if (row !== undefined) {
    v.name = row.name
    v.reference = row.reference
  }
  if (embeddedIpv4 !== undefined) v.embeddedIpv4 = embeddedIpv4
  if (via !== undefined) v.via = via
  return v
}

export function checkAddress(policy: CompiledAddressPolicy, address: string): AddressVerdict {
  const p = policy as unknown as Internal
  // Fast path: a dotted quad and no lists (the common case: DNS answers under the default policy).
  if (p.deny.length === 0 && p.allow.length === 0 && p.preset.length === 0) {
    const v4 = parseIpv4(address)
    if (v4 >= 0) {
      const range = findIpv4Range(v4)
      if (range === undefined || (p.allowPrivate && !NEVER_A_DESTINATION.has(range.name))) return ALLOWED
      return denied(address, range.cidr, `${range.cidr} (${range.name}, ${range.reference})`, 'default', p.optionPath, undefined, undefined, range)
    }
  }
  const ip = parseIp(address)
  if (ip === undefined) return denied(address, 'n/a', 'not an IP address', 'default', p.optionPath, undefined, undefined)
  if (p.deny.length > 0) {
    const hit = matchWithEmbedded(p.deny, ip)
    if (hit !== undefined) {
      return denied(address, hit.entry.text, `${hit.entry.text} (${p.optionPath}.deny)`, 'deny', p.optionPath, hit.embeddedIpv4, hit.via)
    }
  }
  if (p.allow.length > 0 && matchList(p.allow, ip) !== undefined) return ALLOWED
  if (p.preset.length > 0) {
    const hit = matchWithEmbedded(p.preset, ip)
    if (hit !== undefined) {
      return denied(address, hit.entry.text, `${hit.entry.text} (${hit.entry.label}, cloud preset)`, 'preset', p.optionPath, hit.embeddedIpv4, hit.via)
    }
  }
  const special = findSpecialRange(ip)
  if (special === undefined) return ALLOWED
  const { range } = special
  if (p.allowPrivate && !NEVER_A_DESTINATION.has(range.name)) return ALLOWED
  return denied(address, range.cidr, `${range.cidr} (${range.name}, ${range.reference})`, 'default', p.optionPath, special.embeddedIpv4, special.via, range)
}

/** The narrowest `allow` entry that would let this exact address through. */
export function allowSuggestion(address: string, via: string | undefined): string | undefined {
  const ip = parseIp(address)
  if (ip === undefined) return undefined
  if (ip.version === 4 || via === 'ipv4-mapped') return `${formatIpv4(ip.w3)}/32`
  return `${formatIp(ip)}/128`
}

export function blockedAddressError(verdict: DeniedVerdict, url?: string): SafeFetchError {
  const path = verdict.optionPath ?? 'policy'
  const subject =
    verdict.cidr === 'n/a'
      ? `${JSON.stringify(verdict.address)} is not an IP address`
      : verdict.embeddedIpv4 === undefined
        ? `${verdict.address} is in ${verdict.range}`
        : `${verdict.address} carries ${verdict.embeddedIpv4} (${verdict.via ?? 'embedded'}), which is in ${verdict.range}`
  const suggestion = allowSuggestion(verdict.address, verdict.via)
  let advice: string
  if (verdict.rule === 'deny') advice = `remove ${verdict.cidr} from ${path}.deny to allow it`
  else if (suggestion === undefined) advice = 'only IP addresses can be checked and dialled'
  else advice = `pass ${path}.allow: ['${suggestion}'] to allow it`
  const details: { url?: string; address: string; range: string } = { address: verdict.address, range: verdict.range }
  if (url !== undefined) details.url = url
  // The URL (already redacted by the caller) tells the reader which request it was.
  const where = url === undefined ? '' : ` for ${url}`
  return new SafeFetchError('ERR_ADDRESS_BLOCKED', `${subject}${where}; ${advice}`, details)
}
