/**
 * Runtime switches of one client, flipped without a restart and without global state:
 *
 *   disable(origin, reason) / enable(origin)  a disabled origin fails at once with ERR_DISABLED
 *                                             and the reason, before any socket is opened
 *   read-only mode                            unsafe methods fail with ERR_READ_ONLY
 *
 * The lead's client exposes these as `client.disable()`, `client.enable()` and
 * `client.configure({ readOnly })`; the guard-origin layer asks `refusal()` on every attempt.
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

  /** @param now epoch milliseconds, for `since` */
  constructor(options: { readonly readOnly?: boolean } = {}, now: () => number = Date.now) {
    this.readOnlyMode = options.readOnly === undefined ? false : checkBoolean('readOnly', options.readOnly)
    this.now = now
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

  /** Re-enables `origin`. Returns whether it was disabled. */
  enable(origin: string | URL): boolean {
    return this.disabled.delete(toOrigin(origin))
  }

  /** The reason `origin` is disabled, or undefined. */
  disabledReason(origin: string | URL): string | undefined {
    return this.disabled.get(toOrigin(origin))?.reason
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
    if (this.disabled.size !== 0) {
      const entry = this.disabled.get(url.origin)
      if (entry !== undefined) {
        return new SafeFetchError('ERR_DISABLED', `${entry.origin} is disabled: ${entry.reason}`, {
          url: url.origin + url.pathname,
          reason: entry.reason,
        })
      }
    }
    return undefined
  }

  snapshot(): OriginSwitchesSnapshot {
    return { readOnly: this.readOnlyMode, disabled: [...this.disabled.values()] }
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
