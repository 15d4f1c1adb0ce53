/**
 * The `proxy` option and the pure pieces of the proxy protocol (src/net/proxy.ts), as tables.
 */
import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import { resolveClientOptions } from '../../src/options.js'
import { connectRequest, ipAuthority, parseConnectAnswer, resolveProxyOption } from '../../src/net/proxy.js'

const basic = (text: string): string => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`

describe('resolveProxyOption: accepted', () => {
  it.each([
    ['http://127.0.0.1:3128', { host: '127.0.0.1', port: 3128, display: 'http://127.0.0.1:3128', headers: {} }],
    ['http://proxy.internal', { host: 'proxy.internal', port: 80, display: 'http://proxy.internal', headers: {} }],
    ['http://proxy.internal/', { host: 'proxy.internal', port: 80, display: 'http://proxy.internal', headers: {} }],
    ['http://[fd00::1]:8080', { host: 'fd00::1', port: 8080, display: 'http://[fd00::1]:8080', headers: {} }],
    [
      'http://alice:secret@10.0.0.3:3128',
      { host: '10.0.0.3', port: 3128, display: 'http://10.0.0.3:3128', headers: { 'proxy-authorization': basic('alice:secret') } },
    ],
    // Percent-decoded, UTF-8 (RFC 7617 §2.1).
    ['http://al%20ice:p%40ss%C3%A9@p:1', { host: 'p', port: 1, display: 'http://p:1', headers: { 'proxy-authorization': basic('al ice:p@ssé') } }],
    ['http://alice@p:1', { host: 'p', port: 1, display: 'http://p:1', headers: { 'proxy-authorization': basic('alice:') } }],
    [new URL('http://p:2'), { host: 'p', port: 2, display: 'http://p:2', headers: {} }],
    [
      { url: 'http://p:3', headers: { 'Proxy-Authorization': 'Bearer t', 'X-Team': ' blue ' } },
      { host: 'p', port: 3, display: 'http://p:3', headers: { 'proxy-authorization': 'Bearer t', 'x-team': 'blue' } },
    ],
    [
      { url: 'http://u:p@p:3', headers: { 'x-team': 'blue' } },
      { host: 'p', port: 3, display: 'http://p:3', headers: { 'x-team': 'blue', 'proxy-authorization': basic('u:p') } },
    ],
  ] as const)('%s', (input, expected) => {
    expect(resolveProxyOption(input)).toEqual(expected)
  })

  it('undefined → no proxy', () => {
    expect(resolveProxyOption(undefined)).toBeUndefined()
    expect(resolveClientOptions({}).proxy).toBeUndefined()
  })
})

describe('resolveProxyOption: refused with ERR_INVALID_OPTION naming the option', () => {
  it.each([
    ['https://proxy:443', 'proxy must be an http: proxy URL', 'only http: proxies'],
    ['socks5://proxy:1080', 'proxy must be an http: proxy URL', 'socks5'],
    ['proxy:3128', 'proxy must be an http: proxy URL', ''],
    ['not a url', 'proxy must be an http: proxy URL', ''],
    ['http://proxy:3128/path', 'without a path, query or fragment', ''],
    ['http://proxy:3128/?q=1', 'without a path, query or fragment', ''],
    ['http://proxy:0', 'port other than 0', ''],
    [42, 'proxy must be an http: proxy URL', 'got 42'],
    [null, 'proxy must be an http: proxy URL', 'got null'],
    [['http://p'], 'proxy must be', 'got ["http://p"]'],
    [{ url: 'http://p', header: {} }, 'proxy.header is not a known option; did you mean proxy.headers?', ''],
    [{ headers: {} }, 'proxy.url must be an http: proxy URL', ''],
    [{ url: 'http://p', headers: { host: 'x' } }, 'proxy.headers.host cannot be set', ''],
    [{ url: 'http://p', headers: { 'Content-Length': '1' } }, 'proxy.headers.Content-Length cannot be set', ''],
    [{ url: 'http://p', headers: { 'bad name': 'x' } }, 'proxy.headers must be valid header names', ''],
    [{ url: 'http://p', headers: { 'x-a': 'a\r\nx-b: b' } }, 'proxy.headers.x-a must be a value without CR, LF or NUL', ''],
    [{ url: 'http://p', headers: { 'x-a': 1 } }, 'proxy.headers.x-a must be a string', ''],
    [{ url: 'http://u:p@p', headers: { 'proxy-authorization': 'Basic x' } }, 'credentials both in the URL', ''],
    ['http://a%zz:b@p', 'malformed percent-encoding', ''],
    ['http://a%3Ab:c@p', 'user name containing ":"', ''],
  ] as const)('%j', (input, message, more) => {
    let error: unknown
    try {
      resolveProxyOption(input)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(SafeFetchError)
    expect((error as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    expect((error as Error).message).toContain(message)
    expect((error as Error).message).toContain(more)
  })

  it('never shows the password of a refused proxy URL', () => {
    for (const input of ['https://alice:hunter2@proxy:443', new URL('https://alice:hunter2@proxy:443'), 'http://alice:hunter2@proxy:1/path']) {
      let message = ''
      try {
        resolveProxyOption(input)
      } catch (err) {
        message = (err as Error).message
      }
      expect(message).not.toBe('')
      expect(message).not.toContain('hunter2')
    }
  })

  it('resolveClientOptions validates `proxy`', () => {
    expect(() => resolveClientOptions({ proxy: 'ftp://p' })).toThrow(/proxy must be an http: proxy URL/)
    expect(resolveClientOptions({ proxy: 'http://p:8' }).proxy?.port).toBe(8)
  })
})

describe('CONNECT request and answer', () => {
  it.each([
    ['93.184.216.34', 443, '93.184.216.34:443'],
    ['2001:db8::1', 443, '[2001:db8::1]:443'],
    ['::ffff:7f00:1', 8443, '[::ffff:7f00:1]:8443'],
  ])('ipAuthority(%s, %i) = %s', (address, port, authority) => {
    expect(ipAuthority(address, port)).toBe(authority)
  })

  it('connectRequest names the IP in the request line and Host, then the proxy headers', () => {
    expect(connectRequest('93.184.216.34', 443, { 'proxy-authorization': 'Basic eA==' })).toBe(
      'CONNECT 93.184.216.34:443 HTTP/1.1\r\nhost: 93.184.216.34:443\r\nproxy-authorization: Basic eA==\r\n\r\n',
    )
    expect(connectRequest('2001:db8::1', 443, {})).toBe('CONNECT [2001:db8::1]:443 HTTP/1.1\r\nhost: [2001:db8::1]:443\r\n\r\n')
  })

  it.each([
    ['HTTP/1.1 200 Connection Established\r\nVia: x', { status: 200, reason: 'Connection Established' }],
    ['HTTP/1.0 200 OK', { status: 200, reason: 'OK' }],
    ['HTTP/1.1 200', { status: 200, reason: '' }],
    ['HTTP/1.1 407 Proxy Authentication Required\r\n', { status: 407, reason: 'Proxy Authentication Required' }],
    ['HTTP/1.1 502 Bad Gateway', { status: 502, reason: 'Bad Gateway' }],
    ['HTTP/2 200', undefined],
    ['SSH-2.0-OpenSSH_9.6', undefined],
    ['HTTP/1.1 20 OK', undefined],
    ['', undefined],
  ])('parseConnectAnswer(%j)', (head, expected) => {
    expect(parseConnectAnswer(head)).toEqual(expected)
  })
})
