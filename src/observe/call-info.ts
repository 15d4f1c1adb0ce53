/**
 * `getCallInfo(response)`: what happened during the call that produced a Response (attempts,
 * redirects, cache result, timings, remote address). Kept in a module-level WeakMap keyed by the
 * Response, so nothing is added to Response objects or their prototype and the record is freed
 * with the response.
 */
import { randomBytes } from 'node:crypto'
import type { CallRecord } from '../types.js'
import { DEFAULT_REDACT_RULES, redactUrl, type RedactRules } from './redact.js'

/** The call record as callers see it. Numbers still change until the body has been read. */
export type CallInfo = Readonly<CallRecord>

const infos = new WeakMap<Response, CallRecord>()

/** Called by the client edge once per Response it hands out. */
export function attachCallInfo(response: Response, record: CallRecord): void {
  infos.set(response, record)
}

export function getCallInfo(response: Response): CallInfo | undefined {
  return infos.get(response)
}

/**
 * Call ids: a random per-process prefix and a counter, e.g. `k3x9q1-2f`. Unique across a fleet
 * in practice, cheap (no crypto per call), and short enough for log lines.
 */
const PROCESS_PREFIX = randomBytes(4).readUInt32BE(0).toString(36)
let counter = 0

function nextCallId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER
  return `${PROCESS_PREFIX}-${counter.toString(36)}`
}

/** A fresh record for a call; its URL is redacted here, once, so every consumer gets the safe form. */
export function newCallRecord(method: string, url: URL, rules: RedactRules = DEFAULT_REDACT_RULES, startedAt: number = Date.now()): CallRecord {
  return {
    id: nextCallId(),
    method,
    url: redactUrl(url, rules),
    startedAt,
    attempts: 0,
    redirects: 0,
    bytes: 0,
    timings: {},
    attemptLog: [],
  }
}
