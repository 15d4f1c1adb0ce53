/**
 * The helpers of `safefetch/testing`: staticLookup() answers in both dns.lookup callback shapes and
 * fails like a resolver; recordingLogger() is a real pino logger whose lines land, parsed, in an array.
 */
import type { LookupAddress } from 'node:dns'
import { describe, expect, test } from 'vitest'
import { SafeFetchError } from '../../src/index.js'
import { recordingLogger, staticLookup } from '../../src/testing.js'

type Callback = (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void
function ask(
  lookup: ReturnType<typeof staticLookup>,
  host: string,
  options: object,
): Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family: unknown }> {
  return new Promise((resolve) => {
    ;(lookup as unknown as (h: string, o: object, cb: Callback) => void)(host, options, (err, address, family) => resolve({ err, address, family }))
  })
}

describe('staticLookup()', () => {
  const lookup = staticLookup({ 'API.example.com': '93.184.216.34', 'dual.example.com': ['93.184.216.35', '2606:2800:220:1::1'] })

  test('all: true answers every address with its family; names are case-insensitive, a trailing dot is ignored', async () => {
    const { err, address } = await ask(lookup, 'dual.example.com', { all: true })
    expect(err).toBeNull()
    expect(address as LookupAddress[]).toEqual([
      { address: '93.184.216.35', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ])
    expect((await ask(lookup, 'api.EXAMPLE.com.', { all: true })).address).toEqual([{ address: '93.184.216.34', family: 4 }])
  })

  test('without all: the first address and its family', async () => {
    expect(await ask(lookup, 'dual.example.com', {})).toEqual({ err: null, address: '93.184.216.35', family: 4 })
  })

  test('an unknown name fails with ENOTFOUND, asynchronously', async () => {
    let sync = true
    const pending = ask(lookup, 'other.example.com', { all: true })
    sync = false
    const { err } = await pending
    expect(sync).toBe(false)
    expect(err?.code).toBe('ENOTFOUND')
  })

  test('a table entry that is not an IP address is refused by staticLookup() itself', () => {
    expect(() => staticLookup({ 'a.example.com': 'example.org' })).toThrow(SafeFetchError)
    expect(() => staticLookup({ 'a.example.com': [] })).toThrow(/non-empty list/)
  })
})

describe('recordingLogger()', () => {
  test('lines are parsed synchronously; calls() keeps the per-call summaries; clear() forgets', () => {
    const log = recordingLogger()
    log.logger.info({ status: 200 }, 'call completed')
    log.logger.debug('not at info')
    log.logger.warn({ errorCode: 'ERR_NETWORK' }, 'call failed')
    log.logger.info('something else')
    expect(log.lines.map((l) => l.msg)).toEqual(['call completed', 'call failed', 'something else'])
    expect(log.calls()).toMatchObject([
      { level: 30, status: 200 },
      { level: 40, errorCode: 'ERR_NETWORK' },
    ])
    log.clear()
    expect(log.lines).toEqual([])
  })

  test("level 'debug' records debug lines (one per attempt in safefetch)", () => {
    const log = recordingLogger({ level: 'debug' })
    log.logger.child({ client: 'x' }).debug({ attempt: 1 }, 'attempt')
    expect(log.lines).toMatchObject([{ level: 20, client: 'x', attempt: 1, msg: 'attempt' }])
  })
})
