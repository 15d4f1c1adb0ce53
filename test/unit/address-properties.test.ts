/**
 * Property tests: every spelling of an address that the WHATWG URL parser accepts gets the verdict of
 * the canonical address, and no URL mutation turns a denied address into an allowed one.
 * 100 000 runs in total (see RUNS); the seed of a failure is printed by fast-check.
 */
import fc from 'fast-check'
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { checkAddress, compileAddressPolicy, type AddressVerdict, type CompiledAddressPolicy } from '../../src/net/address-policy.js'
import { findSpecialRange, parseIp } from '../../src/net/ip-ranges.js'
import { assertUrlAllowed, compilePolicy, literalAddress, parseUrl } from '../../src/net/url-policy.js'
import { V4_MODEL, V6_MODEL, expectedFor, render, type ModelRow } from '../fixtures/special-purpose-registry.js'

const RUNS = { v4Forms: 25_000, v6Forms: 25_000, model: 20_000, v4Mutations: 15_000, v6Mutations: 15_000 }

// --- addresses ----------------------------------------------------------------------------------

const byte = fc.integer({ min: 0, max: 255 })

/** Bytes inside a random fixture row, so special ranges come up as often as public space. */
function inRow(rows: readonly ModelRow[], size: 4 | 16): fc.Arbitrary<number[]> {
  return fc.tuple(fc.constantFrom(...rows), fc.array(byte, { minLength: size, maxLength: size })).map(([row, random]) =>
    random.map((b, i) => {
      const fixed = Math.min(8, Math.max(0, row.bits - i * 8)) // prefix bits in this byte
      const prefixMask = (0xff00 >> fixed) & 0xff
      return ((row.bytes[i] as number) & prefixMask) | (b & ~prefixMask & 0xff)
    }),
  )
}

const v4Bytes: fc.Arbitrary<number[]> = fc.oneof(fc.array(byte, { minLength: 4, maxLength: 4 }), inRow(V4_MODEL, 4))
const v6Bytes: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(byte, { minLength: 16, maxLength: 16 }),
  inRow(V6_MODEL, 16),
  v4Bytes.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]), // IPv4-mapped
  v4Bytes.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...b]), // IPv4-compatible
  v4Bytes.map((b) => [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ...b]), // NAT64
  fc.tuple(v4Bytes, fc.array(byte, { minLength: 10, maxLength: 10 })).map(([b, r]) => [0x20, 0x02, ...b, ...r]), // 6to4
  fc.tuple(v4Bytes, v4Bytes, fc.array(byte, { minLength: 4, maxLength: 4 })).map(([s, c, r]) => [0x20, 0x01, 0, 0, ...s, ...r, ...c.map((x) => x ^ 0xff)]), // Teredo
)

const toU32 = (b: readonly number[]): number => (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0

// --- spellings -----------------------------------------------------------------------------------

type Radix = 'dec' | 'oct' | 'hex'
interface V4Style {
  parts: 1 | 2 | 3 | 4
  radix: Radix[]
  zeros: number[]
  upper: boolean[]
  trailingDot: boolean
  encoding: 'plain' | 'percent' | 'fullwidth'
  pick: boolean[]
}

const v4Style: fc.Arbitrary<V4Style> = fc.record({
  parts: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>,
  radix: fc.array(fc.constantFrom<Radix>('dec', 'oct', 'hex'), { minLength: 4, maxLength: 4 }),
  zeros: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
  upper: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  trailingDot: fc.boolean(),
  encoding: fc.constantFrom('plain', 'percent', 'fullwidth') as fc.Arbitrary<'plain' | 'percent' | 'fullwidth'>,
  pick: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
})

function renderNumber(value: number, radix: Radix, zeros: number, upper: boolean): string {
  if (radix === 'dec') return String(value)
  if (radix === 'oct') return `0${'0'.repeat(zeros)}${value.toString(8)}`
  const hex = `0x${'0'.repeat(zeros)}${value.toString(16)}`
  return upper ? hex.toUpperCase() : hex
}

/** A spelling the WHATWG IPv4 parser accepts: 1-4 parts, each decimal, octal or hex. */
function spellV4(n: number, s: V4Style): string {
  const parts: number[] = []
  for (let i = 0; i < s.parts - 1; i++) parts.push((n >>> (24 - 8 * i)) & 255)
  const restBits = 32 - 8 * (s.parts - 1)
  parts.push(restBits === 32 ? n : n & ((1 << restBits) - 1))
  let text = parts.map((p, i) => renderNumber(p, s.radix[i] as Radix, s.zeros[i] as number, s.upper[i] as boolean)).join('.')
  if (s.trailingDot) text += '.'
  return encodeHost(text, s.encoding, s.pick)
}

function encodeHost(text: string, encoding: V4Style['encoding'], pick: readonly boolean[]): string {
  if (encoding === 'plain') return text
  return [...text]
    .map((ch, i) => {
      if (!pick[i % pick.length]) return ch
      if (encoding === 'percent') return `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`
      return String.fromCharCode(ch.charCodeAt(0) + 0xfee0) // fullwidth forms, mapped back by IDNA (UTS #46)
    })
    .join('')
}

interface V6Style {
  upper: boolean[]
  pad: number[]
  compressAt: number
  compressLen: number
  dotted: boolean
}

const v6Style: fc.Arbitrary<V6Style> = fc.record({
  upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
  compressAt: fc.integer({ min: 0, max: 7 }),
  compressLen: fc.integer({ min: 0, max: 8 }),
  dotted: fc.boolean(),
})

/** An RFC 4291 §2.2 spelling: any case, optional leading zeros, `::` over any zero run, dotted tail. */
function spellV6(bytes: readonly number[], s: V6Style): string {
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number))
  const width = s.dotted ? 6 : 8
  let start = s.compressAt % width
  let len = 0
  while (start + len < width && len < s.compressLen && groups[start + len] === 0) len++
  if (len === 0) start = -1
  const text = (i: number): string => {
    const h = (groups[i] as number).toString(16)
    const padded = h.length + (s.pad[i] as number) > 4 ? h.padStart(4, '0') : '0'.repeat(s.pad[i] as number) + h
    return s.upper[i] ? padded.toUpperCase() : padded
  }
  const head: string[] = []
  for (let i = 0; i < width; i++) head.push(text(i))
  let out = start < 0 ? head.join(':') : `${head.slice(0, start).join(':')}::${head.slice(start + len).join(':')}`
  if (s.dotted) {
    const tail = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
    out = start >= 0 && start + len === width ? `${out}${tail}` : `${out}:${tail}`
  }
  return out
}

// --- verdicts ------------------------------------------------------------------------------------

const POLICIES: readonly CompiledAddressPolicy[] = [
  compileAddressPolicy({}),
  compileAddressPolicy({ allowPrivate: true }),
  compileAddressPolicy({ allowPrivate: true, denyPreset: 'cloud' }),
  compileAddressPolicy({ allow: ['10.0.0.0/8', 'fd00::/8', '::1'], deny: ['8.0.0.0/7', '2600::/12', '127.0.0.0/16'] }),
]

function summary(v: AddressVerdict): string {
  return v.allowed ? 'allowed' : `${v.rule} ${v.range} ${v.embeddedIpv4 ?? ''} ${v.via ?? ''}`
}

/** A plain equality check: vitest's expect costs more than the code under test in 100k-run loops. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`)
}

function failureCode(run: () => void): string {
  try {
    run()
    return 'ok'
  } catch (err) {
    if (!(err instanceof SafeFetchError)) throw err
    return err.code
  }
}

// --- properties ----------------------------------------------------------------------------------

describe('every accepted spelling gets the canonical verdict', () => {
  it('IPv4: decimal, octal, hex, 1-4 parts, trailing dot, percent-encoded, fullwidth', () => {
    fc.assert(
      fc.property(v4Bytes, v4Style, fc.constantFrom(...POLICIES), (bytes, style, policy) => {
        const canonical = bytes.join('.')
        const spelled = spellV4(toU32(bytes), style)
        const url = new URL(`http://${spelled}/`)
        same(url.hostname, canonical, spelled)
        const literal = literalAddress(url)
        same(literal, canonical, spelled)
        same(summary(checkAddress(policy, literal as string)), summary(checkAddress(policy, canonical)), spelled)
        // The strict parser only takes the canonical dotted quad; everything else is the URL parser's job.
        if (parseIp(spelled) !== undefined) same(spelled, canonical, 'strict parser')
      }),
      { numRuns: RUNS.v4Forms },
    )
  })

  it('IPv6: compressed anywhere, expanded, upper case, leading zeros, dotted tail', () => {
    fc.assert(
      fc.property(v6Bytes, v6Style, fc.constantFrom(...POLICIES), (bytes, style, policy) => {
        const canonical = ipaddr.fromByteArray(bytes).toString()
        const spelled = spellV6(bytes, style)
        const parsed = parseIp(spelled)
        if (parsed === undefined) throw new Error(`${spelled} did not parse`)
        // (ipaddr.js is not the oracle here: it reads `::a.b.c.d` as IPv4-mapped.)
        same([parsed.w0, parsed.w1, parsed.w2, parsed.w3].join(), [0, 4, 8, 12].map((i) => toU32(bytes.slice(i, i + 4))).join(), spelled)
        const url = new URL(`http://[${spelled}]/`)
        const literal = literalAddress(url) as string
        const want = summary(checkAddress(policy, canonical))
        same(summary(checkAddress(policy, literal)), want, `${spelled} via URL ${literal}`)
        same(summary(checkAddress(policy, spelled)), want, spelled)
        // Zone ids and brackets do not change the verdict either.
        same(summary(checkAddress(policy, `${spelled}%eth0`)), want, `${spelled}%eth0`)
        same(summary(checkAddress(policy, `[${spelled}]`)), want, `[${spelled}]`)
      }),
      { numRuns: RUNS.v6Forms },
    )
  })
})

describe('random addresses agree with the independent registry model', () => {
  it('IPv4 and IPv6', () => {
    fc.assert(
      fc.property(fc.oneof(v4Bytes, v6Bytes), (bytes) => {
        const hit = findSpecialRange(render(bytes))
        const actual =
          hit === undefined
            ? { verdict: 'allow' }
            : hit.via === undefined
              ? { verdict: 'deny', name: hit.range.name }
              : { verdict: 'deny', name: hit.range.name, via: hit.via }
        same(JSON.stringify(actual), JSON.stringify(expectedFor(bytes)), render(bytes))
      }),
      { numRuns: RUNS.model },
    )
  })
})

// --- URL mutations ------------------------------------------------------------------------------

// Built to be denied (every IPv4 row is a deny row), then confirmed by the model: cheap, rarely filtered.
const deniedV4 = inRow(V4_MODEL, 4)
const deniedV6 = fc
  .oneof(
    inRow(
      V6_MODEL.filter((r) => r.expected === 'deny'),
      16,
    ),
    deniedV4.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]),
    deniedV4.map((b) => [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, ...b]),
    deniedV4.map((b) => [0x20, 0x02, ...b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
  )
  .filter((b) => expectedFor(b).verdict === 'deny')

const segment = fc.constantFrom('a', 'b1', '%2e', '..', '.', '%2F', '@', ':', '~', ';x=1', '%00', '%25', 'é', '127.0.0.1', '')
const path = fc.array(segment, { maxLength: 5 }).map((parts) => `/${parts.join('/')}`)
const query = fc.array(fc.tuple(segment, segment), { maxLength: 3 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'))

const randomCase = (text: string, flips: readonly boolean[]): string =>
  [...text].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch.toLowerCase())).join('')

const mutation = fc.record({
  scheme: fc.constantFrom('http', 'https'),
  flips: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  userinfo: fc.option(fc.tuple(fc.stringMatching(/^[a-z0-9.]{0,6}$/), fc.option(fc.stringMatching(/^[a-z0-9@:]{0,6}$/))), { nil: undefined }),
  port: fc.option(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(80, 443)), { nil: undefined }),
  path,
  query: fc.option(query, { nil: undefined }),
  fragment: fc.option(segment, { nil: undefined }),
})

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never

function buildUrl(host: string, m: Mutation): string {
  const userinfo = m.userinfo === undefined ? '' : `${m.userinfo[0]}${m.userinfo[1] === null ? '' : `:${encodeURIComponent(m.userinfo[1])}`}@`
  const port = m.port === undefined ? '' : `:${m.port}`
  const query = m.query === undefined ? '' : `?${m.query}`
  const fragment = m.fragment === undefined ? '' : `#${m.fragment}`
  return `${randomCase(m.scheme, m.flips)}://${userinfo}${host}${port}${m.path}${query}${fragment}`
}

const STRICT = compilePolicy(undefined)
const LENIENT = compilePolicy({ allowCredentials: true }) // only the address table stands between

function neverAllowed(href: string): void {
  for (const policy of [STRICT, LENIENT]) {
    const code = failureCode(() => assertUrlAllowed(policy, parseUrl(href)))
    if (code === 'ok') throw new Error(`${href} was allowed`)
  }
}

describe('URL mutations never turn a denied address into an allowed one', () => {
  it('IPv4 hosts in any spelling, with case, userinfo, ports, paths, queries, fragments', () => {
    fc.assert(
      fc.property(deniedV4, v4Style, mutation, (bytes, style, m) => {
        neverAllowed(buildUrl(randomCase(spellV4(toU32(bytes), style), m.flips), m))
      }),
      { numRuns: RUNS.v4Mutations },
    )
  })

  it('IPv6 hosts in any spelling, with case, userinfo, ports, paths, queries, fragments', () => {
    fc.assert(
      fc.property(deniedV6, v6Style, mutation, (bytes, style, m) => {
        neverAllowed(buildUrl(`[${randomCase(spellV6(bytes, style), m.flips)}]`, m))
      }),
      { numRuns: RUNS.v6Mutations },
    )
  })

  it('the lenient policy refuses by address, not by accident', () => {
    expect(failureCode(() => assertUrlAllowed(LENIENT, parseUrl('HTTP://u:p@0x7F.1:8080/a?b#c')))).toBe('ERR_ADDRESS_BLOCKED')
    expect(failureCode(() => assertUrlAllowed(LENIENT, parseUrl('http://[::FFFF:127.0.0.1]:65535/')))).toBe('ERR_ADDRESS_BLOCKED')
  })
})
