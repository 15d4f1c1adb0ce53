import { describe, expect, it } from 'vitest'
import { resolveClientOptions } from '../../src/options.js'

describe('resolveClientOptions', () => {
  it('refuses an unknown top-level option instead of ignoring it, with a hint for a case slip', () => {
    expect(() => resolveClientOptions({ timeOut: { total: 1 } } as never)).toThrow('timeOut is not a known option; did you mean timeout?')
    expect(() => resolveClientOptions({ retyr: 3 } as never)).toThrow('retyr is not a known option; did you mean retry?')
    expect(() => resolveClientOptions({ bogus: 3 } as never)).toThrow(/^bogus is not a known option \(known: headers, timeout, /)
  })

  it('resolves defaults once, with the documented values', () => {
    const o = resolveClientOptions()
    expect(o.timeout).toEqual({ connect: 5_000, headers: 10_000, read: 30_000, total: 30_000 })
    expect(o.redirect).toMatchObject({ mode: 'follow', max: 5, allowDowngrade: false })
    expect(o.maxResponseBytes).toBe(10 * 1024 * 1024)
    expect(o.retry === false ? 0 : o.retry.limit).toBe(2)
    expect(o.cache).not.toBe(false)
    expect(o.breaker).toBe(false)
  })

  it('names the bad option and value', () => {
    expect(() => resolveClientOptions({ timeout: { connect: -1 } })).toThrow(
      'timeout.connect must be a positive number of milliseconds (or false to disable it), got -1',
    )
    expect(() => resolveClientOptions({ redirect: { max: 1.5 } })).toThrow(/redirect.max must be a non-negative integer, got 1.5/)
    expect(() => resolveClientOptions({ baseUrl: 'ftp://x' })).toThrow(/baseUrl must be an absolute http\(s\) URL/)
  })
})
