/**
 * Per-call state shared by the layers: the cancellation signal, the deadline, and the record
 * that layers fill in and the outermost layer reports once (like lru-cache's `status` object).
 * The data types it carries live in types.ts and call-signal.ts, at the bottom of the import graph.
 */
import type { Logger } from 'pino'
import { CallSignal } from './call-signal.js'
import type { ResolvedCallOptions } from './options.js'
import type { CallObservation } from './observe/call-observation.js'
import type { RedactRules } from './observe/redact.js'
import type { CallRecord } from './types.js'

/**
 * Everything one call carries down the layers. Created by the client for each call; layers read
 * options from here instead of closing over them, so `configure()` never changes a call in flight.
 */
export class CallContext {
  /** 0-based redirect hop, set by the redirect layer. */
  hop = 0
  /** 1-based attempt within the hop, set by the retry layer (1 when retries are off). */
  attempt = 1
  readonly signal = new CallSignal()
  /** Set by the observe layer: the call's span and stats bookkeeping. */
  observation: CallObservation | undefined = undefined
  /**
   * Set by the client edge: its own bookkeeping when the call ends (user-signal listener, in-flight
   * count). The observe layer runs it once, last, when it finishes the call.
   */
  onEnd: (() => void) | undefined = undefined
  /** Links of the client's list of calls in flight (client-close.ts `InFlightCalls`); owned by it. */
  inFlightPrev: CallContext | undefined = undefined
  inFlightNext: CallContext | undefined = undefined
  inFlightListed = false

  constructor(
    readonly options: ResolvedCallOptions,
    readonly record: CallRecord,
    /** Absolute time on the performance.now() clock; Infinity when there is no total timeout. */
    readonly deadline: number,
    readonly logger: Logger | undefined,
    /**
     * The client's redaction rules, for text built below the observe layer (attempt URLs, error
     * messages), also in work without an observe layer of its own (background revalidation).
     * Undefined: the default rules.
     */
    readonly redact: RedactRules | undefined = undefined,
  ) {}

  remainingMs(): number {
    return this.deadline - performance.now()
  }
}
