/**
 * Request coalescing (stampede protection): while one origin request for a key is in flight,
 * identical cacheable requests wait for its result instead of sending their own. The leader
 * settles the flight with the record it stored (each waiter then builds its own response, with its
 * own stream, from the bytes) or with undefined when the response could not be shared (not
 * storable, too large, failed) — waiters then go to the origin on their own.
 *
 * A waiter waits no longer than its own call allows: its signal (user abort or deadline) rejects
 * the wait. The map holds one entry per key in flight and is emptied as flights settle.
 */
import type { CallSignal } from '../call-signal.js'
import type { ResponseRecord } from './cache-store.js'

interface Flight {
  /** How many requests joined. */
  readonly waiters: number
  /** Called when a request joins (the leader starts reading the body ahead for them). */
  onJoin: (() => void) | undefined
  settle(record: ResponseRecord | undefined): void
}

class FlightImpl implements Flight {
  waiters = 0
  onJoin: (() => void) | undefined = undefined
  readonly done: Promise<ResponseRecord | undefined>
  private resolve!: (record: ResponseRecord | undefined) => void
  private settled = false

  constructor(
    private readonly map: Map<string, FlightImpl>,
    private readonly key: string,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve))
  }

  settle(record: ResponseRecord | undefined): void {
    if (this.settled) return
    this.settled = true
    if (this.map.get(this.key) === this) this.map.delete(this.key)
    this.onJoin = undefined
    this.resolve(record)
  }
}

export class Flights {
  private readonly map = new Map<string, FlightImpl>()

  /** Flights in progress (for tests and stats). */
  get size(): number {
    return this.map.size
  }

  /**
   * Joins the flight for `key`, if one is in progress: resolves with what it shares. Returns
   * undefined when there is none (the caller should `lead()`).
   */
  join(key: string, signal: CallSignal): Promise<ResponseRecord | undefined> | undefined {
    const flight = this.map.get(key)
    if (flight === undefined) return undefined
    flight.waiters++
    flight.onJoin?.()
    return new Promise<ResponseRecord | undefined>((resolve, reject) => {
      const unsubscribe = signal.onAbort(reject)
      void flight.done.then((record) => {
        unsubscribe()
        resolve(record)
      })
    })
  }

  /** Starts a flight for `key`; the caller must settle it. Call only after `join()` returned undefined. */
  lead(key: string): Flight {
    const flight = new FlightImpl(this.map, key)
    this.map.set(key, flight)
    return flight
  }
}
