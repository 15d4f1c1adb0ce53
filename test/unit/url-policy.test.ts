import { describe, expect, it } from 'vitest'
import { SafeFetchError, type ErrorCode } from '../../src/errors.js'
import { assertUrlAllowed, compilePolicy, INTERNAL_SERVICE_PORTS, literalAddress, parseUrl, type PolicyOptions } from '../../src/net/url-policy.js'
import { redactUrlForError } from '../../src/observe/redact.js'

/** 'ok' or the error code (plus the message for inspection). */
function outcome(input: string, options?: PolicyOptions): { code: ErrorCode | 'ok'; message: string; err?: SafeFetchError } {
  try {
    assertUrlAllowed(compilePolicy(options), parseUrl(input))
    return { code: 'ok', message: '' }
  } catch (err) {
    if (!(err instanceof SafeFetchError)) throw err
    return { code: err.code, message: err.message, err }
  }
}

const code = (input: string, options?: PolicyOptions): string => outcome(input, options).code

describe('literal IPv4/IPv6 spellings are all refused (WHATWG normalises them first)', () => {
  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://017700000001/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://0x00007f.1/',
    'http://00000000000000000000177.1/',
    'http://127.1/',
    'http://127.0.0.1./',
    'http://127.0.0.1%2e/',
    'http://%31%32%37.0.0.1/',
    'http://①②⑦.0.0.1/',
    'http://１２７.０.０.１/',
    'http://[::ffff:7f00:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::127.0.0.1]/',
    'http://[0:0:0:0:0:ffff:127.0.0.1]/',
    'http://[::1]/',
    'http://[0::1]:8080/',
    'http://0/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:169.254.169.254]/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[2002:a9fe:a9fe::]/',
    'http://[fd00:ec2::254]/',
    'http://[fe80::1]/',
    'http://10.0.0.1:8080/',
    'http://192.168.1.1/',
    'http://100.100.100.200/',
    'https://[ff02::1]/',
    'HTTP://127.0.0.1/',
  ])('%s -> ERR_ADDRESS_BLOCKED', (input) => {
    const o = outcome(input)
    expect(o.code).toBe('ERR_ADDRESS_BLOCKED')
    expect(o.err?.address).toBeDefined()
    expect(o.err?.range).toBeDefined()
    expect(o.err?.url).toMatch(/^https?:\/\//)
  })

  it('error names the range and the option', () => {
    expect(outcome('http://2130706433/').message).toBe(
      "127.0.0.1 is in 127.0.0.0/8 (loopback, RFC 1122 §3.2.1.3) for http://127.0.0.1/; pass policy.allow: ['127.0.0.1/32'] to allow it",
    )
    expect(outcome('http://2130706433/').err?.url).toBe('http://127.0.0.1/')
  })

  it.each([
    'http://8.8.8.8/',
    'http://134744072/', // 8.8.8.8 in decimal
    'https://[2606:4700:4700::1111]/',
    'http://[64:ff9b::808:808]/',
    'http://127.0.0.1.nip.io/', // a name: DNS (the connector) decides
    'http://10.0.0.1.example.com/',
    'https://example.com/',
    'https://example.com:8443/a/b?c=d#e',
  ])('%s -> allowed here', (input) => {
    expect(code(input)).toBe('ok')
  })

  it('allowPrivate / allow open literals', () => {
    expect(code('http://127.0.0.1:3000/', { allowPrivate: true })).toBe('ok')
    expect(code('http://[::1]:3000/', { allowPrivate: true })).toBe('ok')
    expect(code('http://10.1.2.3/', { allow: ['10.1.0.0/16'] })).toBe('ok')
    expect(code('http://0.0.0.0/', { allowPrivate: true })).toBe('ERR_ADDRESS_BLOCKED')
  })
})

describe('literalAddress', () => {
  it.each([
    ['http://127.0.0.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
    ['http://[::1]:80/', '::1'],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://example.com/', undefined],
    ['http://127.0.0.1.nip.io/', undefined],
    ['http://a1/', undefined],
    ['foo://0x7f.1/', undefined], // opaque host of a non-special scheme: not an IP to us
  ])('%s -> %s', (input, expected) => {
    expect(literalAddress(new URL(input))).toBe(expected)
  })
})

describe('schemes', () => {
  it.each([
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_INFO',
    'data:text/plain,hello',
    'ftp://example.com/',
    'ws://example.com/',
    'wss://example.com/',
    'javascript:alert(1)',
    'blob:https://example.com/uuid',
    'dict://127.0.0.1:11211/stat',
    'ldap://example.com/',
    'jar:http://example.com/x!/',
  ])('%s -> ERR_URL_BLOCKED', (input) => {
    const o = outcome(input)
    expect(o.code).toBe('ERR_URL_BLOCKED')
    expect(o.message).toMatch(/only http: and https: can be fetched/)
  })

  it('protocols narrows to https', () => {
    const o = outcome('http://example.com/', { protocols: ['https:'] })
    expect(o.code).toBe('ERR_URL_BLOCKED')
    expect(o.message).toBe("scheme http: of http://example.com/ is not allowed (policy.protocols: https:); add 'http:' to policy.protocols to allow it")
    expect(code('https://example.com/', { protocols: ['https'] })).toBe('ok')
    expect(code('https://example.com/', { protocols: ['HTTPS:'] })).toBe('ok')
  })
})

describe('credentials', () => {
  it.each(['http://user:pass@example.com/', 'http://user@example.com/', 'http://:pass@example.com/', 'http://127.0.0.1:80@evil.example/'])(
    '%s refused by default',
    (input) => {
      const o = outcome(input)
      expect(o.code).toBe('ERR_URL_BLOCKED')
      expect(o.message).toContain('policy.allowCredentials: true')
      expect(o.message).not.toContain('pass@')
      expect(o.err?.url).not.toContain('@')
    },
  )

  it('allowed with allowCredentials', () => {
    expect(code('http://user:pass@example.com/', { allowCredentials: true })).toBe('ok')
  })
})

describe('ports', () => {
  it.each([
    ['http://example.com:+80/', 'ERR_URL_INVALID'],
    ['http://example.com:80:80/', 'ERR_URL_INVALID'],
    ['http://example.com:65536/', 'ERR_URL_INVALID'],
    ['http://example.com:-1/', 'ERR_URL_INVALID'],
    ['http://example.com:0x50/', 'ERR_URL_INVALID'],
    ['http://example.com:0/', 'ERR_URL_BLOCKED'],
    ['http://example.com:65535/', 'ok'],
    ['http://example.com:080/', 'ok'],
  ])('%s -> %s', (input, expected) => {
    expect(code(input)).toBe(expected)
  })

  it('ports is an allow list of effective ports', () => {
    expect(code('https://example.com/', { ports: [443] })).toBe('ok')
    expect(code('http://example.com/', { ports: [443] })).toBe('ERR_URL_BLOCKED')
    expect(code('https://example.com:443/', { ports: [443] })).toBe('ok')
    expect(code('https://example.com:8443/', { ports: [443, 8443] })).toBe('ok')
    expect(outcome('https://example.com:8080/', { ports: [443] }).message).toBe(
      'port 8080 of https://example.com:8080/ is not in policy.ports (443); add 8080 to policy.ports to allow it',
    )
  })

  it('denyPorts preset and list', () => {
    for (const port of [22, 25, 2375, 2379, 3306, 5432, 6379, 9200, 10250, 11211, 27017]) {
      expect(INTERNAL_SERVICE_PORTS.has(port)).toBe(true)
      expect(code(`http://example.com:${port}/`, { denyPorts: 'internal-services' })).toBe('ERR_URL_BLOCKED')
      expect(code(`http://example.com:${port}/`)).toBe('ok')
    }
    expect(outcome('http://example.com:6379/', { denyPorts: 'internal-services' }).message).toBe(
      "port 6379 of http://example.com:6379/ is refused by policy.denyPorts, the 'internal-services' preset (redis); add 6379 to policy.ports to allow it",
    )
    expect(code('http://example.com/', { denyPorts: 'internal-services' })).toBe('ok')
    expect(code('https://example.com/', { denyPorts: 'internal-services' })).toBe('ok')
    expect(code('http://example.com:8080/', { denyPorts: 'internal-services' })).toBe('ok')
    // an explicit ports entry beats the preset, not an explicit denyPorts list
    expect(code('http://example.com:6379/', { denyPorts: 'internal-services', ports: [6379] })).toBe('ok')
    expect(code('http://example.com:6379/', { denyPorts: [6379], ports: [6379] })).toBe('ERR_URL_BLOCKED')
    expect(outcome('http://example.com:8081/', { denyPorts: [8081] }).message).toBe(
      'port 8081 of http://example.com:8081/ is refused by policy.denyPorts, the list; remove 8081 from policy.denyPorts to allow it',
    )
  })
})

describe('host names', () => {
  it.each([
    ['http://localhost/', 'ERR_URL_BLOCKED'],
    ['http://LOCALHOST./', 'ERR_URL_BLOCKED'],
    ['http://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/', 'ERR_URL_BLOCKED'],
    ['http://api.localhost:3000/', 'ERR_URL_BLOCKED'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'ERR_URL_BLOCKED'],
    ['http://metadata/', 'ERR_URL_BLOCKED'],
    ['http://printer.local/', 'ERR_URL_BLOCKED'],
    ['http://example.com%2e/', 'ok'],
    ['http://exa%6dple.com/', 'ok'],
  ])('%s -> %s', (input, expected) => {
    expect(code(input)).toBe(expected)
  })

  it('message says which option allows it', () => {
    expect(outcome('http://localhost:3000/x?token=abc').message).toBe(
      'http://localhost:3000/x?token=REDACTED is blocked: host localhost is reserved for loopback (RFC 6761 §6.3); add "localhost" to policy.allowHosts or set policy.allowPrivate: true to allow it',
    )
  })

  it('allowHosts locks the client to its API, literals included', () => {
    const options: PolicyOptions = { allowHosts: ['api.example.com'] }
    expect(code('https://api.example.com/v1', options)).toBe('ok')
    expect(code('https://www.example.com/', options)).toBe('ERR_URL_BLOCKED')
    expect(code('https://8.8.8.8/', options)).toBe('ERR_URL_BLOCKED')
  })

  it('allowHosts re-enables an internal name, but its literal address is still judged', () => {
    expect(code('http://myservice.internal/', { allowHosts: ['myservice.internal'] })).toBe('ok')
    expect(code('http://127.0.0.1/', { allowHosts: ['127.0.0.1'] })).toBe('ERR_ADDRESS_BLOCKED')
  })
})

describe('parseUrl', () => {
  it.each([
    ['', 'empty'],
    [' http://example.com/', 'leading or trailing whitespace'],
    ['http://example.com/ ', 'leading or trailing whitespace'],
    ['http://exa\tmple.com/', 'control characters'],
    ['http://example.com/\npath', 'control characters'],
    ['http://example.com/?q=\r', 'control characters'],
    ['http://evil.example\\@good.example/', 'backslash'],
    ['http:\\\\evil.example/', 'backslash'],
    ['http://a.example/x\\y', 'backslash'],
    ['http:example.com', 'must be followed by exactly "//"'],
    ['http:/example.com', 'must be followed by exactly "//"'],
    ['http:///example.com', 'must be followed by exactly "//"'],
    ['HTTPS:example.com', 'must be followed by exactly "//"'],
    ['http://', 'not a valid URL'],
    ['http://:80/', 'not a valid URL'],
    ['http://[::1/', 'not a valid URL'],
    ['http://exa mple.com/', 'not a valid URL'],
    ['http://256.0.0.1/', 'not a valid URL'],
    ['http://4294967296/', 'not a valid URL'],
    ['http://127.0.0.1.1/', 'not a valid URL'],
    ['http://[fe80::1%25eth0]/', 'not a valid URL'],
    ['/relative/without/base', 'not a valid URL'],
    ['not a url', 'not a valid URL'],
  ])('%j -> ERR_URL_INVALID (%s)', (input, why) => {
    let err: unknown
    try {
      parseUrl(input)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SafeFetchError)
    expect((err as SafeFetchError).code).toBe('ERR_URL_INVALID')
    expect((err as Error).message).toContain(why)
  })

  it('redacts the input it names', () => {
    let message = ''
    try {
      parseUrl('http://user:secret@exa mple.com/?token=abc#frag')
    } catch (err) {
      message = (err as Error).message
      expect((err as SafeFetchError).url).toBe('http://REDACTED@exa mple.com/?REDACTED')
      // Node's parse error carries the raw input (and base) as properties: replaced.
      const cause = (err as SafeFetchError).cause as { input?: string }
      expect(cause.input).toBe('http://REDACTED@exa mple.com/?REDACTED')
    }
    expect(message).toBe('invalid URL "http://REDACTED@exa mple.com/?REDACTED": not a valid URL')
    expect(message).not.toContain('secret')
    expect(message).not.toContain('abc')
  })

  it('resolves against a base, and a backslash in the query is data', () => {
    expect(parseUrl('/b?x=1', new URL('https://example.com/a')).href).toBe('https://example.com/b?x=1')
    expect(parseUrl('//other.example/p', new URL('https://example.com/')).href).toBe('https://other.example/p')
    expect(parseUrl('https://example.com/?q=a\\b').search).toBe('?q=a\\b')
  })

  it('copies URL objects so later mutation by the caller cannot change what was checked', () => {
    const original = new URL('https://example.com/')
    const copy = parseUrl(original)
    original.hostname = '127.0.0.1'
    expect(copy.hostname).toBe('example.com')
  })

  it('refuses non-string input', () => {
    expect(() => parseUrl(42 as unknown as string)).toThrow(/must be a string or a URL/)
  })
})

describe('redactUrl', () => {
  it.each([
    ['https://user:pass@example.com:8443/p/a/t/h?token=abc&x=1#frag', 'https://example.com:8443/p/a/t/h?token=REDACTED&x=REDACTED'],
    ['https://example.com/?secret', 'https://example.com/?REDACTED'],
    ['https://example.com/?', 'https://example.com/'],
    ['https://example.com/?a=1&&b=', 'https://example.com/?a=REDACTED&b=REDACTED'],
    ['https://example.com/path', 'https://example.com/path'],
    ['http://[::1]:3000/', 'http://[::1]:3000/'],
    ['data:text/plain,hello', 'data:text/plain,hello'],
    ['file:///etc/passwd', 'file:///etc/passwd'],
  ])('%s -> %s', (input, expected) => {
    expect(redactUrlForError(new URL(input))).toBe(expected)
  })
})

describe('compilePolicy validation', () => {
  it.each<[unknown, string]>([
    [{ protocols: ['ftp:'] }, "policy.protocols[0] must be 'http:' or 'https:' (the only schemes the transport speaks), got \"ftp:\""],
    [{ protocols: 'https:' }, 'policy.protocols must be an array like [\'https:\'], got "https:"'],
    [{ ports: [0] }, 'policy.ports[0] must be an integer port 1-65535, got 0'],
    [{ ports: [80, 65536] }, 'policy.ports[1] must be an integer port 1-65535, got 65536'],
    [{ ports: ['80'] }, 'policy.ports[0] must be an integer port 1-65535, got "80"'],
    [{ ports: [80.5] }, 'policy.ports[0] must be an integer port 1-65535, got 80.5'],
    [{ denyPorts: 'databases' }, 'policy.denyPorts must be \'internal-services\' or an array of ports, got "databases"'],
    [{ denyPorts: [22, -1] }, 'policy.denyPorts[1] must be an integer port 1-65535, got -1'],
    [{ allowCredentials: 1 }, 'policy.allowCredentials must be a boolean, got 1'],
    [{ allowHost: ['a.example'] }, 'policy.allowHost is not a known option; did you mean policy.allowHosts?'],
    [{ denyPort: [22] }, 'policy.denyPort is not a known option; did you mean policy.denyPorts?'],
    [
      { bogus: true },
      'policy.bogus is not a known option (known: allowPrivate, allow, deny, denyPreset, allowHosts, denyHosts, protocols, ports, denyPorts, allowCredentials)',
    ],
    [{ allow: ['10.0.0.0/33'] }, 'policy.allow[0] must be a CIDR like 10.0.0.0/8 or an IP address, got "10.0.0.0/33"'],
    [{ allowHosts: ['*'] }, 'policy.allowHosts[0] must be a host name like api.example.com or a glob like *.example.com, got "*"'],
    ['strict', 'policy must be an object, got "strict"'],
  ])('%j', (options, expected) => {
    let message = ''
    try {
      compilePolicy(options as PolicyOptions)
    } catch (err) {
      expect((err as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
      message = (err as Error).message
    }
    expect(message).toBe(expected)
  })

  it('uses the option path everywhere', () => {
    expect(() => compilePolicy({ ports: [0] }, 'init.policy')).toThrow(/^init\.policy\.ports\[0\]/)
    const o = (() => {
      try {
        assertUrlAllowed(compilePolicy({}, 'init.policy'), parseUrl('http://10.0.0.1/'))
      } catch (err) {
        return (err as Error).message
      }
      return ''
    })()
    expect(o).toContain('init.policy.allow')
  })

  it('undefined gives the default policy, frozen', () => {
    const p = compilePolicy(undefined)
    expect(Object.isFrozen(p)).toBe(true)
    expect([...p.protocols]).toEqual(['http:', 'https:'])
    expect(p.ports).toBeUndefined()
    expect(p.allowCredentials).toBe(false)
  })
})
