/**
 * createClient(): resolve options once, build the guarded agent and the layer stack, expose fetch().
 *
 * This file wires the edge between WHATWG fetch and the pipeline: build-request.ts turns
 * (input, init) into an OutboundRequest, the layers (layer-table.ts) run, and safe-response.ts
 * turns the RawResponse into a standard Response. Nothing in here decides policy, and nothing in
 * here writes the call record's outcome: the observe layer finishes every call (layers/observe.ts);
 * the edge tells it when the Response was handed out (`handOut`) or could not be made
 * (`finishCall` with that error), and registers `ctx.onEnd` for its own bookkeeping (the
 * user-signal listener, the in-flight count), which the observe layer runs when the call ends.
 */
import type { Agent } from 'undici'
import { CallContext } from './context.js'
import type { CallRecord } from './types.js'
import { SafeFetchError, toSafeFetchError } from './errors.js'
import { onUserAbort } from './user-signal.js'
import { InFlightCalls, resolveCloseTimeout, within, type CloseOptions } from './client-close.js'
import { createAgent, closeAgent, destroyAgent } from './net/agent.js'
import { createTransport } from './net/transport.js'
import { sameProxy } from './net/proxy.js'
import { createProxyTransport } from './net/proxy-transport.js'
import { createMockTransport } from './net/mock-transport.js'
import { isPlainObject } from './option-checks.js'
import {
  CALL_OPTION_KEYS,
  checkCallInit,
  resolveCallOptions,
  resolveClientOptions,
  type ClientOptions,
  type ResolvedCallOptions,
  type ResolvedClientOptions,
} from './options.js'
import { compose, type Handler } from './pipeline.js'
import { buildLayers } from './layer-table.js'
import type { OutboundRequest, RawResponse } from './types.js'
import { RetryBudget, type RetryBudgetSnapshot } from './retry/retry-budget.js'
import { CircuitBreakers, type BreakerSnapshot } from './resilience/circuit-breaker.js'
import { OriginSwitches, type OriginSwitchesSnapshot } from './resilience/origin-switches.js'
import { ConcurrencyLimit, type ConcurrencySnapshot } from './resilience/concurrency-limit.js'
import { finishCall, handOut } from './layers/observe.js'
import { newCallRecord } from './observe/call-info.js'
import type { FailureEntry } from './observe/flight-recorder.js'
import type { StatsSnapshot } from './observe/host-stats.js'
import { clientLogger, closeObserveState, createObserveState, recentFailures, renderStats, type ObserveState } from './observe/observe-state.js'
import type { Logger } from 'pino'
import { HttpCache } from './cache/http-cache.js'
import { attachCallInfo } from './observe/call-info.js'
import { toResponse } from './safe-response.js'
import { buildRequest, resolveTarget } from './build-request.js'
import { withRequestFields, type FetchInput, type SafeRequestInit } from './request-input.js'

export interface Client {
  /** A drop-in for fetch: resolves to a standard Response for any HTTP status; rejects with SafeFetchError. */
  fetch(input: FetchInput, init?: SafeRequestInit): Promise<Response>
  /** Replaces settings for new calls (calls in flight keep theirs). Validated like createClient(). */
  configure(options: ClientOptions): void
  /** The settings new calls start with. */
  readonly options: ResolvedClientOptions
  /** Fails every call to `origin` at once with ERR_DISABLED and `reason`, until enable(origin). */
  disable(origin: string | URL, reason: string): void
  /** Lifts disable(origin); returns whether it was disabled. */
  enable(origin: string | URL): boolean
  /**
   * Per-origin statistics over the rolling window (calls, errors by code, status classes, retries,
   * cache hit ratio, bytes, latency percentiles) plus the live resilience state; or the Prometheus
   * text format with `{ format: 'prometheus' }`.
   */
  stats(options?: { format?: 'json' }): ClientStats
  stats(options: { format: 'prometheus' }): string
  /** The last failed calls (default 50), newest first, with their records. */
  recentFailures(): FailureEntry[]
  /** The client's HTTP cache: drop one URL's stored variants, or every entry at once (all processes sharing the store). */
  readonly cache: ClientCache
  /**
   * Refuses new calls (ERR_CLIENT_CLOSED), waits for the calls in flight to end (their bodies read,
   * cancelled or past their deadline) for at most `timeoutMs` (default: the latest deadline of the
   * calls in flight, at most 30 s), fails the ones left with ERR_CLIENT_CLOSED, then destroys every
   * socket. A second close() returns the first one's promise.
   */
  close(options?: CloseOptions): Promise<void>
}

export interface ClientCache {
  /** Drops the stored variants of `url` (resolved against baseUrl like a fetch of it). */
  invalidate(url: string | URL): Promise<void>
  invalidateAll(): Promise<void>
}

const NO_CACHE: ClientCache = { invalidate: async () => {}, invalidateAll: async () => {} }

export interface ClientStats extends Partial<StatsSnapshot> {
  name: string
  retryBudget: RetryBudgetSnapshot | undefined
  breakers: Record<string, BreakerSnapshot> | undefined
  switches: OriginSwitchesSnapshot
  concurrency: ConcurrencySnapshot | undefined
}

/** Per-client objects that keep counts across calls; shared by every options generation. */
interface SharedState {
  readonly switches: OriginSwitches
  budget: RetryBudget | undefined
  breakers: CircuitBreakers | undefined
  limit: ConcurrencyLimit | undefined
  cache: HttpCache | undefined
}

/** One options generation: configure() makes a new one; the old agent closes when its calls end. */
interface Generation {
  readonly options: ResolvedClientOptions
  readonly dispatcher: Agent
  readonly handler: Handler
  readonly observe: ObserveState
  readonly logger: Logger | undefined
  inFlight: number
  retired: boolean
}

/** Options that only a client can hold: the pool and its connector are built from them. */
const CONNECTION_KEYS = ['policy', 'lookup', 'tls', 'proxy', 'connectionsPerOrigin', 'keepAliveTimeout'] as const

function buildHandler(dispatcher: Agent, options: ResolvedClientOptions, shared: SharedState, observe: ObserveState): Handler {
  // The order is the table in layer-table.ts (outermost first; a feature that is off is left out).
  const layers = buildLayers({ options, observe, ...shared })
  const transport =
    options.dispatcher !== undefined
      ? createMockTransport(options.dispatcher, { policy: options.policy.address, lookup: options.lookup!, connectTimeout: options.timeout.connect })
      : options.proxy === undefined
        ? createTransport(dispatcher)
        : createProxyTransport(dispatcher, {
            proxy: options.proxy,
            policy: options.policy.address,
            lookup: options.lookup,
            connectTimeout: options.timeout.connect,
          })
  return compose(layers, transport)
}

/** Brings the per-client objects in line with new options, keeping the ones whose settings did not change. */
function updateShared(shared: SharedState, options: ResolvedClientOptions, previous: ResolvedClientOptions | undefined): void {
  shared.switches.setReadOnly(options.readOnly)
  const budget = options.retry === false ? false : options.retry.budget
  const previousBudget = previous === undefined || previous.retry === false ? false : previous.retry.budget
  if (budget === false) shared.budget = undefined
  else if (shared.budget === undefined || JSON.stringify(budget) !== JSON.stringify(previousBudget)) shared.budget = new RetryBudget(budget)
  if (options.breaker === false) shared.breakers = undefined
  else if (shared.breakers === undefined || JSON.stringify(options.breaker) !== JSON.stringify(previous?.breaker)) {
    shared.breakers = new CircuitBreakers(options.breaker)
  }
  if (previous === undefined || options.cache !== previous.cache) {
    // The store lives as long as its settings: a configure() that does not touch `cache` keeps it.
    const old = shared.cache
    shared.cache = options.cache === false ? undefined : new HttpCache(options.cache, clientLogger(options.logger, options.name))
    if (old !== undefined)
      void old
        .settled()
        .then(() => old.close())
        .catch(() => {})
  }
  if (options.maxConcurrent === undefined) shared.limit = undefined
  else if (shared.limit === undefined || options.maxConcurrent !== previous?.maxConcurrent) shared.limit = new ConcurrencyLimit(options.maxConcurrent)
}

function newGeneration(options: ResolvedClientOptions, shared: SharedState, previous?: Generation): Generation {
  const reuse = previous !== undefined && sameConnectionSettings(previous.options, options)
  const dispatcher = reuse ? previous.dispatcher : createAgent(options)
  const logger = clientLogger(options.logger, options.name)
  const observe = createObserveState(options.observe, {
    name: options.name,
    reuse: previous?.observe,
    onFleetError: (error) => logger?.warn({ err: error }, 'fleet stats flush failed'),
  })
  return {
    options,
    dispatcher,
    observe,
    logger,
    handler: buildHandler(dispatcher, options, shared, observe),
    inFlight: 0,
    retired: false,
  }
}

function sameConnectionSettings(a: ResolvedClientOptions, b: ResolvedClientOptions): boolean {
  return (
    a.policy === b.policy &&
    a.lookup === b.lookup &&
    a.tls === b.tls &&
    sameProxy(a.proxy, b.proxy) &&
    a.timeout.connect === b.timeout.connect &&
    a.connectionsPerOrigin === b.connectionsPerOrigin &&
    a.keepAliveTimeout === b.keepAliveTimeout
  )
}

export function createClient(input: ClientOptions = {}): Client {
  let rawOptions: ClientOptions = { ...input }
  const initial = resolveClientOptions(rawOptions)
  const shared: SharedState = {
    switches: new OriginSwitches({ readOnly: initial.readOnly }),
    budget: undefined,
    breakers: undefined,
    limit: undefined,
    cache: undefined,
  }
  updateShared(shared, initial, undefined)
  let current = newGeneration(initial, shared)
  const retiredAgents = new Set<Promise<void>>()
  /** Pools of retired generations still closing gracefully; close() destroys them. */
  const retiringAgents = new Set<Agent>()
  /** Every call in flight, across generations: close() waits for, then cancels, them. */
  const calls = new InFlightCalls()
  let closed = false
  let closing: Promise<void> | undefined

  const release = (generation: Generation, ctx?: CallContext): void => {
    calls.leave(ctx)
    generation.inFlight--
    if (generation.retired && generation.inFlight === 0) retire(generation)
  }

  /** Closes a retired generation's pool once nothing uses it (close() waits for the ones closing). */
  const retire = (generation: Generation): void => {
    if (generation.dispatcher === current.dispatcher) return
    const agent = generation.dispatcher
    const closing = closeAgent(agent)
    retiredAgents.add(closing)
    retiringAgents.add(agent)
    void closing.finally(() => {
      retiredAgents.delete(closing)
      retiringAgents.delete(agent)
    })
  }

  async function fetch(input: FetchInput, init?: SafeRequestInit): Promise<Response> {
    if (closed) throw new SafeFetchError('ERR_CLIENT_CLOSED', 'this safefetch client was closed')
    const generation = current
    const clientOptions = generation.options
    // Counted from the first line: a close() or configure() made while the request is still being
    // built (bodies are read asynchronously) must wait for this call, not close the pool under it.
    generation.inFlight++
    calls.enter()
    let options: ResolvedCallOptions
    let req: OutboundRequest
    try {
      // A Request's own fields (redirect, cache, signal) count when init does not set them.
      init = withRequestFields(input, init)
      options = hasCallOverrides(init) ? resolveCallOptions(init!, clientOptions) : clientOptions
      req = await buildRequest(input, init, clientOptions, options)
    } catch (err) {
      release(generation)
      throw err
    }
    const record: CallRecord = newCallRecord(req.method, req.url, generation.observe.redact)
    // A test dispatcher shows in every call's record and log line: never mistaken for production.
    if (clientOptions.dispatcher !== undefined) record.transport = 'mock'
    const total = options.timeout.total
    const ctx = new CallContext(options, record, total > 0 ? performance.now() + total : Infinity, generation.logger, generation.observe.redact)
    calls.track(ctx)
    const signal = init?.signal
    let stopListening: (() => void) | undefined
    if (signal) {
      const onAbort = (): void => {
        ctx.signal.abort(
          new SafeFetchError('ERR_ABORTED', `${req.method} ${record.url} was aborted by the caller's signal`, { url: record.url, cause: signal.reason }),
        )
      }
      if (signal.aborted) onAbort()
      // One listener per signal, however many calls share it (user-signal.ts).
      else stopListening = onUserAbort(signal, onAbort)
    }
    if (ctx.signal.aborted) {
      release(generation, ctx)
      throw ctx.signal.reason
    }

    // The observe layer finishes the call (record, log line, stats, spans) and then runs this.
    ctx.onEnd = () => {
      stopListening?.()
      release(generation, ctx)
    }

    let raw: RawResponse
    try {
      raw = await generation.handler(req, ctx)
    } catch (err) {
      // Already finished (and scrubbed) by the observe layer.
      throw toSafeFetchError(err, record.url)
    }
    let response: Response
    try {
      response = toResponse(raw, record.redirects > 0)
    } catch (err) {
      raw.body?.cancel().catch(() => {})
      const error = toSafeFetchError(err, record.url)
      // Not handed out: the call ends here, with this error and no body.
      finishCall(ctx, raw, error, 0)
      throw error
    }
    attachCallInfo(response, record)
    // The call ends now (no body to wait for, or it has settled) or when its body settles.
    handOut(ctx)
    return response
  }

  return {
    fetch,
    configure(partial: ClientOptions): void {
      if (closed) throw new SafeFetchError('ERR_CLIENT_CLOSED', 'this safefetch client was closed')
      const merged: ClientOptions = { ...rawOptions }
      for (const [key, value] of Object.entries(partial)) {
        if (value === undefined) continue
        const previous = (merged as Record<string, unknown>)[key]
        // Nested settings merge over the current ones (configure({ timeout: { headers: 100 } })
        // keeps timeout.total); `policy` is replaced whole: a new policy is meant as stated.
        ;(merged as Record<string, unknown>)[key] = MERGED_KEYS.has(key) && isPlainObject(previous) && isPlainObject(value) ? mergeDeep(previous, value) : value
      }
      let resolved = resolveClientOptions(merged)
      // Keep the compiled policy object when no connection setting changed, so the pool is kept;
      // likewise the cache (and its store) when `cache` was not given.
      if (!CONNECTION_KEYS.some((key) => key in partial)) resolved = { ...resolved, policy: current.options.policy }
      if (!('cache' in partial)) resolved = { ...resolved, cache: current.options.cache }
      const previous = current
      updateShared(shared, resolved, previous.options)
      current = newGeneration(resolved, shared, previous)
      rawOptions = merged
      previous.retired = true
      if (previous.inFlight === 0) retire(previous)
    },
    get options(): ResolvedClientOptions {
      return current.options
    },
    disable(origin: string | URL, reason: string): void {
      shared.switches.disable(origin, reason)
    },
    enable(origin: string | URL): boolean {
      return shared.switches.enable(origin)
    },
    stats(options?: { format?: 'json' | 'prometheus' }): ClientStats & string {
      if (options?.format === 'prometheus') return renderStats(current.observe, { format: 'prometheus' }) as ClientStats & string
      const snapshot = current.observe.stats === undefined ? {} : renderStats(current.observe)
      return {
        ...snapshot,
        name: current.options.name,
        retryBudget: shared.budget?.snapshot(),
        breakers: shared.breakers?.snapshot(),
        switches: shared.switches.snapshot(),
        concurrency: shared.limit?.snapshot(),
      } as ClientStats & string
    },
    recentFailures(): FailureEntry[] {
      return recentFailures(current.observe)
    },
    get cache(): ClientCache {
      const cache = shared.cache
      if (cache === undefined) return NO_CACHE
      return {
        // A relative URL names the entry a fetch of it stored: resolve it against baseUrl the same way.
        invalidate: async (url) =>
          cache.invalidate(typeof url === 'string' && current.options.baseUrl !== undefined ? resolveTarget(url, current.options) : url),
        invalidateAll: () => cache.invalidateAll(),
      }
    },
    close(options?: CloseOptions): Promise<void> {
      if (closing !== undefined) return closing
      const timeoutMs = resolveCloseTimeout(options, calls, current.options.timeout.total)
      closed = true
      const shutdown = async (): Promise<void> => {
        const started = performance.now()
        // Calls in flight end by themselves (body read, cancelled or past their deadline) or,
        // after timeoutMs, with ERR_CLIENT_CLOSED; background cache work gets what is left.
        await calls.drain(timeoutMs)
        const cache = shared.cache
        if (cache !== undefined) await within(cache.settled(), timeoutMs - (performance.now() - started))
        // Nothing of ours is in flight now: close every socket at once, including a connect undici
        // may still be waiting on for a call that already ended (no grace period to sit out).
        const generation = current
        await Promise.all([
          destroyAgent(generation.dispatcher),
          ...[...retiringAgents].map(destroyAgent),
          closeObserveState(generation.observe),
          // Closed even when its background work ran out of time: close() must not leak the store.
          cache?.close(),
          ...retiredAgents,
        ])
      }
      closing = shutdown()
      return closing
    },
  }
}

const MERGED_KEYS = new Set(['timeout', 'retry', 'redirect', 'breaker', 'cache', 'redact'])

function mergeDeep(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) continue
    const previous = out[key]
    out[key] = isPlainObject(previous) && isPlainObject(value) ? mergeDeep(previous, value) : value
  }
  return out
}

function hasCallOverrides(init: SafeRequestInit | undefined): boolean {
  if (init === undefined) return false
  checkCallInit(init)
  for (const key of CALL_OPTION_KEYS) if (init[key] !== undefined) return true
  return false
}
