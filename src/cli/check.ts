/**
 * `safefetch check <url>…`: would the client fetch this, and if not, why? The verdict of the public
 * `checkUrl()` for each URL — the check that decided, the rule (range with its IANA registry row,
 * port list, host rule, embedded IPv4 form), every resolved address with its own verdict, and the
 * `policy` change that would flip it. Exit 0 when all are allowed, 1 when any is refused, 2 on bad usage.
 */
import { parseArgs } from 'node:util'
import { checkUrl, redactUrl, type AddressCheck, type PolicyChange, type UrlRefusalReason, type UrlVerdict } from '../index.js'
import { EXIT, POLICY_FLAGS, UsageError, cliLookup, flagFor, parseDuration, parseResolve, policyFromFlags, readStdin } from './common.js'

export const CHECK_HELP = `Usage: safefetch check [options] <url>... | -

Says whether safefetch would fetch each URL under a policy, and why not: the check that
decided (scheme, credentials, port, host name rule, address range), the range with its IANA
registry row and RFC, the IPv4 address hidden in an IPv6 form, every DNS answer with its own
verdict, and the policy change that would allow it. Nothing is fetched.

Arguments:
  <url>...                 URLs to check; "-" reads more, one per line, from stdin (# comments ok)

Options:
  --resolve host:addr      answer DNS for host with addr (repeatable; addr,addr for several; curl's
                           host:port:addr accepted, port ignored). Other names use the system resolver.
  --timeout <duration>     limit for each DNS lookup: 500ms, 5s, 1m (default 5s)
  --allow <cidr>           policy.allow: allow this range or address (repeatable)
  --deny <cidr>            policy.deny: always refuse this range or address (repeatable)
  --allow-host <name>      policy.allowHosts: allow only these names, *.example.com globs (repeatable)
  --deny-host <name>       policy.denyHosts: refuse these names (repeatable)
  --allow-private          policy.allowPrivate: open private, loopback, link-local ranges
  --policy <json|@file>    a whole policy object, e.g. '{"ports":[443],"denyPreset":"cloud"}'
  --json                   one JSON array on stdout, one object per URL
  -h, --help               this help

Exit status: 0 all allowed, 1 any refused, 2 bad usage.

Examples:
  safefetch check http://169.254.169.254/latest/meta-data/
  safefetch check --resolve internal.example.com:10.0.0.5 http://internal.example.com/
  safefetch check --allow 10.0.0.0/8 --resolve svc.example.com:10.1.2.3 http://svc.example.com/
  safefetch check --json 'http://[::ffff:7f00:1]/' http://2130706433/ | jq '.[].reason'
  cat urls.txt | safefetch check -
`

/** What `--json` prints per URL. */
interface CheckResult {
  /** The URL as typed, userinfo and query values redacted. */
  input: string
  /** The URL as parsed (redacted), when it parsed. */
  url?: string
  allowed: boolean
  error?: { code: string; message: string; address?: string; range?: string }
  reason?: UrlRefusalReason
  addresses: readonly AddressCheck[]
}

export async function runCheck(argv: readonly string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { ...POLICY_FLAGS, timeout: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  })
  if (values.help === true) {
    out.write(CHECK_HELP)
    return EXIT.ok
  }
  const inputs: string[] = []
  for (const p of positionals) {
    if (p === '-') {
      const text = (await readStdin()).toString('utf8')
      for (const line of text.split(/\r?\n/)) {
        const t = line.trim()
        if (t !== '' && !t.startsWith('#')) inputs.push(t)
      }
    } else inputs.push(p)
  }
  if (inputs.length === 0) throw new UsageError('no URL given (pass URLs, or - to read them from stdin)')
  const policy = policyFromFlags(values)
  const lookup = cliLookup(parseResolve(values.resolve ?? []), values.timeout === undefined ? 5_000 : parseDuration(values.timeout, '--timeout'))

  // Up to 8 lookups at a time (a list from stdin may be long and DNS slow); results keep input order.
  // A malformed policy throws ERR_INVALID_OPTION here: a usage error (exit 2), reported by main.
  const results: CheckResult[] = new Array<CheckResult>(inputs.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const i = next++
      const input = inputs[i] as string
      results[i] = toResult(input, await checkUrl(input, policy, { lookup }))
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, inputs.length) }, worker))
  if (values.json === true) out.write(`${JSON.stringify(results, null, 2)}\n`)
  else for (const r of results) out.write(formatResult(r))
  return results.every((r) => r.allowed) ? EXIT.ok : EXIT.refusedOrFailed
}

/**
 * The input as typed, minus what must not reach a terminal log: userinfo and query values (the parsed
 * URL is redacted by the library; the typed text is shown because `http://2130706433/` is the point).
 */
function shownInput(input: string): string {
  const noUserinfo = input.replace(/^([a-z][a-z0-9+.-]*:\/*)[^/?#]*@/i, '$1REDACTED@')
  const q = noUserinfo.search(/[?#]/)
  return q < 0 ? noUserinfo : `${noUserinfo.slice(0, q)}${noUserinfo[q] === '?' ? '?REDACTED' : ''}`
}

function toResult(raw: string, v: UrlVerdict): CheckResult {
  const input = shownInput(raw)
  if (v.allowed) return { input, url: redactUrl(v.url), allowed: true, addresses: v.addressChecks }
  const error: NonNullable<CheckResult['error']> = { code: v.error.code, message: v.error.message }
  if (v.error.address !== undefined) error.address = v.error.address
  if (v.error.range !== undefined) error.range = v.error.range
  const result: CheckResult = { input, allowed: false, error, reason: v.reason, addresses: v.addressChecks }
  if (v.url !== undefined) result.url = redactUrl(v.url)
  return result
}

function describeChange(c: PolicyChange): string {
  const value = typeof c.value === 'string' ? `'${c.value}'` : String(c.value)
  const text = c.action === 'set' ? `policy.${c.option}: ${value}` : `${c.action} ${value} ${c.action === 'add' ? 'to' : 'from'} policy.${c.option}`
  const flag = flagFor(c.option, c.action, c.value)
  return flag === undefined ? text : `${text}  (${flag})`
}

function describeAddress(a: AddressCheck): string {
  if (a.allowed) return a.opened === true ? `${a.address}  allowed  ${a.range ?? ''}, opened by the policy` : `${a.address}  allowed`
  const embedded = a.embeddedIpv4 === undefined ? '' : `  carries ${a.embeddedIpv4} (${a.via ?? 'embedded'})`
  const by = a.rule === 'deny' ? 'policy.deny' : a.rule === 'preset' ? 'policy.denyPreset' : 'special-purpose registry'
  return `${a.address}  refused${embedded}  ${a.range ?? ''} [${by}]`
}

function formatResult(r: CheckResult): string {
  const lines = [`${r.allowed ? 'ALLOWED' : 'REFUSED'}  ${r.url ?? r.input}`]
  if (r.url !== undefined && r.url !== r.input) lines.push(`  input    ${r.input}`)
  if (r.reason !== undefined) {
    lines.push(`  check    ${r.reason.check}`)
    lines.push(`  rule     ${r.reason.rule}`)
  }
  if (r.error !== undefined) lines.push(`  error    ${r.error.code}: ${r.error.message}`)
  if (r.reason?.check === 'dns') lines.push('  hint     --resolve host:address answers a name without DNS')
  for (const a of r.addresses) lines.push(`  address  ${describeAddress(a)}`)
  if (r.reason !== undefined) {
    const fixes = r.reason.fixes
    if (fixes.length === 0) lines.push(`  change   none: no policy option allows this`)
    fixes.forEach((c, i) => lines.push(`  ${i === 0 ? 'change  ' : '   or   '} ${describeChange(c)}`))
  }
  return `${lines.join('\n')}\n`
}
