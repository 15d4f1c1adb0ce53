/**
 * `safefetch/testing`: what a test of code that uses safefetch needs (docs/testing.md).
 *
 * - `MockAgent`: undici's, from the same undici copy safefetch dispatches with, for
 *   `createClient({ dispatcher: mockAgent, lookup })`.
 * - `staticLookup()`: a `lookup` answering from a table, so no DNS query leaves a test and the
 *   address policy still judges every answer.
 * - `recordingLogger()`: a real pino logger whose lines land, parsed, in an array.
 *
 * Nothing here is read from the environment or switched on by importing it: a client uses a mock
 * only when it is given one, and then says so (`transport: 'mock'` in its log line and call info).
 */
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import type { Logger, LevelWithSilent } from 'pino'
import { SafeFetchError } from './errors.js'
import { loadPino } from './optional-pino.js'

export { MockAgent, MockPool, MockClient } from 'undici'
export type { Dispatcher, Interceptable } from 'undici'

/**
 * A `lookup` (dns.lookup shape) that answers from `hosts`: `{ 'api.example.com': '93.184.216.34' }`
 * or a list of addresses per name. Names are matched case-insensitively; any other name fails with
 * ENOTFOUND (ERR_DNS), as an unknown name does. The answers are still judged by the client's address
 * policy: map a name to `10.0.0.5` and the call is refused with ERR_ADDRESS_BLOCKED, as in production.
 */
export function staticLookup(hosts: Readonly<Record<string, string | readonly string[]>>): LookupFunction {
  if (hosts === null || typeof hosts !== 'object') throw new SafeFetchError('ERR_INVALID_OPTION', 'staticLookup() needs an object of host name to address(es)')
  const table = new Map<string, LookupAddress[]>()
  for (const [name, value] of Object.entries(hosts)) {
    const list = typeof value === 'string' ? [value] : value
    if (!Array.isArray(list) || list.length === 0)
      throw new SafeFetchError('ERR_INVALID_OPTION', `staticLookup(): ${JSON.stringify(name)} needs an IP address or a non-empty list of them`)
    table.set(
      name.toLowerCase().replace(/\.$/, ''),
      list.map((address: unknown) => {
        const family = typeof address === 'string' ? isIP(address) : 0
        if (family === 0)
          throw new SafeFetchError('ERR_INVALID_OPTION', `staticLookup(): ${JSON.stringify(address)} for ${JSON.stringify(name)} is not an IP address`)
        return { address: address as string, family }
      }),
    )
  }
  const lookup = (
    hostname: string,
    options: LookupOneOptions | LookupAllOptions | number | ((...args: unknown[]) => void),
    callback?: (...args: unknown[]) => void,
  ): void => {
    const cb = (typeof options === 'function' ? options : callback) as (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void
    const all = typeof options === 'object' && options !== null && options.all === true
    const answers = table.get(String(hostname).toLowerCase().replace(/\.$/, ''))
    // Asynchronous like dns.lookup, so callers see the same ordering as in production.
    process.nextTick(() => {
      if (answers === undefined) {
        cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (not in staticLookup's table)`), { code: 'ENOTFOUND', hostname, syscall: 'getaddrinfo' }))
      } else if (all)
        cb(
          null,
          answers.map((a) => ({ ...a })),
        )
      else cb(null, answers[0]!.address, answers[0]!.family)
    })
  }
  return lookup as unknown as LookupFunction
}

/** One log line, parsed: pino's fields (`level` as a number, `msg`, `time`) and safefetch's. */
export type RecordedLine = Record<string, unknown> & { level: number; msg: string }

export interface RecordingLogger {
  /** A real pino logger: pass it as `logger` to createClient(). */
  readonly logger: Logger
  /** Every line written so far, parsed, oldest first (the array is live). */
  readonly lines: RecordedLine[]
  /** The per-call summary lines ('call completed' / 'call failed'), oldest first. */
  calls(): RecordedLine[]
  /** Forgets the lines written so far. */
  clear(): void
}

/**
 * A real pino logger (docs/observability.md for the fields) that writes each line, parsed, into
 * `lines` synchronously: assertions right after `await res.text()` see the call's line. Default
 * level 'info' (one line per call); 'debug' adds one line per attempt.
 */
export function recordingLogger(options: { level?: LevelWithSilent } = {}): RecordingLogger {
  const lines: RecordedLine[] = []
  const destination = {
    write(line: string): void {
      lines.push(JSON.parse(line) as RecordedLine)
    },
  }
  const pino = loadPino('recordingLogger()')
  const logger = pino({ level: options.level ?? 'info' }, destination)
  return {
    logger,
    lines,
    calls: () => lines.filter((line) => line.msg === 'call completed' || line.msg === 'call failed'),
    clear: () => {
      lines.length = 0
    },
  }
}
