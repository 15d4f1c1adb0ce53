import { describe, expect, it } from 'vitest'
import { checkUrl } from '../../src/index.js'
import { fakeLookup } from '../helpers/servers.js'

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
})
