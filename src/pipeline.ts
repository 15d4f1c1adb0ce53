/**
 * The shape of one call as it travels through the layers.
 *
 * A layer is a factory over resolved options that wraps the next handler. Layers are listed
 * outermost first and run in that order (read order is run order), unlike undici's `compose()`.
 * A disabled feature is a layer left out of the list, never an `if` inside it.
 */
import type { CallContext } from './context.js'
import type { OutboundRequest, RawResponse, ResponseHeaders } from './types.js'

export type Handler = (req: OutboundRequest, ctx: CallContext) => Promise<RawResponse>
export type Layer = (next: Handler) => Handler

/** Builds the chain: `compose([a, b, c], t)` runs a, then b, then c, then the transport t. */
export function compose(layers: readonly Layer[], transport: Handler): Handler {
  let handler = transport
  for (let i = layers.length - 1; i >= 0; i--) {
    handler = layers[i]!(handler)
  }
  return handler
}

/** First value of a response header (undici gives arrays for repeated headers). */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name]
  if (value === undefined) return undefined
  return typeof value === 'string' ? value : value[0]
}

/** Discards a response body without reading it, so its connection is released. */
export function discardBody(response: RawResponse): void {
  const lazy = response.lazy
  if (lazy !== undefined && !lazy.streamCreated) {
    lazy.cancel()
    return
  }
  const body = response.body
  if (body !== null && !body.locked) body.cancel().catch(() => {})
}
