/**
 * safefetch's own `node:diagnostics_channel` events, for APMs and tests that want every call
 * without configuring a logger. All messages of one call share `id` (the CallRecord id, also the
 * `callId` of its log lines). We publish only when a channel has subscribers, so an unobserved
 * channel costs one property read.
 *
 * | channel                   | when                                             | message            |
 * |---------------------------|--------------------------------------------------|--------------------|
 * | `safefetch:call:start`    | the call enters the pipeline                     | CallStartMessage   |
 * | `safefetch:call:end`      | the call ended with a response, body settled     | CallEndMessage     |
 * | `safefetch:call:error`    | the call ended with an error                     | CallErrorMessage   |
 * | `safefetch:call:retry`    | the retry layer is about to sleep and try again  | CallRetryMessage   |
 * | `safefetch:call:blocked`  | the SSRF policy refused a URL or an address      | CallBlockedMessage |
 */
import { channel } from 'node:diagnostics_channel'
import type { CallRecord } from '../types.js'
import type { SafeFetchError } from '../errors.js'

export const startChannel = channel('safefetch:call:start')
export const endChannel = channel('safefetch:call:end')
export const errorChannel = channel('safefetch:call:error')
const retryChannel = channel('safefetch:call:retry')
export const blockedChannel = channel('safefetch:call:blocked')

export interface CallStartMessage {
  readonly id: string
  readonly client: string
  readonly method: string
  /** Redacted. */
  readonly url: string
}

export interface CallEndMessage {
  readonly id: string
  readonly client: string
  /** The finished record (status, timings, attempts…); do not modify it. */
  readonly record: Readonly<CallRecord>
}

export interface CallErrorMessage extends CallEndMessage {
  readonly error: SafeFetchError
}

export interface CallRetryMessage {
  readonly id: string
  /** The attempt that failed (1-based within its hop). */
  readonly attempt: number
  readonly hop: number
  readonly reason: string
  readonly delayMs: number
  readonly status?: number
  readonly errorCode?: string
}

export interface CallBlockedMessage {
  readonly id: string
  readonly client: string
  readonly code: string
  /** Redacted URL that was refused (or whose address was). */
  readonly url: string
  readonly address?: string
  readonly range?: string
}

/** Error codes that mean the SSRF policy refused something. */
const BLOCKED_CODES: ReadonlySet<string> = new Set(['ERR_URL_BLOCKED', 'ERR_ADDRESS_BLOCKED'])

export function isBlockedCode(code: string): boolean {
  return BLOCKED_CODES.has(code)
}

/**
 * For the retry layer: call right before sleeping for the next attempt. Costs one property read
 * when nobody listens.
 */
export function publishRetry(record: Pick<CallRecord, 'id'>, message: Omit<CallRetryMessage, 'id'>): void {
  if (!retryChannel.hasSubscribers) return
  retryChannel.publish({ id: record.id, ...message } satisfies CallRetryMessage)
}
