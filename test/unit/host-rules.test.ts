import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { checkHostname, compileHostRules, normalizeHostname, type HostRuleOptions } from '../../src/net/host-rules.js'

function check(options: HostRuleOptions & { allowPrivate?: boolean }, host: string): string {
  const v = checkHostname(compileHostRules(options), host)
  return v.allowed ? 'allow' : v.reason
}

describe('normalizeHostname', () => {
  it.each([
    ['Example.COM', 'example.com'],
    ['example.com.', 'example.com'],
    ['a', 'a'],
    ['XN--BCHER-KVA.example', 'xn--bcher-kva.example'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeHostname(input)).toBe(expected)
  })

  it.each(['', '.', 'a..b', '.a', 'a..', 'example.com..'])('refuses %j', (input) => {
    expect(() => normalizeHostname(input)).toThrow(SafeFetchError)
    try {
      normalizeHostname(input)
    } catch (err) {
      expect((err as SafeFetchError).code).toBe('ERR_URL_INVALID')
    }
  })
})

describe('built-in rules (no options)', () => {
  it.each([
    'localhost',
    'LOCALHOST',
    'localhost.',
    'foo.localhost',
    'a.b.localhost',
    'printer.local',
    'db.internal',
    'metadata.google.internal',
    'router.home.arpa',
    'localhost.localdomain',
    'nas.lan',
    'wiki.intranet',
    'dc1.corp',
    'box.home',
    'smtp.mail',
    'x.private',
    'ip6-localhost',
    'ip6-loopback',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'metadata',
    'metadata.goog',
    'instance-data',
    'instance-data.ec2.internal',
    'metadata.tencentyun.com',
    'metadata.packet.net',
    'metadata.platformequinix.com',
    'jenkins', // single label
    'a..b',
  ])('refuses %s', (host) => {
    expect(check({}, host)).not.toBe('allow')
  })

  it.each([
    'example.com',
    'api.example.com',
    'example.com.',
    'localhost.example.com', // only the suffix counts
    'local.example.com',
    'internal.example.com',
    'my-localhost.com',
    'xn--bcher-kva.example',
    'example.test',
    '127.0.0.1', // IP literals are the address policy's job
    '[::1]',
    '10.0.0.1',
  ])('allows %s', (host) => {
    expect(check({}, host)).toBe('allow')
  })

  it.each([
    ['localhost', 'host localhost is reserved for loopback (RFC 6761 §6.3); add "localhost" to policy.allowHosts or set policy.allowPrivate: true to allow it'],
    [
      'db.internal',
      'host db.internal is under .internal, which is reserved by ICANN for private use (2024); add "db.internal" to policy.allowHosts or set policy.allowPrivate: true to allow it',
    ],
    [
      'printer.local',
      'host printer.local is under .local, which is multicast DNS, link-local only (RFC 6762); add "printer.local" to policy.allowHosts or set policy.allowPrivate: true to allow it',
    ],
    [
      'metadata.google.internal',
      'host metadata.google.internal is a cloud metadata service (GCP metadata server); add "metadata.google.internal" to policy.allowHosts to allow it',
    ],
    [
      'jenkins',
      'host jenkins is a single-label name, which only resolves inside a network; add "jenkins" to policy.allowHosts or set policy.allowPrivate: true to allow it',
    ],
    ['a..b', 'host "a..b" has an empty label'],
  ])('%s: actionable reason', (host, reason) => {
    expect(check({}, host)).toBe(reason)
  })
})

describe('allowPrivate turns private names off, not metadata names', () => {
  it.each([
    ['localhost', 'allow'],
    ['db.internal', 'allow'],
    ['jenkins', 'allow'],
    ['kubernetes.default.svc', 'allow'],
    ['metadata.google.internal', 'deny'],
    ['metadata', 'deny'],
    ['instance-data', 'deny'],
  ])('%s -> %s', (host, expected) => {
    expect(check({ allowPrivate: true }, host) === 'allow' ? 'allow' : 'deny').toBe(expected)
  })
})

describe('allowHosts / denyHosts', () => {
  it.each<[HostRuleOptions, string, 'allow' | 'deny']>([
    // exact names
    [{ allowHosts: ['api.example.com'] }, 'api.example.com', 'allow'],
    [{ allowHosts: ['api.example.com'] }, 'API.Example.com.', 'allow'],
    [{ allowHosts: ['api.example.com'] }, 'www.example.com', 'deny'],
    [{ allowHosts: ['api.example.com'] }, 'x.api.example.com', 'deny'],
    // globs match subdomains, not the apex
    [{ allowHosts: ['*.example.com'] }, 'a.example.com', 'allow'],
    [{ allowHosts: ['*.example.com'] }, 'a.b.example.com', 'allow'],
    [{ allowHosts: ['*.example.com'] }, 'example.com', 'deny'],
    [{ allowHosts: ['*.example.com'] }, 'badexample.com', 'deny'],
    [{ allowHosts: ['*.example.com', 'example.com'] }, 'example.com', 'allow'],
    // allowHosts locks IP literals too
    [{ allowHosts: ['api.example.com'] }, '93.184.216.34', 'deny'],
    [{ allowHosts: ['93.184.216.34'] }, '93.184.216.34', 'allow'],
    [{ allowHosts: ['::1'] }, '[::1]', 'allow'],
    [{ allowHosts: ['[0:0::1]'] }, '[::1]', 'allow'],
    // allowHosts overrides built-in names
    [{ allowHosts: ['myservice.internal'] }, 'myservice.internal', 'allow'],
    [{ allowHosts: ['*.internal'] }, 'a.internal', 'allow'],
    [{ allowHosts: ['metadata.google.internal'] }, 'metadata.google.internal', 'allow'],
    [{ allowHosts: ['localhost'] }, 'localhost', 'allow'],
    // denyHosts wins
    [{ denyHosts: ['evil.example'] }, 'evil.example', 'deny'],
    [{ denyHosts: ['evil.example'] }, 'good.example', 'allow'],
    [{ denyHosts: ['*.evil.example'] }, 'a.evil.example', 'deny'],
    [{ denyHosts: ['*.evil.example'] }, 'evil.example', 'allow'],
    [{ allowHosts: ['*.example.com'], denyHosts: ['admin.example.com'] }, 'admin.example.com', 'deny'],
    [{ allowHosts: ['*.example.com'], denyHosts: ['*.example.com'] }, 'a.example.com', 'deny'],
    // IDN entries are compared in their ASCII form (URL#hostname is punycode)
    [{ allowHosts: ['bücher.example'] }, 'xn--bcher-kva.example', 'allow'],
    [{ allowHosts: ['*.BÜCHER.example'] }, 'www.xn--bcher-kva.example', 'allow'],
  ])('%j %s -> %s', (options, host, expected) => {
    expect(check(options, host) === 'allow' ? 'allow' : 'deny').toBe(expected)
  })

  it('reasons name the option', () => {
    expect(check({ allowHosts: ['api.example.com'] }, 'www.example.com')).toBe(
      'host www.example.com is not in policy.allowHosts; add "www.example.com" to policy.allowHosts to allow it',
    )
    expect(check({ denyHosts: ['*.evil.example'] }, 'a.evil.example')).toBe(
      'host a.evil.example matches policy.denyHosts entry "*.evil.example"; remove it from policy.denyHosts to allow it',
    )
  })

  it('uses the given option path', () => {
    const v = checkHostname(compileHostRules({ allowHosts: ['a.example'] }, 'init.policy'), 'b.example')
    expect(v.allowed ? '' : v.reason).toContain('init.policy.allowHosts')
  })
})

describe('option validation', () => {
  it.each<[unknown, string]>([
    [{ allowHosts: 'example.com' }, 'policy.allowHosts must be an array of host names, got "example.com"'],
    [{ allowHosts: [''] }, 'policy.allowHosts[0] must be a host name like api.example.com or a glob like *.example.com, got ""'],
    [{ allowHosts: ['ok.example', '*'] }, 'policy.allowHosts[1] must be a host name like api.example.com or a glob like *.example.com, got "*"'],
    [{ denyHosts: ['a.*.example'] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "a.*.example"'],
    [{ denyHosts: ['*example.com'] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "*example.com"'],
    [
      { denyHosts: ['https://example.com'] },
      'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "https://example.com"',
    ],
    [{ denyHosts: ['example.com:443'] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "example.com:443"'],
    [{ denyHosts: ['a..b'] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "a..b"'],
    [{ denyHosts: ['*.10.0.0.1'] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "*.10.0.0.1"'],
    [{ denyHosts: [7] }, 'policy.denyHosts[0] must be a host name like api.example.com or a glob like *.example.com, got 7'],
  ])('%j', (options, expected) => {
    let message = ''
    try {
      compileHostRules(options as HostRuleOptions)
    } catch (err) {
      expect((err as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
      message = (err as Error).message
    }
    expect(message).toBe(expected)
  })
})
