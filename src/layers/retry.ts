/**
 * The retry layer: runs attempts in a loop (never recursion, so attempt numbers stay exact), asks
 * the pure `decideRetry()` after each failed one, spends the client's retry budget, discards the
 * failed response's body, and sleeps, never past the deadline and never after the call is
 * cancelled. It returns the first response it does not retry and never reads a body: once a
 * response is handed up, nothing is retried. See docs/retries.md.
 *
 * Sits below cache and above attempt: a cache hit costs no retry bookkeeping, and each physical
 * request below it gets its own span and attemptLog entry.
 */
import type { CallContext } from '../context.js'
import { discardBody, headerValue } from '../pipeline.js'
import type { Layer } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import { decideRetry } from '../retry/retry-decision.js'
import type { RetryBudget } from '../retry/retry-budget.js'
import { sleep } from '../retry/sleep.js'
import { publishRetry } from '../observe/diagnostics.js'
import { redactUrlForError } from '../observe/redact.js'

export interface RetryLayerDeps {
  /** The client's retry budget (shared by all its calls); omit when `retry.budget` is false. */
  readonly budget?: RetryBudget | undefined
  /** Uniform in [0, 1) for the backoff jitter. Default Math.random. */
  readonly random?: () => number
  /** Epoch milliseconds, to read a Retry-After HTTP-date. Default Date.now. */
  readonly now?: () => number
}

/**
 * The per-call retry options are read from `ctx.options.retry`, so one call can say `retry: false`
 * or `retry: { allowNonIdempotent: true }`. When the client has `retry: false`, leave the layer out.
 */
export function retryLayer(deps: RetryLayerDeps = {}): Layer {
  const budget = deps.budget
  const random = deps.random ?? Math.random
  const now = deps.now ?? Date.now
  return (next) =>
    async function retryLayer(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
      const options = ctx.options.retry
      if (options === false) {
        ctx.attempt = 1
        ctx.record.attempts++
        return next(req, ctx)
      }
      const spend = budget !== undefined && options.budget !== false ? budget : undefined
      spend?.recordRequest()
      for (let attempt = 1; ; attempt++) {
        ctx.attempt = attempt
        ctx.record.attempts++
        let response: RawResponse | undefined
        let error: unknown
        try {
          response = await next(req, ctx)
          // The common case: a status we never retry. Return before building any decision input.
          if (!options.statusCodes.has(response.status)) return response
        } catch (err) {
          error = err
        }
        // A cancelled call is over; what the attempt produced is the answer.
        if (ctx.signal.aborted) return settle(response, error)
        const verdict = decideRetry({
          options,
          method: req.method,
          headers: req.headers,
          replayable: req.body === null || req.body.replayable,
          attempt,
          status: response?.status,
          retryAfter: response === undefined ? undefined : headerValue(response.headers, 'retry-after'),
          error,
          remainingMs: ctx.remainingMs(),
          now: now(),
          random,
        })
        if (!verdict.retry) return settle(response, error)
        // The budget is spent last, only for a retry that would otherwise happen.
        if (spend !== undefined && !spend.tryRetry()) return settle(response, error)

        const log = ctx.record.attemptLog
        const last = log.length === 0 ? undefined : log[log.length - 1]
        if (last !== undefined) {
          last.retryReason = verdict.reason
          last.retryDelayMs = verdict.delayMs
        }
        ctx.logger?.warn(
          { callId: ctx.record.id, attempt, reason: verdict.reason, delayMs: verdict.delayMs, url: last?.url ?? redactUrlForError(req.url, ctx.redact) },
          'retrying',
        )
        publishRetry(ctx.record, {
          attempt,
          hop: ctx.hop,
          reason: verdict.reason,
          delayMs: verdict.delayMs,
          ...(response !== undefined ? { status: response.status } : {}),
          ...(last?.errorCode !== undefined ? { errorCode: last.errorCode } : {}),
        })
        // Release the failed response's connection before waiting, so no socket is held while asleep.
        if (response !== undefined) discardBody(response)
        await sleep(verdict.delayMs, ctx.signal)
      }
    }
}

/** Hands back what the last attempt produced: its response, or its error unchanged. */
function settle(response: RawResponse | undefined, error: unknown): RawResponse {
  if (response !== undefined) return response
  throw error
}
