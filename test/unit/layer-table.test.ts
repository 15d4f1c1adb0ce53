/**
 * Pins the layer order (src/layer-table.ts): outermost first, a feature that is off is a layer
 * left out. Changing the order is a design decision: change this test with the table's comment.
 */
import { trace } from '@opentelemetry/api'
import { describe, expect, it } from 'vitest'
import { HttpCache } from '../../src/cache/http-cache.js'
import { resolveCacheOptions, type ResolvedCacheOptions } from '../../src/cache/cache-options.js'
import { buildLayers, layerRows, type LayerInputs } from '../../src/layer-table.js'
import { createObserveState } from '../../src/observe/observe-state.js'
import { resolveClientOptions, type ClientOptions } from '../../src/options.js'
import { CircuitBreakers } from '../../src/resilience/circuit-breaker.js'
import { ConcurrencyLimit } from '../../src/resilience/concurrency-limit.js'
import { OriginSwitches } from '../../src/resilience/origin-switches.js'
import { RetryBudget } from '../../src/retry/retry-budget.js'

function inputs(input: ClientOptions, extra: Partial<LayerInputs> = {}): LayerInputs {
  const options = resolveClientOptions(input)
  return {
    options,
    observe: createObserveState(options.observe, { name: options.name }),
    switches: new OriginSwitches({ readOnly: false }),
    budget: undefined,
    breakers: undefined,
    limit: undefined,
    cache: undefined,
    ...extra,
  }
}

const names = (i: LayerInputs): string[] => layerRows(i).map((row) => row.name)

describe('layer order', () => {
  it('defaults: observe, deadline, redirect, policy, retry, guard-origin', () => {
    expect(names(inputs({}))).toEqual(['observe', 'deadline', 'redirect', 'policy', 'retry', 'guard-origin'])
  })

  it('every feature on: the whole table, outermost first', () => {
    const options = resolveClientOptions({ retry: { limit: 1 }, breaker: {} })
    const cacheOptions = resolveCacheOptions({}) as ResolvedCacheOptions
    const all = inputs(
      { tracer: trace.getTracer('layer-table-test'), retry: { limit: 1 } },
      {
        budget: new RetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }),
        breakers: new CircuitBreakers(options.breaker as Exclude<typeof options.breaker, false>),
        limit: new ConcurrencyLimit(4),
        cache: new HttpCache(cacheOptions),
      },
    )
    expect(names(all)).toEqual(['observe', 'deadline', 'concurrency', 'redirect', 'policy', 'cache', 'retry', 'guard-origin', 'attempt-span'])
    expect(buildLayers(all)).toHaveLength(9)
  })

  it('retry: false leaves the retry layer out', () => {
    expect(names(inputs({ retry: false }))).not.toContain('retry')
  })
})
