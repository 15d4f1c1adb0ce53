/**
 * Runtime switches of one client, flipped without a restart and without global state:
 *
 *   disable(origin, reason) / enable(origin)  a disabled origin fails at once with ERR_DISABLED
 *                                             and the reason, before any socket is opened
 *   read-only mode                            unsafe methods fail with ERR_READ_ONLY
 *
 * The client exposes these as `client.disable()`, `client.enable()` and
 * `client.configure({ readOnly })`; the guard-origin layer asks `refusal()` on every attempt.
 *
 * A client made by `parent.extend()` has switches of its own whose `parent` is the parent's: an
 * origin disabled on a client is disabled for every client extended from it (a kill switch must
 * not be escaped by a derived client made elsewhere in the code), while a child's disable() stays
 * with the child and its own children. Read-only mode is an option: each client has its own.
 */
import { SafeFetchError } from '../errors.js'
import { checkBoolean, invalidOption } from '../option-checks.js'
import { SAFE_METHODS } from '../http.js'

export interface DisabledOrigin {
  readonly origin: string
  readonly reason: string
  /** Epoch milliseconds. */
  readonly since: number
}

export interface OriginSwitchesSnapshot {
  readonly readOnly: boolean
  readonly disabled: readonly DisabledOrigin[]
}

export class OriginSwitches {
  private readonly disabled = new Map<string, DisabledOrigin>()
  private readOnlyMode: boolean
  private readonly now: () => number
  /** The switches of the client this one was extended from: its disabled origins apply here too. */
  private readonly parent: OriginSwitches | undefined

  /** @param now epoch milliseconds, for `since` */
  constructor(options: { readonly readOnly?: boolean; readonly parent?: OriginSwitches } = {}, now: () => number = Date.now) {
    this.readOnlyMode = options.readOnly === undefined ? false : checkBoolean('readOnly', options.readOnly)
    this.now = now
    this.parent = options.parent
  }

  get readOnly(): boolean {
    return this.readOnlyMode
  }

  setReadOnly(value: boolean): void {
    this.readOnlyMode = checkBoolean('readOnly', value)
  }

  /**
   * Makes every request to `origin` fail with ERR_DISABLED until `enable(origin)`. Accepts a URL or
   * an absolute http(s) URL string; only its origin (scheme, host, port) is kept, so
   * `https://API.example.com:443/v1` disables `https://api.example.com`.
   */
  disable(origin: string | URL, reason: string): void {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw invalidOption('disable() reason', 'must be a non-empty string', reason)
    }
    const key = toOrigin(origin)
    this.disabled.set(key, { origin: key, reason, since: this.now() })
  }

  /**
   * Re-enables `origin` on these switches. Returns whether it was disabled here; a disable of a
   * parent client still applies until the parent enables it.
   */
  enable(origin: string | URL): boolean {
    return this.disabled.delete(toOrigin(origin))
  }

  /** The reason `origin` is disabled (here or on a parent), or undefined. */
  disabledReason(origin: string | URL): string | undefined {
    return this.entry(toOrigin(origin))?.reason
  }

  /** The disable that applies to `origin`: this client's own first, then its parents'. */
  private entry(origin: string): DisabledOrigin | undefined {
    const own = this.disabled.size === 0 ? undefined : this.disabled.get(origin)
    return own ?? this.parent?.entry(origin)
  }

  /**
   * The error that refuses this request, or undefined when it may go. Costs nothing measurable when
   * no origin is disabled and the client is not read-only.
   */
  refusal(url: URL, method: string): SafeFetchError | undefined {
    if (this.readOnlyMode && !SAFE_METHODS.has(method)) {
      return new SafeFetchError('ERR_READ_ONLY', `the client is read-only: ${method} refused for ${url.origin}`, {
        url: url.origin + url.pathname,
      })
    }
    // A lone client (no parent, nothing disabled) skips the map lookup.
    if (this.disabled.size !== 0 || this.parent !== undefined) {
      const entry = this.entry(url.origin)
      if (entry !== undefined) {
        return new SafeFetchError('ERR_DISABLED', `${entry.origin} is disabled: ${entry.reason}`, {
          url: url.origin + url.pathname,
          reason: entry.reason,
        })
      }
    }
    return undefined
  }

  /** Read-only mode and every origin disabled for this client (its own and its parents'). */
  snapshot(): OriginSwitchesSnapshot {
    const disabled = new Map(this.parent?.snapshot().disabled.map((entry) => [entry.origin, entry]))
    for (const [origin, entry] of this.disabled) disabled.set(origin, entry)
    return { readOnly: this.readOnlyMode, disabled: [...disabled.values()] }
  }
}

function toOrigin(input: string | URL): string {
  let url: URL
  try {
    url = input instanceof URL ? input : new URL(input)
  } catch {
    throw invalidOption('origin', 'must be an absolute http(s) URL such as "https://api.example.com"', input)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalidOption('origin', 'must be an absolute http(s) URL such as "https://api.example.com"', String(input))
  }
  return url.origin
}
