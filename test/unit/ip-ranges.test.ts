import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import { describe, expect, it } from 'vitest'
import {
  EMBEDDING_PREFIXES,
  SPECIAL_RANGES,
  cidrContains,
  embeddedIpv4s,
  findSpecialRange,
  formatIp,
  parseCidr,
  parseIp,
  parseIpv4,
} from '../../src/net/ip-ranges.js'
import {
  IPV4_REGISTRY,
  IPV6_REGISTRY,
  PUBLIC_ADDRESSES,
  V4_MODEL,
  V6_MODEL,
  expectedFor,
  render,
  type Expected,
  type ModelRow,
} from '../fixtures/special-purpose-registry.js'

/** First, middle (top host bit set) and last address of a block. */
function samples(row: ModelRow): number[][] {
  const start = [...row.bytes]
  const end = [...row.bytes]
  const total = row.bytes.length * 8
  for (let i = row.bits; i < total; i++) (end[i >> 3] as number) |= 0x80 >> (i & 7)
  ;(end as number[]).forEach((b, i) => (end[i] = b & 0xff))
  const mid = [...row.bytes]
  if (row.bits < total) mid[row.bits >> 3] = ((mid[row.bits >> 3] as number) | (0x80 >> (row.bits & 7))) & 0xff
  return [start, mid, end]
}

function actual(address: string): Expected {
  const hit = findSpecialRange(address)
  if (hit === undefined) return { verdict: 'allow' }
  return hit.via === undefined ? { verdict: 'deny', name: hit.range.name } : { verdict: 'deny', name: hit.range.name, via: hit.via }
}

// ------------------------------------------------------------------------------------------------

describe('range table matches the registry fixture', () => {
  it('every denied fixture row is a SPECIAL_RANGES row with the same name and reference, and nothing else is', () => {
    const denied = [...IPV4_REGISTRY, ...IPV6_REGISTRY].filter((r) => r.expected === 'deny')
    const table = SPECIAL_RANGES.map((r) => `${r.cidr} ${r.name} ${r.reference}`).sort()
    expect(table).toEqual(denied.map((r) => `${r.cidr} ${r.name} ${r.reference}`).sort())
  })

  it('every embedding fixture row is an EMBEDDING_PREFIXES row', () => {
    const embedded = IPV6_REGISTRY.filter((r) => r.expected === 'embedded').map((r) => `${r.cidr} ${r.name} ${r.reference}`)
    const prefixes = EMBEDDING_PREFIXES.filter((r) => r.name !== 'teredo').map((r) => `${r.cidr} ${r.name} ${r.reference}`)
    expect(prefixes.sort()).toEqual(embedded.sort())
  })

  it('every row cites an RFC', () => {
    for (const r of [...SPECIAL_RANGES, ...EMBEDDING_PREFIXES]) expect(r.reference).toMatch(/RFC \d+/)
  })
})

describe.each([
  ['IPv4', V4_MODEL],
  ['IPv6', V6_MODEL],
])('%s registry walk: start, middle and end of every row', (_family, rows) => {
  for (const row of rows) {
    it(`${row.cidr} (${row.name}, ${row.expected})`, () => {
      for (const bytes of samples(row)) {
        const expected = expectedFor(bytes)
        if (row.expected === 'deny') expect(expected.verdict).toBe('deny')
        const text = render(bytes)
        expect(actual(text), text).toEqual(expected)
        // The compressed spelling gives the same verdict.
        const compressed = ipaddr.fromByteArray(bytes).toString()
        expect(actual(compressed), compressed).toEqual(expected)
      }
    })
  }
})

describe('no over-blocking', () => {
  it.each(PUBLIC_ADDRESSES)('%s is globally reachable', (address) => {
    expect(findSpecialRange(address)).toBeUndefined()
  })
})

describe('embedded IPv4', () => {
  it.each([
    // address, expected range name (undefined = allowed), via, embedded IPv4
    ['::ffff:127.0.0.1', 'loopback', 'ipv4-mapped', '127.0.0.1'],
    ['::ffff:7f00:1', 'loopback', 'ipv4-mapped', '127.0.0.1'],
    ['0:0:0:0:0:ffff:10.1.2.3', 'private-use', 'ipv4-mapped', '10.1.2.3'],
    ['::ffff:169.254.169.254', 'link-local', 'ipv4-mapped', '169.254.169.254'],
    ['::ffff:8.8.8.8', undefined, undefined, undefined],
    ['::127.0.0.1', 'loopback', 'ipv4-compatible', '127.0.0.1'],
    ['::10.0.0.1', 'private-use', 'ipv4-compatible', '10.0.0.1'],
    ['::8.8.8.8', undefined, undefined, undefined],
    ['::ffff:0:127.0.0.1', 'loopback', 'ipv4-translated', '127.0.0.1'],
    ['::ffff:0:192.168.1.1', 'private-use', 'ipv4-translated', '192.168.1.1'],
    ['64:ff9b::127.0.0.1', 'loopback', 'nat64', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'link-local', 'nat64', '169.254.169.254'],
    ['64:ff9b::8.8.8.8', undefined, undefined, undefined],
    ['64:ff9b::1.1.1.1', undefined, undefined, undefined],
    ['64:ff9b:1::8.8.8.8', 'nat64-local-use', undefined, undefined],
    ['64:ff9b:1:ffff::1', 'nat64-local-use', undefined, undefined],
    ['2002:7f00:1::', 'loopback', '6to4', '127.0.0.1'],
    ['2002:a9fe:a9fe::1', 'link-local', '6to4', '169.254.169.254'],
    ['2002:c0a8:101:1::1', 'private-use', '6to4', '192.168.1.1'],
    ['2002:808:808::1', undefined, undefined, undefined],
    // Teredo: server 65.54.227.120, client obfuscated (NOT) in the last 32 bits.
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'documentation', 'teredo-client', '192.0.2.45'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', 'private-use', 'teredo-client', '10.0.0.1'],
    ['2001:0:7f00:1::', 'loopback', 'teredo-server', '127.0.0.1'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'teredo', undefined, undefined], // client 8.8.8.8: Teredo refused anyway
  ] as const)('%s', (address, name, via, v4) => {
    const hit = findSpecialRange(address)
    expect(hit?.range.name).toBe(name)
    expect(hit?.via).toBe(via)
    expect(hit?.embeddedIpv4).toBe(v4)
  })

  it('unspecified and loopback are named as such, not as IPv4-compatible 0.0.0.x', () => {
    expect(findSpecialRange('::')?.range.name).toBe('unspecified')
    expect(findSpecialRange('::1')?.range.name).toBe('loopback')
    expect(findSpecialRange('::')?.via).toBeUndefined()
  })

  it('embeddedIpv4s lists what each form carries', () => {
    const list = (a: string): string[] => embeddedIpv4s(parseIp(a)!).map((e) => `${e.via}:${e.v4 >>> 0}`)
    expect(list('10.0.0.1')).toEqual([])
    expect(list('2606:4700::1')).toEqual([])
    expect(list('::ffff:0.0.0.1')).toEqual(['ipv4-mapped:1'])
    expect(list('2001:0:0102:0304::fffe')).toEqual(['teredo-server:16909060', `teredo-client:${0xffff0001}`])
  })
})

describe('parseIp: strict', () => {
  const valid: Array<[string, string]> = [
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['192.168.0.1', '192.168.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
    ['1:0:0:2::3', '1:0:0:2::3'],
    ['FE80::ABCD', 'fe80::abcd'],
    ['fe80::1%eth0', 'fe80::1'],
    ['fe80::1%25', 'fe80::1'],
    ['[::1]', '::1'],
    ['[fe80::1%25eth0]', 'fe80::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ]
  it.each(valid)('%s parses as %s', (text, canonical) => {
    const ip = parseIp(text)
    expect(ip).toBeDefined()
    expect(formatIp(ip!)).toBe(canonical)
  })

  it('agrees with ipaddr.js on every valid form (and with the URL parser where ipaddr.js differs)', () => {
    // ipaddr.js reads the IPv4-compatible `::1.2.3.4` as IPv4-mapped; RFC 4291 §2.2 and WHATWG say ::102:304.
    expect(new URL('http://[::1.2.3.4]/').hostname).toBe('[::102:304]')
    for (const [text] of valid) {
      if (text === '::1.2.3.4') continue
      const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
      const ours = formatIp(parseIp(text)!)
      const theirs = ipaddr.parse(bare)
      const expected = theirs.kind() === 'ipv6' ? (theirs as ipaddr.IPv6).toNormalizedString() : theirs.toString()
      const ourParsed = ipaddr.parse(ours)
      const normalized = ourParsed.kind() === 'ipv6' ? (ourParsed as ipaddr.IPv6).toNormalizedString() : ourParsed.toString()
      expect(normalized, text).toBe(expected)
    }
  })

  it.each([
    '',
    ' ',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.04',
    '00.0.0.0',
    '256.1.1.1',
    '1.2.3.256',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '+1.2.3.4',
    '-1.2.3.4',
    '1..2.3',
    '1.2.3.',
    '.1.2.3',
    '0x7f.0.0.1',
    '2130706433',
    '127.1',
    '1.2.3.4/32',
    '1.2.3.4%eth0',
    '[1.2.3.4]',
    '1.2.3.4:80',
    ':',
    ':::',
    '1:::2',
    '1::2::3',
    '12345::',
    ':1::',
    '1::2:',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '::ffff:1.2.3',
    '::ffff:01.2.3.4',
    '::ffff:1.2.3.4.5',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
    'g::',
    'fe80::1%',
    'fe80::1%eth 0',
    'fe80::1%eth/0',
    '[::1',
    '::1]',
    '[::1]x',
    'localhost',
    'example.com',
    '::1 ',
    '١٢٧.0.0.1',
    '1.2.3.4\n',
    '1:2:3:4:5:6:7:8%',
    '0x0::',
    `${'1:'.repeat(70)}1`,
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined()
    expect(parseIpv4(text)).toBe(-1)
  })

  it('accepts exactly what node:net accepts among plain dotted quads and IPv6 (no zone)', () => {
    const candidates = [
      '1.2.3.4',
      '01.2.3.4',
      '1.2.3',
      '::',
      '::1',
      '1::2::3',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      '::1.2.3.4',
    ]
    for (const c of candidates) expect(parseIp(c) !== undefined, c).toBe(isIP(c) !== 0)
  })

  it('parseIpv4 returns the uint32', () => {
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff)
    expect(parseIpv4('127.0.0.1')).toBe(0x7f000001)
    expect(parseIpv4('0.0.0.0')).toBe(0)
  })
})

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 104, true, true],
    ['10.0.0.5/8', 104, false, true],
    ['10.0.0.5', 128, true, true],
    ['0.0.0.0/0', 96, true, true],
    ['::/0', 0, true, false],
    ['::ffff:0:0/96', 96, true, true],
    ['2001:db8::/32', 32, true, false],
    ['2001:db8::1/32', 32, false, false],
    ['fd00:ec2::254', 128, true, false],
  ] as const)('%s', (text, prefix, exact, ipv4Block) => {
    const c = parseCidr(text)!
    expect(c.prefix).toBe(prefix)
    expect(c.exact).toBe(exact)
    expect(c.ipv4Block).toBe(ipv4Block)
  })

  it.each([
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '::/129',
    '[::1]/128',
    'fe80::%eth0/64',
    'x/8',
    '10.0.0.0/1e1',
    '10.0.0.0/ 8',
  ])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined()
  })

  it('matches IPv4 addresses and their mapped form alike', () => {
    const c = parseCidr('10.0.0.0/8')!
    expect(cidrContains(c, parseIp('10.255.0.1')!)).toBe(true)
    expect(cidrContains(c, parseIp('::ffff:10.255.0.1')!)).toBe(true)
    expect(cidrContains(c, parseIp('11.0.0.0')!)).toBe(false)
    const all = parseCidr('0.0.0.0/0')!
    expect(cidrContains(all, parseIp('255.255.255.255')!)).toBe(true)
    expect(cidrContains(all, parseIp('2606:4700::1')!)).toBe(false)
  })
})

describe('findSpecialRange on non-addresses fails closed', () => {
  it.each(['', 'localhost', '127.1', '999.1.1.1'])('%j is denied as not-an-ip-address', (text) => {
    expect(findSpecialRange(text)?.range.name).toBe('not-an-ip-address')
  })

  it('accepts an already parsed address', () => {
    expect(findSpecialRange(parseIp('10.1.1.1')!)?.range.name).toBe('private-use')
  })
})
