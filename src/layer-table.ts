/**
 * The order of the layers, as one table. Outermost first: read order is run order (tower's
 * `ServiceBuilder`, koa's `compose`), and a feature that is off is a row whose `when` is false,
 * never an `if` inside a layer. test/unit/layer-table.test.ts pins this order.
 *
 * Why this order:
 * - observe is outermost so it sees every error, also those of the deadline and the gate;
 * - the deadline wraps everything below it, the concurrency wait included;
 * - redirect runs the policy check on every hop, and cache sits inside the redirect loop;
 * - cache above retry: a hit costs no retry bookkeeping, revalidations are retried, and
 *   stale-if-error applies after retries ran out (make-fetch-happen's order);
 * - the origin guard (switches, breaker) below retry so every attempt is counted and a breaker
 *   that opens stops the retry loop; the attempt span is the last layer above the transport.
 */
import type { HttpCache } from './cache/http-cache.js'
import { attemptSpanLayer } from './layers/attempt-span.js'
import { cacheLayer } from './layers/cache.js'
import { concurrencyGateLayer } from './layers/concurrency-gate.js'
import { deadlineLayer } from './layers/deadline.js'
import { guardOriginLayer } from './layers/guard-origin.js'
import { observeLayer } from './layers/observe.js'
import { policyLayer } from './layers/policy.js'
import { redirectLayer } from './layers/redirect.js'
import { retryLayer } from './layers/retry.js'
import { needsAttemptLayer, type ObserveState } from './observe/observe-state.js'
import type { ResolvedClientOptions } from './options.js'
import type { Layer } from './pipeline.js'
import type { CircuitBreakers } from './resilience/circuit-breaker.js'
import type { ConcurrencyLimit } from './resilience/concurrency-limit.js'
import type { OriginSwitches } from './resilience/origin-switches.js'
import type { RetryBudget } from './retry/retry-budget.js'

/** What the layers of one options generation are built from. */
export interface LayerInputs {
  readonly options: ResolvedClientOptions
  readonly observe: ObserveState
  readonly switches: OriginSwitches
  readonly budget: RetryBudget | undefined
  readonly breakers: CircuitBreakers | undefined
  readonly limit: ConcurrencyLimit | undefined
  readonly cache: HttpCache | undefined
}

interface LayerRow {
  readonly name: string
  /** Whether the layer is in the stack for these inputs (absent: always). */
  readonly when?: (inputs: LayerInputs) => boolean
  readonly make: (inputs: LayerInputs) => Layer
}

const LAYER_TABLE: readonly LayerRow[] = [
  { name: 'observe', make: (i) => observeLayer(i.observe) },
  { name: 'deadline', make: () => deadlineLayer },
  { name: 'concurrency', when: (i) => i.limit !== undefined, make: (i) => concurrencyGateLayer(i.limit!) },
  { name: 'redirect', make: () => redirectLayer },
  { name: 'policy', make: (i) => policyLayer(i.options.policy) },
  { name: 'cache', when: (i) => i.cache !== undefined, make: (i) => cacheLayer({ cache: i.cache!, addressPolicy: i.options.policy.address }) },
  { name: 'retry', when: (i) => i.options.retry !== false, make: (i) => retryLayer({ budget: i.budget }) },
  { name: 'guard-origin', make: (i) => guardOriginLayer({ switches: i.switches, breakers: i.breakers }) },
  { name: 'attempt-span', when: (i) => needsAttemptLayer(i.observe), make: (i) => attemptSpanLayer(i.observe) },
]

/** The rows in the stack for `inputs`, outermost first. */
export function layerRows(inputs: LayerInputs): LayerRow[] {
  return LAYER_TABLE.filter((row) => row.when === undefined || row.when(inputs))
}

/** The layers for `inputs`, outermost first, ready for compose(). */
export function buildLayers(inputs: LayerInputs): Layer[] {
  return layerRows(inputs).map((row) => row.make(inputs))
}
