/**
 * A black-box RFC 9111 conformance table, modelled on the shape of the public cache-tests suite:
 * each case stores a response from a real loopback origin through the real client, moves the shared
 * clock, asks again and checks whether the origin was contacted ("cached" / "not cached"), in shared
 * mode and in private mode (private mode with a credential, so the private-cache rules apply).
 * Expectations cite the RFC section; where safefetch deviates on purpose (docs/caching.md,
 * "Corrections") the case asserts the documented behaviour and says so.
 */
import { describe, expect, it } from 'vitest'
import type { CacheOptions, Client } from '../../src/index.js'
import { until } from '../support/waiting.js'
import { get, useCacheFixture, type Origin } from '../support/cache-origin.js'
import { reply } from '../support/replies.js'

const fixture = useCacheFixture()
const { clock } = fixture
const [origin] = fixture.origins as [Origin]

type Mode = 'shared' | 'private'
type Fields = Record<string, string | string[]>
type Expect = 'cached' | 'not_cached'

interface Case {
  /** What is checked, with its RFC section. */
  readonly name: string
  /** Response fields of every origin answer; a function of the clock for Date / Expires arithmetic. */
  readonly res: Fields | ((now: number) => Fields)
  readonly status?: number
  /** Request fields of the first (storing) request. */
  readonly req1?: Fields
  /** Request fields of the second request. */
  readonly req2?: Fields
  /** Seconds between the two requests. */
  readonly wait?: number
  /** Expected outcome per mode (one value: both modes). */
  readonly expect: Expect | Readonly<Record<Mode, Expect>>
  /** Fields the second response must carry / must not carry. */
  readonly present?: Fields
  readonly absent?: readonly string[] | Readonly<Record<Mode, readonly string[]>>
}

const http = (ms: number): string => new Date(ms).toUTCString()
const ago = (now: number, s: number): string => http(now - s * 1000)

const CASES: readonly Case[] = [
  // §4.2.1 / §5.2.2.1: max-age.
  { name: 'max-age=3600 is fresh (§5.2.2.1)', res: { 'cache-control': 'max-age=3600' }, wait: 10, expect: 'cached' },
  { name: 'max-age=1 is stale after 2 s (§4.2)', res: { 'cache-control': 'max-age=1' }, wait: 2, expect: 'not_cached' },
  { name: 'directive names are case-insensitive: Max-Age (§5.2)', res: { 'cache-control': 'Max-Age=3600' }, expect: 'cached' },
  { name: 'directive names are case-insensitive: MAX-AGE (§5.2)', res: { 'cache-control': 'MAX-AGE=3600' }, expect: 'cached' },
  { name: 'quoted max-age="3600" is accepted (§5.2: recipients accept both forms)', res: { 'cache-control': 'max-age="3600"' }, expect: 'cached' },
  { name: 'max-age=003600 is 3600 (§1.2.2 1*DIGIT)', res: { 'cache-control': 'max-age=003600' }, expect: 'cached' },
  { name: "single-quoted max-age='3600' is invalid (stale)", res: { 'cache-control': "max-age='3600'" }, expect: 'not_cached' },
  { name: 'max-age=-1 is invalid: stale (§4.2.1)', res: { 'cache-control': 'max-age=-1' }, expect: 'not_cached' },
  { name: 'max-age=1.5 is not delta-seconds: stale (§4.2.1)', res: { 'cache-control': 'max-age=1.5' }, expect: 'not_cached' },
  { name: 'max-age=3600a is invalid: stale (§4.2.1)', res: { 'cache-control': 'max-age=3600a' }, expect: 'not_cached' },
  { name: 'max-age =3600 (space before =) is not the max-age directive (RFC 9110 §5.6.2)', res: { 'cache-control': 'max-age =3600' }, expect: 'not_cached' },
  { name: 'max-age= 3600 (space after =) is not a valid argument (§5.2)', res: { 'cache-control': 'max-age= 3600' }, expect: 'not_cached' },
  {
    name: 'max-age inside a quoted extension argument is ignored (before)',
    res: { 'cache-control': 'extension="max-age=3600", max-age=1' },
    wait: 2,
    expect: 'not_cached',
  },
  {
    name: 'max-age inside a quoted extension argument is ignored (after)',
    res: { 'cache-control': 'max-age=1, extension="max-age=3600"' },
    wait: 2,
    expect: 'not_cached',
  },
  { name: 'duplicate max-age: the first wins, same line (§4.2.1)', res: { 'cache-control': 'max-age=1800, max-age=1' }, wait: 2, expect: 'cached' },
  { name: 'duplicate max-age: the first wins, two lines (§4.2.1)', res: { 'cache-control': ['max-age=1800', 'max-age=1'] }, wait: 2, expect: 'cached' },
  { name: 'unknown directives are ignored (§5.2.3)', res: { 'cache-control': 'foo=bar, max-age=3600, baz' }, expect: 'cached' },
  { name: 'max-age wins over a past Expires (§5.3)', res: (now) => ({ 'cache-control': 'max-age=3600', expires: ago(now, 10) }), expect: 'cached' },
  // §5.3 Expires.
  { name: 'Expires one hour after Date is fresh (§4.2.1)', res: (now) => ({ expires: http(now + 3_600_000) }), wait: 10, expect: 'cached' },
  { name: 'Expires in the past is stale', res: (now) => ({ expires: ago(now, 10) }), expect: 'not_cached' },
  { name: 'Expires equal to Date is stale', res: (now) => ({ date: http(now), expires: http(now) }), expect: 'not_cached' },
  { name: 'Expires: 0 is already expired (§5.3)', res: { expires: '0' }, expect: 'not_cached' },
  { name: 'an invalid Expires is already expired (§5.3)', res: { expires: 'next week' }, expect: 'not_cached' },
  {
    name: 'an ISO-8601 Expires is not an HTTP-date: expired (§5.3, RFC 9110 §5.6.7)',
    res: (now) => ({ expires: new Date(now + 3_600_000).toISOString() }),
    expect: 'not_cached',
  },
  {
    name: 'Expires − Date with a Date 30 min old: fresh for the rest of the hour (§4.2.1, §4.2.3)',
    res: (now) => ({ date: ago(now, 1800), expires: http(now - 1_800_000 + 3_600_000) }),
    wait: 10,
    expect: 'cached',
  },
  // §5.2.2.10 s-maxage.
  {
    name: 's-maxage=3600 alone: fresh for a shared cache, ignored by a private one (§5.2.2.10)',
    res: { 'cache-control': 's-maxage=3600' },
    expect: { shared: 'cached', private: 'not_cached' },
  },
  {
    name: 's-maxage=1 overrides max-age=3600 in a shared cache only (§4.2.1)',
    res: { 'cache-control': 'max-age=3600, s-maxage=1' },
    wait: 2,
    expect: { shared: 'not_cached', private: 'cached' },
  },
  {
    name: 's-maxage=3600 overrides max-age=1 in a shared cache only (§4.2.1)',
    res: { 'cache-control': 'max-age=1, s-maxage=3600' },
    wait: 2,
    expect: { shared: 'cached', private: 'not_cached' },
  },
  // §4.2.3 Age, Date.
  { name: 'Age beyond max-age: stale on arrival (§4.2.3)', res: { 'cache-control': 'max-age=3600', age: '7200' }, expect: 'not_cached' },
  { name: 'Age within max-age: fresh (§4.2.3)', res: { 'cache-control': 'max-age=3600', age: '1800' }, expect: 'cached' },
  { name: 'Age + resident time beyond max-age: stale (§4.2.3)', res: { 'cache-control': 'max-age=3600', age: '3590' }, wait: 20, expect: 'not_cached' },
  { name: 'Age: abc is ignored (§5.1)', res: { 'cache-control': 'max-age=3600', age: 'abc' }, expect: 'cached' },
  { name: 'Age: -7200 is ignored (§5.1)', res: { 'cache-control': 'max-age=3600', age: '-7200' }, expect: 'cached' },
  { name: 'Age: 7200.0 is ignored (§5.1)', res: { 'cache-control': 'max-age=3600', age: '7200.0' }, expect: 'cached' },
  { name: 'Age list: the first member is used, 0,7200 (§5.1)', res: { 'cache-control': 'max-age=3600', age: '0, 7200' }, expect: 'cached' },
  { name: 'Age list: the first member is used, 7200,0 (§5.1)', res: { 'cache-control': 'max-age=3600', age: '7200, 0' }, expect: 'not_cached' },
  {
    name: 'a Date two hours old makes a max-age=3600 response stale (apparent age, §4.2.3)',
    res: (now) => ({ 'cache-control': 'max-age=3600', date: ago(now, 7200) }),
    expect: 'not_cached',
  },
  {
    name: 'an invalid Date is replaced by the time of receipt (RFC 9110 §6.6.1)',
    res: { 'cache-control': 'max-age=3600', date: 'yesterday' },
    expect: 'cached',
  },
  // §4.2.2 heuristic freshness.
  {
    name: 'heuristic: a 200 with an old Last-Modified is fresh (§4.2.2)',
    res: (now) => ({ 'last-modified': ago(now, 10 * 86400) }),
    wait: 60,
    expect: 'cached',
  },
  {
    name: 'heuristic: a 404 is heuristically cacheable (RFC 9110 §15.1)',
    status: 404,
    res: (now) => ({ 'last-modified': ago(now, 10 * 86400) }),
    wait: 60,
    expect: 'cached',
  },
  {
    name: 'heuristic: not for a 500 (not heuristically cacheable)',
    status: 500,
    res: (now) => ({ 'last-modified': ago(now, 10 * 86400) }),
    expect: 'not_cached',
  },
  { name: 'heuristic: 10% of Date − Last-Modified, then stale (§4.2.2)', res: (now) => ({ 'last-modified': ago(now, 1000) }), wait: 120, expect: 'not_cached' },
  { name: 'heuristic: a Last-Modified in the future gives nothing', res: (now) => ({ 'last-modified': http(now + 86_400_000) }), expect: 'not_cached' },
  { name: 'public without freshness and without Last-Modified is not fresh', res: { 'cache-control': 'public' }, expect: 'not_cached' },
  // Statuses (§3, RFC 9110 §15.1).
  { name: '404 with max-age is stored', status: 404, res: { 'cache-control': 'max-age=3600' }, expect: 'cached' },
  { name: '503 with max-age is stored (explicit freshness, §3)', status: 503, res: { 'cache-control': 'max-age=3600' }, expect: 'cached' },
  { name: '302 with max-age is stored', status: 302, res: { 'cache-control': 'max-age=3600' }, expect: 'cached' },
  // no-store, no-cache, private, must-revalidate.
  { name: 'no-store is never stored (§5.2.2.5)', res: { 'cache-control': 'no-store, max-age=3600' }, expect: 'not_cached' },
  { name: 'NO-STORE in upper case (§5.2)', res: { 'cache-control': 'NO-STORE, max-age=3600' }, expect: 'not_cached' },
  { name: 'no-cache wins over max-age: the origin is asked (§5.2.2.4)', res: { 'cache-control': 'no-cache, max-age=3600' }, expect: 'not_cached' },
  { name: 'no-cache with an ETag is validated (§5.2.2.4)', res: { 'cache-control': 'no-cache', etag: '"a"' }, expect: 'not_cached' },
  {
    name: 'Pragma: no-cache without Cache-Control is no-cache (§5.4)',
    res: { pragma: 'no-cache', expires: 'Thu, 01 Jan 2099 00:00:00 GMT' },
    expect: 'not_cached',
  },
  { name: 'Pragma: no-cache is ignored beside Cache-Control (§5.4)', res: { pragma: 'no-cache', 'cache-control': 'max-age=3600' }, expect: 'cached' },
  {
    name: 'private: never in a shared cache, stored by a private one (§5.2.2.7)',
    res: { 'cache-control': 'private, max-age=3600' },
    expect: { shared: 'not_cached', private: 'cached' },
  },
  { name: 'PRIVATE in upper case (§5.2)', res: { 'cache-control': 'PRIVATE, max-age=3600' }, expect: { shared: 'not_cached', private: 'cached' } },
  { name: 'must-revalidate: served while fresh (§5.2.2.2)', res: { 'cache-control': 'must-revalidate, max-age=3600' }, expect: 'cached' },
  {
    name: 'must-revalidate: never stale, not even for max-stale (§5.2.2.2)',
    res: { 'cache-control': 'must-revalidate, max-age=1' },
    req2: { 'cache-control': 'max-stale=3600' },
    wait: 2,
    expect: 'not_cached',
  },
  {
    name: 'proxy-revalidate: never stale in a shared cache only (§5.2.2.8)',
    res: { 'cache-control': 'proxy-revalidate, max-age=1' },
    req2: { 'cache-control': 'max-stale=3600' },
    wait: 2,
    expect: { shared: 'not_cached', private: 'cached' },
  },
  {
    name: 'no-cache="a": stored and reused without the listed field (§5.2.2.4)',
    res: { 'cache-control': 'no-cache="a", max-age=3600', a: '1', b: '2' },
    expect: 'cached',
    present: { b: '2' },
    absent: ['a'],
  },
  {
    name: 'no-cache="a, b": stored and reused without the listed fields (§5.2.2.4)',
    res: { 'cache-control': 'no-cache="a, b", max-age=3600', a: '1', b: '2', c: '3' },
    expect: 'cached',
    present: { c: '3' },
    absent: ['a', 'b'],
  },
  {
    name: 'Connection-listed fields are not stored (§3.1)',
    res: { 'cache-control': 'max-age=3600', connection: 'a, b', a: '1', b: '2', c: '3' },
    expect: 'cached',
    present: { c: '3' },
    absent: ['a', 'b'],
  },
  {
    name: 'end-to-end fields are stored (§3.1)',
    res: { 'cache-control': 'max-age=3600', 'x-test': 'v', 'content-type': 'text/plain', 'www-authenticate': 'Basic' },
    expect: 'cached',
    present: { 'x-test': 'v', 'content-type': 'text/plain', 'www-authenticate': 'Basic' },
  },
  // Set-Cookie: documented deviation in shared mode (docs/caching.md, Corrections).
  {
    name: 'Set-Cookie without public: a shared cache validates (documented deviation); a private one reuses',
    res: { 'cache-control': 'max-age=3600', 'set-cookie': 'a=b' },
    expect: { shared: 'not_cached', private: 'cached' },
  },
  {
    name: 'Set-Cookie with public: reused, Set-Cookie not replayed by a shared cache (documented deviation)',
    res: { 'cache-control': 'public, max-age=3600', 'set-cookie': 'a=b' },
    expect: 'cached',
    absent: { shared: ['set-cookie'], private: [] },
  },
  // Request directives (§5.2.1).
  { name: 'request max-age=0 validates (§5.2.1.1)', res: { 'cache-control': 'max-age=3600' }, req2: { 'cache-control': 'max-age=0' }, expect: 'not_cached' },
  {
    name: 'request max-age=5 refuses a 10 s old response (§5.2.1.1)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'max-age=5' },
    wait: 10,
    expect: 'not_cached',
  },
  {
    name: 'request max-age=60 takes a 10 s old response (§5.2.1.1)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'max-age=60' },
    wait: 10,
    expect: 'cached',
  },
  { name: 'request Max-Age in upper case (§5.2)', res: { 'cache-control': 'max-age=3600' }, req2: { 'cache-control': 'Max-Age=0' }, expect: 'not_cached' },
  {
    name: 'request max-stale=3600 takes a stale response (§5.2.1.2)',
    res: { 'cache-control': 'max-age=1' },
    req2: { 'cache-control': 'max-stale=3600' },
    wait: 10,
    expect: 'cached',
  },
  {
    name: 'request max-stale=5 refuses a response stale by 9 s (§5.2.1.2)',
    res: { 'cache-control': 'max-age=1' },
    req2: { 'cache-control': 'max-stale=5' },
    wait: 10,
    expect: 'not_cached',
  },
  {
    name: 'request max-stale without a value takes any stale response (§5.2.1.2)',
    res: { 'cache-control': 'max-age=1' },
    req2: { 'cache-control': 'max-stale' },
    wait: 100,
    expect: 'cached',
  },
  {
    name: 'request min-fresh=7200 refuses a max-age=3600 response (§5.2.1.3)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'min-fresh=7200' },
    expect: 'not_cached',
  },
  {
    name: 'request min-fresh=60 takes a max-age=3600 response (§5.2.1.3)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'min-fresh=60' },
    expect: 'cached',
  },
  { name: 'request no-cache validates (§5.2.1.4)', res: { 'cache-control': 'max-age=3600' }, req2: { 'cache-control': 'no-cache' }, expect: 'not_cached' },
  { name: 'request Pragma: no-cache validates (§5.4)', res: { 'cache-control': 'max-age=3600' }, req2: { pragma: 'no-cache' }, expect: 'not_cached' },
  {
    name: 'request no-store: the response is not stored (§5.2.1.5)',
    res: { 'cache-control': 'max-age=3600' },
    req1: { 'cache-control': 'no-store' },
    expect: 'not_cached',
  },
  {
    name: 'request no-store is not answered from the cache (§5.2.1.5; cache-tests ccreq-no-store)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'no-store' },
    expect: 'not_cached',
  },
  {
    name: 'request only-if-cached is answered from a fresh entry (§5.2.1.7)',
    res: { 'cache-control': 'max-age=3600' },
    req2: { 'cache-control': 'only-if-cached' },
    expect: 'cached',
  },
  { name: 'request max-age=-1 is invalid and ignored', res: { 'cache-control': 'max-age=3600' }, req2: { 'cache-control': 'max-age=-1' }, expect: 'cached' },
  // Vary (§4.1).
  { name: 'Vary: * never matches (§4.1)', res: { 'cache-control': 'max-age=3600', vary: '*' }, expect: 'not_cached' },
  { name: 'Vary: Foo, * never matches', res: { 'cache-control': 'max-age=3600', vary: 'Foo, *' }, expect: 'not_cached' },
  { name: 'Vary: , * never matches', res: { 'cache-control': 'max-age=3600', vary: ', *' }, expect: 'not_cached' },
  {
    name: 'Vary: * on a second field line never matches',
    res: { 'cache-control': 'max-age=3600', vary: ['Foo', '*'] },
    req1: { foo: '1' },
    req2: { foo: '1' },
    expect: 'not_cached',
  },
  {
    name: 'Vary: Foo, same Foo: reused (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: 'Foo' },
    req1: { foo: '1' },
    req2: { foo: '1' },
    expect: 'cached',
  },
  {
    name: 'Vary: Foo, other Foo: not reused (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: 'Foo' },
    req1: { foo: '1' },
    req2: { foo: '2' },
    expect: 'not_cached',
  },
  {
    name: 'Vary: Foo, Foo absent on the second request: not reused (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: 'Foo' },
    req1: { foo: '1' },
    expect: 'not_cached',
  },
  { name: 'Vary: Foo, Foo absent on both: reused (§4.1)', res: { 'cache-control': 'max-age=3600', vary: 'Foo' }, expect: 'cached' },
  {
    name: 'Vary: FOO matches the foo field case-insensitively (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: 'FOO' },
    req1: { foo: '1' },
    req2: { foo: '1' },
    expect: 'cached',
  },
  {
    name: 'Vary values are compared after whitespace normalisation (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: 'Foo' },
    req1: { foo: '1,2' },
    req2: { foo: '1, 2' },
    expect: 'cached',
  },
  {
    name: 'Vary on two field lines: both fields must match (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: ['Foo', 'Bar'] },
    req1: { foo: '1', bar: 'a' },
    req2: { foo: '1', bar: 'b' },
    expect: 'not_cached',
  },
  {
    name: 'Vary on two field lines: all match (§4.1)',
    res: { 'cache-control': 'max-age=3600', vary: ['Foo', 'Bar'] },
    req1: { foo: '1', bar: 'a' },
    req2: { foo: '1', bar: 'a' },
    expect: 'cached',
  },
]

let paths = 0

function client(mode: Mode, cache: CacheOptions = {}): Client {
  return fixture.client({ retry: false }, { mode, ...cache })
}

/** Private mode runs with a credential, so the private-cache rules (not the anonymous shared ones) apply. */
function credentials(mode: Mode, fields: Fields | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(fields ?? {})) out[k] = Array.isArray(v) ? v.join(', ') : v
  if (mode === 'private') out['authorization'] = 'Bearer user-1'
  return out
}

describe.each(['shared', 'private'] as const)('RFC 9111 conformance table, %s mode', (mode) => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const path = `/conf-${++paths}`
    const url = origin.route(path, (_req, res, n) => {
      const fields = typeof c.res === 'function' ? c.res(clock.now()) : c.res
      reply(res, c.status ?? 200, fields, `#${n}`)
    })
    const cl = client(mode)
    const first = await get(cl, url, { headers: credentials(mode, c.req1) })
    expect(first.text).toBe('#1')
    clock.advance(c.wait ?? 0)
    const second = await get(cl, url, { headers: credentials(mode, c.req2) })
    const expected = typeof c.expect === 'string' ? c.expect : c.expect[mode]
    if (expected === 'cached') {
      expect({ text: second.text, origin: origin.count(path) }).toEqual({ text: '#1', origin: 1 })
    } else {
      expect(origin.count(path)).toBe(2)
    }
    for (const [name, value] of Object.entries(c.present ?? {})) expect(second.headers.get(name)).toBe(value)
    const absent = c.absent === undefined ? [] : Array.isArray(c.absent) ? c.absent : (c.absent as Record<Mode, readonly string[]>)[mode]
    for (const name of absent) expect(second.headers.get(name)).toBeNull()
  })
})

/** RFC 9111 §3.2 / §4.3.4: a 304 updates the stored fields, except Content-Length. */
describe.each(['shared', 'private'] as const)('304 header update (§3.2, §4.3.4), %s mode', (mode) => {
  const UPDATED: readonly (readonly [string, string, string])[] = [
    ['test-header', 'A', 'B'],
    ['x-test-header', 'A', 'B'],
    ['content-foo', 'A', 'B'],
    ['content-type', 'text/plain', 'text/plain;charset=utf-8'],
    ['content-location', '/foo', '/bar'],
    ['content-security-policy', "default-src 'self'", "default-src 'self' cdn.example.com"],
    ['x-frame-options', 'deny', 'sameorigin'],
    ['clear-site-data', 'cache', 'cookies'],
  ]
  it.each(UPDATED.map((u) => [u[0], u] as const))('%s is updated, in the response and in the stored entry', async (_n, [name, a, b]) => {
    for (const validator of ['etag', 'last-modified'] as const) {
      const path = `/upd-${++paths}`
      const value = validator === 'etag' ? '"v1"' : http(clock.now() - 86_400_000)
      const url = origin.route(path, (_req, res, n) => {
        if (n === 1) reply(res, 200, { 'cache-control': 'max-age=1', [validator]: value, [name]: a }, 'body')
        else reply(res, 304, { 'cache-control': 'max-age=3600', [validator]: value, [name]: b }, '')
      })
      const cl = client(mode)
      const h = credentials(mode, {})
      await get(cl, url, { headers: h })
      clock.advance(2)
      const validated = await get(cl, url, { headers: h })
      expect({ status: validated.status, cache: validated.cache, text: validated.text, field: validated.headers.get(name) }).toEqual({
        status: 200,
        cache: 'revalidated',
        text: 'body',
        field: b,
      })
      const hit = await get(cl, url, { headers: h })
      expect({ cache: hit.cache, field: hit.headers.get(name), origin: origin.count(path) }).toEqual({ cache: 'hit', field: b, origin: 2 })
    }
  })

  it('a field the 304 omits keeps its stored value; Content-Length is not updated (§3.2)', async () => {
    const path = `/upd-${++paths}`
    const url = origin.route(path, (_req, res, n) => {
      if (n === 1) reply(res, 200, { 'cache-control': 'max-age=1', etag: '"v1"', 'test-header': 'kept' }, 'twelve bytes')
      else reply(res, 304, { 'cache-control': 'max-age=3600', etag: '"v1"', 'content-length': '999' }, '')
    })
    const cl = client(mode)
    const h = credentials(mode, {})
    await get(cl, url, { headers: h })
    clock.advance(2)
    const validated = await get(cl, url, { headers: h })
    expect(validated.text).toBe('twelve bytes')
    expect(validated.headers.get('test-header')).toBe('kept')
    expect(validated.headers.get('content-length')).toBe('12')
  })
})

describe.each(['shared', 'private'] as const)('other RFC 9111 behaviour, %s mode', (mode) => {
  const h = credentials(mode, {})

  it('HEAD is answered from a stored GET (§4)', async () => {
    const path = `/head-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', 'x-n': String(n) }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    const head = await get(cl, url, { method: 'HEAD', headers: h })
    expect({ status: head.status, text: head.text, n: head.headers.get('x-n'), origin: origin.count(path) }).toEqual({
      status: 200,
      text: '',
      n: '1',
      origin: 1,
    })
  })

  it('a POST that succeeds invalidates the stored GET (§4.4)', async () => {
    const path = `/inv-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    await get(cl, url, { method: 'POST', body: 'x', headers: h })
    expect((await get(cl, url, { headers: h })).text).toBe('#3')
  })

  it.each(['PUT', 'DELETE', 'PATCH', 'M-SEARCH'])('a successful %s invalidates the stored GET (§4.4)', async (method) => {
    const path = `/inv-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    await get(cl, url, { method, body: 'abc', headers: h })
    expect((await get(cl, url, { headers: h })).text).toBe('#3')
  })

  it.each(['location', 'content-location'])('a successful POST invalidates its same-origin %s URL (§4.4)', async (field) => {
    const target = `/inv-target-${++paths}`
    const targetUrl = origin.route(target, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600' }, `#${n}`))
    const post = `/inv-post-${paths}`
    const postUrl = origin.route(post, (_req, res) => reply(res, field === 'location' ? 201 : 200, { [field]: target }, 'created'))
    const cl = client(mode)
    await get(cl, targetUrl, { headers: h })
    expect((await get(cl, targetUrl, { headers: h })).text).toBe('#1')
    await get(cl, postUrl, { method: 'POST', body: 'abc', headers: h })
    expect((await get(cl, targetUrl, { headers: h })).text).toBe('#2')
  })

  it('a POST answered 500 does not invalidate (§4.4)', async () => {
    const path = `/inv-${++paths}`
    const url = origin.route(path, (req, res, n) => reply(res, req.method === 'POST' ? 500 : 200, { 'cache-control': 'max-age=3600' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    await get(cl, url, { method: 'POST', body: 'x', headers: h })
    expect((await get(cl, url, { headers: h })).text).toBe('#1')
  })

  it('stale-while-revalidate: the stale response now, a background validation (RFC 5861 §3)', async () => {
    const path = `/swr-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=1, stale-while-revalidate=60' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    clock.advance(5)
    const stale = await get(cl, url, { headers: h })
    expect({ text: stale.text, cache: stale.cache }).toEqual({ text: '#1', cache: 'stale' })
    await until(() => origin.count(path) >= 2, 'the background validation')
    expect(origin.count(path)).toBe(2)
  })

  it('stale-while-revalidate: past the window, the origin is asked first (RFC 5861 §3)', async () => {
    const path = `/swr-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=1, stale-while-revalidate=5' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    clock.advance(10)
    expect((await get(cl, url, { headers: h })).text).toBe('#2')
  })

  it('stale-if-error: a 500 inside the window is replaced by the stale response (RFC 5861 §4)', async () => {
    const path = `/sie-${++paths}`
    const url = origin.route(path, (_req, res, n) =>
      n === 1 ? reply(res, 200, { 'cache-control': 'max-age=1, stale-if-error=60' }, '#1') : reply(res, 500, {}, 'down'),
    )
    const cl = client(mode)
    await get(cl, url, { headers: h })
    clock.advance(10)
    const r = await get(cl, url, { headers: h })
    expect({ status: r.status, text: r.text, cache: r.cache }).toEqual({ status: 200, text: '#1', cache: 'stale' })
    clock.advance(100)
    expect((await get(cl, url, { headers: h })).status).toBe(500)
  })

  it('stale-if-error does not override must-revalidate (§4.2.4)', async () => {
    const path = `/sie-${++paths}`
    const url = origin.route(path, (_req, res, n) =>
      n === 1 ? reply(res, 200, { 'cache-control': 'max-age=1, must-revalidate, stale-if-error=60' }, '#1') : reply(res, 500, {}, 'down'),
    )
    const cl = client(mode)
    await get(cl, url, { headers: h })
    clock.advance(10)
    expect((await get(cl, url, { headers: h })).status).toBe(500)
  })

  it('only-if-cached with nothing stored is a 504 (§5.2.1.7)', async () => {
    const path = `/oic-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600' }, `#${n}`))
    const r = await get(client(mode), url, { headers: { ...h, 'cache-control': 'only-if-cached' } })
    expect({ status: r.status, origin: origin.count(path) }).toEqual({ status: 504, origin: 0 })
  })

  it('the served Age is the current age (§5.1)', async () => {
    const path = `/age-${++paths}`
    const url = origin.route(path, (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', age: '100' }, `#${n}`))
    const cl = client(mode)
    await get(cl, url, { headers: h })
    clock.advance(50)
    const hit = await get(cl, url, { headers: h })
    expect(Number(hit.headers.get('age'))).toBeGreaterThanOrEqual(150)
    expect(Number(hit.headers.get('age'))).toBeLessThan(160)
  })
})
