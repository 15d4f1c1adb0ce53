import { describe, expect, it } from 'vitest'
import { SafeFetchError } from '../../src/errors.js'
import {
  compileRedactRules,
  DEFAULT_REDACT_RULES,
  normalizeName,
  redactUrlText,
  isSecretHeader,
  isSecretQueryParam,
  redactHeaders,
  redactUrl,
  redactUrlString,
  scrubText,
  secretsOf,
} from '../../src/observe/redact.js'
import { logSink } from '../support/logs.js'

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
    [
      'https://a.test/p?password=p&passwd=p&secret=s&session=s&auth=a',
      'https://a.test/p?password=REDACTED&passwd=REDACTED&secret=REDACTED&session=REDACTED&auth=REDACTED',
    ],
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
    ['not a url?token=t', 'not a url?REDACTED'],
    ['garbage://u:p@?x', 'garbage://REDACTED@?REDACTED'],
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
    const sink = logSink('info', { bindings: { client: 'test' } })
    const url = new URL('https://alice:hunter2@api.example.test/v1?api_key=AKIA-SECRET-1&X-Amz-Signature=sig-SECRET-2&q=visible')
    sink.logger.info({ url: redactUrl(url), headers: redactHeaders({ authorization: 'Bearer tok-SECRET-3', cookie: 'sid=SECRET-4' }) }, 'call')
    const text = sink.text()
    for (const secret of ['hunter2', 'alice', 'AKIA-SECRET-1', 'sig-SECRET-2', 'tok-SECRET-3', 'SECRET-4']) expect(text).not.toContain(secret)
    const [line] = sink.lines()
    expect(line).toMatchObject({ url: 'https://REDACTED:REDACTED@api.example.test/v1?api_key=REDACTED&X-Amz-Signature=REDACTED&q=visible' })
  })
})

/** Names as they appear in real URLs: (c) of issue 9, cloud pre-signed URLs from the providers' docs. */
describe('the query-name heuristic (normalised: case, -, _, . and camelCase)', () => {
  const cases: [name: string, secret: boolean][] = [
    // Written without separators: the ending decides.
    ['accesstoken', true],
    ['apitoken', true],
    ['authtoken', true],
    ['ACCESSTOKEN', true],
    ['csrftoken', true],
    ['apikey', true],
    ['myapikey', true],
    ['secretkey', true],
    ['passwordhash', true],
    // Short and unusual secret names.
    ['pass', true],
    ['passphrase', true],
    ['db_pass', true],
    ['userPass', true],
    ['hmac', true],
    ['sig', true],
    ['signature', true],
    ['otp', true],
    ['client_assertion', true],
    ['Client-Assertion', true],
    ['client.assertion', true],
    ['clientAssertion', true],
    ['code_verifier', true],
    ['SAMLResponse', true],
    // The same name spelled every way.
    ['access_token', true],
    ['Access-Token', true],
    ['accessToken', true],
    ['access.token', true],
    ['ACCESS_TOKEN', true],
    // AWS SigV4 query auth: the signature, the credential (access key id) and the session token are
    // secret; algorithm, date, expiry and signed headers describe the signature and stay.
    ['X-Amz-Signature', true],
    ['X-Amz-Credential', true],
    ['X-Amz-Security-Token', true],
    ['x_amz_security_token', true],
    ['X-Amz-Algorithm', false],
    ['X-Amz-Date', false],
    ['X-Amz-Expires', false],
    ['X-Amz-SignedHeaders', false],
    // AWS SigV2 / CloudFront signed URLs.
    ['Signature', true],
    ['AWSAccessKeyId', true],
    ['Key-Pair-Id', true],
    ['Expires', false],
    ['Policy', false],
    // Google Cloud Storage V4 (and V2's Signature).
    ['X-Goog-Signature', true],
    ['X-Goog-Credential', true],
    ['X-Goog-Algorithm', false],
    ['X-Goog-Date', false],
    ['X-Goog-Expires', false],
    ['X-Goog-SignedHeaders', false],
    // Azure SAS: only `sig` is the secret; the rest describes the grant (version, expiry, start,
    // permissions, resource, protocol, IP range, key owner ids).
    ['sig', true],
    ['sv', false],
    ['se', false],
    ['st', false],
    ['sp', false],
    ['sr', false],
    ['spr', false],
    ['sip', false],
    ['skoid', false],
    ['sktid', false],
    // OAuth/OIDC parameters that are not secret.
    ['state', false],
    ['nonce', false],
    ['scope', false],
    ['redirect_uri', false],
    ['RelayState', false],
    ['response_type', false],
    // Ordinary names that merely contain a secret word's letters.
    ['page', false],
    ['tokenizer', false],
    ['monkey', false],
    ['keyword', false],
    ['bypass', false],
    ['passenger', false],
    ['compass', false],
    ['design', false],
    ['signal', false],
    ['signed', false],
    ['offset', false],
    ['sessions_count', false],
    // Percent-encoded names are decoded first.
    ['%61ccesstoken', true],
    ['X%2DAmz%2DSignature', true],
  ]
  it.each(cases)('%s → %s', (name, secret) => {
    expect(isSecretQueryParam(name, compileRedactRules({}))).toBe(secret)
  })

  it('normalises user-named parameters the same way', () => {
    const rules = compileRedactRules({ queryParams: ['Tenant_Id'] })
    for (const name of ['tenant_id', 'tenantId', 'TENANT-ID', 'tenant.id']) expect(isSecretQueryParam(name, rules)).toBe(true)
    expect(normalizeName('X-Amz-Security_Token.v')).toBe('xamzsecuritytokenv')
  })

  it('treats ; as a parameter separator too', () => {
    expect(redactUrl(new URL('https://a.test/p?a=1;token=t1;b=2'))).toBe('https://a.test/p?a=1;token=REDACTED;b=2')
    expect(redactUrl(new URL('https://a.test/p?a=1&sig=s1;hmac=h1&b=2'))).toBe('https://a.test/p?a=1&sig=REDACTED;hmac=REDACTED&b=2')
    expect(secretsOf(new URL('https://a.test/p?a=1;passphrase=open-sesame'))).toContain('open-sesame')
  })
})

describe('path rules: the defaults (well-known webhook and bot-token shapes)', () => {
  const cases: [input: string, expected: string][] = [
    // Slack incoming webhooks and workflow webhooks: ids stay, the secret goes.
    ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://hooks.slack.com/services/T000/B000/REDACTED'],
    ['https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcDEF123ghiJKL456mnoPQR', 'https://hooks.slack.com/services/T0123ABCD/B0456EFGH/REDACTED'],
    ['https://hooks.slack.com/workflows/T0123ABCD/A0456EFGH/123456789/abcDEF123', 'https://hooks.slack.com/workflows/T0123ABCD/A0456EFGH/123456789/REDACTED'],
    ['https://hooks.slack.com/triggers/T0123ABCD/123456789/abcDEF123', 'https://hooks.slack.com/triggers/T0123ABCD/123456789/REDACTED'],
    // Telegram Bot API, methods and files.
    ['https://api.telegram.org/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/sendMessage', 'https://api.telegram.org/bot123456:REDACTED/sendMessage'],
    ['https://api.telegram.org/file/bot123456:ABC-DEF_1234/photos/file_1.jpg', 'https://api.telegram.org/file/bot123456:REDACTED/photos/file_1.jpg'],
    // Discord webhooks, with and without an API version.
    ['https://discord.com/api/webhooks/123456789012345678/tOkEn-Value_1', 'https://discord.com/api/webhooks/123456789012345678/REDACTED'],
    ['https://discord.com/api/v10/webhooks/123456789012345678/tOkEn/messages/1', 'https://discord.com/api/v10/webhooks/123456789012345678/REDACTED/messages/1'],
    // Microsoft Teams incoming webhooks (old and new forms).
    [
      'https://contoso.webhook.office.com/webhookb2/aaaa-1@bbbb-2/IncomingWebhook/0123abcd/cccc-3',
      'https://contoso.webhook.office.com/webhookb2/aaaa-1@bbbb-2/IncomingWebhook/REDACTED/cccc-3',
    ],
    [
      'https://contoso.webhook.office.com/webhookb2/aaaa-1@bbbb-2/IncomingWebhook/0123abcd/cccc-3/V2sigvalue',
      'https://contoso.webhook.office.com/webhookb2/aaaa-1@bbbb-2/IncomingWebhook/REDACTED/cccc-3/REDACTED',
    ],
    // Mattermost, Zapier, IFTTT, Netlify.
    ['https://chat.example.test/hooks/xxxgenerat3dk3yxxxxxxxxxxx', 'https://chat.example.test/hooks/REDACTED'],
    ['https://hooks.zapier.com/hooks/catch/123456/abcdef/', 'https://hooks.zapier.com/hooks/catch/123456/REDACTED/'],
    ['https://maker.ifttt.com/trigger/door_open/with/key/dKeyValue', 'https://maker.ifttt.com/trigger/door_open/with/key/REDACTED'],
    ['https://maker.ifttt.com/trigger/door_open/json/with/key/dKeyValue', 'https://maker.ifttt.com/trigger/door_open/json/with/key/REDACTED'],
    ['https://api.netlify.com/build_hooks/5c1a0b2c3d4e5f6a7b8c9d0e', 'https://api.netlify.com/build_hooks/REDACTED'],
    // Path and query secrets together.
    ['https://hooks.slack.com/services/T1/B2/secret3?token=t4', 'https://hooks.slack.com/services/T1/B2/REDACTED?token=REDACTED'],
    // Ordinary paths that look a little like these: untouched.
    ['https://a.test/services/TAX/BILLING/summary', 'https://a.test/services/TAX/BILLING/summary'],
    ['https://a.test/services/Tickets/B12/open', 'https://a.test/services/Tickets/B12/open'],
    ['https://a.test/robots.txt', 'https://a.test/robots.txt'],
    ['https://a.test/bot/status', 'https://a.test/bot/status'],
    ['https://a.test/bots/12:30/schedule', 'https://a.test/bots/12:30/schedule'],
    ['https://a.test/api/webhooks/42/deliveries', 'https://a.test/api/webhooks/42/deliveries'],
    ['https://a.test/api/webhooks', 'https://a.test/api/webhooks'],
    ['https://a.test/hooks/pre-commit', 'https://a.test/hooks/pre-commit'],
    ['https://a.test/hooks/catch/all', 'https://a.test/hooks/catch/all'],
    ['https://a.test/trigger/build', 'https://a.test/trigger/build'],
    ['https://a.test/v1/services/T1/B2/x', 'https://a.test/v1/services/T1/B2/x'], // anchored at the start of the path
    ['https://a.test/build_hooks/latest', 'https://a.test/build_hooks/latest'],
  ]
  it.each(cases)('%s → %s', (input, expected) => {
    expect(redactUrl(new URL(input))).toBe(expected)
  })

  it('finds the secret parts for scrubbing free text', () => {
    expect(secretsOf(new URL('https://hooks.slack.com/services/T1/B2/secret-three'))).toEqual(['secret-three'])
    expect(secretsOf(new URL('https://api.telegram.org/bot123:tok%2Den/getMe'))).toEqual(['tok%2Den', 'tok-en'])
  })

  it('are off with redact: false', () => {
    const href = 'https://hooks.slack.com/services/T1/B2/secret3'
    expect(redactUrl(new URL(href), compileRedactRules(false))).toBe(href)
  })
})

describe('path rules: the user’s', () => {
  it('hides capture groups, or the whole match, at every match', () => {
    const rules = compileRedactRules({ paths: [/\/tenants\/([^/]+)\/keys\/([^/]+)/, /sk_live_[A-Za-z0-9]+/] })
    expect(redactUrl(new URL('https://a.test/tenants/acme/keys/k1/tenants/b/keys/k2'), rules)).toBe(
      'https://a.test/tenants/REDACTED/keys/REDACTED/tenants/REDACTED/keys/REDACTED',
    )
    expect(redactUrl(new URL('https://a.test/pay/sk_live_abc123/charge?x=1'), rules)).toBe('https://a.test/pay/REDACTED/charge?x=1')
    expect(secretsOf(new URL('https://a.test/tenants/acme/keys/k1'), rules)).toEqual(['acme'])
    // The defaults still apply.
    expect(redactUrl(new URL('https://a.test/services/T1/B2/x3'), rules)).toBe('https://a.test/services/T1/B2/REDACTED')
  })

  it('leaves the caller’s RegExp (and its lastIndex) alone', () => {
    const mine = /\/s\/([^/]+)/gy
    mine.lastIndex = 3
    const rules = compileRedactRules({ paths: [mine] })
    expect(redactUrl(new URL('https://a.test/x/s/one/s/two'), rules)).toBe('https://a.test/x/s/REDACTED/s/REDACTED')
    expect(mine.lastIndex).toBe(3)
  })

  it('takes a function from the raw pathname to the pathname to show', () => {
    const rules = compileRedactRules({ paths: [(p) => p.replace(/^\/u\/[^/]+/, '/u/REDACTED')] })
    const url = new URL('https://a.test/u/alice-secret/profile')
    expect(redactUrl(url, rules)).toBe('https://a.test/u/REDACTED/profile')
    expect(secretsOf(url, rules)).toEqual(['alice-secret'])
  })

  it('hides the whole path when a function throws or returns something else', () => {
    const rules = compileRedactRules({
      paths: [
        () => {
          throw new Error('boom')
        },
      ],
    })
    expect(redactUrl(new URL('https://a.test/anything/here'), rules)).toBe('https://a.test/REDACTED')
  })

  const invalid: [unknown, RegExp][] = [
    ['/x/', /redact\.paths must be an array/],
    [['/x/'], /redact\.paths\[0\] must be a RegExp or a function/],
    [[null], /redact\.paths\[0\] must be a RegExp or a function .* got null/],
  ]
  it.each(invalid)('paths: %j is refused', (paths, message) => {
    expect(() => compileRedactRules({ paths } as never)).toThrow(message)
  })
})

/** (d) of issue 9: input that fails to parse still must not show its userinfo. */
describe('redactUrlText (text that did not parse)', () => {
  const cases: [input: string, expected: string][] = [
    ['https:/u:pw@h/x', 'https:/REDACTED@h/x'],
    ['http:\\\\u:pw@h', 'http:\\\\REDACTED@h'],
    ['https:u:pw@h/x', 'REDACTED@h/x'],
    ['https:////u:pw@h', 'https:////REDACTED@h'],
    ['//u:pw@h/p', '//REDACTED@h/p'],
    ['u:pw@h', 'REDACTED@h'],
    ['https://u:p@ss@h/x', 'https://REDACTED@h/x'],
    ['https://u:p/w@h/x', 'https://REDACTED@h/x'], // an unencoded / in a password: hidden anyway
    ['https://h/p?token=t#frag', 'https://h/p?REDACTED'],
    ['https://h/p#x@y', 'https://h/p'],
    ['http://exa mple/services/T1/B2/hook-secret?x', 'http://exa mple/services/T1/B2/REDACTED?REDACTED'],
    ['/services/T1/B2/hook-secret', '/services/T1/B2/REDACTED'],
    ['no url at all', 'no url at all'],
  ]
  it.each(cases)('%s → %s', (input, expected) => {
    expect(redactUrlText(input)).toBe(expected)
  })

  it('caps the length', () => {
    expect(redactUrlText(`https://h/${'a'.repeat(500)}`)).toHaveLength(201)
  })
})
