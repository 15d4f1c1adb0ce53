/**
 * Errors across copies and in log lines (issue 11): isSafeFetchError()/instanceof hold for an
 * error from a second copy of the module; the summary line's `err` is what docs/observability.md
 * says with real pino; the `retrying` warning carries the call's id; docs/errors.md lists every
 * code of ErrorCode with a cause and what to do.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { createClient, isSafeFetchError, SafeFetchError } from '../../src/index.js'
import { startHttpServer, LOOPBACK } from '../support/servers.js'
import { rejectsWith } from '../support/assertions.js'
import { logSink } from '../support/logs.js'

describe('isSafeFetchError across two installed copies', () => {
  it('a SafeFetchError from another copy of the module is recognised (Symbol.for brand)', async () => {
    vi.resetModules()
    const other = await import('../../src/errors.js')
    expect(other.SafeFetchError).not.toBe(SafeFetchError)
    const foreign = new other.SafeFetchError('ERR_NETWORK', 'from the other copy')
    expect(isSafeFetchError(foreign)).toBe(true)
    expect(foreign instanceof SafeFetchError).toBe(true)
    expect(other.isSafeFetchError(new SafeFetchError('ERR_DNS', 'ours'))).toBe(true)
    for (const value of [new Error('x'), { code: 'ERR_NETWORK', message: 'x' }, null, undefined, 'ERR_NETWORK']) {
      expect(isSafeFetchError(value)).toBe(false)
      expect(value instanceof SafeFetchError).toBe(false)
    }
  })
})

describe('log lines with real pino', () => {
  it('err is { type, code, message, cause } — not pino\'s { type: "Object", stack: "" }', async () => {
    const closed = await startHttpServer((_req, res) => res.end())
    const origin = closed.origin
    await closed.close()
    const { logger, lines } = logSink('debug')
    const client = createClient({ ...LOOPBACK, logger, retry: false, cache: false })
    await rejectsWith(client.fetch(`${origin}/gone?token=s3cret`), 'ERR_NETWORK')
    await client.close()
    const summary = lines().find((l) => l.msg === 'call failed')
    expect(summary).toBeDefined()
    expect(summary!.err).toEqual({ type: 'SafeFetchError', code: 'ERR_NETWORK', message: expect.any(String), cause: 'ECONNREFUSED' })
    expect(JSON.stringify(summary)).not.toContain('s3cret')
  })

  it('the retrying warning carries the callId of its summary line', async () => {
    let n = 0
    const server = await startHttpServer((_req, res) => {
      res.statusCode = n++ === 0 ? 503 : 200
      res.end('ok')
    })
    const { logger, lines } = logSink('debug')
    const client = createClient({ ...LOOPBACK, logger, cache: false, retry: { limit: 1, backoff: { base: 1, cap: 1 } } })
    const response = await client.fetch(`${server.origin}/flaky`)
    await response.text()
    await client.close()
    await server.close()
    const retrying = lines().find((l) => l.msg === 'retrying')
    const summary = lines().find((l) => l.msg === 'call completed')
    expect(retrying).toBeDefined()
    expect(summary).toBeDefined()
    expect(typeof retrying!.callId).toBe('string')
    expect(retrying!.callId).toBe(summary!.callId)
  })
})

describe('docs/errors.md', () => {
  it('lists every code of ErrorCode, each with a cause and what to do', () => {
    const source = readFileSync(new URL('../../src/errors.ts', import.meta.url), 'utf8')
    const union = source.slice(source.indexOf('export type ErrorCode ='), source.indexOf('export interface SafeFetchErrorDetails'))
    const codes = [...union.matchAll(/\|\s*'(ERR_[A-Z_]+)'/g)].map((m) => m[1]!)
    expect(codes.length).toBeGreaterThan(15)
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    const rows = new Map<string, string[]>()
    for (const line of doc.split('\n')) {
      const m = /^\| `(ERR_[A-Z_]+)` \|(.*)\|\s*$/.exec(line)
      if (m !== null)
        rows.set(
          m[1]!,
          m[2]!.split(' | ').map((c) => c.trim()),
        )
    }
    expect([...rows.keys()].sort()).toEqual([...codes].sort())
    for (const [code, cells] of rows) {
      expect(cells, code).toHaveLength(2)
      expect(cells[0]!.length, `${code}: cause`).toBeGreaterThan(10)
      expect(cells[1]!.length, `${code}: what to do`).toBeGreaterThan(10)
    }
  })
})
