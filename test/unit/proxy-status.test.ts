import { describe, expect, it } from 'vitest'
import { proxyConnectError, proxyStatusErrors } from '../../src/net/proxy.js'

describe('Proxy-Status (RFC 9209)', () => {
  it.each([
    ['ExampleCDN; error=connection_refused', ['connection_refused']],
    ['"Example Proxy"; details="a;b,c"; error=connection_timeout', ['connection_timeout']],
    ['origin; error=http_protocol_error, edge', ['http_protocol_error']],
    ['a; error=dns_error, b; error=connection_terminated', ['dns_error', 'connection_terminated']],
    ['a; error="destination_unavailable"', ['destination_unavailable']],
    ['a; received-status=503', []],
    ['', []],
    ['a; details="error=connection_refused"', []],
  ])('%s → %j', (value, errors) => {
    expect(proxyStatusErrors(value)).toEqual(errors)
  })

  it('only a 5xx whose Proxy-Status says the next hop was never reached counts', () => {
    expect(proxyConnectError(502, { 'proxy-status': 'p; error=connection_refused' })).toBe('connection_refused')
    expect(proxyConnectError(504, { 'proxy-status': 'p; error=connection_timeout' })).toBe('connection_timeout')
    expect(proxyConnectError(502, { 'proxy-status': ['p; error=destination_ip_unroutable', 'q'] })).toBe('destination_ip_unroutable')
    // The request may have reached the origin: not a connect failure.
    expect(proxyConnectError(502, { 'proxy-status': 'p; error=connection_terminated' })).toBeUndefined()
    expect(proxyConnectError(504, { 'proxy-status': 'p; error=connection_read_timeout' })).toBeUndefined()
    expect(proxyConnectError(502, { 'proxy-status': 'p; error=http_response_incomplete' })).toBeUndefined()
    expect(proxyConnectError(502, {})).toBeUndefined()
    expect(proxyConnectError(200, { 'proxy-status': 'p; error=connection_refused' })).toBeUndefined()
  })
})
