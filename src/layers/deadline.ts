/**
 * One deadline over the whole call: redirects, retries, backoff waits and reading the body.
 * A plain timer fires the call's signal (no AbortSignal.timeout / AbortSignal.any: they cost more
 * than all the safety checks together on Node 20, measured). The timer stops when the final body
 * has been delivered, so a slow consumer of a complete body is not cut off.
 */
import type { CallContext } from '../context.js'
import { SafeFetchError } from '../errors.js'
import type { Handler, Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { redactUrlForError } from '../observe/redact.js'

export const deadlineLayer: Layer = (next: Handler): Handler =>
  async function deadline(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    const total = ctx.options.timeout.total
    if (total === 0) return next(req, ctx)
    const timer = setTimeout(
      () => {
        const shown = redactUrlForError(req.url, ctx.redact)
        ctx.signal.abort(
          new SafeFetchError('ERR_DEADLINE_EXCEEDED', `${req.method} ${shown} did not complete within ${total} ms (timeout.total)`, {
            url: shown,
          }),
        )
      },
      Math.max(0, ctx.remainingMs()),
    )
    timer.unref()
    let response: RawResponse
    try {
      response = await next(req, ctx)
    } catch (err) {
      clearTimeout(timer)
      throw err
    }
    if (response.settle === undefined) clearTimeout(timer)
    else response.settle.whenDone(() => clearTimeout(timer))
    return response
  }
