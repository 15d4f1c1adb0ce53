/**
 * Pieces both commands share: usage errors, durations with units, `--resolve` (DNS injection, curl's
 * flag), the policy flags, and a DNS lookup that fails in bounded time.
 *
 * Everything here builds plain options for the public API (src/index.ts); nothing reaches into the
 * library's internals, so the CLI doubles as an example of using it.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { readFileSync } from 'node:fs'
import type { PolicyOptions } from '../index.js'

/** Bad command line: exit code 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** check: at least one URL refused. get: an unexpected failure (writing the output file, ...). */
  refusedOrFailed: 1,
  usage: 2,
  /** get: refused by the policy (ERR_URL_BLOCKED, ERR_ADDRESS_BLOCKED, ERR_REDIRECT_BLOCKED, ERR_URL_INVALID). */
  policy: 3,
  /** get: no usable response (DNS, connect, TLS, timeouts, reset, malformed or oversized response, too many redirects). */
  network: 4,
  /** get --fail: the server answered with a status >= 400. */
  http: 5,
} as const

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000 }

/** `250ms`, `5s`, `1.5m`, or a bare number of milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim())
  if (m === null) throw new UsageError(`${flag} must be a duration like 500ms, 5s or 2m, got ${JSON.stringify(text)}`)
  const ms = Number(m[1]) * (UNITS[m[2] ?? 'ms'] as number)
  if (!(ms > 0) || !Number.isFinite(ms)) throw new UsageError(`${flag} must be more than 0, got ${JSON.stringify(text)}`)
  return Math.round(ms)
}

/** A non-negative integer flag value. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(text)}`)
  return Number(text)
}

/** `--max-bytes 10485760`, `512k`, `10M`, `1G` (binary units). */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+)([kKmMgG])?$/.exec(text.trim())
  if (m === null) throw new UsageError(`${flag} must be a byte count like 1048576, 512k or 10M, got ${JSON.stringify(text)}`)
  const scale = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1
  const n = Number(m[1]) * scale
  if (n < 1) throw new UsageError(`${flag} must be at least 1, got ${JSON.stringify(text)}`)
  return n
}

/**
 * `--resolve host:address[,address...]`, or curl's `host:port:address` (the port is accepted and
 * ignored: a lookup sees only the name). IPv6 addresses may be bracketed: `api.test:[::1]`.
 */
export function parseResolve(entries: readonly string[]): Map<string, string[]> {
  const table = new Map<string, string[]>()
  for (const entry of entries) {
    const bad = (why: string): UsageError => new UsageError(`--resolve ${JSON.stringify(entry)}: ${why}; expected host:address (or curl's host:port:address)`)
    const colon = entry.indexOf(':')
    if (colon <= 0) throw bad('no host')
    const host = entry.slice(0, colon).toLowerCase().replace(/\.$/, '')
    let rest = entry.slice(colon + 1)
    const port = /^(\d{1,5}):(.+)$/.exec(rest)
    if (port !== null && (port[2] as string).split(',').every((a) => isIP(unbracket(a)) !== 0)) rest = port[2] as string
    const addresses = rest.split(',').map(unbracket)
    for (const address of addresses) if (isIP(address) === 0) throw bad(`${JSON.stringify(address)} is not an IP address`)
    table.set(host, [...(table.get(host) ?? []), ...addresses])
  }
  return table
}

function unbracket(a: string): string {
  return a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a
}

/**
 * A `dns.lookup`-shaped function: names from `--resolve` first, then the system resolver with a time
 * limit, so that a machine without DNS (a sandbox, a network namespace) gets a clear ERR_DNS at once
 * instead of a hang. Answers are still judged by the policy like any other.
 */
export function cliLookup(table: ReadonlyMap<string, readonly string[]>, timeoutMs: number): LookupFunction {
  const lookup = (hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void): void => {
    const name = hostname.toLowerCase().replace(/\.$/, '')
    const fixed = table.get(name)
    const answer = (list: readonly string[]): void => {
      const all: LookupAddress[] = list.map((address) => ({ address, family: isIP(address) }))
      if (options.all === true) callback(null, all)
      else callback(null, all[0]?.address, all[0]?.family)
    }
    if (fixed !== undefined) {
      process.nextTick(answer, fixed)
      return
    }
    let settled = false
    const timer = setTimeout(() => {
      settled = true
      const err = Object.assign(new Error(`DNS lookup of ${hostname} timed out after ${timeoutMs} ms (pass --resolve ${hostname}:ADDRESS to skip DNS)`), {
        code: 'EAI_AGAIN',
        hostname,
      })
      callback(err)
    }, timeoutMs)
    dnsLookup(hostname, { all: true }, (err, addresses) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) callback(err)
      else answer(addresses.map((a) => a.address))
    })
  }
  return lookup as unknown as LookupFunction
}

/** Options shared by both commands, for parseArgs. */
export const POLICY_FLAGS = {
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  'deny-host': { type: 'string', multiple: true },
  'allow-private': { type: 'boolean' },
  policy: { type: 'string' },
  resolve: { type: 'string', multiple: true },
} as const

interface PolicyFlagValues {
  allow?: string[] | undefined
  deny?: string[] | undefined
  'allow-host'?: string[] | undefined
  'deny-host'?: string[] | undefined
  'allow-private'?: boolean | undefined
  policy?: string | undefined
}

/**
 * The `policy` option from the flags: `--policy` (JSON, or @file) first, then the list flags append
 * to its lists. Validation is the library's own (an invalid entry is ERR_INVALID_OPTION, exit 2).
 */
export function policyFromFlags(v: PolicyFlagValues): PolicyOptions {
  let base: Record<string, unknown> = {}
  if (v.policy !== undefined) {
    let text = v.policy
    if (text.startsWith('@')) {
      try {
        text = readFileSync(text.slice(1), 'utf8')
      } catch (err) {
        throw new UsageError(`--policy ${v.policy}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
      }
    }
    try {
      base = JSON.parse(text) as Record<string, unknown>
    } catch {
      throw new UsageError(`--policy must be a JSON object like '{"allow":["10.0.0.0/8"]}' or @file.json, got ${JSON.stringify(v.policy)}`)
    }
    if (base === null || typeof base !== 'object' || Array.isArray(base)) throw new UsageError('--policy must be a JSON object')
  }
  const policy: Record<string, unknown> = { ...base }
  const append = (key: string, values: readonly string[] | undefined): void => {
    if (values === undefined || values.length === 0) return
    const existing = policy[key]
    policy[key] = [...(Array.isArray(existing) ? (existing as unknown[]) : []), ...values]
  }
  append('allow', v.allow)
  append('deny', v.deny)
  append('allowHosts', v['allow-host'])
  append('denyHosts', v['deny-host'])
  if (v['allow-private'] === true) policy.allowPrivate = true
  return policy as PolicyOptions
}

/** The flag that makes a policy change, when there is one. */
export function flagFor(option: string, action: string, value: unknown): string | undefined {
  if (action === 'add' && option === 'allow') return `--allow ${String(value)}`
  if (action === 'add' && option === 'allowHosts') return `--allow-host ${String(value)}`
  if (action === 'set' && option === 'allowPrivate' && value === true) return '--allow-private'
  return undefined
}

/** Reads all of stdin (for `-` and `-d @-`). */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
