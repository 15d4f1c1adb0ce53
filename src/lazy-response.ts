/**
 * A RawResponse whose body is still arriving and whose WHATWG stream is made from the lazy body
 * only when `body` is read (most callers never do: text()/json()/arrayBuffer() read the lazy body
 * directly). Used by the transport for every response with a body and by the cache for a miss it
 * copies into the store; a cache hit (body complete, no settle) is hit-response.ts's HitResponse.
 *
 * A class with the getter on its prototype, not an object literal with `get body()`: V8 builds
 * such a literal slowly (~2 µs more per object here), and measured in the client the per-response
 * getter kept each call's objects alive through young-generation GCs (old space grew ~5.5 KB per
 * call instead of ~0.4 KB; scavenges went from ~1.6 ms to ~7 ms), which cost more CPU than the
 * whole pipeline.
 */
import type { BodySettle } from './call-signal.js'
import type { LazyBody, RawResponse, ResponseHeaders } from './types.js'

export class LazyResponse implements RawResponse {
  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    readonly url: URL,
    readonly settle: BodySettle,
    readonly lazy: LazyBody,
  ) {}

  get body(): ReadableStream<Uint8Array> {
    return this.lazy.stream
  }
}
