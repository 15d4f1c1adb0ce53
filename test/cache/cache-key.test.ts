import { describe, expect, it } from 'vitest'
import { normalizeFieldValue, parseVary, partitionOf, primaryKey, secondaryKey, variantKey } from '../../src/cache/cache-key.js'

describe('cache keys', () => {
  it('primary key: mode, method and the URL without its fragment', () => {
    expect(primaryKey('shared', 'GET', new URL('https://a.test/p?q=1#frag'))).toBe('v1|s|GET|https://a.test/p?q=1')
    expect(primaryKey('private', 'GET', new URL('https://a.test/p'))).toBe('v1|p|GET|https://a.test/p')
    expect(variantKey('P', 'g', 's')).toBe('P#g#s')
  })

  it.each([
    ['Accept-Language, accept', ['accept', 'accept-language']],
    ['accept,accept', ['accept']],
    [', accept ,', ['accept']],
    ['*', '*'],
    [', *', '*'],
    ['accept, *', '*'],
    [undefined, []],
  ] as const)('parseVary(%s)', (value, expected) => {
    expect(parseVary(value)).toEqual(expected)
  })

  it('normalises list whitespace in varied values (§4.1)', () => {
    expect(normalizeFieldValue(' gzip ,  br ')).toBe('gzip,br')
    expect(normalizeFieldValue(' text/html ')).toBe('text/html')
  })

  it('secondary key: empty without dimensions in shared mode; differs per varied value; absent ≠ empty', () => {
    expect(secondaryKey({ accept: 'x' }, [], undefined)).toBe('')
    const a = secondaryKey({ accept: 'a' }, ['accept'], undefined)
    expect(secondaryKey({ accept: 'a' }, ['accept'], undefined)).toBe(a)
    expect(secondaryKey({ accept: 'b' }, ['accept'], undefined)).not.toBe(a)
    expect(secondaryKey({}, ['accept'], undefined)).not.toBe(secondaryKey({ accept: '' }, ['accept'], undefined))
    expect(secondaryKey({ accept: 'gzip, br' }, ['accept'], undefined)).toBe(secondaryKey({ accept: 'gzip,br' }, ['accept'], undefined))
  })

  it('private mode: every entry is a variant, partitioned by a hash of the credentials', () => {
    const names = ['authorization', 'cookie']
    expect(partitionOf({}, names)).toBe('')
    expect(secondaryKey({}, [], '')).not.toBe('')
    const alice = partitionOf({ authorization: 'Bearer alice' }, names)
    const bob = partitionOf({ authorization: 'Bearer bob' }, names)
    expect(alice).not.toBe(bob)
    expect(alice).not.toContain('alice')
    expect(partitionOf({ cookie: 'a' }, names)).not.toBe(partitionOf({ authorization: 'a' }, names))
    expect(secondaryKey({}, [], alice)).not.toBe(secondaryKey({}, [], bob))
  })
})
