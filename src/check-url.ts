/**
 * checkUrl(): the guard's verdict on a URL without fetching it — for validating user input at the
 * edge of an application (a webhook form, an avatar URL) with the same rules and the same reasons
 * as the fetch path: the URL policy, then DNS with every answer judged.
 *
 * A URL that passes here can still be refused at fetch time (DNS may answer differently by then);
 * the fetch path checks again at connect time, which is what makes it safe.
 *
 * Besides the error the fetch path would raise, a refusal says which check decided, the rule (the
 * range with its IANA registry row, the port list, the host rule) and the `policy` changes that would
 * let it through; every DNS answer gets its own verdict. `safefetch check` prints exactly this.
 */
import { lookup as dnsLookup } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { SafeFetchError, toSafeFetchError } from './errors.js'
import { allowSuggestion, checkAddress, compileAddressPolicy, reopenedByAllowPrivate, type AddressVerdict, type DeniedVerdict } from './net/address-policy.js'
import { guardedLookup } from './net/guarded-lookup.js'
import { compilePolicy, literalAddress, parseUrl, urlRefusal, type PolicyOptions, type UrlRefusal } from './net/url-policy.js'
import { redactUrlForError } from './observe/redact.js'

/** One edit of the `policy` option. */
export interface PolicyChange {
  /** The `policy` key, e.g. `allow`, `allowHosts`, `allowPrivate`, `ports`, `denyPorts`. */
  readonly option: keyof PolicyOptions
  /** `add` the value to the list, `remove` it from the list, or `set` the option to it. */
  readonly action: 'add' | 'remove' | 'set'
  readonly value: string | number | boolean
}

/** The verdict on one IP address (a DNS answer or a literal host). */
export interface AddressCheck {
  readonly address: string
  readonly allowed: boolean
  /**
   * Allowed only: true when the address is in a special-purpose range that the policy opened
   * (`allow` or `allowPrivate`); `cidr`, `range`, `name`, `reference` then name that row.
   */
  readonly opened?: boolean
  /** Refused only: which list decided — the default special-purpose table, `policy.deny`, or the `denyPreset`. */
  readonly rule?: 'default' | 'deny' | 'preset'
  /** The block that matched, e.g. `169.254.0.0/16` (`n/a` when the text is no IP address). */
  readonly cidr?: string
  /** The block with its label, e.g. `169.254.0.0/16 (link-local, RFC 3927)`. */
  readonly range?: string
  /** From the default table: the IANA special-purpose registry row's name and reference. */
  readonly name?: string
  readonly reference?: string
  /** The IPv4 address inside an IPv6 one that decided, and how it was embedded (`ipv4-mapped`, `nat64`, `6to4`, …). */
  readonly embeddedIpv4?: string
  readonly via?: string
  /** Refused only: changes of `policy`, any one of which lets this address through (empty when none can). */
  readonly fixes?: readonly PolicyChange[]
}

/** Why a URL was refused: the check that decided and what would change it. */
export interface UrlRefusalReason {
  /**
   * `url` (not a URL we parse), `scheme`, `credentials` (user:pass@), `port`, `host` (host name rules),
   * `address` (a literal host or a DNS answer in a refused range), `dns` (resolution failed).
   */
  readonly check: 'url' | 'scheme' | 'credentials' | 'port' | 'host' | 'address' | 'dns'
  /** The rule in a few words, e.g. `169.254.0.0/16 (link-local, RFC 3927)` or `policy.denyPorts 'internal-services' preset (redis)`. */
  readonly rule: string
  /** For `check: 'address'`: the verdict of the address that decided. */
  readonly address?: AddressCheck
  /**
   * Changes of `policy`, any one of which clears this check (another check — a later DNS answer —
   * may still refuse). Empty when no option can: an invalid URL, a DNS failure, port 0, a scheme
   * other than http:/https:, an empty host label.
   */
  readonly fixes: readonly PolicyChange[]
}

export type UrlVerdict =
  | {
      readonly allowed: true
      readonly url: URL
      readonly addresses: readonly string[]
      /** Every address with its verdict (all allowed here). */
      readonly addressChecks: readonly AddressCheck[]
    }
  | {
      readonly allowed: false
      /** The error the fetch path raises for this URL. */
      readonly error: SafeFetchError
      readonly reason: UrlRefusalReason
      /** The parsed URL; absent when the input did not parse. */
      readonly url?: URL
      /** Every address seen with its own verdict: the literal host, or every DNS answer. Empty when refused before DNS. */
      readonly addressChecks: readonly AddressCheck[]
    }

export interface CheckUrlOptions {
  /** Replaces DNS, as the client option does. */
  lookup?: LookupFunction
}

export async function checkUrl(input: string | URL, policy: PolicyOptions = {}, options: CheckUrlOptions = {}): Promise<UrlVerdict> {
  // Compiled on every call (a few µs): a cache keyed by the caller's object would go stale if they
  // mutated it. A malformed policy throws ERR_INVALID_OPTION: that is the caller's bug, not a verdict.
  const rules = compilePolicy(policy, 'policy')
  let url: URL
  try {
    url = parseUrl(input)
  } catch (err) {
    const error = toSafeFetchError(err, undefined)
    return { allowed: false, error, reason: { check: 'url', rule: 'WHATWG URL parsing, strict', fixes: [] }, addressChecks: [] }
  }
  const refusal = urlRefusal(rules, url)
  if (refusal !== undefined) {
    const reason = explainRefusal(refusal)
    return { allowed: false, error: refusal.error, reason, url, addressChecks: reason.address === undefined ? [] : [reason.address] }
  }
  const literal = literalAddress(url)
  if (literal !== undefined) return { allowed: true, url, addresses: [literal], addressChecks: [allowedCheck(literal)] }

  // Names: the same guarded lookup as the connector; the raw answers are kept so that every one of
  // them can be judged (the guard stops at the first refused answer).
  let answers: string[] = []
  const resolve = options.lookup ?? (dnsLookup as unknown as LookupFunction)
  const recording: LookupFunction = (host, opts, callback) => {
    resolve(host, opts, (err, answer, family) => {
      if (!err) answers = rawAnswers(answer as unknown)
      ;(callback as (e: unknown, a: unknown, f: unknown) => void)(err, answer, family)
    })
  }
  try {
    const addresses = await new Promise<readonly string[]>((done, fail) => {
      guardedLookup(url.hostname, rules.address, recording, redactUrlForError(url), (error, answer) => (error === null ? done(answer) : fail(error)))
    })
    return { allowed: true, url, addresses, addressChecks: addresses.map(allowedCheck) }
  } catch (err) {
    const error = toSafeFetchError(err, redactUrlForError(url))
    const addressChecks = answers.map((address) => addressCheck(address, checkAddress(rules.address, address)))
    if (error.code === 'ERR_ADDRESS_BLOCKED') {
      const decided = addressChecks.find((c) => !c.allowed && c.address === error.address) ?? addressChecks.find((c) => !c.allowed)
      if (decided !== undefined) return { allowed: false, error, reason: addressReason(decided), url, addressChecks }
    }
    return { allowed: false, error, reason: { check: 'dns', rule: 'name resolution', fixes: [] }, url, addressChecks }
  }
}

/** Addresses from either lookup callback shape, as given (the guard judges them). */
function rawAnswers(answer: unknown): string[] {
  if (typeof answer === 'string') return [answer]
  if (!Array.isArray(answer)) return []
  return answer.map((item: unknown) =>
    typeof item === 'string'
      ? item
      : typeof (item as { address?: unknown } | null)?.address === 'string'
        ? (item as { address: string }).address
        : String(item),
  )
}

/** The default table alone: tells an address the policy opened from a globally reachable one. */
const DEFAULT_TABLE = compileAddressPolicy({})

function allowedCheck(address: string): AddressCheck {
  const row = checkAddress(DEFAULT_TABLE, address)
  if (row.allowed) return { address, allowed: true }
  return withRowDetails({ address, allowed: true, opened: true, cidr: row.cidr, range: row.range }, row)
}

type MutableAddressCheck = { -readonly [K in keyof AddressCheck]: AddressCheck[K] }

/** Copies the optional fields of the matched row (registry name, reference, embedded IPv4) that are set. */
function withRowDetails(check: MutableAddressCheck, row: DeniedVerdict): MutableAddressCheck {
  if (row.name !== undefined) check.name = row.name
  if (row.reference !== undefined) check.reference = row.reference
  if (row.embeddedIpv4 !== undefined) check.embeddedIpv4 = row.embeddedIpv4
  if (row.via !== undefined) check.via = row.via
  return check
}

function addressCheck(address: string, verdict: AddressVerdict): AddressCheck {
  if (verdict.allowed) return allowedCheck(address)
  const fixes: PolicyChange[] = []
  if (verdict.rule === 'deny') fixes.push({ option: 'deny', action: 'remove', value: verdict.cidr })
  else {
    const suggestion = verdict.cidr === 'n/a' ? undefined : allowSuggestion(verdict.address, verdict.via)
    if (suggestion !== undefined) fixes.push({ option: 'allow', action: 'add', value: suggestion })
    if (verdict.rule === 'default' && verdict.name !== undefined && reopenedByAllowPrivate(verdict.name))
      fixes.push({ option: 'allowPrivate', action: 'set', value: true })
  }
  const check = withRowDetails({ address, allowed: false, rule: verdict.rule, cidr: verdict.cidr, range: verdict.range }, verdict)
  check.fixes = fixes
  return check
}

function addressReason(check: AddressCheck): UrlRefusalReason {
  return { check: 'address', rule: check.range ?? 'not an IP address', address: check, fixes: check.fixes ?? [] }
}

function explainRefusal(refusal: UrlRefusal): UrlRefusalReason {
  switch (refusal.check) {
    case 'scheme': {
      const speaks = refusal.protocol === 'http:' || refusal.protocol === 'https:'
      return {
        check: 'scheme',
        rule: speaks ? 'policy.protocols' : 'only http: and https: are fetched',
        fixes: speaks ? [{ option: 'protocols', action: 'add', value: refusal.protocol }] : [],
      }
    }
    case 'credentials':
      return {
        check: 'credentials',
        rule: 'no user:password@ in URLs (policy.allowCredentials)',
        fixes: [{ option: 'allowCredentials', action: 'set', value: true }],
      }
    case 'port':
      switch (refusal.list) {
        case 'none':
          return { check: 'port', rule: 'port 0 cannot be dialled', fixes: [] }
        case 'ports':
          return { check: 'port', rule: `port ${refusal.port} not in policy.ports`, fixes: [{ option: 'ports', action: 'add', value: refusal.port }] }
        case 'denyPorts':
          return { check: 'port', rule: `port ${refusal.port} in policy.denyPorts`, fixes: [{ option: 'denyPorts', action: 'remove', value: refusal.port }] }
        case 'preset':
          return {
            check: 'port',
            rule: `port ${refusal.port} in policy.denyPorts 'internal-services' preset (${refusal.service ?? ''})`,
            fixes: [{ option: 'ports', action: 'add', value: refusal.port }],
          }
      }
      break
    case 'host': {
      const { host } = refusal
      switch (host.rule) {
        case 'empty-label':
          return { check: 'host', rule: 'host name with an empty label', fixes: [] }
        case 'denyHosts':
          return {
            check: 'host',
            rule: `policy.denyHosts entry "${host.entry ?? host.host}"`,
            fixes: [{ option: 'denyHosts', action: 'remove', value: host.entry ?? host.host }],
          }
        case 'allowHosts':
          return { check: 'host', rule: 'not in policy.allowHosts', fixes: [{ option: 'allowHosts', action: 'add', value: host.host }] }
        case 'metadata':
          return { check: 'host', rule: 'built-in cloud metadata host name', fixes: [{ option: 'allowHosts', action: 'add', value: host.host }] }
        case 'private':
          return {
            check: 'host',
            rule: 'built-in private host name',
            fixes: [
              { option: 'allowHosts', action: 'add', value: host.host },
              { option: 'allowPrivate', action: 'set', value: true },
            ],
          }
      }
      break
    }
    case 'address':
      return addressReason(addressCheck(refusal.address.address, refusal.address))
  }
  // Unreachable with the unions above; kept so a new kind fails loudly rather than silently allowing.
  throw new SafeFetchError('ERR_URL_BLOCKED', refusal.error.message)
}
