/**
 * The resources one family of clients shares — a createClient() and every client extended from it
 * (`client.extend()`, and the cores `configure()` swaps in) — reference-counted in one place.
 *
 * Each kind of resource states what it depends on (`key(options)`), how to make one and how to
 * close one. A client acquires one lease per kind when it is built: options giving the same key get
 * the same resource (one connection pool, one cache, one breaker set …), a different key makes a new
 * one. Releasing the last lease closes the resource: gracefully when old settings retire
 * (configure()), at once when a client is closed (nothing of it is in flight any more). This is the
 * only place that decides whether a resource can be kept.
 *
 * Key parts are compared by value (strings, numbers, booleans, undefined) or by identity (objects
 * and functions: a compiled policy, a `lookup`, a `tls` object, a cache store are the same only when
 * they are the same object). Settings objects that should compare by value go in as JSON text.
 */

export interface ResourceKind<T, O> {
  readonly name: string
  /** What the resource depends on; `undefined`: these options need none (the feature is off). */
  key(options: O): readonly unknown[] | undefined
  create(options: O): T
  /** Graceful close when its last user let go while others may still finish (default: nothing to close). */
  close?(resource: T): Promise<void>
  /** Close now: the last user was closed and nothing of it is in flight (default: `close`). */
  destroy?(resource: T): Promise<void>
}

/** One client's hold on one resource. */
export interface Lease<T> {
  readonly resource: T
}

interface Entry<T, O> extends Lease<T> {
  readonly kind: ResourceKind<T, O>
  readonly key: string
  users: number
  /** Set while a graceful close runs, so a client close() can hurry it. */
  closing: Promise<void> | undefined
}

/** Stable ids for objects used as key parts (weak: a key never keeps an object alive). */
const ids = new WeakMap<object, number>()
let nextId = 0

function identity(value: object): number {
  let id = ids.get(value)
  if (id === undefined) ids.set(value, (id = ++nextId))
  return id
}

function keyText(name: string, parts: readonly unknown[]): string {
  let text = name
  for (const part of parts) {
    text += part !== null && (typeof part === 'object' || typeof part === 'function') ? `|#${identity(part)}` : `|${typeof part}:${String(part)}`
  }
  return text
}

export class ResourceRegistry<O> {
  private readonly entries = new Map<string, Entry<unknown, O>>()
  /** Resources closing gracefully: a client close() destroys them at once (nobody uses them). */
  private readonly closing = new Set<Entry<unknown, O>>()

  /** The resource of `kind` for `options`: the existing one for the same key, or a new one. */
  acquire<T>(kind: ResourceKind<T, O>, options: O): Lease<T> | undefined {
    const parts = kind.key(options)
    if (parts === undefined) return undefined
    const key = keyText(kind.name, parts)
    let entry = this.entries.get(key) as Entry<T, O> | undefined
    if (entry === undefined) {
      entry = { kind, key, resource: kind.create(options), users: 0, closing: undefined }
      this.entries.set(key, entry as Entry<unknown, O>)
    }
    entry.users++
    return entry
  }

  /**
   * Lets go of a lease; the last one closes the resource (`graceful`: old settings retiring while
   * other work may still be finishing; `now`: the client was closed). Resolves when that close ends.
   */
  release(lease: Lease<unknown> | undefined, how: 'graceful' | 'now'): Promise<void> {
    if (lease === undefined) return Promise.resolve()
    const entry = lease as Entry<unknown, O>
    if (--entry.users > 0) return Promise.resolve()
    this.entries.delete(entry.key)
    if (how === 'now') return close(entry, entry.kind.destroy ?? entry.kind.close)
    const closing = close(entry, entry.kind.close)
    entry.closing = closing
    this.closing.add(entry)
    void closing.finally(() => this.closing.delete(entry))
    return closing
  }

  /** Destroys the resources still closing gracefully (for close(): no grace period to sit out). */
  async hurry(): Promise<void> {
    await Promise.all(
      [...this.closing].map(async (entry) => {
        if (entry.kind.destroy !== undefined) await close(entry, entry.kind.destroy)
        await entry.closing
      }),
    )
  }

  /** How many resources are open (tests: a closed family holds none). */
  get size(): number {
    return this.entries.size + this.closing.size
  }
}

async function close<T, O>(entry: Entry<T, O>, how: ((resource: T) => Promise<void>) | undefined): Promise<void> {
  // A failing close must not fail the client's close(): the resource is dropped either way.
  if (how !== undefined) await how.call(entry.kind, entry.resource).catch(() => {})
}
