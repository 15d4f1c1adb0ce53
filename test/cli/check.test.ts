/**
 * `safefetch check` as a user runs it: the real command in a child process, names answered by
 * --resolve (no real DNS), every kind of verdict and every exit code.
 */
import { describe, expect, it } from 'vitest'
import { runCli } from './run-cli.js'

interface Result {
  input: string
  url?: string
  allowed: boolean
  error?: { code: string; message: string; address?: string; range?: string }
  reason?: { check: string; rule: string; address?: Record<string, unknown>; fixes: { option: string; action: string; value: unknown }[] }
  addresses: { address: string; allowed: boolean; rule?: string; cidr?: string; name?: string; reference?: string; embeddedIpv4?: string; via?: string }[]
}

async function checkJson(args: string[], stdin?: string): Promise<{ code: number | null; results: Result[]; stderr: string }> {
  const r = await runCli(['check', '--json', ...args], stdin === undefined ? {} : { stdin })
  return { code: r.code, results: JSON.parse(r.out) as Result[], stderr: r.stderr }
}

// Children queue for two slots (run-cli.ts): the time limit covers the wait, not just the run.
describe.concurrent('safefetch check', { timeout: 120_000 }, () => {
  it('explains every kind of refusal under the default policy, with exit code 1', async () => {
    const { code, results } = await checkJson([
      '--resolve',
      'public.test:93.184.216.34',
      '--resolve',
      'mixed.test:93.184.216.34,10.1.2.3',
      '--resolve',
      'denied.test:8.8.8.8',
      '--deny',
      '8.8.8.0/24',
      'http://public.test/path',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://[64:ff9b::10.0.0.1]/',
      'http://2130706433/',
      'http://mixed.test/',
      'http://denied.test/',
      'http://localhost:8080/',
      'http://metadata.google.internal/',
      'ftp://example.test/',
      'http://user:secret@public.test/',
      'http://public.test:0/',
      'http://exa mple.test/',
    ])
    expect(code).toBe(1)
    const [pub, imds, mapped, nat64, integer, mixed, denied, localhost, metadata, ftp, creds, port0, invalid] = results as [Result, ...Result[]]

    expect(pub).toMatchObject({ allowed: true, url: 'http://public.test/path', addresses: [{ address: '93.184.216.34', allowed: true }] })

    expect(imds).toMatchObject({ allowed: false, error: { code: 'ERR_ADDRESS_BLOCKED', address: '169.254.169.254' } })
    expect(imds?.reason).toMatchObject({ check: 'address', rule: '169.254.0.0/16 (link-local, RFC 3927)' })
    expect(imds?.addresses[0]).toMatchObject({ allowed: false, rule: 'default', cidr: '169.254.0.0/16', name: 'link-local', reference: 'RFC 3927' })
    expect(imds?.reason?.fixes).toEqual([
      { option: 'allow', action: 'add', value: '169.254.169.254/32' },
      { option: 'allowPrivate', action: 'set', value: true },
    ])

    expect(mapped?.addresses[0]).toMatchObject({ allowed: false, embeddedIpv4: '169.254.169.254', via: 'ipv4-mapped', name: 'link-local' })
    expect(nat64?.addresses[0]).toMatchObject({ allowed: false, embeddedIpv4: '10.0.0.1', via: 'nat64', name: 'private-use', reference: 'RFC 1918' })
    expect(integer).toMatchObject({ input: 'http://2130706433/', url: 'http://127.0.0.1/', reason: { check: 'address' } })
    expect(integer?.addresses[0]).toMatchObject({ name: 'loopback' })

    // Every DNS answer has its own verdict; one private answer refuses the name.
    expect(mixed).toMatchObject({ allowed: false, error: { code: 'ERR_ADDRESS_BLOCKED', address: '10.1.2.3' }, reason: { check: 'address' } })
    expect(mixed?.addresses).toMatchObject([
      { address: '93.184.216.34', allowed: true },
      { address: '10.1.2.3', allowed: false, cidr: '10.0.0.0/8', name: 'private-use' },
    ])

    expect(denied?.addresses[0]).toMatchObject({ allowed: false, rule: 'deny', cidr: '8.8.8.0/24' })
    expect(denied?.reason?.fixes).toEqual([{ option: 'deny', action: 'remove', value: '8.8.8.0/24' }])

    expect(localhost).toMatchObject({ error: { code: 'ERR_URL_BLOCKED' }, reason: { check: 'host', rule: 'built-in private host name' }, addresses: [] })
    expect(localhost?.reason?.fixes).toEqual([
      { option: 'allowHosts', action: 'add', value: 'localhost' },
      { option: 'allowPrivate', action: 'set', value: true },
    ])
    expect(metadata?.reason).toMatchObject({ check: 'host', fixes: [{ option: 'allowHosts', action: 'add', value: 'metadata.google.internal' }] })
    expect(ftp?.reason).toMatchObject({ check: 'scheme', fixes: [] })
    expect(creds?.reason).toMatchObject({ check: 'credentials', fixes: [{ option: 'allowCredentials', action: 'set', value: true }] })
    // The password never reaches the output.
    expect(JSON.stringify(creds)).not.toContain('secret')
    expect(port0?.reason).toMatchObject({ check: 'port', fixes: [] })
    expect(invalid).toMatchObject({ allowed: false, error: { code: 'ERR_URL_INVALID' }, reason: { check: 'url' } })
    expect(invalid?.url).toBeUndefined()
  })

  it('names the deny preset, the port preset and the port list', async () => {
    const { code, results } = await checkJson([
      '--policy',
      '{"denyPreset":"cloud","denyPorts":"internal-services"}',
      '--allow-private',
      'http://168.63.129.16/',
      'http://10.0.0.1:6379/',
      'http://10.0.0.1:8080/',
    ])
    expect(code).toBe(1)
    const [azure, redis, allowed] = results
    expect(azure?.addresses[0]).toMatchObject({ allowed: false, rule: 'preset', cidr: '168.63.129.16/32' })
    expect(azure?.reason?.rule).toContain('Azure WireServer')
    expect(redis?.reason).toMatchObject({ check: 'port', fixes: [{ option: 'ports', action: 'add', value: 6379 }] })
    expect(redis?.reason?.rule).toContain('redis')
    // --allow-private opened 10/8 for the third URL, and the verdict says which row it opened.
    expect(allowed).toMatchObject({
      allowed: true,
      addresses: [{ address: '10.0.0.1', allowed: true, opened: true, cidr: '10.0.0.0/8', reference: 'RFC 1918' }],
    })
  })

  it('applies host rules and the port list', async () => {
    const { code, results } = await checkJson([
      '--allow-host',
      'api.test',
      '--allow-host',
      '*.api.test',
      '--deny-host',
      'bad.api.test',
      '--policy',
      '{"ports":[443]}',
      '--resolve',
      'api.test:93.184.216.34',
      'https://api.test/',
      'https://other.test/',
      'https://bad.api.test/',
      'http://api.test/',
    ])
    expect(code).toBe(1)
    expect(results.map((r) => r.allowed)).toEqual([true, false, false, false])
    expect(results[1]?.reason).toMatchObject({
      check: 'host',
      rule: 'not in policy.allowHosts',
      fixes: [{ option: 'allowHosts', action: 'add', value: 'other.test' }],
    })
    expect(results[2]?.reason).toMatchObject({ check: 'host', fixes: [{ option: 'denyHosts', action: 'remove', value: 'bad.api.test' }] })
    expect(results[3]?.reason).toMatchObject({ check: 'port', fixes: [{ option: 'ports', action: 'add', value: 80 }] })
  })

  it('exits 0 when the suggested flag is applied, and reads URLs from stdin', async () => {
    const allowed = await runCli(['check', '--allow', '169.254.169.254/32', 'http://169.254.169.254/'])
    expect(allowed.code).toBe(0)
    expect(allowed.out).toMatch(/^ALLOWED {2}http:\/\/169\.254\.169\.254\//)
    expect(allowed.out).toContain('address  169.254.169.254  allowed  169.254.0.0/16 (link-local, RFC 3927), opened by the policy')
    const piped = await checkJson(['--resolve', 'a.test:93.184.216.34', '-'], '# webhooks\nhttp://a.test/\n\n  https://a.test/x  \n')
    expect(piped.code).toBe(0)
    expect(piped.results.map((r) => r.url)).toEqual(['http://a.test/', 'https://a.test/x'])
  })

  it('prints the rule, the addresses and the change that would allow it', async () => {
    const r = await runCli(['check', '--resolve', 'mixed.test:93.184.216.34,10.1.2.3', 'http://mixed.test/', 'http://[::ffff:a9fe:a9fe]/'])
    expect(r.code).toBe(1)
    expect(r.out).toContain('REFUSED  http://mixed.test/')
    expect(r.out).toContain('rule     10.0.0.0/8 (private-use, RFC 1918)')
    expect(r.out).toContain('address  93.184.216.34  allowed')
    expect(r.out).toMatch(/address {2}10\.1\.2\.3 {2}refused {2}10\.0\.0\.0\/8/)
    expect(r.out).toContain("change   add '10.1.2.3/32' to policy.allow  (--allow 10.1.2.3/32)")
    expect(r.out).toContain('or    policy.allowPrivate: true  (--allow-private)')
    expect(r.out).toContain('carries 169.254.169.254 (ipv4-mapped)')
  })

  it.each([
    [['check'], /no URL given/],
    [['check', '--bogus', 'http://a.test/'], /Unknown option '--bogus'/],
    [['check', '--allow', '10.0.0.0/33', 'http://a.test/'], /ERR_INVALID_OPTION: policy\.allow\[0\]/],
    [['check', '--resolve', 'a.test:not-an-ip', 'http://a.test/'], /--resolve "a\.test:not-an-ip"/],
    [['check', '--timeout', 'soon', 'http://a.test/'], /--timeout must be a duration/],
    [['check', '--policy', '{nope', 'http://a.test/'], /--policy must be a JSON object/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const r = await runCli(args)
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).toMatch(/see safefetch( \w+)? --help/)
  })

  it('--help shows the options and examples', async () => {
    const r = await runCli(['check', '--help'])
    expect(r.code).toBe(0)
    for (const text of [
      'Usage: safefetch check',
      '--resolve host:addr',
      '--allow <cidr>',
      '--json',
      'Exit status: 0 all allowed, 1 any refused, 2 bad usage',
      'safefetch check http://169.254.169.254/',
    ]) {
      expect(r.out).toContain(text)
    }
    const top = await runCli(['--help'])
    expect(top.code).toBe(0)
    expect(top.out).toContain('check <url>...')
    expect((await runCli([])).code).toBe(2)
  })

  // Only where there is no DNS at all (the namespace): outside it this would query a real resolver.
  it.runIf(process.env.SAFEFETCH_NETNS === '1')('fails fast with ERR_DNS and a hint when a name has no --resolve entry', async () => {
    const r = await runCli(['check', '--timeout', '3s', 'http://no-such-name.invalid/'])
    expect(r.code).toBe(1)
    expect(r.out).toContain('ERR_DNS')
    expect(r.out).toContain('--resolve host:address')
    // No wall-clock bound here (process start-up alone took 17 s on a loaded machine): a resolver
    // that waited out its own retry schedule would end past --timeout, as ERR_DEADLINE_EXCEEDED.
    expect(r.out).not.toContain('ERR_DEADLINE_EXCEEDED')
  })
})
