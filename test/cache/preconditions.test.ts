import { describe, expect, it } from 'vitest'
import { evaluatePreconditions, parseByteRange, parseEntityTagList } from '../../src/cache/preconditions.js'

const NOW = Date.UTC(2026, 0, 10, 12, 0, 0)
const DATE = new Date(NOW).toUTCString()
const LAST_MODIFIED = new Date(NOW - 3_600_000).toUTCString()
const BODY = new TextEncoder().encode('abcdefghij')
const stored = (headers: Record<string, string> = {}, status = 200, body: Uint8Array | null = BODY) => ({
  status,
  body,
  headers: { date: DATE, etag: '"a"', 'last-modified': LAST_MODIFIED, ...headers },
})

describe('parseEntityTagList (RFC 9110 §8.8.3, §13.1.2)', () => {
  it.each([
    ['"a"', ['a']],
    [' * ', '*'],
    ['W/"a", "b" ,W/"c"', ['a', 'b', 'c']],
    ['"a,b", "c"', ['a,b', 'c']],
    ['""', ['']],
    // Unquoted members (a client slip) are read leniently.
    ['a', ['a']],
    ['W/a, "b"', ['a', 'b']],
    ['a b', undefined],
    ['"a', undefined],
    ['"a" "b"', undefined],
    ['', undefined],
    ['a"b', undefined],
  ] as [string, unknown][])('%j -> %j', (input, expected) => {
    expect(parseEntityTagList(input)).toEqual(expected)
  })
})

describe('parseByteRange (RFC 9110 §14.1)', () => {
  it.each([
    ['bytes=0-0', 10, { start: 0, end: 0 }],
    ['bytes=2-4', 10, { start: 2, end: 4 }],
    ['bytes=7-', 10, { start: 7, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-30', 10, { start: 0, end: 9 }],
    ['bytes=5-500', 10, { start: 5, end: 9 }],
    ['BYTES=1-2', 10, { start: 1, end: 2 }],
    ['bytes = 1 - 2', 10, { start: 1, end: 2 }],
    ['bytes=10-', 10, 'unsatisfiable'],
    ['bytes=-0', 10, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=-5', 0, 'unsatisfiable'],
    ['bytes=99999999999999999999-', 10, 'unsatisfiable'],
    ['bytes=4-2', 10, undefined],
    ['bytes=0-1,3-4', 10, undefined],
    ['bytes=-', 10, undefined],
    ['bytes=a-b', 10, undefined],
    ['items=0-1', 10, undefined],
    ['0-1', 10, undefined],
  ] as [string, number, unknown][])('%j of %i bytes -> %j', (input, length, expected) => {
    expect(parseByteRange(input, length)).toEqual(expected)
  })
})

describe('evaluatePreconditions (RFC 9111 §4.3.2)', () => {
  const table: [string, string, Record<string, string>, ReturnType<typeof stored>, string][] = [
    ['INM strong match', 'GET', { 'if-none-match': '"a"' }, stored(), 'not-modified'],
    ['INM weak comparison', 'GET', { 'if-none-match': 'W/"a"' }, stored(), 'not-modified'],
    ['INM against a weak stored tag', 'GET', { 'if-none-match': '"a"' }, stored({ etag: 'W/"a"' }), 'not-modified'],
    ['INM list', 'GET', { 'if-none-match': '"x", "a"' }, stored(), 'not-modified'],
    ['INM *', 'GET', { 'if-none-match': '*' }, stored(), 'not-modified'],
    ['INM other tag', 'GET', { 'if-none-match': '"b"' }, stored(), 'origin'],
    ['INM, no stored ETag', 'GET', { 'if-none-match': '"a"' }, stored({ etag: '' }), 'origin'],
    ['INM unquoted, stored quoted', 'GET', { 'if-none-match': 'a' }, stored(), 'not-modified'],
    ['INM quoted, stored unquoted', 'GET', { 'if-none-match': '"a"' }, stored({ etag: 'a' }), 'not-modified'],
    ['INM malformed', 'GET', { 'if-none-match': '"a' }, stored(), 'origin'],
    ['INM wins over a matching IMS', 'GET', { 'if-none-match': '"b"', 'if-modified-since': DATE }, stored(), 'origin'],
    ['IMS equal to Last-Modified', 'GET', { 'if-modified-since': LAST_MODIFIED }, stored(), 'not-modified'],
    ['IMS after Last-Modified', 'HEAD', { 'if-modified-since': DATE }, stored(), 'not-modified'],
    ['IMS before Last-Modified', 'GET', { 'if-modified-since': new Date(NOW - 7_200_000).toUTCString() }, stored(), 'origin'],
    ['IMS invalid: ignored', 'GET', { 'if-modified-since': 'soon' }, stored(), 'full'],
    ['non-2xx: preconditions ignored (RFC 9110 §13.2.1)', 'GET', { 'if-none-match': '"a"' }, stored({}, 404), 'full'],
    ['range', 'GET', { range: 'bytes=1-2' }, stored(), 'range'],
    ['range on HEAD: ignored', 'HEAD', { range: 'bytes=1-2' }, stored(), 'full'],
    ['range of a stored 203', 'GET', { range: 'bytes=1-2' }, stored({}, 203), 'origin'],
    ['range of a decoded body', 'GET', { range: 'bytes=1-2' }, stored({ 'content-encoding': 'gzip' }), 'origin'],
    ['range unsatisfiable', 'GET', { range: 'bytes=20-' }, stored(), 'unsatisfiable'],
    ['If-Range strong match', 'GET', { range: 'bytes=1-2', 'if-range': '"a"' }, stored(), 'range'],
    ['If-Range weak tag', 'GET', { range: 'bytes=1-2', 'if-range': 'W/"a"' }, stored(), 'origin'],
    ['If-Range against a weak stored tag', 'GET', { range: 'bytes=1-2', 'if-range': '"a"' }, stored({ etag: 'W/"a"' }), 'origin'],
    ['If-Range date = strong Last-Modified', 'GET', { range: 'bytes=1-2', 'if-range': LAST_MODIFIED }, stored(), 'range'],
    [
      'If-Range date, Last-Modified < 60 s before Date (weak)',
      'GET',
      { range: 'bytes=1-2', 'if-range': new Date(NOW - 30_000).toUTCString() },
      stored({ 'last-modified': new Date(NOW - 30_000).toUTCString() }),
      'origin',
    ],
    ['If-Range other date', 'GET', { range: 'bytes=1-2', 'if-range': DATE }, stored(), 'origin'],
    ['If-Range without Range: ignored', 'GET', { 'if-range': '"b"' }, stored(), 'full'],
  ]
  it.each(table)('%s', (_name, method, request, record, kind) => {
    const headers = { ...record.headers }
    if (headers.etag === '') delete (headers as Record<string, string>)['etag']
    expect(evaluatePreconditions(method, request, { ...record, headers }, NOW).kind).toBe(kind)
  })
})
