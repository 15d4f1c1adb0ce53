import { describe, expect, it } from 'vitest'
import type { SafeFetchError } from '../../src/errors.js'
import { OriginSwitches } from '../../src/resilience/origin-switches.js'

const url = (s: string) => new URL(s)

describe('OriginSwitches', () => {
  it('refuses nothing by default', () => {
    const switches = new OriginSwitches()
    expect(switches.readOnly).toBe(false)
    expect(switches.refusal(url('https://api.example.com/x'), 'POST')).toBeUndefined()
  })

  it('disable() refuses every request to the origin with ERR_DISABLED and the reason, until enable()', () => {
    const switches = new OriginSwitches({}, () => 1_700_000_000_000)
    switches.disable('https://API.example.com:443/v1/ignored?x=1', 'vendor outage INC-42')
    const refusal = switches.refusal(url('https://api.example.com/v2/users?token=secret'), 'GET')
    expect(refusal?.code).toBe('ERR_DISABLED')
    expect(refusal?.message).toBe('https://api.example.com is disabled: vendor outage INC-42')
    expect(refusal?.url).toBe('https://api.example.com/v2/users')
    expect(switches.disabledReason(url('https://api.example.com'))).toBe('vendor outage INC-42')
    expect(switches.snapshot()).toEqual({
      readOnly: false,
      disabled: [{ origin: 'https://api.example.com', reason: 'vendor outage INC-42', since: 1_700_000_000_000 }],
    })
    expect(switches.enable(url('https://api.example.com/anything'))).toBe(true)
    expect(switches.enable('https://api.example.com')).toBe(false)
    expect(switches.refusal(url('https://api.example.com/v2'), 'GET')).toBeUndefined()
  })

  it('is per origin: scheme and port matter', () => {
    const switches = new OriginSwitches()
    switches.disable(new URL('https://a.example'), 'x')
    expect(switches.refusal(url('http://a.example/'), 'GET')).toBeUndefined()
    expect(switches.refusal(url('https://a.example:8443/'), 'GET')).toBeUndefined()
    expect(switches.refusal(url('https://b.example/'), 'GET')).toBeUndefined()
    expect(switches.refusal(url('https://a.example/'), 'GET')?.code).toBe('ERR_DISABLED')
  })

  it.each([
    ['GET', false],
    ['HEAD', false],
    ['OPTIONS', false],
    ['TRACE', false],
    ['POST', true],
    ['PUT', true],
    ['PATCH', true],
    ['DELETE', true],
    ['PROPFIND', true],
  ])('read-only mode: %s refused = %s', (method, refused) => {
    const switches = new OriginSwitches({ readOnly: true })
    const refusal = switches.refusal(url('https://api.example.com/x?q=1'), method)
    expect(refusal?.code).toBe(refused ? 'ERR_READ_ONLY' : undefined)
    if (refused) expect(refusal?.message).toBe(`the client is read-only: ${method} refused for https://api.example.com`)
  })

  it('read-only mode can be switched at runtime', () => {
    const switches = new OriginSwitches()
    switches.setReadOnly(true)
    expect(switches.refusal(url('https://a.example'), 'DELETE')?.code).toBe('ERR_READ_ONLY')
    switches.setReadOnly(false)
    expect(switches.refusal(url('https://a.example'), 'DELETE')).toBeUndefined()
  })

  it.each([
    [() => new OriginSwitches().disable('not a url', 'x'), 'origin must be an absolute http(s) URL'],
    [() => new OriginSwitches().disable('ftp://a.example', 'x'), 'origin must be an absolute http(s) URL'],
    [() => new OriginSwitches().disable('https://a.example', ''), 'disable() reason must be a non-empty string'],
    [() => new OriginSwitches().disable('https://a.example', undefined as never), 'disable() reason must be a non-empty string'],
    [() => new OriginSwitches().enable('/relative'), 'origin must be an absolute http(s) URL'],
    [() => new OriginSwitches().setReadOnly('yes' as never), 'readOnly must be a boolean, got "yes"'],
    [() => new OriginSwitches({ readOnly: 1 as never }), 'readOnly must be a boolean, got 1'],
  ])('refuses bad input with ERR_INVALID_OPTION (%#)', (fn, message) => {
    let caught: unknown
    try {
      fn()
    } catch (err) {
      caught = err
    }
    expect((caught as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    expect((caught as SafeFetchError).message).toContain(message)
  })
})
