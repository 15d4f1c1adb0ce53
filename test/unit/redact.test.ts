import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import {
  compileRedactRules,
  DEFAULT_REDACT_RULES,
  isSecretHeader,
  isSecretQueryParam,
  redactHeaders,
  redactUrl,
  redactUrlString,
  scrubText,
  secretsOf,
} from '../../src/observe/redact.js'
import { logSink } from '../helpers/observe-context.js'

describe('redactUrl', () => {
  const cases: [input: string, expected: string][] = [
    // Nothing to hide: href as is.
    ['https://api.example.test/items', 'https://api.example.test/items'],
    ['http://api.example.test:8080/a/b', 'http://api.example.test:8080/a/b'],
    // Fragment dropped (never sent, may hold an implicit-flow token).
    ['https://app.example.test/cb#access_token=abc', 'https://app.example.test/cb'],
    // Userinfo.
    ['https://user:hunter2@api.example.test/x', 'https://REDACTED:REDACTED@api.example.test/x'],
    ['https://sk_live_123@api.example.test/x', 'https://REDACTED@api.example.test/x'],
    // Exact secret names, case-insensitive; other values kept byte for byte.
    ['https://a.test/p?token=abc&page=2', 'https://a.test/p?token=REDACTED&page=2'],
    ['https://a.test/p?TOKEN=abc&Page=2', 'https://a.test/p?TOKEN=REDACTED&Page=2'],
    ['https://a.test/p?api_key=k&apikey=k&key=k&sig=s', 'https://a.test/p?api_key=REDACTED&apikey=REDACTED&key=REDACTED&sig=REDACTED'],
    ['https://a.test/cb?code=xyz&state=abc', 'https://a.test/cb?code=REDACTED&state=abc'],
    ['https://a.test/p?password=p&passwd=p&secret=s&session=s&auth=a', 'https://a.test/p?password=REDACTED&passwd=REDACTED&secret=REDACTED&session=REDACTED&auth=REDACTED'],
    ['https://a.test/p?access_token=a&refresh_token=r&client_secret=c', 'https://a.test/p?access_token=REDACTED&refresh_token=REDACTED&client_secret=REDACTED'],
    // Pre-signed cloud URLs.
    [
      'https://bucket.s3.test/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20240101&X-Amz-Signature=deadbeef',
      'https://bucket.s3.test/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED',
    ],
    ['https://storage.test/o?X-Goog-Signature=abc&X-Goog-Date=1', 'https://storage.test/o?X-Goog-Signature=REDACTED&X-Goog-Date=1'],
    ['https://blob.test/c?sv=2020&sig=abc%3D', 'https://blob.test/c?sv=2020&sig=REDACTED'],
    // Names that merely contain a secret word as one of their parts.
    ['https://a.test/p?githubToken=t&x-api-key=k&db.password=p', 'https://a.test/p?githubToken=REDACTED&x-api-key=REDACTED&db.password=REDACTED'],
    ['https://a.test/p?monkey=1&keyword=2&tokenizer=3', 'https://a.test/p?monkey=1&keyword=2&tokenizer=3'],
    // Percent-encoded and plus-encoded names are decoded before matching.
    ['https://a.test/p?%74oken=abc', 'https://a.test/p?%74oken=REDACTED'],
    // Flags without a value, empty pairs and empty values are left alone.
    ['https://a.test/p?token&&a=1&token=', 'https://a.test/p?token&&a=1&token=REDACTED'],
    // Userinfo and query together; fragment dropped.
    ['https://u:p@a.test/p?secret=s#frag', 'https://REDACTED:REDACTED@a.test/p?secret=REDACTED'],
  ]
  it.each(cases)('%s → %s', (input, expected) => {
    expect(redactUrl(new URL(input))).toBe(expected)
  })

  it('redacts user-named query parameters on top of the defaults', () => {
    const rules = compileRedactRules({ queryParams: ['Tenant'] })
    expect(redactUrl(new URL('https://a.test/p?tenant=acme&token=t&q=1'), rules)).toBe('https://a.test/p?tenant=REDACTED&token=REDACTED&q=1')
  })

  it('leaves everything as is with redact: false', () => {
    const rules = compileRedactRules(false)
    const href = 'https://u:p@a.test/p?token=t#x'
    expect(redactUrl(new URL(href), rules)).toBe(href)
  })
})

describe('isSecretQueryParam', () => {
  const cases: [string, boolean][] = [
    ['token', true],
    ['Signature', true],
    ['X-Amz-Security-Token', true],
    ['clientSecret', true],
    ['sessionId', true],
    ['refreshTOKEN', true],
    ['page', false],
    ['sort', false],
    ['state', false],
    ['limit', false],
    ['signed', false],
  ]
  it.each(cases)('%s → %s', (name, secret) => {
    expect(isSecretQueryParam(name, DEFAULT_REDACT_RULES)).toBe(secret)
  })

  it('keeps its verdict cache bounded', () => {
    const rules = compileRedactRules({})
    for (let i = 0; i < 2_000; i++) isSecretQueryParam(`p${i}`, rules)
    expect(rules.verdicts.size).toBeLessThanOrEqual(512)
  })
})

describe('redactUrlString', () => {
  const cases: [string, string][] = [
    ['https://a.test/p', 'https://a.test/p'],
    ['https://a.test/p?token=t', 'https://a.test/p?token=REDACTED'],
    ['not a url?token=t', 'not a url'],
    ['garbage://u:p@?x', 'REDACTED'],
  ]
  it.each(cases)('%s → %s', (input, expected) => {
    expect(redactUrlString(input)).toBe(expected)
  })
})

describe('headers', () => {
  it('redacts the default and user-named headers, keeping their names', () => {
    const rules = compileRedactRules({ headers: ['X-Api-Key'] })
    const out = redactHeaders(
      { authorization: 'Bearer t', 'proxy-authorization': 'Basic x', cookie: 'sid=1', 'set-cookie': ['a=1', 'b=2'], 'x-api-key': 'k', accept: '*/*' },
      rules,
    )
    expect(out).toEqual({
      authorization: 'REDACTED',
      'proxy-authorization': 'REDACTED',
      cookie: 'REDACTED',
      'set-cookie': 'REDACTED',
      'x-api-key': 'REDACTED',
      accept: '*/*',
    })
    expect(isSecretHeader('Authorization', rules)).toBe(true)
    expect(isSecretHeader('accept', rules)).toBe(false)
  })
})

describe('compileRedactRules validation', () => {
  const cases: [unknown, RegExp][] = [
    ['yes', /redact must be false or an object/],
    [{ headers: 'authorization' }, /redact\.headers must be an array/],
    [{ headers: ['bad header'] }, /redact\.headers\[0\] must be a non-empty name/],
    [{ queryParams: [''] }, /redact\.queryParams\[0\] must be a non-empty name/],
  ]
  it.each(cases)('%j is refused', (input, message) => {
    let error: unknown
    try {
      compileRedactRules(input as never)
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(SafeFetchError)
    expect((error as SafeFetchError).code).toBe('ERR_INVALID_OPTION')
    expect((error as SafeFetchError).message).toMatch(message)
  })
})

describe('scrubbing free text', () => {
  it('finds the raw and decoded secrets of a URL and removes them from text', () => {
    const url = new URL('https://bob:pa%24%24word@a.test/p?token=abc%2Fdef&page=2')
    const secrets = secretsOf(url)
    expect(secrets).toEqual(expect.arrayContaining(['bob', 'pa%24%24word', 'pa$$word', 'abc%2Fdef', 'abc/def']))
    const text = scrubText('connect failed for https://bob:pa$$word@a.test/p?token=abc/def&page=2', secrets)
    expect(text).not.toMatch(/pa\$\$word|abc\/def|bob/)
    expect(text).toContain('page=2')
  })
})

describe('redaction in real pino output', () => {
  it('no secret value reaches the log stream', () => {
    const sink = logSink('info')
    const url = new URL('https://alice:hunter2@api.example.test/v1?api_key=AKIA-SECRET-1&X-Amz-Signature=sig-SECRET-2&q=visible')
    sink.logger.info({ url: redactUrl(url), headers: redactHeaders({ authorization: 'Bearer tok-SECRET-3', cookie: 'sid=SECRET-4' }) }, 'call')
    const text = sink.text()
    for (const secret of ['hunter2', 'alice', 'AKIA-SECRET-1', 'sig-SECRET-2', 'tok-SECRET-3', 'SECRET-4']) expect(text).not.toContain(secret)
    const [line] = sink.lines()
    expect(line).toMatchObject({ url: 'https://REDACTED:REDACTED@api.example.test/v1?api_key=REDACTED&X-Amz-Signature=REDACTED&q=visible' })
  })
})
