/**
 * The last N failed calls with their full records (every attempt, its timings, retry reasons), so
 * that "what just went wrong?" can be answered from a running process without turning logging up.
 * A fixed ring: recording costs one copy of the record, on the failure path only.
 *
 * A call counts as failed when it ended with an error, or with a 5xx final response.
 */
import type { CallRecord } from '../types.js'
import { DEFAULT_REDACT_RULES, redactUrlString, type RedactRules } from './redact.js'

export interface FailureEntry {
  /** When the call ended (ISO 8601). */
  readonly at: string
  /** A copy of the call's record; URLs in it are redacted. */
  readonly record: CallRecord
  /** The error that ended the call, message already scrubbed of secrets. */
  readonly error?: { readonly code: string; readonly message: string }
}

export const FLIGHT_RECORDER_DEFAULT_SIZE = 50

export class FlightRecorder {
  private readonly ring: (FailureEntry | undefined)[]
  private next = 0
  private count = 0

  constructor(
    readonly size: number = FLIGHT_RECORDER_DEFAULT_SIZE,
    private readonly now: () => number = Date.now,
  ) {
    this.ring = new Array<FailureEntry | undefined>(size).fill(undefined)
  }

  /** Whether a finished call belongs in the recorder. */
  static isFailure(record: Pick<CallRecord, 'errorCode' | 'status'>): boolean {
    return record.errorCode !== undefined || (record.status !== undefined && record.status >= 500)
  }

  add(record: CallRecord, error?: { code: string; message: string }, rules: RedactRules = DEFAULT_REDACT_RULES): void {
    if (this.size === 0) return
    // A deep copy: the record object is shared with getCallInfo() and must not change under us.
    // URLs written below the observe layer are redacted again: the recorder is read by humans.
    const copy = copyRecord(record)
    if (copy.finalUrl !== undefined) copy.finalUrl = redactUrlString(copy.finalUrl, rules)
    for (const attempt of copy.attemptLog) attempt.url = redactUrlString(attempt.url, rules)
    const at = new Date(this.now()).toISOString()
    const entry: FailureEntry = error === undefined ? { at, record: copy } : { at, record: copy, error: { code: error.code, message: error.message } }
    this.ring[this.next] = entry
    this.next = (this.next + 1) % this.size
    if (this.count < this.size) this.count++
  }

  /** The recorded failures, newest first. */
  recent(): FailureEntry[] {
    const out: FailureEntry[] = []
    for (let i = 1; i <= this.count; i++) {
      out.push(this.ring[(this.next - i + this.size) % this.size]!)
    }
    return out
  }

  clear(): void {
    this.ring.fill(undefined)
    this.next = 0
    this.count = 0
  }
}

/** A deep copy of plain data; a record that a layer extended with something uncloneable still copies. */
function copyRecord(record: CallRecord): CallRecord {
  try {
    return structuredClone(record)
  } catch {
    return JSON.parse(JSON.stringify(record)) as CallRecord
  }
}
