/**
 * Per-origin admission in front of the undici pool: at most `limit` requests per origin are handed
 * to undici at once (its pool size, `connectionsPerOrigin`); the others wait here, in FIFO order.
 *
 * Why not let undici queue them: a request queued inside undici's Pool/Client cannot be withdrawn.
 * When its call ends first (deadline, user abort), undici still connects for it and then writes
 * it, and aborting it at that point destroys the socket — so a wave of calls reaching their
 * deadline together turned into one new TCP (or TLS) connection per expired call. Here a call that
 * ends while waiting simply leaves the queue (O(1), intrusive doubly linked: linked-queue.ts), and a slot freed by a finished
 * request goes only to a waiter that is still live.
 *
 * A freed slot is handed on from a setImmediate, not at once: calls that reach their deadline in
 * the same event-loop turn (their timers fire one after another, with microtasks in between)
 * have all settled by then, so none of them is dispatched in the middle of the wave.
 */

import type { Dispatcher } from 'undici'
import { LinkedQueue, type QueueLinks } from './linked-queue.js'

/** The gate of each Agent we build (agent.ts); a dispatcher injected from outside has none. */
export const dispatchGates = new WeakMap<Dispatcher, DispatchGate>()

/**
 * A request waiting for, or holding, a slot. The queue links (linked-queue.ts) belong to the gate;
 * `queuedIn` is the origin queue the job waits in, undefined once it has left it (admitted or
 * withdrawn).
 */
export interface GateJob extends QueueLinks<GateJob> {
  /**
   * Called when the job gets a slot. Dispatches and returns true, or returns false when the call
   * has ended meanwhile (or its deadline has passed): the slot then goes to the next waiter.
   */
  admit(slot: OriginQueue): boolean
}

/** One origin's waiters (FIFO) and the count of its requests handed to undici. */
export class OriginQueue extends LinkedQueue<GateJob> {
  active = 0
  pumpScheduled = false
  constructor(readonly origin: string) {
    super()
  }
}

export class DispatchGate {
  private readonly queues = new Map<string, OriginQueue>()

  /** @param limit requests per origin handed to undici at once; undici's pool size. */
  constructor(readonly limit: number) {}

  /** Admits `job` now when its origin has a free slot and nobody waits; otherwise queues it. */
  enter(origin: string, job: GateJob): void {
    let queue = this.queues.get(origin)
    if (queue === undefined) {
      queue = new OriginQueue(origin)
      this.queues.set(origin, queue)
    }
    if (queue.active < this.limit && queue.head === undefined) {
      queue.active++
      if (!job.admit(queue)) this.exit(queue)
      return
    }
    queue.push(job)
  }

  /** The request holding a slot of `queue` is over for undici (response ended or failed). */
  exit(queue: OriginQueue): void {
    queue.active--
    if (queue.head !== undefined) this.schedulePump(queue)
    else if (queue.active === 0) this.forget(queue)
  }

  /** A waiting job whose call ended: out of the queue, no slot taken. */
  withdraw(job: GateJob): void {
    const queue = job.queuedIn as OriginQueue | undefined
    if (queue === undefined || !queue.remove(job)) return
    if (queue.head === undefined && queue.active === 0) this.forget(queue)
  }

  /** Requests handed to undici and waiting here, for one origin (tests and stats). */
  snapshot(origin: string): { active: number; waiting: number } {
    const queue = this.queues.get(origin)
    return { active: queue?.active ?? 0, waiting: queue?.size ?? 0 }
  }

  private schedulePump(queue: OriginQueue): void {
    if (queue.pumpScheduled) return
    queue.pumpScheduled = true
    setImmediate(() => this.pump(queue))
  }

  private pump(queue: OriginQueue): void {
    queue.pumpScheduled = false
    let job: GateJob | undefined
    while (queue.active < this.limit && (job = queue.shift()) !== undefined) {
      queue.active++
      if (!job.admit(queue)) queue.active--
    }
    if (queue.head === undefined && queue.active === 0) this.forget(queue)
  }

  /** Idle origins are dropped, so a client calling many hosts keeps no per-origin state. */
  private forget(queue: OriginQueue): void {
    if (this.queues.get(queue.origin) === queue) this.queues.delete(queue.origin)
  }
}
