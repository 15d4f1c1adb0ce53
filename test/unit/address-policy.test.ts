import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { blockedAddressError, checkAddress, compileAddressPolicy, type AddressPolicyOptions, type DeniedVerdict } from '../../src/net/address-policy.js'

function verdict(options: AddressPolicyOptions, address: string): string {
  const v = checkAddress(compileAddressPolicy(options), address)
  return v.allowed ? 'allow' : `${v.rule} ${v.cidr}`
}

function denied(options: AddressPolicyOptions, address: string): DeniedVerdict {
  const v = checkAddress(compileAddressPolicy(options), address)
  if (v.allowed) throw new Error(`${address} was allowed`)
  return v
}

describe('default policy', () => {
  it.each([
    ['10.0.0.5', 'default 10.0.0.0/8'],
    ['127.0.0.1', 'default 127.0.0.0/8'],
    ['169.254.169.254', 'default 169.254.0.0/16'],
    ['0.0.0.0', 'default 0.0.0.0/32'],
    ['::1', 'default ::1/128'],
    ['::', 'default ::/128'],
    ['fd00:ec2::254', 'default fc00::/7'],
    ['fe80::1%eth0', 'default fe80::/10'],
    ['::ffff:10.0.0.5', 'default 10.0.0.0/8'],
    ['64:ff9b::10.0.0.5', 'default 10.0.0.0/8'],
    ['8.8.8.8', 'allow'],
    ['168.63.129.16', 'allow'],
    ['2606:4700:4700::1111', 'allow'],
    ['64:ff9b::8.8.8.8', 'allow'],
    ['not-an-ip', 'default n/a'],
    ['127.1', 'default n/a'],
  ])('%s -> %s', (address, expected) => {
    expect(verdict({}, address)).toBe(expected)
  })

  it('reports address, cidr, range and the embedding', () => {
    expect(denied({}, '10.0.0.5')).toEqual({
      allowed: false,
      address: '10.0.0.5',
      cidr: '10.0.0.0/8',
      range: '10.0.0.0/8 (private-use, RFC 1918)',
      rule: 'default',
      name: 'private-use',
      reference: 'RFC 1918',
      optionPath: 'policy',
    })
    const v = denied({}, '::ffff:a00:5')
    expect(v.embeddedIpv4).toBe('10.0.0.5')
    expect(v.via).toBe('ipv4-mapped')
  })
})

describe('precedence: deny > allow > preset > default', () => {
  it.each<[AddressPolicyOptions, string, string]>([
    [{ deny: ['8.8.8.0/24'] }, '8.8.8.8', 'deny 8.8.8.0/24'],
    [{ deny: ['8.8.8.0/24'], allow: ['8.8.8.8'] }, '8.8.8.8', 'deny 8.8.8.0/24'],
    [{ deny: ['10.0.0.0/8'], allowPrivate: true }, '10.1.1.1', 'deny 10.0.0.0/8'],
    [{ allow: ['10.0.0.0/8'] }, '10.1.1.1', 'allow'],
    [{ allow: ['10.0.0.0/8'] }, '10.1.1.1', 'allow'],
    [{ allow: ['10.0.0.5/32'] }, '10.0.0.6', 'default 10.0.0.0/8'],
    [{ allow: ['169.254.169.254'], denyPreset: 'cloud' }, '169.254.169.254', 'allow'],
    [{ denyPreset: 'cloud' }, '168.63.129.16', 'preset 168.63.129.16/32'],
    [{ denyPreset: ['cloud'] }, '168.63.129.16', 'preset 168.63.129.16/32'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '169.254.169.254', 'preset 169.254.0.0/16'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '100.100.100.200', 'preset 100.100.100.200/32'],
    [{ denyPreset: 'cloud', allowPrivate: true }, 'fd00:ec2::254', 'preset fd00:ec2::254/128'],
    [{ denyPreset: 'cloud', allowPrivate: true }, 'fd20:ce::254', 'preset fd20:ce::254/128'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '192.0.0.192', 'preset 192.0.0.192/32'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '::ffff:169.254.169.254', 'preset 169.254.0.0/16'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '64:ff9b::a9fe:a9fe', 'preset 169.254.0.0/16'],
    [{ denyPreset: 'cloud', allowPrivate: true }, '10.0.0.1', 'allow'],
    [{ denyPreset: 'cloud' }, '8.8.8.8', 'allow'],
  ])('%j %s -> %s', (options, address, expected) => {
    expect(verdict(options, address)).toBe(expected)
  })
})

describe('allowPrivate', () => {
  it.each([
    ['10.0.0.1', 'allow'],
    ['127.0.0.1', 'allow'],
    ['::1', 'allow'],
    ['fd00::1', 'allow'],
    ['169.254.169.254', 'allow'],
    ['::ffff:192.168.0.1', 'allow'],
    ['240.0.0.1', 'allow'],
    // never a destination, even with allowPrivate
    ['0.0.0.0', 'default 0.0.0.0/32'],
    ['0.1.2.3', 'default 0.0.0.0/8'],
    ['::', 'default ::/128'],
    ['::ffff:0.0.0.0', 'default 0.0.0.0/32'],
    ['224.0.0.1', 'default 224.0.0.0/4'],
    ['255.255.255.255', 'default 255.255.255.255/32'],
    ['ff02::1', 'default ff00::/8'],
    ['garbage', 'default n/a'],
  ])('%s -> %s', (address, expected) => {
    expect(verdict({ allowPrivate: true }, address)).toBe(expected)
  })

  it('an explicit allow re-enables even a never-a-destination row', () => {
    expect(verdict({ allowPrivate: true, allow: ['0.0.0.0/32'] }, '0.0.0.0')).toBe('allow')
  })
})

describe('IPv4 CIDRs and IPv4-mapped addresses', () => {
  it.each<[AddressPolicyOptions, string, string]>([
    // allow: an IPv4 CIDR also matches the IPv4-mapped form...
    [{ allow: ['10.0.0.0/8'] }, '::ffff:10.1.2.3', 'allow'],
    [{ allow: ['10.0.0.0/8'] }, '::ffff:a01:203', 'allow'],
    // ...but not NAT64/6to4 (a different host: the translator's neighbourhood)
    [{ allow: ['10.0.0.0/8'] }, '64:ff9b::10.1.2.3', 'default 10.0.0.0/8'],
    [{ allow: ['10.0.0.0/8'] }, '2002:a01:203::1', 'default 10.0.0.0/8'],
    // deny: matches every embedding, so a deny list cannot be tunnelled past
    [{ deny: ['8.8.8.8'] }, '::ffff:8.8.8.8', 'deny 8.8.8.8'],
    [{ deny: ['8.8.8.8'] }, '64:ff9b::8.8.8.8', 'deny 8.8.8.8'],
    [{ deny: ['8.8.8.8'] }, '2002:808:808::', 'deny 8.8.8.8'],
    [{ deny: ['8.8.8.8'] }, '::8.8.8.8', 'deny 8.8.8.8'],
    [{ deny: ['8.8.8.8'] }, '::ffff:0:8.8.8.8', 'deny 8.8.8.8'],
    [{ deny: ['65.54.227.120'] }, '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'deny 65.54.227.120'],
    // an IPv6 CIDR outside ::ffff:0:0/96 never matches IPv4: ::/0 means "all IPv6"
    [{ deny: ['::/0'] }, '8.8.8.8', 'allow'],
    [{ deny: ['::/0'] }, '2606:4700::1', 'deny ::/0'],
    [{ allow: ['::/0'] }, '10.0.0.1', 'default 10.0.0.0/8'],
    [{ allow: ['::/0'] }, '::1', 'allow'],
    // an IPv6 CIDR inside the mapped block does match IPv4
    [{ allow: ['::ffff:10.0.0.0/104'] }, '10.2.3.4', 'allow'],
    [{ deny: ['::ffff:0:0/96'] }, '8.8.8.8', 'deny ::ffff:0:0/96'],
    [{ deny: ['2606:4700::/32'] }, '2606:4700:4700::1111', 'deny 2606:4700::/32'],
    [{ allow: ['fd00::/8'] }, 'fd12:3456::1', 'allow'],
  ])('%j %s -> %s', (options, address, expected) => {
    expect(verdict(options, address)).toBe(expected)
  })

  it('names the embedding on a deny hit', () => {
    const v = denied({ deny: ['8.8.8.8'] }, '64:ff9b::808:808')
    expect(v.embeddedIpv4).toBe('8.8.8.8')
    expect(v.via).toBe('nat64')
    expect(v.range).toBe('8.8.8.8 (policy.deny)')
  })
})

describe('option validation', () => {
  function message(options: unknown, path?: string): string {
    try {
      compileAddressPolicy(options as AddressPolicyOptions, path)
    } catch (err) {
      expect(err).toBeInstanceOf(SafeFetchError)
      expect((err as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
      return (err as Error).message
    }
    throw new Error('did not throw')
  }

  it.each<[unknown, string]>([
    [{ allow: ['10.0.0.0/8', '10.0.0.0/33'] }, 'policy.allow[1] must be a CIDR like 10.0.0.0/8 or an IP address, got "10.0.0.0/33"'],
    [{ deny: ['example.com'] }, 'policy.deny[0] must be a CIDR like 10.0.0.0/8 or an IP address, got "example.com"'],
    [{ deny: [42] }, 'policy.deny[0] must be a CIDR like 10.0.0.0/8 or an IP address, got 42'],
    [
      { allow: ['10.0.0.5/8'] },
      'policy.allow[0] must be a CIDR like 10.0.0.0/8 or an IP address, got "10.0.0.5/8" (bits set after the prefix; did you mean "10.0.0.0/8"?)',
    ],
    [
      { allow: ['2001:db8::1/32'] },
      'policy.allow[0] must be a CIDR like 10.0.0.0/8 or an IP address, got "2001:db8::1/32" (bits set after the prefix; did you mean "2001:db8::/32"?)',
    ],
    [{ allow: ['127.1'] }, 'policy.allow[0] must be a CIDR like 10.0.0.0/8 or an IP address, got "127.1"'],
    [{ allow: '10.0.0.0/8' }, 'policy.allow must be an array of CIDRs like 10.0.0.0/8, got "10.0.0.0/8"'],
    [{ allowPrivate: 'yes' }, 'policy.allowPrivate must be a boolean, got "yes"'],
    [{ denyPreset: 'aws' }, 'policy.denyPreset must be \'cloud\', got "aws"'],
    [{ denyPreset: ['cloud', 'gcp'] }, 'policy.denyPreset[1] must be \'cloud\', got "gcp"'],
    [null, 'policy must be an object, got null'],
  ])('%j', (options, expected) => {
    expect(message(options)).toBe(expected)
  })

  it('uses the given option path', () => {
    expect(message({ deny: ['x'] }, 'init.policy')).toMatch(/^init\.policy\.deny\[0\]/)
  })

  it('is immutable', () => {
    const p = compileAddressPolicy({ allow: ['10.0.0.0/8'] })
    expect(Object.isFrozen(p)).toBe(true)
  })
})

describe('blockedAddressError', () => {
  it('default hit: says where it is and how to allow it', () => {
    const err = blockedAddressError(denied({}, '10.0.0.5'), 'http://10.0.0.5/')
    expect(err).toBeInstanceOf(SafeFetchError)
    expect(err.code).toBe('ERR_ADDRESS_BLOCKED')
    expect(err.message).toBe("10.0.0.5 is in 10.0.0.0/8 (private-use, RFC 1918) for http://10.0.0.5/; pass policy.allow: ['10.0.0.5/32'] to allow it")
    expect(err.address).toBe('10.0.0.5')
    expect(err.range).toBe('10.0.0.0/8 (private-use, RFC 1918)')
    expect(err.url).toBe('http://10.0.0.5/')
  })

  it('url is optional', () => {
    expect(blockedAddressError(denied({}, '::1')).url).toBeUndefined()
  })

  it.each([
    ['::1', "::1 is in ::1/128 (loopback, RFC 4291 §2.5.3); pass policy.allow: ['::1/128'] to allow it"],
    [
      '::ffff:7f00:1',
      "::ffff:7f00:1 carries 127.0.0.1 (ipv4-mapped), which is in 127.0.0.0/8 (loopback, RFC 1122 §3.2.1.3); pass policy.allow: ['127.0.0.1/32'] to allow it",
    ],
    [
      '64:ff9b::a00:1',
      "64:ff9b::a00:1 carries 10.0.0.1 (nat64), which is in 10.0.0.0/8 (private-use, RFC 1918); pass policy.allow: ['64:ff9b::a00:1/128'] to allow it",
    ],
    ['fe80::1%eth0', "fe80::1%eth0 is in fe80::/10 (link-local, RFC 4291 §2.5.6); pass policy.allow: ['fe80::1/128'] to allow it"],
    ['FD00:EC2:0::254', "FD00:EC2:0::254 is in fc00::/7 (unique-local, RFC 4193, RFC 8190); pass policy.allow: ['fd00:ec2::254/128'] to allow it"],
    ['nope', '"nope" is not an IP address; only IP addresses can be checked and dialled'],
  ])('%s', (address, expected) => {
    expect(blockedAddressError(denied({}, address)).message).toBe(expected)
  })

  it('deny hit: says it is in policy.deny', () => {
    const err = blockedAddressError(denied({ deny: ['93.184.216.0/24'] }, '93.184.216.34'))
    expect(err.message).toBe('93.184.216.34 is in 93.184.216.0/24 (policy.deny); remove 93.184.216.0/24 from policy.deny to allow it')
    expect(err.range).toBe('93.184.216.0/24 (policy.deny)')
  })

  it('preset hit: names the service', () => {
    const err = blockedAddressError(denied({ denyPreset: 'cloud' }, '168.63.129.16'))
    expect(err.message).toBe("168.63.129.16 is in 168.63.129.16/32 (Azure WireServer, cloud preset); pass policy.allow: ['168.63.129.16/32'] to allow it")
  })

  it('uses the option path of the compiled policy', () => {
    const v = checkAddress(compileAddressPolicy({}, 'init.policy'), '10.0.0.1')
    if (v.allowed) throw new Error('allowed')
    expect(blockedAddressError(v).message).toContain("init.policy.allow: ['10.0.0.1/32']")
  })
})
