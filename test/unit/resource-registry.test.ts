/**
 * The resource registry of a client family (src/resource-registry.ts): one resource per key,
 * reference-counted, closed with its last user (gracefully or at once), and the client kinds of
 * src/client-resources.ts keyed on what each resource depends on.
 */
import { describe, expect, it } from 'vitest'
import { ResourceRegistry, type ResourceKind } from '../../src/resource-registry.js'
import { acquireResources, releaseResources } from '../../src/client-resources.js'
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from '../../src/options.js'

interface Thing {
  readonly id: number
  closed: 'no' | 'graceful' | 'now'
}

function kind(onClose?: () => Promise<void>): ResourceKind<Thing, { a: unknown; b?: unknown }> & { made: Thing[] } {
  const made: Thing[] = []
  return {
    name: 'thing',
    made,
    key: (o) => (o.a === undefined ? undefined : [o.a, o.b]),
    create: () => {
      const thing: Thing = { id: made.length, closed: 'no' }
      made.push(thing)
      return thing
    },
    close: async (thing) => {
      thing.closed = 'graceful'
      await onClose?.()
    },
    destroy: async (thing) => {
      thing.closed = 'now'
    },
  }
}

describe('ResourceRegistry', () => {
  it('gives the same resource for the same key and a new one for another', () => {
    const registry = new ResourceRegistry<{ a: unknown; b?: unknown }>()
    const things = kind()
    const first = registry.acquire(things, { a: 1, b: 'x' })!
    expect(registry.acquire(things, { a: 1, b: 'x' })!.resource).toBe(first.resource)
    expect(registry.acquire(things, { a: 2, b: 'x' })!.resource).not.toBe(first.resource)
    // Values are typed: 1 and '1' are different settings.
    expect(registry.acquire(things, { a: '1', b: 'x' })!.resource).not.toBe(first.resource)
    expect(things.made).toHaveLength(3)
  })

  it('compares objects and functions by identity, not by content', () => {
    const registry = new ResourceRegistry<{ a: unknown; b?: unknown }>()
    const things = kind()
    const lookup = (): void => {}
    const tls = { ca: 'x' }
    const one = registry.acquire(things, { a: lookup, b: tls })!
    expect(registry.acquire(things, { a: lookup, b: tls })!.resource).toBe(one.resource)
    expect(registry.acquire(things, { a: lookup, b: { ca: 'x' } })!.resource).not.toBe(one.resource)
    expect(registry.acquire(things, { a: (): void => {}, b: tls })!.resource).not.toBe(one.resource)
  })

  it('needs no resource when the key is undefined', () => {
    const registry = new ResourceRegistry<{ a: unknown }>()
    const things = kind()
    expect(registry.acquire(things, { a: undefined })).toBeUndefined()
    expect(things.made).toHaveLength(0)
  })

  it('closes a resource with its last user: gracefully, or at once; a new acquire then makes a new one', async () => {
    const registry = new ResourceRegistry<{ a: unknown }>()
    const things = kind()
    const a = registry.acquire(things, { a: 1 })
    const b = registry.acquire(things, { a: 1 })
    await registry.release(a, 'graceful')
    expect(things.made[0]!.closed).toBe('no')
    await registry.release(b, 'graceful')
    expect(things.made[0]!.closed).toBe('graceful')
    expect(registry.size).toBe(0)
    const c = registry.acquire(things, { a: 1 })!
    expect(c.resource).not.toBe(things.made[0])
    await registry.release(c, 'now')
    expect(things.made[1]!.closed).toBe('now')
  })

  it('hurry() destroys what is still closing gracefully', async () => {
    const registry = new ResourceRegistry<{ a: unknown }>()
    let finish: () => void = () => {}
    const things = kind(() => new Promise<void>((resolve) => (finish = resolve)))
    const lease = registry.acquire(things, { a: 1 })
    const closing = registry.release(lease, 'graceful')
    expect(registry.size).toBe(1)
    const hurried = registry.hurry()
    await Promise.resolve()
    expect(things.made[0]!.closed).toBe('now')
    finish()
    await Promise.all([closing, hurried])
    expect(registry.size).toBe(0)
  })

  it('a failing close does not reject the release', async () => {
    const registry = new ResourceRegistry<{ a: unknown }>()
    const things = kind(() => Promise.reject(new Error('store down')))
    await expect(registry.release(registry.acquire(things, { a: 1 }), 'graceful')).resolves.toBeUndefined()
  })
})

describe('client resource kinds', () => {
  const resolve = (options: ClientOptions): ResolvedClientOptions => resolveClientOptions({ breaker: true, maxConcurrent: 8, ...options })

  it('share what the options leave unchanged and renew what changed', async () => {
    const registry = new ResourceRegistry<ResolvedClientOptions>()
    const base = resolve({})
    const parent = acquireResources(registry, base)
    // Timeouts (other than connect), headers and redirect rules need no resource of their own.
    const same = acquireResources(registry, { ...resolve({ timeout: { headers: 5 }, headers: { a: 'b' } }), policy: base.policy, cache: base.cache })
    for (const key of ['agent', 'cache', 'budget', 'breakers', 'limit', 'stats', 'recorder'] as const) {
      expect(same[key]!.resource, key).toBe(parent[key]!.resource)
    }
    const other = acquireResources(registry, {
      ...resolve({ name: 'other', breaker: { minCalls: 3 }, maxConcurrent: 2, retry: { budget: { ratio: 0.5 } }, timeout: { connect: 1_000 } }),
      policy: base.policy,
      cache: base.cache,
    })
    for (const key of ['agent', 'budget', 'breakers', 'limit', 'stats', 'recorder'] as const) {
      expect(other[key]!.resource, key).not.toBe(parent[key]!.resource)
    }
    expect(other.cache!.resource).toBe(parent.cache!.resource)
    // A new `cache` (or policy) object is a new cache (or pool).
    const fresh = acquireResources(registry, resolve({}))
    expect(fresh.cache!.resource).not.toBe(parent.cache!.resource)
    expect(fresh.agent!.resource).not.toBe(parent.agent!.resource)
    await Promise.all([parent, same, other, fresh].map((r) => releaseResources(registry, r, 'now')))
    expect(registry.size).toBe(0)
    expect(parent.agent!.resource.destroyed).toBe(true)
  })

  it.each([
    ['the same URL', 'http://u:p@proxy:3128', true],
    ['credentials given as a header', { url: 'http://proxy:3128', headers: { 'proxy-authorization': `Basic ${btoa('u:p')}` } }, true],
    ['other credentials', 'http://u:other@proxy:3128', false],
    ['another port', 'http://u:p@proxy:3129', false],
    ['another host', 'http://u:p@proxy2:3128', false],
    ['an extra header', { url: 'http://u:p@proxy:3128', headers: { 'x-a': '1' } }, false],
    ['no proxy', undefined, false],
  ] as const)('a proxy keys the pool by its settings: %s', async (_what, proxy, same) => {
    const registry = new ResourceRegistry<ResolvedClientOptions>()
    const base = resolveClientOptions({ proxy: 'http://u:p@proxy:3128', cache: false })
    const first = acquireResources(registry, base)
    const second = acquireResources(registry, { ...resolveClientOptions({ ...(proxy === undefined ? {} : { proxy }), cache: false }), policy: base.policy })
    expect(second.agent!.resource === first.agent!.resource).toBe(same)
    await Promise.all([first, second].map((r) => releaseResources(registry, r, 'now')))
  })

  it('need no pool with a test dispatcher, and nothing for features that are off', () => {
    const registry = new ResourceRegistry<ResolvedClientOptions>()
    const dispatcher = { dispatch: () => true } as never
    const none = acquireResources(registry, resolveClientOptions({ dispatcher, lookup: () => {}, cache: false, retry: false, stats: false, recentFailures: 0 }))
    expect(Object.values(none).every((lease) => lease === undefined)).toBe(true)
    expect(registry.size).toBe(0)
  })
})
