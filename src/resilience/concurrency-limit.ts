/**
 * A per-client limit on calls in flight (`maxConcurrent`), with a FIFO queue for the calls that
 * wait for a slot. A waiting call still obeys its signal and deadline: when either fires it leaves
 * the queue at once (an intrusive doubly linked list, net/linked-queue.ts: leaving is O(1) and
 * nothing stays referenced).
 *
 * A slot is held until the caller releases it. Because a response body outlives the handler's
 * promise, the release belongs to whoever knows that the body settled (consumed, cancelled or
 * failed): the client edge. `release` is idempotent.
 */
import type { CallSignal } from '../call-signal.js'
import { SafeFetchError } from '../errors.js'
import { LinkedQueue, type QueueLinks } from '../net/linked-queue.js'
import { checkPositiveInteger } from '../option-checks.js'

export type Release = () => void

export interface ConcurrencySnapshot {
  readonly maxConcurrent: number
  /** Slots held now. */
  readonly active: number
  /** Calls waiting for a slot now. */
  readonly queued: number
}

/** A queued call; `queuedIn` is undefined once it has been handed a slot or has left. */
interface Waiter extends QueueLinks<Waiter> {
  resolve: (release: Release) => void
  reject: (error: SafeFetchError) => void
  /** Absolute, on the `now` clock; Infinity for none. */
  deadline: number
  timer: ReturnType<typeof setTimeout> | undefined
  unsubscribe: (() => void) | undefined
}

/**
 * `maxConcurrent`: a positive integer, or undefined / Infinity for no limit (the default), in
 * which case the lead leaves the concurrency layer out.
 */
export function resolveMaxConcurrent(value: unknown, path = 'maxConcurrent'): number | undefined {
  if (value === undefined || value === Infinity) return undefined
  return checkPositiveInteger(path, value)
}

export class ConcurrencyLimit {
  readonly maxConcurrent: number
  private readonly now: () => number
  private active = 0
  private readonly waiters = new LinkedQueue<Waiter>()

  /** @param now milliseconds on the clock of `deadline` (performance.now, or a test clock) */
  constructor(maxConcurrent: number, now: () => number = () => performance.now()) {
    this.maxConcurrent = checkPositiveInteger('maxConcurrent', maxConcurrent)
    this.now = now
  }

  /** A slot now if one is free and nobody is waiting (FIFO: no overtaking), else undefined. */
  tryAcquire(): Release | undefined {
    if (this.active >= this.maxConcurrent || this.waiters.head !== undefined) return undefined
    this.active++
    return this.makeRelease()
  }

  /**
   * Waits for a slot. Rejects with the signal's reason if the call is cancelled while queued, and
   * with ERR_DEADLINE_EXCEEDED when `deadline` (absolute, on the `now` clock; Infinity for none)
   * passes first.
   */
  acquire(signal: CallSignal, deadline: number): Promise<Release> {
    const release = this.tryAcquire()
    if (release !== undefined) return Promise.resolve(release)
    if (signal.aborted) return Promise.reject(signal.reason)
    const remaining = deadline - this.now()
    if (remaining <= 0) return Promise.reject(this.deadlineError())
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        queuePrev: undefined,
        queueNext: undefined,
        queuedIn: undefined,
        resolve,
        reject,
        deadline,
        timer: undefined,
        unsubscribe: undefined,
      }
      this.waiters.push(waiter)
      if (remaining !== Infinity) {
        waiter.timer = setTimeout(() => this.leave(waiter, this.deadlineError()), remaining)
      }
      waiter.unsubscribe = signal.onAbort((reason) => this.leave(waiter, reason))
    })
  }

  snapshot(): ConcurrencySnapshot {
    return { maxConcurrent: this.maxConcurrent, active: this.active, queued: this.waiters.size }
  }

  private makeRelease(): Release {
    let released = false
    return () => {
      if (released) return
      released = true
      this.handOver()
    }
  }

  /**
   * A freed slot goes straight to the first waiter still in time (active stays the same), or back
   * to the pool. A waiter whose deadline has passed (its timer may not have run yet: calls that
   * expire together fire one after another) is failed instead of being handed a slot it would
   * only use to dispatch a request that is already dead.
   */
  private handOver(): void {
    let waiter = this.waiters.head
    if (waiter !== undefined && waiter.deadline !== Infinity) {
      const now = this.now()
      while (waiter !== undefined && waiter.deadline <= now) {
        this.leave(waiter, this.deadlineError())
        waiter = this.waiters.head
      }
    }
    if (waiter === undefined) {
      this.active--
      return
    }
    this.unlink(waiter)
    waiter.resolve(this.makeRelease())
  }

  /** A waiter gives up (cancelled or out of time): out of the queue, then rejected. */
  private leave(waiter: Waiter, reason: SafeFetchError): void {
    // Already handed a slot or already gone: the other path won the race.
    if (!this.unlink(waiter)) return
    waiter.reject(reason)
  }

  /** Out of the queue, its timer and abort listener gone; false when it was not queued. */
  private unlink(waiter: Waiter): boolean {
    if (!this.waiters.remove(waiter)) return false
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    waiter.unsubscribe?.()
    waiter.unsubscribe = undefined
    return true
  }

  private deadlineError(): SafeFetchError {
    return new SafeFetchError('ERR_DEADLINE_EXCEEDED', `deadline exceeded while waiting for a concurrency slot (maxConcurrent ${this.maxConcurrent})`)
  }
}
