/**
 * The resources a client family shares (resource-registry.ts), one kind each: what it depends on,
 * how it is made and how it is closed. Two clients of a family whose options give the same key
 * share the resource; anything else in the options (timeouts, headers, redirect rules, the logger,
 * per-call defaults) is read per call and needs no resource.
 *
 * What each key holds, and why:
 * - agent: the guarded connection pool. Its connector is built from the compiled policy, `lookup`,
 *   `tls`, `proxy` and the connect timeout, and undici fixes the pool size and keep-alive time when
 *   it is made. None with a test `dispatcher` (that replaces the network).
 * - cache: the HttpCache over the resolved `cache` object. extend()/configure() keep that object
 *   when `cache` is not given, so the cache (its coalescing, its store) is shared; a new `cache`
 *   makes a new HttpCache. The store inside is counted by HttpCache itself (http-cache.ts): a store
 *   may also be shared by unrelated clients, which a family's registry cannot see.
 * - retry budget, breakers: their settings (a budget or a breaker set counts the family's calls to
 *   an origin together, as long as the settings agree).
 * - limit: `maxConcurrent` (the calls of the family share the slots).
 * - stats (+ fleet sink) and the flight recorder: the client's name and their settings (stats are
 *   labelled by name, so a client with another name counts its own calls).
 */
import type { Agent } from 'undici'
import { HttpCache } from './cache/http-cache.js'
import { closeAgent, createAgent, destroyAgent } from './net/agent.js'
import { clientLogger, createRecorder, createStats, type ObserveCounters } from './observe/observe-state.js'
import type { ResolvedClientOptions } from './options.js'
import { CircuitBreakers } from './resilience/circuit-breaker.js'
import { ConcurrencyLimit } from './resilience/concurrency-limit.js'
import type { Lease, ResourceKind, ResourceRegistry } from './resource-registry.js'
import { RetryBudget } from './retry/retry-budget.js'
import type { ResolvedRetryBudgetOptions, ResolvedRetryOptions } from './retry/retry-options.js'
import type { FlightRecorder } from './observe/flight-recorder.js'

type Kind<T> = ResourceKind<T, ResolvedClientOptions>

const agentKind: Kind<Agent> = {
  name: 'agent',
  key: (o) => {
    if (o.dispatcher !== undefined) return undefined
    const proxy = o.proxy === undefined ? undefined : JSON.stringify([o.proxy.host, o.proxy.port, Object.entries(o.proxy.headers).sort()])
    // No tls options resolve to a new empty object each time: they are all the same setting.
    const tls = Object.keys(o.tls).length === 0 ? undefined : o.tls
    return [o.policy, o.lookup, tls, proxy, o.timeout.connect, o.connectionsPerOrigin, o.keepAliveTimeout]
  },
  create: createAgent,
  // A retired pool closes gracefully (its last requests finish); a closed client's pool at once.
  close: (agent) => closeAgent(agent),
  destroy: destroyAgent,
}

const cacheKind: Kind<HttpCache> = {
  name: 'cache',
  key: (o) => (o.cache === false ? undefined : [o.cache]),
  create: (o) => new HttpCache(o.cache as Exclude<ResolvedClientOptions['cache'], false>, clientLogger(o.logger, o.name)),
  // Waits for the entries being written, then closes the store unless another cache still uses it.
  close: (cache) => cache.close(),
}

const budgetKind: Kind<RetryBudget> = {
  name: 'retry-budget',
  key: (o) => (o.retry === false || o.retry.budget === false ? undefined : [JSON.stringify(o.retry.budget)]),
  create: (o) => new RetryBudget((o.retry as ResolvedRetryOptions).budget as ResolvedRetryBudgetOptions),
}

const breakersKind: Kind<CircuitBreakers> = {
  name: 'breakers',
  key: (o) => (o.breaker === false ? undefined : [JSON.stringify(o.breaker)]),
  create: (o) => new CircuitBreakers(o.breaker as Exclude<ResolvedClientOptions['breaker'], false>),
}

const limitKind: Kind<ConcurrencyLimit> = {
  name: 'limit',
  key: (o) => (o.maxConcurrent === undefined ? undefined : [o.maxConcurrent]),
  create: (o) => new ConcurrencyLimit(o.maxConcurrent!),
}

type Stats = NonNullable<ReturnType<typeof createStats>>

const statsKind: Kind<Stats> = {
  name: 'stats',
  key: (o) => {
    const { stats, fleet } = o.observe
    if (stats === false) return undefined
    return [o.name, JSON.stringify(stats), fleet?.redis, fleet?.prefix, fleet?.intervalMs]
  },
  create: (o) => {
    const logger = clientLogger(o.logger, o.name)
    return createStats(o.observe, Date.now, (error) => logger?.warn({ err: error }, 'fleet stats flush failed'))!
  },
  // The fleet sink flushes what it has and stops its timer.
  close: async (s) => {
    await s.fleet?.close()
  },
}

const recorderKind: Kind<FlightRecorder> = {
  name: 'recorder',
  key: (o) => (o.observe.recentFailures === 0 ? undefined : [o.name, o.observe.recentFailures]),
  create: (o) => createRecorder(o.observe)!,
}

/** One client's leases, one per kind (undefined: the feature is off for it). */
export interface ClientResources {
  readonly agent: Lease<Agent> | undefined
  readonly cache: Lease<HttpCache> | undefined
  readonly budget: Lease<RetryBudget> | undefined
  readonly breakers: Lease<CircuitBreakers> | undefined
  readonly limit: Lease<ConcurrencyLimit> | undefined
  readonly stats: Lease<Stats> | undefined
  readonly recorder: Lease<FlightRecorder> | undefined
}

const KINDS = { agent: agentKind, cache: cacheKind, budget: budgetKind, breakers: breakersKind, limit: limitKind, stats: statsKind, recorder: recorderKind }

export function acquireResources(registry: ResourceRegistry<ResolvedClientOptions>, options: ResolvedClientOptions): ClientResources {
  const leases: Record<string, Lease<unknown> | undefined> = {}
  try {
    for (const [name, kind] of Object.entries(KINDS)) leases[name] = registry.acquire(kind as Kind<unknown>, options)
  } catch (err) {
    // Nothing half-built stays open when one resource cannot be made.
    for (const lease of Object.values(leases)) void registry.release(lease, 'now')
    throw err
  }
  return leases as unknown as ClientResources
}

export function releaseResources(registry: ResourceRegistry<ResolvedClientOptions>, resources: ClientResources, how: 'graceful' | 'now'): Promise<void> {
  return Promise.all(Object.values(resources).map((lease: Lease<unknown> | undefined) => registry.release(lease, how))).then(() => {})
}

/** The stats, fleet sink and recorder for createObserveState(). */
export function observeCounters(resources: ClientResources): ObserveCounters {
  return { stats: resources.stats?.resource.stats, fleet: resources.stats?.resource.fleet, recorder: resources.recorder?.resource }
}
