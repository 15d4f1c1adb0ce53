/**
 * Per-call state shared by the layers: the cancellation signal, the deadline, and the record
 * that layers fill in and the outermost layer reports once (like lru-cache's `status` object).
 */
import type { Logger } from 'pino'
import type { ClientRuntime } from './client-runtime.js'
import type { ErrorCode, SafeFetchError } from './errors.js'
import type { ResolvedCallOptions } from './options.js'
import type { CallObservation } from './layers/observe.js'

export type CacheStatus = 'hit' | 'miss' | 'revalidated' | 'stale' | 'bypass'

/** Milliseconds per phase of one physical request. A reused keep-alive socket has no dns/connect/tls. */
export interface PhaseTimings {
  /** Waiting for a concurrency slot or a pooled connection. */
  queued?: number
  dns?: number
  connect?: number
  tls?: number
  /** From dispatch to the request being written to the socket. */
  sent?: number
  /** From dispatch to the response headers (time to first byte). */
  firstByte?: number
  /** From the response headers to the last body byte. */
  download?: number
  total?: number
}

export interface AttemptRecord {
  /** 1-based attempt number within the hop. */
  attempt: number
  /** 0-based redirect hop. */
  hop: number
  url: string
  status?: number
  errorCode?: ErrorCode
  remoteAddress?: string
  remotePort?: number
  /** True when the request went over an already open keep-alive connection. */
  reusedConnection?: boolean
  timings: PhaseTimings
  /** Why the next attempt was made, and after how long. */
  retryReason?: string
  retryDelayMs?: number
}

export interface CallRecord {
  readonly id: string
  readonly method: string
  /** The first URL of the call, redacted. */
  readonly url: string
  /** Epoch milliseconds. */
  readonly startedAt: number
  finalUrl?: string
  status?: number
  attempts: number
  redirects: number
  cache?: CacheStatus
  /** 'mock' when the client sends through a test `dispatcher` (docs/testing.md); absent otherwise. */
  transport?: 'mock'
  remoteAddress?: string
  errorCode?: ErrorCode
  /** Decoded body bytes delivered to the caller. */
  bytes: number
  durationMs?: number
  timings: PhaseTimings
  attemptLog: AttemptRecord[]
}

type AbortListener = (reason: SafeFetchError) => void

/**
 * A cancellation signal without AbortController: on Node 20 `new AbortController()` costs ~3 µs and
 * `AbortSignal.any` ~15 µs (FACTS.md), more than all our safety checks. One plain object per call,
 * fired by the user's signal or our deadline timer. The reason says which one fired, so a timeout
 * is never confused with a user abort.
 */
export class CallSignal {
  reason: SafeFetchError | undefined = undefined
  private listeners: AbortListener[] | undefined = undefined

  get aborted(): boolean {
    return this.reason !== undefined
  }

  abort(reason: SafeFetchError): void {
    if (this.reason !== undefined) return
    this.reason = reason
    const listeners = this.listeners
    this.listeners = undefined
    if (listeners === undefined) return
    for (const listener of listeners) {
      try {
        listener(reason)
      } catch {
        // A listener failing must not stop the others from cleaning up.
      }
    }
  }

  /** Calls `listener` once when aborted (at once if already aborted). Returns an unsubscribe function. */
  onAbort(listener: AbortListener): () => void {
    if (this.reason !== undefined) {
      listener(this.reason)
      return noop
    }
    const listeners = (this.listeners ??= [])
    listeners.push(listener)
    return () => {
      const list = this.listeners
      if (list === undefined) return
      const index = list.indexOf(listener)
      if (index !== -1) list.splice(index, 1)
    }
  }

  throwIfAborted(): void {
    if (this.reason !== undefined) throw this.reason
  }
}

function noop(): void {}

/**
 * Ends a call once the final response body has been delivered (or failed, or was cancelled).
 * The transport creates one per response body; layers that care (deadline, concurrency slot,
 * observe) wait on the one of the response handed to the caller. Plain callbacks, no promises:
 * most bodies end before anyone asks.
 */
export class BodySettle {
  done = false
  error: SafeFetchError | undefined = undefined
  /** Decoded bytes delivered so far. */
  bytes = 0
  /** The reader cancelled the body before its end (not an error). */
  cancelled = false
  private listeners: ((error: SafeFetchError | undefined) => void)[] | undefined = undefined

  finish(error?: SafeFetchError): void {
    if (this.done) return
    this.done = true
    this.error = error
    const listeners = this.listeners
    this.listeners = undefined
    if (listeners === undefined) return
    for (const listener of listeners) listener(error)
  }

  whenDone(listener: (error: SafeFetchError | undefined) => void): void {
    if (this.done) listener(this.error)
    else (this.listeners ??= []).push(listener)
  }
}

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

  constructor(
    readonly options: ResolvedCallOptions,
    readonly client: ClientRuntime,
    readonly record: CallRecord,
    /** Absolute time on the performance.now() clock; Infinity when there is no total timeout. */
    readonly deadline: number,
    readonly logger: Logger | undefined,
  ) {}

  remainingMs(): number {
    return this.deadline - performance.now()
  }
}
