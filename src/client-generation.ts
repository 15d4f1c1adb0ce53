/**
 * One options generation of a client: its resolved settings, the leases it holds on the family's
 * shared resources (client-resources.ts) and the layer stack built over them. createClient() makes
 * the first; extend() and configure() make the next from the current one and a partial options
 * object, merged here the one way both merge.
 */
import type { Logger } from 'pino'
import { acquireResources, observeCounters, releaseResources, type ClientResources } from './client-resources.js'
import { buildLayers } from './layer-table.js'
import { createMockTransport } from './net/mock-transport.js'
import { createProxyTransport } from './net/proxy-transport.js'
import { createTransport } from './net/transport.js'
import { clientLogger, createObserveState, type ObserveState } from './observe/observe-state.js'
import { invalidOption, isPlainObject } from './option-checks.js'
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js'
import { compose, type Handler } from './pipeline.js'
import type { OriginSwitches } from './resilience/origin-switches.js'
import type { ResourceRegistry } from './resource-registry.js'

/**
 * One options generation: the settings a client runs with and what was built from them (the layer
 * stack over the family's shared resources). configure() makes a new one and the old one retires
 * when its calls in flight end; extend() makes a new client with its own.
 */
export interface Generation {
  readonly options: ResolvedClientOptions
  /** The options as given (merged over the parent's): what extend() and configure() merge over. */
  readonly input: ClientOptions
  readonly resources: ClientResources
  readonly handler: Handler
  readonly observe: ObserveState
  readonly logger: Logger | undefined
  inFlight: number
  retired: boolean
  /** Its resources were given back to the registry. */
  released: boolean
}

export type Registry = ResourceRegistry<ResolvedClientOptions>

/** Options whose change means new connections: the compiled policy is kept only when none is given. */
const CONNECTION_KEYS = ['policy', 'lookup', 'tls', 'proxy', 'connectionsPerOrigin', 'keepAliveTimeout'] as const

/** Option groups merged key by key; every other option (`policy`, `headers`, `tls` …) is replaced whole. */
const MERGED_KEYS = new Set(['timeout', 'retry', 'redirect', 'breaker', 'cache', 'redact'])

function buildHandler(options: ResolvedClientOptions, resources: ClientResources, switches: OriginSwitches, observe: ObserveState): Handler {
  // The order is the table in layer-table.ts (outermost first; a feature that is off is left out).
  const layers = buildLayers({
    options,
    observe,
    switches,
    budget: resources.budget?.resource,
    breakers: resources.breakers?.resource,
    limit: resources.limit?.resource,
    cache: resources.cache?.resource,
  })
  const agent = resources.agent?.resource
  const transport =
    options.dispatcher !== undefined
      ? createMockTransport(options.dispatcher, { policy: options.policy.address, lookup: options.lookup!, connectTimeout: options.timeout.connect })
      : options.proxy === undefined
        ? createTransport(agent!)
        : createProxyTransport(agent!, {
            proxy: options.proxy,
            policy: options.policy.address,
            lookup: options.lookup,
            connectTimeout: options.timeout.connect,
          })
  return compose(layers, transport)
}

export function newGeneration(registry: Registry, input: ClientOptions, options: ResolvedClientOptions, switches: OriginSwitches): Generation {
  const resources = acquireResources(registry, options)
  try {
    const observe = createObserveState(options.observe, { name: options.name, shared: observeCounters(resources) })
    return {
      options,
      input,
      resources,
      observe,
      logger: clientLogger(options.logger, options.name),
      handler: buildHandler(options, resources, switches, observe),
      inFlight: 0,
      retired: false,
      released: false,
    }
  } catch (err) {
    void releaseResources(registry, resources, 'now')
    throw err
  }
}

/**
 * `base`'s options with `partial` over them, as extend() and configure() take them: nested settings
 * merge (`{ timeout: { headers: 100 } }` keeps timeout.total), `policy` is replaced whole (a new
 * policy is meant as stated). The compiled policy object is kept when no connection setting is
 * given, and the resolved cache when `cache` is not: the same objects key the same shared pool and
 * cache in the registry.
 */
export function mergeOptions(base: Generation, partial: ClientOptions): { input: ClientOptions; options: ResolvedClientOptions } {
  if (!isPlainObject(partial)) throw invalidOption('options', 'must be an object', partial)
  const input: ClientOptions = { ...base.input }
  for (const [key, value] of Object.entries(partial)) {
    if (value === undefined) continue
    const previous = (input as Record<string, unknown>)[key]
    ;(input as Record<string, unknown>)[key] = MERGED_KEYS.has(key) && isPlainObject(previous) && isPlainObject(value) ? mergeDeep(previous, value) : value
  }
  let options = resolveClientOptions(input)
  if (!CONNECTION_KEYS.some((key) => key in partial)) options = { ...options, policy: base.options.policy }
  if (!('cache' in partial)) options = { ...options, cache: base.options.cache }
  return { input, options }
}

function mergeDeep(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) continue
    const previous = out[key]
    out[key] = isPlainObject(previous) && isPlainObject(value) ? mergeDeep(previous, value) : value
  }
  return out
}
