/**
 * The pure per-hop URL check: scheme, userinfo, port, host name rules and IP-literal hosts.
 * Synchronous, no DNS: names are judged again, by address, inside the guarded connector.
 *
 * Literal hosts arrive here already normalised by the WHATWG URL parser (`http://2130706433/`,
 * `http://0x7f.1/`, `http://①②⑦.0.0.1/` all have hostname `127.0.0.1`; `[::ffff:127.0.0.1]` becomes
 * `[::ffff:7f00:1]`), so one strict IP parser sees every spelling.
 */
import { SafeFetchError } from '../errors.js'
import { checkKnownKeys, describeValue as show, optionError as invalid } from '../option-checks.js'
import {
  blockedAddressError,
  checkAddress,
  compileAddressPolicy,
  type AddressPolicyOptions,
  type CompiledAddressPolicy,
  type DeniedVerdict,
} from './address-policy.js'
import { checkHostname, compileHostRules, type CompiledHostRules, type HostRuleOptions, type HostVerdict } from './host-rules.js'
import { parseIpv4 } from './ip-ranges.js'
import { redactUrlForError, redactUrlText } from '../observe/redact.js'

export interface PolicyOptions extends AddressPolicyOptions, HostRuleOptions {
  /** Schemes allowed. Default ['http:', 'https:'], the only ones the transport speaks. */
  protocols?: readonly string[]
  /** Ports allowed (effective port, so 80/443 when the URL has none). Default: any port. */
  ports?: readonly number[]
  /** Ports refused; 'internal-services' is INTERNAL_SERVICE_PORTS. An explicit `ports` entry beats the preset. */
  denyPorts?: 'internal-services' | readonly number[]
  /** Send URLs that carry `user:pass@`. Default false: credentials in URLs leak into logs and redirects. */
  allowCredentials?: boolean
}

export interface CompiledPolicy {
  readonly address: CompiledAddressPolicy
  readonly hosts: CompiledHostRules
  readonly protocols: ReadonlySet<string>
  /** undefined = any port */
  readonly ports: ReadonlySet<number> | undefined
  readonly denyPorts: ReadonlySet<number>
  /** true when denyPorts came from the preset (an explicit `ports` entry then wins). */
  readonly denyPortsPreset: boolean
  readonly allowCredentials: boolean
  readonly optionPath: string
}

/**
 * Ports of services that are not HTTP APIs and are juicy SSRF targets. The Fetch Standard's
 * "bad ports" (§2.9, blocked by every browser) plus data stores and control planes seen in SSRF reports.
 */
export const INTERNAL_SERVICE_PORTS: ReadonlyMap<number, string> = new Map([
  // Fetch Standard bad ports
  ...[
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
    139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723,
    2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
  ].map((p) => [p, 'Fetch Standard bad port'] as const),
  [22, 'ssh'],
  [25, 'smtp'],
  [445, 'smb'],
  [1433, 'mssql'],
  [1521, 'oracle'],
  [2181, 'zookeeper'],
  [2375, 'docker api'],
  [2376, 'docker api (tls)'],
  [2379, 'etcd'],
  [2380, 'etcd peer'],
  [3306, 'mysql'],
  [3389, 'rdp'],
  [4369, 'erlang epmd'],
  [5432, 'postgres'],
  [5672, 'amqp'],
  [5984, 'couchdb'],
  [6379, 'redis'],
  [6443, 'kubernetes api'],
  [8500, 'consul'],
  [9092, 'kafka'],
  [9200, 'elasticsearch'],
  [9300, 'elasticsearch transport'],
  [10250, 'kubelet'],
  [10255, 'kubelet read-only'],
  [11211, 'memcached'],
  [27017, 'mongodb'],
])

/** The keys of `policy`: a new rule is added here and everything else is refused. */
const POLICY_KEYS: readonly string[] = [
  'allowPrivate',
  'allow',
  'deny',
  'denyPreset',
  'allowHosts',
  'denyHosts',
  'protocols',
  'ports',
  'denyPorts',
  'allowCredentials',
]

function portList(value: unknown, path: string): Set<number> {
  if (!Array.isArray(value)) throw invalid(`${path} must be an array of ports (integers 1-65535), got ${show(value)}`)
  return new Set(
    value.map((p: unknown, i) => {
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`${path}[${i}] must be an integer port 1-65535, got ${show(p)}`)
      return p
    }),
  )
}

export function compilePolicy(o: PolicyOptions | undefined, optionPath = 'policy'): CompiledPolicy {
  const opts: PolicyOptions = o ?? {}
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw invalid(`${optionPath} must be an object, got ${show(o)}`)
  checkKnownKeys(optionPath, opts as Record<string, unknown>, POLICY_KEYS)
  let protocols: Set<string> = new Set(['http:', 'https:'])
  if (opts.protocols !== undefined) {
    if (!Array.isArray(opts.protocols)) throw invalid(`${optionPath}.protocols must be an array like ['https:'], got ${show(opts.protocols)}`)
    protocols = new Set(
      opts.protocols.map((p: unknown, i) => {
        const norm = typeof p === 'string' ? (p.endsWith(':') ? p : `${p}:`).toLowerCase() : ''
        if (norm !== 'http:' && norm !== 'https:') {
          throw invalid(`${optionPath}.protocols[${i}] must be 'http:' or 'https:' (the only schemes the transport speaks), got ${show(p)}`)
        }
        return norm
      }),
    )
  }
  const ports = opts.ports === undefined ? undefined : portList(opts.ports, `${optionPath}.ports`)
  let denyPorts = new Set<number>()
  const preset = opts.denyPorts === 'internal-services'
  if (preset) denyPorts = new Set(INTERNAL_SERVICE_PORTS.keys())
  else if (opts.denyPorts !== undefined) {
    if (typeof opts.denyPorts === 'string')
      throw invalid(`${optionPath}.denyPorts must be 'internal-services' or an array of ports, got ${show(opts.denyPorts)}`)
    denyPorts = portList(opts.denyPorts, `${optionPath}.denyPorts`)
  }
  if (opts.allowCredentials !== undefined && typeof opts.allowCredentials !== 'boolean') {
    throw invalid(`${optionPath}.allowCredentials must be a boolean, got ${show(opts.allowCredentials)}`)
  }
  return Object.freeze({
    address: compileAddressPolicy(opts, optionPath),
    hosts: compileHostRules(opts, optionPath),
    protocols,
    ports,
    denyPorts,
    denyPortsPreset: preset,
    allowCredentials: opts.allowCredentials === true,
    optionPath,
  })
}

// ---------------------------------------------------------------------------------------------

function invalidUrl(input: string, why: string, cause?: unknown): SafeFetchError {
  // Input that did not parse: the conservative textual rule (userinfo up to the last `@`, query).
  const shown = redactUrlText(input)
  const details: { url: string; cause?: unknown } = { url: shown }
  if (cause !== undefined) details.cause = withoutInput(cause, shown)
  return new SafeFetchError('ERR_URL_INVALID', `invalid URL ${JSON.stringify(shown)}: ${why}`, details)
}

/**
 * Node's ERR_INVALID_URL carries the raw `input` (and `base`, the URL a Location was resolved
 * against, query secrets included) as properties, which loggers and inspectors print with the cause.
 */
function withoutInput(cause: unknown, shown: string): unknown {
  if (cause !== null && typeof cause === 'object') {
    const error = cause as { input?: unknown; base?: unknown }
    if ('input' in error) error.input = shown
    if ('base' in error) error.base = typeof error.base === 'string' ? redactUrlText(error.base) : undefined
  }
  return cause
}

/**
 * Parse caller input once with the WHATWG URL parser. Refuses input that other parsers read
 * differently (the parser silently drops tabs/newlines and surrounding spaces, reads `\` as `/`, and
 * accepts `http:host` / `http:///host`). A URL object is copied: the caller may mutate theirs later.
 */
export function parseUrl(input: string | URL, base?: URL): URL {
  if (input instanceof URL) return new URL(input.href)
  if (typeof input !== 'string') throw new SafeFetchError('ERR_URL_INVALID', `URL must be a string or a URL, got ${typeof input}`)
  if (input.length === 0) throw invalidUrl(input, 'empty')
  const first = input.charCodeAt(0)
  const last = input.charCodeAt(input.length - 1)
  if (first <= 32 || last <= 32) throw invalidUrl(input, 'leading or trailing whitespace or control characters')
  let inQuery = false
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i)
    if (c < 32 || c === 127) throw invalidUrl(input, 'control characters (tab, newline, ...) that URL parsers drop silently')
    if (c === 63 || c === 35)
      inQuery = true // a backslash in the query or fragment is just data
    else if (c === 92 && !inQuery) throw invalidUrl(input, 'a backslash before the query, which WHATWG reads as "/" and other parsers do not')
  }
  const scheme = /^(https?):/i.exec(input)
  if (scheme !== null) {
    const rest = input.slice((scheme[1] as string).length + 1)
    if (!rest.startsWith('//') || rest.startsWith('///'))
      throw invalidUrl(input, `${(scheme[1] as string).toLowerCase()}: must be followed by exactly "//" and a host`)
  }
  try {
    return base === undefined ? new URL(input) : new URL(input, base)
  } catch (err) {
    if (base === undefined && !/^[a-zA-Z][a-zA-Z\d+\-.]*:/.test(input)) {
      throw invalidUrl(input, 'not a valid URL on its own (a relative URL needs a base: create a client with createClient({ baseUrl }))', err)
    }
    throw invalidUrl(input, 'not a valid URL', err)
  }
}

/** For a URL host: the IP literal (brackets removed), or undefined when it is a name. */
export function literalAddress(url: URL): string | undefined {
  const h = url.hostname
  if (h.length === 0) return undefined
  if (h.charCodeAt(0) === 91) return h.slice(1, -1)
  const lastChar = h.charCodeAt(h.length - 1)
  if (lastChar < 48 || lastChar > 57) return undefined
  return parseIpv4(h) >= 0 ? h : undefined
}

function blocked(message: string, url: string): SafeFetchError {
  return new SafeFetchError('ERR_URL_BLOCKED', message, { url })
}

/** Which URL check refused, for `checkUrl()`'s explanation; `address` carries the literal host's verdict. */
export type UrlRefusal =
  | { readonly check: 'scheme'; readonly error: SafeFetchError; readonly protocol: string }
  | { readonly check: 'credentials'; readonly error: SafeFetchError }
  | {
      readonly check: 'port'
      readonly error: SafeFetchError
      readonly port: number
      readonly list: 'none' | 'ports' | 'denyPorts' | 'preset'
      readonly service?: string
    }
  | { readonly check: 'host'; readonly error: SafeFetchError; readonly host: Extract<HostVerdict, { allowed: false }> }
  | { readonly check: 'address'; readonly error: SafeFetchError; readonly address: DeniedVerdict }

/**
 * Throws ERR_URL_BLOCKED (scheme, userinfo, port, host name rules) or ERR_ADDRESS_BLOCKED (IP-literal
 * host in a denied range). Pure, synchronous, no DNS.
 */
export function assertUrlAllowed(policy: CompiledPolicy, url: URL): void {
  const refusal = urlRefusal(policy, url)
  if (refusal !== undefined) throw refusal.error
}

/** The first URL check that refuses `url`, with its error; undefined when the URL passes. Pure, no DNS. */
export function urlRefusal(policy: CompiledPolicy, url: URL): UrlRefusal | undefined {
  const path = policy.optionPath
  if (!policy.protocols.has(url.protocol)) {
    const shown = redactUrlForError(url)
    const allowed = [...policy.protocols].join(', ')
    const advice =
      url.protocol === 'http:' || url.protocol === 'https:' ? `add '${url.protocol}' to ${path}.protocols to allow it` : 'only http: and https: can be fetched'
    return {
      check: 'scheme',
      protocol: url.protocol,
      error: blocked(`scheme ${url.protocol} of ${shown} is not allowed (${path}.protocols: ${allowed}); ${advice}`, shown),
    }
  }
  if (!policy.allowCredentials && (url.username !== '' || url.password !== '')) {
    const shown = redactUrlForError(url)
    return {
      check: 'credentials',
      error: blocked(`${shown} carries credentials (user:password@); send them in a header, or set ${path}.allowCredentials: true`, shown),
    }
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port)
  if (port === 0) {
    const shown = redactUrlForError(url)
    return { check: 'port', port, list: 'none', error: blocked(`port 0 of ${shown} cannot be dialled`, shown) }
  }
  const explicitlyAllowed = policy.ports?.has(port) === true
  if (policy.ports !== undefined && !explicitlyAllowed) {
    const shown = redactUrlForError(url)
    return {
      check: 'port',
      port,
      list: 'ports',
      error: blocked(`port ${port} of ${shown} is not in ${path}.ports (${[...policy.ports].join(', ')}); add ${port} to ${path}.ports to allow it`, shown),
    }
  }
  if (policy.denyPorts.has(port) && !(policy.denyPortsPreset && explicitlyAllowed)) {
    const shown = redactUrlForError(url)
    const service = INTERNAL_SERVICE_PORTS.get(port) ?? ''
    const what = policy.denyPortsPreset ? `the 'internal-services' preset (${service})` : 'the list'
    const advice = policy.denyPortsPreset ? `add ${port} to ${path}.ports to allow it` : `remove ${port} from ${path}.denyPorts to allow it`
    const error = blocked(`port ${port} of ${shown} is refused by ${path}.denyPorts, ${what}; ${advice}`, shown)
    return policy.denyPortsPreset ? { check: 'port', port, list: 'preset', service, error } : { check: 'port', port, list: 'denyPorts', error }
  }
  const host = checkHostname(policy.hosts, url.hostname)
  if (!host.allowed) {
    const shown = redactUrlForError(url)
    return { check: 'host', host, error: blocked(`${shown} is blocked: ${host.reason}`, shown) }
  }
  const literal = literalAddress(url)
  if (literal !== undefined) {
    const verdict = checkAddress(policy.address, literal)
    if (!verdict.allowed) return { check: 'address', address: verdict, error: blockedAddressError(verdict, redactUrlForError(url)) }
  }
  return undefined
}
