/**
 * The special-purpose address table behind the SSRF guard, and a strict, allocation-light IP parser.
 *
 * Sources: IANA IPv4 Special-Purpose Address Registry and IANA IPv6 Special-Purpose Address Registry
 * (RFC 6890 / RFC 8190), plus blocks those registries do not list but that are never a public HTTP
 * destination (multicast, IPv4 240/4 is listed, IPv6 site-local, everything outside 2000::/3).
 * Rule of the table: a row is denied unless the registry says "globally reachable: true" AND the block
 * can host an ordinary service. Anycast protocol infrastructure (AS112, AMT, PCP, TURN) is globally
 * reachable but never an HTTP origin, so it is denied too: an SSRF guard must fail closed.
 * docs/range-table.md lists every row with the reason.
 *
 * Speed: this runs on every dial and every literal URL. IPv4 is a uint32, IPv6 four uint32 words; no
 * BigInt, no regex, no split. A parsed IPv4 address is stored in its IPv4-mapped form
 * (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so one 128-bit CIDR matcher serves both families.
 */

interface SpecialRange {
  readonly cidr: string
  readonly name: string
  readonly reference: string
}

export interface ParsedIp {
  /** 4 when the text was a dotted quad, 6 otherwise (an IPv4-mapped IPv6 text is version 6). */
  readonly version: 4 | 6
  /** The 128-bit address as four big-endian uint32 words. IPv4 a.b.c.d is ::ffff:a.b.c.d. */
  readonly w0: number
  readonly w1: number
  readonly w2: number
  readonly w3: number
}

/** How an IPv4 address was found inside an IPv6 one. */
type EmbeddingVia = 'ipv4-mapped' | 'ipv4-compatible' | 'ipv4-translated' | 'nat64' | '6to4' | 'teredo-server' | 'teredo-client'

interface SpecialRangeMatch {
  readonly range: SpecialRange
  /** The IPv4 address that decided the verdict, when it was unwrapped from an IPv6 address. */
  readonly embeddedIpv4?: string
  readonly via?: EmbeddingVia
}

const r = (cidr: string, name: string, reference: string): SpecialRange => Object.freeze({ cidr, name, reference })

/** Denied IPv4 blocks. Sub-rows of a denied block are listed for their names (longest prefix wins). */
const IPV4_ROWS: readonly SpecialRange[] = [
  r('0.0.0.0/8', 'this-network', 'RFC 791 §3.2'), // registry: not globally reachable; Linux connects 0.0.0.0 to the local host
  r('0.0.0.0/32', 'this-host', 'RFC 1122 §3.2.1.3'), // registry: not globally reachable
  r('10.0.0.0/8', 'private-use', 'RFC 1918'), // registry: not globally reachable
  r('100.64.0.0/10', 'shared-address-space', 'RFC 6598'), // registry: not globally reachable (CGNAT; Alibaba metadata 100.100.100.200)
  r('127.0.0.0/8', 'loopback', 'RFC 1122 §3.2.1.3'), // registry: not globally reachable
  r('169.254.0.0/16', 'link-local', 'RFC 3927'), // registry: not globally reachable (169.254.169.254 metadata)
  r('172.16.0.0/12', 'private-use', 'RFC 1918'), // registry: not globally reachable
  r('192.0.0.0/24', 'ietf-protocol-assignments', 'RFC 6890 §2.1'), // registry: not globally reachable (Oracle 192.0.0.192)
  r('192.0.0.0/29', 'ipv4-service-continuity', 'RFC 7335'), // registry: not globally reachable (DS-Lite)
  r('192.0.0.8/32', 'ipv4-dummy-address', 'RFC 7600'), // registry: not globally reachable
  r('192.0.0.9/32', 'pcp-anycast', 'RFC 7723'), // registry: globally reachable; PCP, not an HTTP origin
  r('192.0.0.10/32', 'turn-anycast', 'RFC 8155'), // registry: globally reachable; TURN, not an HTTP origin
  r('192.0.0.170/32', 'nat64-dns64-discovery', 'RFC 8880, RFC 7050'), // registry: not globally reachable
  r('192.0.0.171/32', 'nat64-dns64-discovery', 'RFC 8880, RFC 7050'), // registry: not globally reachable
  r('192.0.2.0/24', 'documentation', 'RFC 5737 (TEST-NET-1)'), // registry: not globally reachable
  r('192.31.196.0/24', 'as112-v4', 'RFC 7535'), // registry: globally reachable; AS112 DNS sink anycast
  r('192.52.193.0/24', 'amt', 'RFC 7450'), // registry: globally reachable; multicast relay anycast
  r('192.88.99.0/24', '6to4-relay-anycast', 'RFC 7526 (deprecated)'), // registry: deprecated, N/A
  r('192.88.99.2/32', '6a44-relay-anycast', 'RFC 6751'), // registry row inside the deprecated /24
  r('192.168.0.0/16', 'private-use', 'RFC 1918'), // registry: not globally reachable
  r('192.175.48.0/24', 'as112-direct-delegation', 'RFC 7534'), // registry: globally reachable; AS112 anycast
  r('198.18.0.0/15', 'benchmarking', 'RFC 2544'), // registry: not globally reachable
  r('198.51.100.0/24', 'documentation', 'RFC 5737 (TEST-NET-2)'), // registry: not globally reachable
  r('203.0.113.0/24', 'documentation', 'RFC 5737 (TEST-NET-3)'), // registry: not globally reachable
  r('224.0.0.0/4', 'multicast', 'RFC 5771'), // IPv4 Multicast Address Space registry: never a TCP peer
  r('240.0.0.0/4', 'reserved', 'RFC 1112 §4'), // registry: not globally reachable
  r('255.255.255.255/32', 'limited-broadcast', 'RFC 8190, RFC 919 §7'), // registry: not globally reachable
]

/** Denied IPv6 blocks. Embedding prefixes (below) are judged by the IPv4 address inside instead. */
const IPV6_ROWS: readonly SpecialRange[] = [
  r('::/128', 'unspecified', 'RFC 4291 §2.5.2'), // registry: not globally reachable; dials localhost
  r('::1/128', 'loopback', 'RFC 4291 §2.5.3'), // registry: not globally reachable
  r('64:ff9b:1::/48', 'nat64-local-use', 'RFC 8215'), // registry: not globally reachable; site-defined embedding
  r('100::/64', 'discard-only', 'RFC 6666'), // registry: not globally reachable
  r('100:0:0:1::/64', 'dummy-prefix', 'RFC 9780'), // registry (2025): not globally reachable
  r('2001::/23', 'ietf-protocol-assignments', 'RFC 2928'), // registry: not globally reachable unless a sub-row says so
  r('2001::/32', 'teredo', 'RFC 4380, RFC 8190'), // registry: N/A; refused as a whole (see findTeredo)
  r('2001:1::1/128', 'pcp-anycast', 'RFC 7723'), // registry: globally reachable; PCP, not an HTTP origin
  r('2001:1::2/128', 'turn-anycast', 'RFC 8155'), // registry: globally reachable; TURN, not an HTTP origin
  r('2001:1::3/128', 'dns-sd-srp-anycast', 'RFC 9665'), // registry (2024): globally reachable; SRP, not HTTP
  r('2001:2::/48', 'benchmarking', 'RFC 5180'), // registry: not globally reachable
  r('2001:3::/32', 'amt', 'RFC 7450'), // registry: globally reachable; multicast relay anycast
  r('2001:4:112::/48', 'as112-v6', 'RFC 7535'), // registry: globally reachable; AS112 DNS sink anycast
  r('2001:10::/28', 'orchid-deprecated', 'RFC 4843'), // registry: deprecated; identifiers, not locators
  r('2001:20::/28', 'orchid-v2', 'RFC 7343'), // registry: globally reachable; identifiers, not locators
  r('2001:30::/28', 'drone-remote-id', 'RFC 9374'), // registry: globally reachable; DET identifiers
  r('2001:db8::/32', 'documentation', 'RFC 3849'), // registry: not globally reachable
  r('2620:4f:8000::/48', 'as112-direct-delegation', 'RFC 7534'), // registry: globally reachable; AS112 anycast
  r('3fff::/20', 'documentation', 'RFC 9637'), // registry (2024): not globally reachable
  r('5f00::/16', 'srv6-sids', 'RFC 9602'), // registry (2024): not globally reachable
  r('fc00::/7', 'unique-local', 'RFC 4193, RFC 8190'), // registry: not globally reachable (AWS IMDS fd00:ec2::254)
  r('fe80::/10', 'link-local', 'RFC 4291 §2.5.6'), // registry: not globally reachable
  r('fec0::/10', 'site-local-deprecated', 'RFC 3879'), // not in the registry; deprecated, still routed inside sites
  r('ff00::/8', 'multicast', 'RFC 4291 §2.7'), // not in the registry; never a TCP peer
  // Everything outside global unicast 2000::/3 (IANA IPv6 Address Space: reserved by IETF / unassigned).
  r('::/3', 'outside-global-unicast', 'RFC 4291 §2.4'),
  r('4000::/2', 'outside-global-unicast', 'RFC 4291 §2.4'),
  r('8000::/1', 'outside-global-unicast', 'RFC 4291 §2.4'),
]

/** Every denied row, IPv4 first. */
export const SPECIAL_RANGES: readonly SpecialRange[] = Object.freeze([...IPV4_ROWS, ...IPV6_ROWS])

/**
 * IPv6 prefixes that carry an IPv4 address; addresses in them are judged by that IPv4 address.
 * Not denied as such: `::ffff:8.8.8.8` is 8.8.8.8, and NAT64 `64:ff9b::8.8.8.8` is how IPv6-only
 * networks with DNS64 reach public IPv4 hosts. Teredo is refused whatever it embeds.
 */
export const EMBEDDING_PREFIXES: readonly SpecialRange[] = Object.freeze([
  r('::ffff:0:0/96', 'ipv4-mapped', 'RFC 4291 §2.5.5.2'), // registry: not globally reachable (as IPv6 packets)
  r('::/96', 'ipv4-compatible', 'RFC 4291 §2.5.5.1 (deprecated)'), // ::1 and :: are matched first as rows
  r('::ffff:0:0:0/96', 'ipv4-translated', 'RFC 2765 §2.1'), // SIIT, obsoleted by RFC 6145 but still parseable
  r('64:ff9b::/96', 'nat64', 'RFC 6052 §2.1'), // registry: globally reachable
  r('2002::/16', '6to4', 'RFC 3056'), // registry: N/A; IPv4 in bits 16-47
  r('2001::/32', 'teredo', 'RFC 4380 §4'), // server IPv4 in bits 32-63, client IPv4 = NOT bits 96-127
])

/** Returned when a string given to findSpecialRange is not an IP address: unknown means denied. */
const NOT_AN_IP: SpecialRange = r('n/a', 'not-an-ip-address', 'strict parser')

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Strict dotted quad: exactly four decimal parts 0-255, no leading zeros (`010` is octal to
 * inet_aton and decimal to others: ambiguous, so refused), no sign, no spaces. Returns -1 when invalid.
 */
function parseDottedQuad(s: string, start: number, end: number): number {
  if (end - start > 15) return -1
  let value = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48
    if (d >= 0 && d <= 9) {
      if (digits === 1 && part === 0) return -1
      part = part * 10 + d
      digits++
    } else if (d === -2) {
      if (digits === 0 || dots === 3 || part > 255) return -1
      value = (value << 8) | part
      part = 0
      digits = 0
      dots++
    } else return -1
  }
  if (digits === 0 || dots !== 3 || part > 255) return -1
  return ((value << 8) | part) >>> 0
}

// Hex digit values by char code (-1: not a hex digit); a table beats three range tests per char.
const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX[48 + i] = i
for (let i = 0; i < 6; i++) {
  HEX[97 + i] = 10 + i
  HEX[65 + i] = 10 + i
}

// Scratch space for the eight hextets; parsing is synchronous, so one buffer suffices.
const groups = [0, 0, 0, 0, 0, 0, 0, 0]

/** RFC 4291 §2.2 text forms: full, `::`-compressed, and a trailing dotted quad. */
function parseIpv6(s: string, start: number, end: number): ParsedIp | undefined {
  const g = groups
  let n = 0
  let gap = -1
  let i = start
  if (end - start < 2) return undefined
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return undefined
    gap = 0
    i += 2
  }
  while (i < end) {
    if (n === 8) return undefined
    const groupStart = i
    let value = 0
    while (i < end) {
      const c = s.charCodeAt(i)
      const h = c < 128 ? (HEX[c] as number) : -1
      if (h < 0) break
      value = value * 16 + h
      i++
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // A dotted quad may only stand for the last 32 bits (RFC 4291 §2.2 form 3).
      if (n > 6) return undefined
      const v4 = parseDottedQuad(s, groupStart, end)
      if (v4 < 0) return undefined
      g[n++] = v4 >>> 16
      g[n++] = v4 & 0xffff
      i = end
      break
    }
    const len = i - groupStart
    if (len === 0 || len > 4) return undefined
    g[n++] = value
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return undefined
    i++
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return undefined
      gap = n
      i++
    } else if (i === end) return undefined
  }
  if (gap < 0) {
    if (n !== 8) return undefined
  } else {
    if (n > 7) return undefined
    const tail = n - gap
    for (let k = 7; k >= 8 - tail; k--) g[k] = g[k - (8 - n)] as number
    for (let k = gap; k < 8 - tail; k++) g[k] = 0
  }
  return {
    version: 6,
    w0: (((g[0] as number) << 16) | (g[1] as number)) >>> 0,
    w1: (((g[2] as number) << 16) | (g[3] as number)) >>> 0,
    w2: (((g[4] as number) << 16) | (g[5] as number)) >>> 0,
    w3: (((g[6] as number) << 16) | (g[7] as number)) >>> 0,
  }
}

/** Zone ids (RFC 4007 §11) as `lookup` returns them, e.g. `eth0` or `25`. */
function validZone(s: string, start: number, end: number): boolean {
  if (start >= end) return false
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c <= 32 || c >= 127 || c === 37 || c === 47 || c === 91 || c === 93) return false
  }
  return true
}

/**
 * Parse any IP literal: dotted quad, IPv6 (compressed, full, trailing dotted quad such as
 * `::ffff:1.2.3.4`), optional `[...]` around IPv6, zone id `%eth0` stripped. Returns undefined for
 * anything else, including the legacy inet_aton forms (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`):
 * those reach us only through the WHATWG URL parser, which has already normalised them.
 */
export function parseIp(text: string): ParsedIp | undefined {
  let end = text.length
  if (end === 0 || end > 128) return undefined
  let start = 0
  if (text.charCodeAt(0) === 91) {
    if (text.charCodeAt(end - 1) !== 93) return undefined
    start = 1
    end--
  } else {
    const v4 = parseDottedQuad(text, 0, end)
    if (v4 >= 0) return { version: 4, w0: 0, w1: 0, w2: 0xffff, w3: v4 }
  }
  const pct = text.indexOf('%', start)
  if (pct >= 0 && pct < end) {
    if (!validZone(text, pct + 1, end)) return undefined
    end = pct
  }
  return parseIpv6(text, start, end)
}

/** A uint32 as a dotted quad. */
export function formatIpv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`
}

/** Canonical text (RFC 5952: lower case, longest zero run compressed; mapped form as ::ffff:a.b.c.d). */
export function formatIp(ip: ParsedIp): string {
  if (ip.version === 4) return formatIpv4(ip.w3)
  if (ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff) return `::ffff:${formatIpv4(ip.w3)}`
  const h = [ip.w0 >>> 16, ip.w0 & 0xffff, ip.w1 >>> 16, ip.w1 & 0xffff, ip.w2 >>> 16, ip.w2 & 0xffff, ip.w3 >>> 16, ip.w3 & 0xffff]
  let bestStart = -1
  let bestLen = 1 // RFC 5952 §4.2.2: a single 0 group is not compressed
  for (let i = 0; i < 8;) {
    if (h[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && h[j] === 0) j++
    if (j - i > bestLen) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (from: number, to: number): string =>
    h
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':')
  if (bestStart < 0) return hex(0, 8)
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`
}

// ---------------------------------------------------------------------------------------------
// CIDRs

export interface ParsedCidr {
  readonly version: 4 | 6
  /** Prefix length in the 128-bit space (an IPv4 /8 is /104 of ::ffff:0:0/96). */
  readonly prefix: number
  /** Network words (int32, already masked) and mask words (int32). */
  readonly n0: number
  readonly n1: number
  readonly n2: number
  readonly n3: number
  readonly m0: number
  readonly m1: number
  readonly m2: number
  readonly m3: number
  /** False when the text had bits set past the prefix (`10.0.0.5/8`). */
  readonly exact: boolean
  /** True when every address of the block is an IPv4(-mapped) address. */
  readonly ipv4Block: boolean
}

function maskWord(prefix: number, word: number): number {
  const bits = prefix - 32 * word
  if (bits <= 0) return 0
  if (bits >= 32) return -1
  return -1 << (32 - bits)
}

/** `a.b.c.d/n`, `x::/n`, or a bare address (= /32 or /128). Strict decimal prefix, no zone. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/')
  const addrText = slash < 0 ? text : text.slice(0, slash)
  if (addrText.indexOf('%') >= 0 || addrText.charCodeAt(0) === 91) return undefined
  const ip = parseIp(addrText)
  if (ip === undefined) return undefined
  const max = ip.version === 4 ? 32 : 128
  let len = max
  if (slash >= 0) {
    const p = text.slice(slash + 1)
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p.charCodeAt(0) === 48)) return undefined
    len = 0
    for (let i = 0; i < p.length; i++) {
      const c = p.charCodeAt(i)
      if (c < 48 || c > 57) return undefined
      len = len * 10 + (c - 48)
    }
    if (len > max) return undefined
  }
  const prefix = ip.version === 4 ? 96 + len : len
  const m0 = maskWord(prefix, 0)
  const m1 = maskWord(prefix, 1)
  const m2 = maskWord(prefix, 2)
  const m3 = maskWord(prefix, 3)
  const n0 = ip.w0 & m0
  const n1 = ip.w1 & m1
  const n2 = ip.w2 & m2
  const n3 = ip.w3 & m3
  const exact = n0 === (ip.w0 | 0) && n1 === (ip.w1 | 0) && n2 === (ip.w2 | 0) && n3 === (ip.w3 | 0)
  const ipv4Block = prefix >= 96 && n0 === 0 && n1 === 0 && n2 === 0xffff
  return { version: ip.version, prefix, n0, n1, n2, n3, m0, m1, m2, m3, exact, ipv4Block }
}

export function cidrContains(c: ParsedCidr, ip: ParsedIp): boolean {
  return (ip.w0 & c.m0) === c.n0 && (ip.w1 & c.m1) === c.n1 && (ip.w2 & c.m2) === c.n2 && (ip.w3 & c.m3) === c.n3
}

/** True for IPv4 addresses and their IPv4-mapped IPv6 form (the same 128-bit value). */
export function isIpv4Mapped(ip: ParsedIp): boolean {
  return ip.w0 === 0 && ip.w1 === 0 && ip.w2 === 0xffff
}

// ---------------------------------------------------------------------------------------------
// Lookup

interface CompiledRow {
  readonly cidr: ParsedCidr
  readonly match: SpecialRangeMatch
}

function compileRows(rows: readonly SpecialRange[]): CompiledRow[] {
  return rows
    .map((range) => {
      const cidr = parseCidr(range.cidr)
      if (cidr === undefined || !cidr.exact) throw new Error(`bad range table row ${range.cidr}`)
      return { cidr, match: Object.freeze({ range }) }
    })
    .sort((a, b) => b.cidr.prefix - a.cidr.prefix) // longest prefix first: first hit is most specific
}

// IPv4 rows bucketed by first octet: a public address usually finds an empty bucket and stops.
const V4_BUCKETS: CompiledRow[][] = Array.from({ length: 256 }, () => [])
for (const row of compileRows(IPV4_ROWS)) {
  const first = (row.cidr.n3 >>> 24) & 255
  const span = 2 ** Math.max(0, 8 - (row.cidr.prefix - 96))
  for (let o = first; o < first + span; o++) (V4_BUCKETS[o] as CompiledRow[]).push(row)
}
const V6_ROWS: readonly CompiledRow[] = compileRows(IPV6_ROWS)
const V6_UNSPECIFIED = V6_ROWS.find((x) => x.match.range.name === 'unspecified') as CompiledRow
const V6_LOOPBACK = V6_ROWS.find((x) => x.match.range.name === 'loopback') as CompiledRow
const TEREDO = V6_ROWS.find((x) => x.match.range.name === 'teredo') as CompiledRow
const NOT_AN_IP_MATCH: SpecialRangeMatch = Object.freeze({ range: NOT_AN_IP })

function lookupV4(v4: number): CompiledRow | undefined {
  const bucket = V4_BUCKETS[v4 >>> 24] as CompiledRow[]
  for (let i = 0; i < bucket.length; i++) {
    const row = bucket[i] as CompiledRow
    if ((v4 & row.cidr.m3) === row.cidr.n3) return row
  }
  return undefined
}

function embedded(v4: number, via: EmbeddingVia): SpecialRangeMatch | undefined {
  const row = lookupV4(v4)
  return row === undefined ? undefined : { range: row.match.range, embeddedIpv4: formatIpv4(v4), via }
}

/**
 * The IPv4 addresses an IPv6 address carries (RFC 4291, RFC 2765, RFC 6052, RFC 3056, RFC 4380),
 * each with how it was found. Empty for plain IPv4 and for IPv6 without an embedding.
 */
export function embeddedIpv4s(ip: ParsedIp): Array<{ v4: number; via: EmbeddingVia }> {
  if (ip.version === 4) return []
  const { w0, w1, w2, w3 } = ip
  if (w0 === 0 && w1 === 0) {
    if (w2 === 0xffff) return [{ v4: w3, via: 'ipv4-mapped' }]
    if (w2 === 0 && w3 > 1) return [{ v4: w3, via: 'ipv4-compatible' }]
    if (w2 === 0xffff0000) return [{ v4: w3, via: 'ipv4-translated' }]
  }
  if (w0 === 0x0064ff9b && w1 === 0 && w2 === 0) return [{ v4: w3, via: 'nat64' }]
  if (w0 >>> 16 === 0x2002) return [{ v4: (((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0, via: '6to4' }]
  if (w0 === 0x20010000) {
    return [
      { v4: w1, via: 'teredo-server' },
      { v4: ~w3 >>> 0, via: 'teredo-client' },
    ]
  }
  return []
}

function findV6(ip: ParsedIp): SpecialRangeMatch | undefined {
  const { w0, w1, w2, w3 } = ip
  if (w0 === 0 && w1 === 0) {
    if (w2 === 0) {
      if (w3 === 0) return V6_UNSPECIFIED.match
      if (w3 === 1) return V6_LOOPBACK.match
      return embedded(w3, 'ipv4-compatible')
    }
    if (w2 === 0xffff) return embedded(w3, 'ipv4-mapped')
    if (w2 === 0xffff0000) return embedded(w3, 'ipv4-translated')
  }
  // RFC 6052 well-known prefix: a public IPv4 behind it is allowed (DNS64 answers need it).
  if (w0 === 0x0064ff9b && w1 === 0 && w2 === 0) return embedded(w3, 'nat64')
  // RFC 3056: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
  if (w0 >>> 16 === 0x2002) return embedded((((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0, '6to4')
  // RFC 4380 §4: Teredo is refused as a whole (few relays remain, and the client half is attacker-chosen);
  // when the server or client IPv4 is itself special we name that range, it explains more.
  if (w0 === 0x20010000) return embedded(w1, 'teredo-server') ?? embedded(~w3 >>> 0, 'teredo-client') ?? TEREDO.match
  for (let i = 0; i < V6_ROWS.length; i++) {
    const row = V6_ROWS[i] as CompiledRow
    if (cidrContains(row.cidr, ip)) return row.match
  }
  return undefined
}

/** Strict dotted quad to uint32, or -1. The allocation-free fast path for checkAddress. */
export function parseIpv4(text: string): number {
  return parseDottedQuad(text, 0, text.length)
}

/** The denied IPv4 row containing a uint32 address, or undefined when globally reachable. */
export function findIpv4Range(v4: number): SpecialRange | undefined {
  return lookupV4(v4)?.match.range
}

/**
 * The denied special range the address falls in (after unwrapping embedded IPv4), or undefined when
 * globally reachable. A string that is not an IP address yields the NOT_AN_IP range: unknown is denied.
 */
export function findSpecialRange(address: string | ParsedIp): SpecialRangeMatch | undefined {
  const ip = typeof address === 'string' ? parseIp(address) : address
  if (ip === undefined) return NOT_AN_IP_MATCH
  if (ip.version === 4) return lookupV4(ip.w3)?.match
  return findV6(ip)
}
