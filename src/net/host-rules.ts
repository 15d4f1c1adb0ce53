/**
 * Hostname rules, applied before any DNS lookup. They give early, readable refusals for names that
 * can only mean "inside": the address policy still judges whatever a name resolves to, so these rules
 * are a first line, not the guard.
 *
 * Order: denyHosts > allowHosts (and, when non-empty, nothing else passes) > built-in metadata names >
 * built-in private names (switched off by `allowPrivate: true`).
 *
 * Globs: `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com` itself;
 * list the apex separately when you want it. Built-in suffixes (`local`, `internal`, ...) do cover
 * their apex, which is never a public host.
 */
import { domainToASCII } from 'node:url'
import { SafeFetchError } from '../errors.js'
import { parseIp, parseIpv4 } from './ip-ranges.js'

export interface HostRuleOptions {
  /** Exact names or `*.example.com` globs. When non-empty, every other host is refused. */
  allowHosts?: readonly string[]
  /** Exact names or `*.example.com` globs. Always refused; wins over allowHosts. */
  denyHosts?: readonly string[]
}

declare const opaque: unique symbol
/** Opaque and immutable; build with compileHostRules. */
export interface CompiledHostRules {
  readonly [opaque]: 'CompiledHostRules'
}

/**
 * Which rule refused a host: an empty label, a `denyHosts` entry, absence from a non-empty
 * `allowHosts`, a built-in cloud metadata name, or a built-in private name/suffix.
 */
export type HostRule = 'empty-label' | 'denyHosts' | 'allowHosts' | 'metadata' | 'private'

export type HostVerdict = { allowed: true } | { allowed: false; reason: string; rule: HostRule; host: string; entry?: string }

interface NameSet {
  readonly exact: ReadonlySet<string>
  /** Glob suffixes without the `*.`: `example.com` for `*.example.com`. */
  readonly suffixes: ReadonlySet<string>
}

interface Internal {
  readonly allow: NameSet
  readonly deny: NameSet
  readonly allowPrivate: boolean
  readonly optionPath: string
}

/**
 * Names of metadata services. Refused even with `allowPrivate: true`: they hand out the instance's
 * credentials, and no internal-service client needs them. Only allowHosts re-enables one.
 */
const METADATA_NAMES: ReadonlyMap<string, string> = new Map([
  ['metadata.google.internal', 'GCP metadata server'],
  ['metadata', 'GCP metadata server (short name via search domain)'],
  ['metadata.goog', 'GCP metadata server'],
  ['instance-data', 'AWS instance metadata'],
  ['instance-data.ec2.internal', 'AWS instance metadata'],
  ['metadata.tencentyun.com', 'Tencent Cloud metadata'],
  ['metadata.packet.net', 'Equinix Metal metadata (public address)'],
  ['metadata.platformequinix.com', 'Equinix Metal metadata (public address)'],
])

/** Suffixes (apex included) that only resolve inside a network. Off with `allowPrivate: true`. */
const PRIVATE_SUFFIXES: ReadonlyMap<string, string> = new Map([
  ['localhost', 'is reserved for loopback (RFC 6761 §6.3)'],
  ['local', 'is multicast DNS, link-local only (RFC 6762)'],
  ['internal', 'is reserved by ICANN for private use (2024)'],
  ['home.arpa', 'is reserved for home networks (RFC 8375)'],
  ['localdomain', 'is the conventional /etc/hosts domain of this machine'],
  // ICANN Board resolution 2018.02.04.12: never to be delegated (name-collision risk), so a name
  // under these can only be answered by a private resolver.
  ['corp', 'is never delegated in the public DNS (ICANN name collision)'],
  ['home', 'is never delegated in the public DNS (ICANN name collision)'],
  ['mail', 'is never delegated in the public DNS (ICANN name collision)'],
  // Not delegated and widely used by routers and enterprises; ICANN chose .internal instead.
  ['lan', 'is a private-network convention, not delegated in the public DNS'],
  ['intranet', 'is a private-network convention, not delegated in the public DNS'],
  ['private', 'is a private-network convention, not delegated in the public DNS'],
])

/** Exact names, off with `allowPrivate: true`. */
const PRIVATE_NAMES: ReadonlyMap<string, string> = new Map([
  ['ip6-localhost', 'is the Debian /etc/hosts name for ::1'],
  ['ip6-loopback', 'is the Debian /etc/hosts name for ::1'],
  ['kubernetes.default', 'is the in-cluster Kubernetes API server'],
  ['kubernetes.default.svc', 'is the in-cluster Kubernetes API server'],
])

const ALLOWED: HostVerdict = Object.freeze({ allowed: true })

// Dot positions of the last name tryNormalize accepted (synchronous, so module state is safe);
// they save checkHostname a second scan and the string searches it would cost.
let lastDot = -1
let prevDot = -1

/** Lower case, one trailing dot removed; undefined for empty labels (`a..b`, `.a`, `a..`). One pass. */
function tryNormalize(host: string): string | undefined {
  let end = host.length
  if (end > 0 && host.charCodeAt(end - 1) === 46) end--
  if (end === 0) return undefined
  let fold = false
  let last = -1
  let prev = -1
  let labelStart = 0
  for (let i = 0; i < end; i++) {
    const c = host.charCodeAt(i)
    if (c === 46) {
      if (i === labelStart) return undefined
      prev = last
      last = i
      labelStart = i + 1
    } else if ((c >= 65 && c <= 90) || c > 127) fold = true
  }
  if (labelStart === end) return undefined
  lastDot = last
  prevDot = prev
  const h = end === host.length ? host : host.slice(0, end)
  return fold ? h.toLowerCase() : h
}

/** Lower-case and strip one trailing dot; throws ERR_URL_INVALID for empty labels. */
export function normalizeHostname(host: string): string {
  const h = tryNormalize(host)
  if (h === undefined) throw new SafeFetchError('ERR_URL_INVALID', `host ${JSON.stringify(host)} has an empty label`)
  return h
}

function isIpLiteralHost(h: string): boolean {
  if (h.charCodeAt(0) === 91) return true
  const last = h.charCodeAt(h.length - 1)
  return last >= 48 && last <= 57 && parseIpv4(h) >= 0
}

/** Canonical form of a user entry: what URL#hostname would show for it. */
function canonicalEntry(raw: string): string | undefined {
  if (raw.length === 0 || /[\s/?#@\\]/.test(raw)) return undefined
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw
  const ip = bare.includes(':') ? parseIp(bare) : undefined
  if (ip !== undefined) {
    try {
      return new URL(`http://[${bare}]/`).hostname
    } catch {
      return undefined
    }
  }
  if (raw.includes(':') || raw.includes('[')) return undefined
  const ascii = domainToASCII(raw)
  if (ascii === '') return undefined
  return tryNormalize(ascii)
}

function compileNames(value: unknown, path: string): NameSet {
  const exact = new Set<string>()
  const suffixes = new Set<string>()
  if (value === undefined) return { exact, suffixes }
  if (!Array.isArray(value)) throw new SafeFetchError('ERR_INVALID_OPTION', `${path} must be an array of host names, got ${JSON.stringify(value)}`)
  value.forEach((item: unknown, i) => {
    const bad = (): SafeFetchError =>
      new SafeFetchError(
        'ERR_INVALID_OPTION',
        `${path}[${i}] must be a host name like api.example.com or a glob like *.example.com, got ${JSON.stringify(item)}`,
      )
    if (typeof item !== 'string') throw bad()
    const glob = item.startsWith('*.')
    const name = canonicalEntry(glob ? item.slice(2) : item)
    if (name === undefined || name.includes('*') || (glob && isIpLiteralHost(name))) throw bad()
    ;(glob ? suffixes : exact).add(name)
  })
  return { exact, suffixes }
}

export function compileHostRules(o: HostRuleOptions & { allowPrivate?: boolean }, optionPath = 'policy'): CompiledHostRules {
  const rules: Internal = {
    allow: compileNames(o.allowHosts, `${optionPath}.allowHosts`),
    deny: compileNames(o.denyHosts, `${optionPath}.denyHosts`),
    allowPrivate: o.allowPrivate === true,
    optionPath,
  }
  return Object.freeze(rules) as unknown as CompiledHostRules
}

/** The entry of `set` that matches `h` (exact, or a glob on a proper suffix), or undefined. */
function matchNames(set: NameSet, h: string): string | undefined {
  if (set.exact.has(h)) return h
  if (set.suffixes.size === 0) return undefined
  for (let dot = h.indexOf('.'); dot >= 0; dot = h.indexOf('.', dot + 1)) {
    const suffix = h.slice(dot + 1)
    if (set.suffixes.has(suffix)) return `*.${suffix}`
  }
  return undefined
}

/**
 * The built-in private suffix covering `h` (apex included), or undefined. Every built-in suffix is one
 * label except `home.arpa`: look at the last label, and at the last two under `arpa`.
 */
function privateSuffix(h: string, last: number, prev: number): string | undefined {
  const tld = last < 0 ? h : h.slice(last + 1)
  if (tld === 'arpa') {
    const two = h.slice(prev + 1)
    return PRIVATE_SUFFIXES.has(two) ? two : undefined
  }
  return PRIVATE_SUFFIXES.has(tld) ? tld : undefined
}

export function checkHostname(rules: CompiledHostRules, hostname: string): HostVerdict {
  const r = rules as unknown as Internal
  const path = r.optionPath
  const h = tryNormalize(hostname)
  if (h === undefined) return { allowed: false, reason: `host ${JSON.stringify(hostname)} has an empty label`, rule: 'empty-label', host: hostname }
  const last = lastDot
  const prev = prevDot
  const denied = matchNames(r.deny, h)
  if (denied !== undefined) {
    return {
      allowed: false,
      reason: `host ${h} matches ${path}.denyHosts entry "${denied}"; remove it from ${path}.denyHosts to allow it`,
      rule: 'denyHosts',
      host: h,
      entry: denied,
    }
  }
  if (r.allow.exact.size > 0 || r.allow.suffixes.size > 0) {
    if (matchNames(r.allow, h) !== undefined) return ALLOWED
    return { allowed: false, reason: `host ${h} is not in ${path}.allowHosts; add "${h}" to ${path}.allowHosts to allow it`, rule: 'allowHosts', host: h }
  }
  // IP literals are judged by the address policy, not by name.
  if (isIpLiteralHost(h)) return ALLOWED
  const metadata = METADATA_NAMES.get(h)
  if (metadata !== undefined) {
    return {
      allowed: false,
      reason: `host ${h} is a cloud metadata service (${metadata}); add "${h}" to ${path}.allowHosts to allow it`,
      rule: 'metadata',
      host: h,
    }
  }
  if (r.allowPrivate) return ALLOWED
  const refuse = (why: string): HostVerdict => ({
    allowed: false,
    reason: `${why}; add "${h}" to ${path}.allowHosts or set ${path}.allowPrivate: true to allow it`,
    rule: 'private',
    host: h,
  })
  const exact = PRIVATE_NAMES.get(h)
  if (exact !== undefined) return refuse(`host ${h} ${exact}`)
  const suffix = privateSuffix(h, last, prev)
  if (suffix !== undefined) {
    return refuse(`${suffix === h ? `host ${h}` : `host ${h} is under .${suffix}, which`} ${PRIVATE_SUFFIXES.get(suffix) ?? ''}`)
  }
  // Dotless names only resolve through /etc/hosts or the resolver's search list, i.e. inside
  // (ICANN SSAC SAC053: dotless domains are not used on the public Internet).
  if (last < 0) return refuse(`host ${h} is a single-label name, which only resolves inside a network`)
  return ALLOWED
}
