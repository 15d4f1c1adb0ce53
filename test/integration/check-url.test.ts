import { describe, expect, it } from 'vitest'
import { checkUrl, type PolicyChange } from '../../src/index.js'
import { fakeLookup } from '../support/lookup.js'

describe('checkUrl', () => {
  it('allows a public name and returns the checked addresses', async () => {
    const lookup = fakeLookup({ 'api.example.com': ['93.184.216.34', '2606:2800:220:1::1'] })
    const verdict = await checkUrl('https://api.example.com/hook', {}, { lookup })
    expect(verdict.allowed).toBe(true)
    if (verdict.allowed) expect(verdict.addresses).toEqual(['93.184.216.34', '2606:2800:220:1::1'])
  })

  it('refuses a name with one private answer among public ones, with the fetch path reasons', async () => {
    const lookup = fakeLookup({ 'mixed.example.com': ['93.184.216.34', '10.1.2.3'] })
    const verdict = await checkUrl('http://mixed.example.com/', {}, { lookup })
    expect(verdict.allowed).toBe(false)
    if (!verdict.allowed) {
      expect(verdict.error.code).toBe('ERR_ADDRESS_BLOCKED')
      expect(verdict.error.address).toBe('10.1.2.3')
      expect(verdict.error.range).toContain('10.0.0.0/8')
    }
  })

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'ERR_ADDRESS_BLOCKED'],
    ['http://2130706433/', 'ERR_ADDRESS_BLOCKED'],
    ['http://[::ffff:7f00:1]/', 'ERR_ADDRESS_BLOCKED'],
    ['http://localhost/', 'ERR_URL_BLOCKED'],
    ['http://metadata.google.internal/', 'ERR_URL_BLOCKED'],
    ['file:///etc/passwd', 'ERR_URL_BLOCKED'],
    ['http://user:pass@example.com/', 'ERR_URL_BLOCKED'],
    ['http://example.com:99999/', 'ERR_URL_INVALID'],
    ['not a url', 'ERR_URL_INVALID'],
  ])('refuses %s before any DNS query', async (url, code) => {
    const lookup = fakeLookup({})
    const verdict = await checkUrl(url, {}, { lookup })
    expect(verdict.allowed).toBe(false)
    if (!verdict.allowed) expect(verdict.error.code).toBe(code)
    expect(lookup.queries).toEqual([])
  })

  it('reports DNS failures as ERR_DNS', async () => {
    const verdict = await checkUrl('http://nowhere.example.com/', {}, { lookup: fakeLookup({}) })
    expect(verdict.allowed).toBe(false)
    if (!verdict.allowed) expect(verdict.error.code).toBe('ERR_DNS')
  })

  it('honours the policy it is given', async () => {
    const lookup = fakeLookup({ 'intranet.example.com': ['10.1.2.3'] })
    expect((await checkUrl('http://intranet.example.com/', { allow: ['10.1.0.0/16'] }, { lookup })).allowed).toBe(true)
    expect((await checkUrl('http://other.example.com/', { allowHosts: ['api.example.com'] }, { lookup })).allowed).toBe(false)
  })

  it('throws ERR_INVALID_OPTION for a malformed policy', async () => {
    await expect(checkUrl('http://example.com/', { allow: ['10.0.0.0/33'] })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' })
  })

  describe('explanations', () => {
    it('judges every DNS answer and names the deciding row and the fixes', async () => {
      const lookup = fakeLookup({ 'mixed.example.com': ['93.184.216.34', '169.254.169.254', '10.1.2.3'] })
      const verdict = await checkUrl('http://mixed.example.com/', {}, { lookup })
      expect(verdict.allowed).toBe(false)
      if (verdict.allowed) return
      expect(verdict.addressChecks.map((c) => [c.address, c.allowed, c.name])).toEqual([
        ['93.184.216.34', true, undefined],
        ['169.254.169.254', false, 'link-local'],
        ['10.1.2.3', false, 'private-use'],
      ])
      // The guard stops at the first refused answer: that one decides, as on the fetch path.
      expect(verdict.error.address).toBe('169.254.169.254')
      expect(verdict.reason).toMatchObject({ check: 'address', rule: '169.254.0.0/16 (link-local, RFC 3927)', address: { reference: 'RFC 3927' } })
      expect(verdict.reason.fixes).toEqual([
        { option: 'allow', action: 'add', value: '169.254.169.254/32' },
        { option: 'allowPrivate', action: 'set', value: true },
      ])
    })

    it('offers no allowPrivate fix for rows allowPrivate does not reopen', async () => {
      const verdict = await checkUrl('http://0.0.0.0/', {})
      expect(verdict.allowed).toBe(false)
      if (!verdict.allowed) expect(verdict.reason.fixes).toEqual([{ option: 'allow', action: 'add', value: '0.0.0.0/32' }])
    })

    it.each<[string, object, string, unknown[]]>([
      ['http://example.com:6379/', { denyPorts: 'internal-services' }, 'port', [{ option: 'ports', action: 'add', value: 6379 }]],
      ['http://example.com:81/', { denyPorts: [81] }, 'port', [{ option: 'denyPorts', action: 'remove', value: 81 }]],
      ['http://example.com/', { protocols: ['https:'] }, 'scheme', [{ option: 'protocols', action: 'add', value: 'http:' }]],
      ['http://a.evil.com/', { denyHosts: ['*.evil.com'] }, 'host', [{ option: 'denyHosts', action: 'remove', value: '*.evil.com' }]],
      ['http://[::ffff:8.8.8.8]/', { deny: ['8.8.0.0/16'] }, 'address', [{ option: 'deny', action: 'remove', value: '8.8.0.0/16' }]],
    ])('%s under %j: %s, fixes %j', async (url, policy, check, fixes) => {
      const verdict = await checkUrl(url, policy, { lookup: fakeLookup({}) })
      expect(verdict.allowed).toBe(false)
      if (verdict.allowed) return
      expect(verdict.reason.check).toBe(check)
      expect(verdict.reason.fixes).toEqual(fixes)
      // Applying the fix clears that check (a lookup answering a public address stands in for DNS).
      const fix = verdict.reason.fixes[0] as PolicyChange
      const changed: Record<string, unknown> = { ...policy }
      const list = Array.isArray(changed[fix.option]) ? (changed[fix.option] as unknown[]) : []
      if (fix.action === 'set') changed[fix.option] = fix.value
      else if (fix.action === 'add') changed[fix.option] = [...list, fix.value]
      else changed[fix.option] = list.filter((v) => v !== fix.value)
      const after = await checkUrl(url, changed, { lookup: fakeLookup({ 'example.com': ['93.184.216.34'], 'a.evil.com': ['93.184.216.35'] }) })
      expect(after.allowed).toBe(true)
    })

    it('says which special-purpose row an allowed address was opened from', async () => {
      const lookup = fakeLookup({ 'svc.example.com': ['10.1.2.3', '93.184.216.34'] })
      const verdict = await checkUrl('http://svc.example.com/', { allow: ['10.0.0.0/8'] }, { lookup })
      expect(verdict.allowed).toBe(true)
      expect(verdict.addressChecks).toEqual([
        {
          address: '10.1.2.3',
          allowed: true,
          opened: true,
          cidr: '10.0.0.0/8',
          range: '10.0.0.0/8 (private-use, RFC 1918)',
          name: 'private-use',
          reference: 'RFC 1918',
        },
        { address: '93.184.216.34', allowed: true },
      ])
    })

    it('lists the allowed addresses', async () => {
      const verdict = await checkUrl('http://[2606:2800:220:1::1]/', {})
      expect(verdict).toMatchObject({ allowed: true, addresses: ['2606:2800:220:1::1'], addressChecks: [{ address: '2606:2800:220:1::1', allowed: true }] })
    })
  })
})
