/**
 * The observe layer's per-call state, hung on the CallContext (ctx.observation) so that the
 * layers below it (redirect, attempt spans) can add to the call's span and scrub list.
 */
import type { Context, Span } from '@opentelemetry/api'
import type { RawResponse } from '../types.js'
import type { ObserveState } from './observe-state.js'

/** Per-call observability state, hung on the CallContext by the observe layer. */
export interface CallObservation {
  readonly state: ObserveState
  /** performance.now() when the call entered the observe layer. */
  readonly start: number
  /** The requested URL (unredacted: only used to find secrets to scrub and the stats origin). */
  readonly url: URL
  /** The request's headers (unredacted: only used to find secret values to scrub). */
  readonly headers: Readonly<Record<string, string>>
  /** The URLs of redirect hops, pushed by the redirect layer: their secrets are scrubbed too. */
  hops: URL[] | undefined
  /** The response the pipeline returned; undefined while it runs or when it threw. */
  response: RawResponse | undefined
  /** The client edge has handed `response` to the caller: the call ends when its body settles. */
  handedOut: boolean
  /** The call has finished (record written, reported); later finishes are no-ops. */
  done: boolean
  /** The logical INTERNAL span of the call. */
  span: Span | undefined
  /** The context whose active span is `span`: the parent of the CLIENT spans. */
  parentContext: Context | undefined
  /** Physical requests started so far; `http.request.resend_count` is this minus one. */
  physical: number
}
