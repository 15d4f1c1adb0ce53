/**
 * One validation path for every option (issue 11): unknown keys are refused at every level with a
 * "did you mean", per-call options a client alone can hold are refused with a pointer to the
 * client, `timeout: n` is the total deadline, `false` turns logger/tracer/meter off, the
 * decompression ratio is validated as a ratio, and relative URLs name baseUrl.
 */
import type http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { createClient, getCallInfo, safeFetch, type ClientOptions, type SafeRequestInit } from '../../src/index.js'
import { resolveCallOptions, resolveClientOptions } from '../../src/options.js'
import { describeValue } from '../../src/option-checks.js'
import { startHttpServer, type TestServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith, throwsWith } from '../support/assertions.js'
import { metrics, tracing } from '../support/telemetry.js'
import { logSink } from '../support/logs.js'
import { until } from '../support/waiting.js'

let server: TestServer
let hits = 0
beforeAll(async () => {
  server = await startHttpServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    hits++
    res.setHeader('cache-control', 'max-age=600')
    res.end(`hit ${hits} ${req.url}`)
  })
})
afterAll(async () => {
  await server.close()
})

describe('unknown keys are refused in every option group, with a hint', () => {
  it.each<[string, unknown, string]>([
    ['timeout', { timeout: { totl: 100 } }, 'timeout.totl is not a known option; did you mean timeout.total?'],
    ['redirect', { redirect: { maxx: 3 } }, 'redirect.maxx is not a known option; did you mean redirect.max?'],
    ['stats', { stats: { window: 1000 } }, 'stats.window is not a known option; did you mean stats.windowMs?'],
    [
      'stats.fleet',
      { stats: { fleet: { redis: 'redis://127.0.0.1:1', interval: 100 } } },
      'stats.fleet.interval is not a known option; did you mean stats.fleet.intervalMs?',
    ],
    ['redact', { redact: { header: ['x-a'] } }, 'redact.header is not a known option; did you mean redact.headers?'],
    ['tls', { tls: { rejectUnauthorised: false } }, 'tls.rejectUnauthorised is not a known option; did you mean tls.rejectUnauthorized?'],
    ['cache', { cache: { mdoe: 'shared' } }, 'cache.mdoe is not a known option; did you mean cache.mode?'],
    ['retry', { retry: { limt: 1 } }, 'retry.limt is not a known option; did you mean retry.limit?'],
    ['retry.backoff', { retry: { backoff: { bse: 1 } } }, 'retry.backoff.bse is not a known option; did you mean retry.backoff.base?'],
    ['breaker', { breaker: { cooldown: 1 } }, 'breaker.cooldown is not a known option; did you mean breaker.cooldownMs?'],
    ['policy', { policy: { allowHost: ['a.example'] } }, 'policy.allowHost is not a known option; did you mean policy.allowHosts?'],
    ['proxy', { proxy: { url: 'http://p:3128', header: {} } }, 'proxy.header is not a known option; did you mean proxy.headers?'],
    ['top level', { timeOut: 5 }, 'timeOut is not a known option; did you mean timeout?'],
  ])('%s', (_group, options, message) => {
    expect(throwsWith(() => createClient(options as ClientOptions), 'ERR_INVALID_OPTION').message).toBe(message)
  })

  it('configure() goes through the same checks', () => {
    const client = createClient({ cache: false })
    expect(throwsWith(() => client.configure({ timeout: { totl: 1 } } as never), 'ERR_INVALID_OPTION').message).toBe(
      'timeout.totl is not a known option; did you mean timeout.total?',
    )
    void client.close()
  })
})

describe('per-call options', () => {
  const client = createClient({ cache: false, ...LOOPBACK })
  afterAll(() => client.close())

  it.each<[string, Record<string, unknown>, string | RegExp]>([
    ['a typo', { timeOut: 100 }, 'timeOut is not a known option; did you mean timeout?'],
    ['a nested typo', { timeout: { totl: 100 } }, 'timeout.totl is not a known option; did you mean timeout.total?'],
    ['a dispatcher', { dispatcher: {} }, /^dispatcher cannot be set for one call .*use createClient\(\{ dispatcher \}\)/],
    ['a policy', { policy: { protocols: ['https:'] } }, /^policy cannot be set for one call .*use createClient\(\{ policy \}\) or client\.configure\(\)/],
    ['tls', { tls: { rejectUnauthorized: false } }, /^tls cannot be set for one call/],
    ['a logger', { logger: pino({ enabled: false }) }, /^logger cannot be set for one call/],
    [
      'timeout.connect',
      { timeout: { connect: 50 } },
      /^timeout\.connect cannot be set for one call \(the connect timeout is fixed when a client builds its pool\): use createClient\(\{ timeout: \{ connect \} \}\)/,
    ],
    ['integrity', { integrity: 'sha256-abc' }, /^integrity \(subresource integrity\) is not supported/],
  ])('%s is refused before anything is sent', async (_what, init, message) => {
    const before = server.requests.length
    const error = await rejectsWith(client.fetch(`${server.origin}/x`, init as SafeRequestInit), 'ERR_INVALID_OPTION')
    if (typeof message === 'string') expect(error.message).toBe(message)
    else expect(error.message).toMatch(message)
    expect(server.requests.length).toBe(before)
  })

  it('a per-call policy that would forbid http: is not silently dropped', async () => {
    // Before: the request went out over http: although the caller asked for https: only.
    const before = server.requests.length
    await rejectsWith(client.fetch(`${server.origin}/x`, { policy: { protocols: ['https:'] } } as never), 'ERR_INVALID_OPTION')
    expect(server.requests.length).toBe(before)
  })

  it('fetch RequestInit members are still accepted (drop-in for fetch)', async () => {
    const response = await client.fetch(`${server.origin}/init`, {
      method: 'GET',
      headers: { 'x-a': '1' },
      credentials: 'include',
      mode: 'cors',
      referrerPolicy: 'no-referrer',
      keepalive: false,
      signal: new AbortController().signal,
    })
    expect(response.status).toBe(200)
    await response.text()
  })

  it('safeFetch() takes client options, timeout.connect included (a one-shot client)', async () => {
    const response = await safeFetch(`${server.origin}/one-shot`, { timeout: { connect: 1_000, total: 5_000 }, ...LOOPBACK })
    expect(response.status).toBe(200)
    await response.text()
    // Routed to the one-shot client: the client-level check answers, not the per-call refusal.
    const error = await rejectsWith(safeFetch(`${server.origin}/x`, { timeout: { connect: -1 }, ...LOOPBACK }), 'ERR_INVALID_OPTION')
    expect(error.message).toBe('timeout.connect must be a positive number of milliseconds (or false to disable it), got -1')
    // timeout.connect alone also gets a one-shot client (the default policy then refuses loopback).
    await rejectsWith(safeFetch(`${server.origin}/x`, { timeout: { connect: 1_000 } }), 'ERR_ADDRESS_BLOCKED')
  })

  it('safeFetch() still refuses unknown keys', async () => {
    const error = await rejectsWith(safeFetch(`${server.origin}/x`, { ...LOOPBACK, timeOut: 5 } as never), 'ERR_INVALID_OPTION')
    expect(error.message).toBe('timeOut is not a known option; did you mean timeout?')
  })
})

describe('timeout as a number is the total deadline', () => {
  it('for a client and for a call', () => {
    const client = resolveClientOptions({ timeout: 5_000 })
    expect(client.timeout).toEqual({ connect: 5_000, headers: 10_000, read: 30_000, total: 5_000 })
    expect(resolveCallOptions({ timeout: 1_234 }, client).timeout).toEqual({ ...client.timeout, total: 1_234 })
    expect(throwsWith(() => resolveClientOptions({ timeout: 0 }), 'ERR_INVALID_OPTION').message).toMatch(/^timeout must be a positive number of milliseconds/)
  })
})

describe('logger, tracer and meter', () => {
  it('false means off, so configure() can turn them off', async () => {
    const traces = tracing()
    const meters = metrics()
    const { logger, lines } = logSink('info')
    const client = createClient({ cache: false, ...LOOPBACK, logger, tracer: traces.tracer, meter: meters.meter })
    expect(client.options.logger).toBe(logger)
    const first = await client.fetch(`${server.origin}/logged`)
    await first.text()
    await until(() => lines().length === 1, 'the first call to be logged')
    expect(traces.spans().length).toBeGreaterThan(0)
    traces.reset()
    client.configure({ logger: false, tracer: false, meter: false })
    expect(client.options.logger).toBeUndefined()
    expect(client.options.observe.tracer).toBeUndefined()
    expect(client.options.observe.meter).toBeUndefined()
    const second = await client.fetch(`${server.origin}/not-logged`)
    await second.text()
    expect(getCallInfo(second)).toBeDefined()
    await client.close()
    expect(lines()).toHaveLength(1)
    expect(traces.spans()).toHaveLength(0)
    await meters.shutdown()
  })

  it('console or any non-pino object is ERR_INVALID_OPTION, not a TypeError', () => {
    for (const logger of [console, { info() {} }, 'pino', null]) {
      const error = throwsWith(() => createClient({ logger: logger as never }), 'ERR_INVALID_OPTION')
      expect(error.message).toMatch(/^logger must be a pino logger/)
    }
    const client = createClient({ cache: false })
    throwsWith(() => client.configure({ logger: console as never }), 'ERR_INVALID_OPTION')
    void client.close()
  })

  it('tracer and meter refuse objects that are not OpenTelemetry ones', () => {
    expect(throwsWith(() => createClient({ tracer: {} as never }), 'ERR_INVALID_OPTION').message).toBe(
      'tracer must be an OpenTelemetry Tracer or false, got {}',
    )
    expect(throwsWith(() => createClient({ meter: 1 as never }), 'ERR_INVALID_OPTION').message).toBe('meter must be an OpenTelemetry Meter or false, got 1')
  })
})

describe('maxDecompressionRatio is a ratio', () => {
  it('refuses what is not a ratio >= 1, without talking about milliseconds', () => {
    for (const bad of [0, 0.5, -2, 'x', Infinity, NaN]) {
      const error = throwsWith(() => resolveClientOptions({ maxDecompressionRatio: bad as never }), 'ERR_INVALID_OPTION')
      expect(error.message).toMatch(/^maxDecompressionRatio must be a ratio >= 1 \(decoded bytes per compressed byte\), or false to turn the check off, got /)
      expect(error.message).not.toMatch(/milliseconds/)
    }
  })

  it('false turns the check off (it used to become 0 and refuse every compressed body past 1 MiB)', () => {
    expect(resolveClientOptions({ maxDecompressionRatio: false }).maxDecompressionRatio).toBe(Infinity)
    expect(resolveClientOptions({ maxDecompressionRatio: 1 }).maxDecompressionRatio).toBe(1)
    expect(resolveClientOptions({ maxDecompressionRatio: 2.5 }).maxDecompressionRatio).toBe(2.5)
  })
})

describe('relative URLs', () => {
  it('without a baseUrl the error says so and suggests baseUrl', async () => {
    const error = await rejectsWith(safeFetch('/users/1'), 'ERR_URL_INVALID')
    expect(error.message).toMatch(/a relative URL needs a base: create a client with createClient\(\{ baseUrl \}\)/)
  })

  it('client.cache.invalidate("/path") resolves against baseUrl like fetch does', async () => {
    const client = createClient({ ...LOOPBACK, baseUrl: `${server.origin}/api/` })
    try {
      const a = await (await client.fetch('/items')).text()
      const b = await (await client.fetch('/items')).text()
      expect(b).toBe(a) // a hit
      await client.cache.invalidate('/items')
      const c = await (await client.fetch('/items')).text()
      expect(c).not.toBe(a)
      expect(c).toMatch(/ \/api\/items$/)
    } finally {
      await client.close()
    }
  })
})

describe('one way to render a bad value', () => {
  it.each<[unknown, string]>([
    ['abc', '"abc"'],
    ['http://user:secret@proxy:3128', '"http://REDACTED@proxy:3128"'],
    ['https://h/p?token=abc', '"https://h/p?REDACTED"'],
    [new URL('http://user:secret@proxy:3128/x'), '"http://REDACTED@proxy:3128/x"'],
    [{ a: 1 }, '{"a":1}'],
    [[1, 2], '[1,2]'],
    [console, 'a Console'],
    [new Map(), 'a Map'],
    [() => 1, 'a function'],
    [null, 'null'],
    [undefined, 'undefined'],
    [10n, '10n'],
    [Symbol('s'), 'Symbol(s)'],
  ])('%s', (value, shown) => {
    expect(describeValue(value)).toBe(shown)
  })

  it('never shows the value of a secret option', () => {
    const error = throwsWith(() => createClient({ cache: { signingKey: ['super secret'] as never } }), 'ERR_INVALID_OPTION')
    expect(error.message).toMatch(/^cache\.signingKey must be .*, got an array \(value not shown\)$/)
  })
})
