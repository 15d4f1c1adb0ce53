/**
 * An intrusive doubly linked FIFO: the links live on the queued objects themselves, so entering
 * allocates nothing and an item leaves from anywhere in O(1) — what a waiter needs when its call is
 * aborted or reaches its deadline while queued. Used by the per-origin dispatch queue
 * (dispatch-gate.ts) and the `maxConcurrent` queue (resilience/concurrency-limit.ts).
 *
 * An item is in at most one queue at a time; `queuedIn` says which (undefined: in none).
 */

/** The fields a queued object carries. They belong to the queue: only it writes them. */
export interface QueueLinks<T extends QueueLinks<T>> {
  queuePrev: T | undefined
  queueNext: T | undefined
  queuedIn: LinkedQueue<T> | undefined
}

export class LinkedQueue<T extends QueueLinks<T>> {
  head: T | undefined = undefined
  tail: T | undefined = undefined
  /** Items in the queue now. */
  size = 0

  /** Appends `item` (which must be in no queue). */
  push(item: T): void {
    item.queuedIn = this
    item.queuePrev = this.tail
    item.queueNext = undefined
    if (this.tail === undefined) this.head = item
    else this.tail.queueNext = item
    this.tail = item
    this.size++
  }

  /** Takes the first item out, or undefined when empty. */
  shift(): T | undefined {
    const item = this.head
    if (item !== undefined) this.remove(item)
    return item
  }

  /** Takes `item` out wherever it is; false (and nothing changes) when it is not in this queue. */
  remove(item: T): boolean {
    if (item.queuedIn !== this) return false
    const prev = item.queuePrev
    const next = item.queueNext
    if (prev === undefined) this.head = next
    else prev.queueNext = next
    if (next === undefined) this.tail = prev
    else next.queuePrev = prev
    item.queuePrev = undefined
    item.queueNext = undefined
    item.queuedIn = undefined
    this.size--
    return true
  }
}
