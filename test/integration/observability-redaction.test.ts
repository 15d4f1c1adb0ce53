/**
 * Redaction, proven by grepping everything the library lets out — the raw pino text, span
 * attributes, events and statuses, error messages, the flight recorder and diagnostics messages —
 * for secret values that really went over the wire (docs/observability.md, "Redaction").
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, getCallInfo, SafeFetchError, type Client } from '../../src/index.js'
import { startHttpServer, type TestServer, closedPort } from '../support/servers.js'
import { originHandler } from '../support/observability-origin.js'
import { logSink, type LogSink } from '../support/logs.js'
import { tracing, type Tracing } from '../support/telemetry.js'

const SECRETS = {
  authorization: 'AUTHZ-SECRET-1',
  cookie: 'COOKIE-SECRET-2',
  setCookie: 'SETCOOKIE-SECRET-3', // sent by the origin's /cookie route
  token: 'TOKEN-SECRET-4',
  amzSignature: 'AMZSIG-SECRET-5',
  user: 'USER-SECRET-6',
  password: 'PASS-SECRET-7',
  userHeader: 'HEADER-SECRET-8',
  userParam: 'PARAM-SECRET-9',
  fragment: 'FRAGMENT-SECRET-10',
  signature: 'SIG-SECRET', // in the Location of /redirect-signed
} as const

const CHANNELS = ['start', 'end', 'error', 'retry', 'blocked'].map((name) => `safefetch:call:${name}`)

let server: TestServer
let refusedPort: number
let log: LogSink
let trace: Tracing
let client: Client
const events: unknown[] = []
const thrown: SafeFetchError[] = []
const listener = (message: unknown): void => {
  events.push(message)
}

/** Secret-bearing query and headers, with a path: every kind of secret on one request. */
function query(): string {
  return `page=2&token=${SECRETS.token}&X-Amz-Signature=${SECRETS.amzSignature}&tenant=${SECRETS.userParam}`
}
const HEADERS = {
  authorization: `Bearer ${SECRETS.authorization}`,
  cookie: `sid=${SECRETS.cookie}`,
  'x-internal-key': SECRETS.userHeader,
}

async function call(url: string, init: Parameters<Client['fetch']>[1] = {}): Promise<void> {
  try {
    const res = await client.fetch(url, { headers: HEADERS, ...init })
    await res.text()
  } catch (err) {
    if (!(err instanceof SafeFetchError)) throw err
    thrown.push(err)
  }
}

beforeAll(async () => {
  server = await startHttpServer(originHandler())
  refusedPort = await closedPort()
  for (const name of CHANNELS) subscribe(name, listener)
  log = logSink('debug')
  trace = tracing()
  client = createClient({
    name: 'redaction',
    policy: { allow: ['127.0.0.1/32'], allowCredentials: true },
    cache: false,
    logger: log.logger,
    tracer: trace.tracer,
    redact: { headers: ['x-internal-key'], queryParams: ['tenant'] },
    retry: { backoff: { base: 1, cap: 2 } },
  })
  const origin = server.origin
  const withUser = `http://${SECRETS.user}:${SECRETS.password}@127.0.0.1:${server.port}`
  await call(`${origin}/echo?${query()}#${SECRETS.fragment}`) // success, every secret on board
  await call(`${withUser}/echo?${query()}`) // URL userinfo
  await call(`${origin}/cookie?${query()}`) // a Set-Cookie in the response
  await call(`${origin}/flaky/redaction?fail=1&${query()}`) // retried: warn line, retry event
  await call(`${origin}/status/500?${query()}`, { retry: false }) // a 5xx: flight recorder
  await call(`${origin}/redirect-signed?${query()}`) // a secret in Location
  await call(`http://127.0.0.1:${refusedPort}/down?${query()}`, { retry: false }) // ERR_NETWORK
  await call(`${withUser}/slow?ms=300&${query()}`, { retry: false, timeout: { headers: 80 } }) // ERR_HEADERS_TIMEOUT
  await call(`${origin}/chunks?n=3&gap=1&${query()}`, { maxResponseBytes: 150 }) // body failure after the headers
  await call(`http://169.254.169.254/latest/meta-data?${query()}`) // blocked by the policy
  await call(`http://${SECRETS.user}:${SECRETS.password}@10.0.0.1/?${query()}`) // blocked too, with userinfo
})

afterAll(async () => {
  for (const name of CHANNELS) unsubscribe(name, listener)
  await client.close()
  await server.close()
})

function expectNoSecret(haystack: string, where: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) {
    expect(haystack.includes(secret), `${name} (${secret}) leaked into ${where}`).toBe(false)
  }
}

describe('redaction', () => {
  it('the secrets were really sent (so the greps below mean something)', () => {
    const seen = JSON.stringify(server.requests)
    for (const secret of [SECRETS.authorization, SECRETS.cookie, SECRETS.token, SECRETS.amzSignature, SECRETS.userParam, SECRETS.userHeader]) {
      expect(seen).toContain(secret)
    }
    expect(server.requests.some((r) => r.url.startsWith('/landing?sig=SIG-SECRET'))).toBe(true)
    // ERR_RESPONSE_TOO_LARGE is the rejection of text(): the caller already had the response.
    expect(thrown.map((e) => e.code)).toEqual(['ERR_NETWORK', 'ERR_HEADERS_TIMEOUT', 'ERR_RESPONSE_TOO_LARGE', 'ERR_ADDRESS_BLOCKED', 'ERR_ADDRESS_BLOCKED'])
  })

  it('the raw pino output (summary, attempt and retry lines) holds no secret', () => {
    const lines = log.lines()
    expect(lines.filter((l) => l.msg === 'call completed' || l.msg === 'call failed')).toHaveLength(11)
    expect(lines.some((l) => l.msg === 'attempt')).toBe(true)
    expect(lines.some((l) => l.msg === 'retrying')).toBe(true)
    expectNoSecret(log.text(), 'the log')
    // Redacted, not dropped: the names stay, so a reader knows a secret was there.
    expect(log.text()).toContain('token=REDACTED')
    expect(log.text()).toContain('X-Amz-Signature=REDACTED')
    expect(log.text()).toContain('tenant=REDACTED')
    expect(log.text()).toContain('page=2')
    expect(log.text()).toContain(`REDACTED:REDACTED@127.0.0.1:${server.port}`)
  })

  it('span names, attributes, events and statuses hold no secret', () => {
    const spans = trace.spans()
    expect(spans.length).toBeGreaterThan(11)
    const dump = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })))
    expectNoSecret(dump, 'the spans')
    const urls = spans.map((s) => s.attributes['url.full'])
    expect(urls).toContain(`${server.origin}/echo?${query().replace(/=[A-Z]+-SECRET-\d+/g, '=REDACTED')}`)
    expect(urls).toContain(`http://REDACTED:REDACTED@127.0.0.1:${server.port}/echo?${query().replace(/=[A-Z]+-SECRET-\d+/g, '=REDACTED')}`)
  })

  it('thrown error messages and their url hold no secret', () => {
    for (const error of thrown) {
      expectNoSecret(`${error.message} ${error.url ?? ''} ${String(error.stack)}`, `the ${error.code} error`)
    }
  })

  it('the flight recorder holds no secret', () => {
    const failures = client.recentFailures()
    expect(failures.map((f) => f.error?.code ?? `status ${f.record.status}`)).toEqual([
      'ERR_ADDRESS_BLOCKED',
      'ERR_ADDRESS_BLOCKED',
      'ERR_RESPONSE_TOO_LARGE',
      'ERR_HEADERS_TIMEOUT',
      'ERR_NETWORK',
      'status 500',
    ])
    expectNoSecret(JSON.stringify(failures), 'recentFailures()')
  })

  it('diagnostics messages hold no secret', () => {
    expect(events.length).toBeGreaterThan(20)
    const dump = JSON.stringify(events, (_key, value: unknown) =>
      value instanceof Error ? { message: value.message, ...(value as unknown as Record<string, unknown>) } : value,
    )
    expectNoSecret(dump, 'diagnostics messages')
  })

  it('stats and Prometheus text hold no secret (origins only)', () => {
    expectNoSecret(JSON.stringify(client.stats()), 'stats()')
    expectNoSecret(client.stats({ format: 'prometheus' }), 'Prometheus text')
  })

  it('redact: false is the control: the same greps do find the secrets', async () => {
    const plain = logSink('info')
    const open = createClient({ policy: { allow: ['127.0.0.1/32'] }, cache: false, logger: plain.logger, redact: false })
    const res = await open.fetch(`${server.origin}/echo?${query()}`, { headers: HEADERS })
    await res.text()
    expect(plain.text()).toContain(SECRETS.token)
    expect(getCallInfo(res)!.url).toContain(SECRETS.amzSignature)
    await open.close()
  })

  // BUG (src/options.ts normalizeHeaders): a header value with CR/LF is refused with a message that
  // quotes the value — for `authorization` that is the credential. Secret headers (redact rules)
  // should be named without their value. Remove `.fails` once fixed.
  it('an invalid Authorization value is refused without quoting it', async () => {
    const error = await client.fetch(`${server.origin}/echo`, { headers: { authorization: `Bearer ${SECRETS.authorization}\r\nx: y` } }).then(
      () => undefined,
      (err: unknown) => err as SafeFetchError,
    )
    expect(error?.code).toBe('ERR_INVALID_OPTION')
    expect(error!.message).not.toContain(SECRETS.authorization)
  })
})
