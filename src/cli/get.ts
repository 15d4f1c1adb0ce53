/**
 * `safefetch get <url>`: one call through a client with the library's defaults (SSRF policy,
 * timeouts, retries, cache), the body to stdout or a file byte for byte, and with --timings the
 * per-phase breakdown from `getCallInfo()`. Errors print the SafeFetchError code and message and
 * exit with a code that tells a refusal from a failed call from an HTTP error (docs/cli.md).
 */
import { createWriteStream, readFileSync } from 'node:fs'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { createClient, getCallInfo, isSafeFetchError, type CallInfo, type Client, type ClientOptions, type ErrorCode, type SafeRequestInit } from '../index.js'
import { EXIT, POLICY_FLAGS, UsageError, cliLookup, parseBytes, parseCount, parseDuration, parseResolve, policyFromFlags, readStdin } from './common.js'
import { startProgress } from './progress.js'
import { formatTimings } from './timings.js'
import { isToken } from '../http.js'
import { loadPino } from '../optional-pino.js'

export const GET_HELP = `Usage: safefetch get [options] <url>

Fetches one URL through a safefetch client with the library's defaults (SSRF policy checked on
every hop and every connection, timeouts, retries, HTTP cache) and writes the body to stdout,
byte for byte, or to a file.

Options:
  -o, --output <file>      write the body to <file> instead of stdout
  -i, --include            print the status line and response headers before the body
  -X, --request <method>   request method (default GET, or POST with -d)
  -H, --header <h: v>      request header "name: value" (repeatable)
  -d, --data <text|@file>  request body: the text, @file for a file's bytes, @- for stdin
                           (sent as is; Content-Type defaults to application/x-www-form-urlencoded)
  --timeout <duration>     total deadline of the call: 500ms, 5s, 2m (default 30s)
  --retry <n>              retries after the first attempt (default 2; 0 turns retries off)
  --max-bytes <size>       largest decoded body: 1048576, 512k, 10M (default 10M)
  --fail                   exit 5 without writing the body when the status is 400 or more
  --timings                phases (queued, dns, connect, tls, first byte, download, total), cache
                           status, retries and remote address on stderr
  --json                   at the end, one JSON object on stderr: status, headers and the call
                           record (getCallInfo: timings, attempts, cache, remote address), or the error
  -v, --verbose            the call's pino summary line on stderr
  --proxy <url>            an http:// forward proxy (the policy still applies to the target)
  --resolve host:addr      answer DNS for host with addr (repeatable; curl's host:port:addr accepted)
  --allow <cidr>           policy.allow (repeatable)      --deny <cidr>        policy.deny
  --allow-host <name>      policy.allowHosts (repeatable) --deny-host <name>   policy.denyHosts
  --allow-private          policy.allowPrivate: true      --policy <json|@file> a whole policy object
  -h, --help               this help

A progress line (bytes, rate) appears on stderr for bodies that take more than a second, when
stderr is a terminal.

Exit status: 0 response received, 2 bad usage or invalid URL, 3 refused by the policy,
4 the call failed (DNS, connect, TLS, timeout, reset, bad or too large response, too many
redirects), 5 HTTP status >= 400 with --fail, 1 anything else (e.g. the output file).

Examples:
  safefetch get --timings -o /dev/null https://example.com/
  safefetch get -i --resolve api.internal:10.0.0.5 --allow 10.0.0.0/8 http://api.internal/health
  safefetch get -X POST -H 'content-type: application/json' -d @event.json https://hooks.example.com/in
  safefetch get --fail --retry 0 --timeout 2s https://example.com/status
`

/** The body could not be written where -o said (exit 1). */
class OutputError extends Error {
  override readonly name = 'OutputError'
}

/** Codes that mean the policy refused the call (exit 3). */
const POLICY_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_URL_BLOCKED', 'ERR_ADDRESS_BLOCKED', 'ERR_REDIRECT_BLOCKED'])
/** Codes that mean the input was wrong (exit 2). */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ERR_URL_INVALID', 'ERR_INVALID_OPTION'])

function exitCodeFor(code: ErrorCode): number {
  if (USAGE_CODES.has(code)) return EXIT.usage
  if (POLICY_CODES.has(code)) return EXIT.policy
  return EXIT.network
}

function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':')
  const name = colon < 0 ? '' : text.slice(0, colon).trim()
  if (name === '' || !isToken(name)) {
    throw new UsageError(`-H must be "name: value" with a valid header name, got ${JSON.stringify(text)}`)
  }
  return [name, text.slice(colon + 1).trim()]
}

async function requestBody(data: string): Promise<Uint8Array | string> {
  if (data === '@-') return readStdin()
  if (data.startsWith('@')) {
    try {
      return readFileSync(data.slice(1))
    } catch (err) {
      throw new UsageError(`-d ${data}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
    }
  }
  return data
}

/** Status line and headers as on the wire (HTTP/1.1: the only version safefetch's agent speaks). */
function headBlock(res: Response): string {
  let out = `HTTP/1.1 ${res.status} ${res.statusText}\r\n`
  for (const [name, value] of res.headers) {
    if (name === 'set-cookie') continue
    out += `${name}: ${value}\r\n`
  }
  for (const cookie of res.headers.getSetCookie()) out += `set-cookie: ${cookie}\r\n`
  return `${out}\r\n`
}

export async function runGet(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      ...POLICY_FLAGS,
      output: { type: 'string', short: 'o' },
      include: { type: 'boolean', short: 'i' },
      request: { type: 'string', short: 'X' },
      header: { type: 'string', short: 'H', multiple: true },
      data: { type: 'string', short: 'd' },
      timeout: { type: 'string' },
      retry: { type: 'string' },
      'max-bytes': { type: 'string' },
      fail: { type: 'boolean', short: 'f' },
      timings: { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      proxy: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  })
  if (values.help === true) {
    process.stdout.write(GET_HELP)
    return EXIT.ok
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no URL given' : `one URL at a time, got ${positionals.length}`)
  const url = positionals[0] as string

  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, '--timeout')
  const options: ClientOptions = {
    name: 'safefetch-cli',
    policy: policyFromFlags(values),
    // A name without --resolve goes to the system resolver, bounded so that no DNS means a quick ERR_DNS.
    lookup: cliLookup(parseResolve(values.resolve ?? []), Math.min(timeoutMs ?? 5_000, 5_000)),
  }
  if (timeoutMs !== undefined) options.timeout = { total: timeoutMs }
  if (values.retry !== undefined) {
    const limit = parseCount(values.retry, '--retry')
    options.retry = limit === 0 ? false : { limit }
  }
  if (values['max-bytes'] !== undefined) options.maxResponseBytes = parseBytes(values['max-bytes'], '--max-bytes')
  if (values.proxy !== undefined) options.proxy = values.proxy
  if (values.verbose === true) {
    const pino = loadPino('safefetch get -v')
    options.logger = pino({ level: 'info' }, pino.destination({ fd: 2, sync: true }))
  }

  const headers = new Headers()
  for (const h of values.header ?? []) {
    const [name, value] = parseHeader(h)
    try {
      headers.append(name, value)
    } catch {
      // WHATWG Headers refuses CR, LF and NUL in values (header injection).
      throw new UsageError(`-H ${JSON.stringify(h)}: the value has characters a header cannot carry (CR, LF, NUL)`)
    }
  }
  const init: SafeRequestInit = { headers }
  if (values.data !== undefined) {
    init.body = await requestBody(values.data)
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded')
  }
  const method = values.request ?? (values.data !== undefined ? 'POST' : 'GET')
  init.method = method

  // Invalid options (a bad --allow CIDR, a bad --proxy) throw ERR_INVALID_OPTION: a usage error, exit 2.
  const client = createClient(options)
  try {
    return await fetchOnce(client, client.fetch(url, init), values)
  } finally {
    await client.close()
  }
}

interface OutputFlags {
  output?: string | undefined
  include?: boolean | undefined
  fail?: boolean | undefined
  timings?: boolean | undefined
  json?: boolean | undefined
}

async function fetchOnce(client: Client, call: Promise<Response>, flags: OutputFlags): Promise<number> {
  let res: Response | undefined
  let code: number
  let failure: { code: string; message: string } | undefined
  try {
    res = await call
    if (flags.include === true) await write(process.stdout, headBlock(res))
    if (flags.fail === true && res.status >= 400) {
      await res.body?.cancel()
      process.stderr.write(`safefetch: HTTP ${res.status} ${res.statusText} (--fail)\n`)
      code = EXIT.http
    } else {
      await writeBody(res, flags.output)
      code = EXIT.ok
    }
  } catch (err) {
    if (err instanceof OutputError) {
      process.stderr.write(`safefetch: ${err.message}\n`)
      code = EXIT.refusedOrFailed
      failure = { code: 'OUTPUT', message: err.message }
    } else if (isSafeFetchError(err)) {
      process.stderr.write(`safefetch: ${err.code}: ${err.message}\n`)
      if (err.code === 'ERR_DNS') process.stderr.write('(--resolve host:address answers a name without DNS)\n')
      if (POLICY_CODES.has(err.code) && err.code !== 'ERR_REDIRECT_BLOCKED')
        process.stderr.write('(safefetch check, with the same policy flags, names the rule and the flag that allows it)\n')
      code = exitCodeFor(err.code)
      failure = { code: err.code, message: err.message }
    } else throw err
  }
  // The call record is completed when the body ends: give the library's end-of-call callbacks a turn.
  await new Promise((resolve) => setImmediate(resolve))
  // A call that failed before a response has no Response to ask: the client's recorder of recent
  // failures (public API, newest first) holds its record, with every attempt and its timings.
  const info: CallInfo | undefined = res === undefined ? client.recentFailures()[0]?.record : getCallInfo(res)
  if (flags.timings === true && info !== undefined) process.stderr.write(formatTimings(info, res?.statusText))
  if (flags.json === true) {
    const summary: Record<string, unknown> = { exitCode: code }
    if (res !== undefined) {
      summary.status = res.status
      summary.statusText = res.statusText
      const headers: Record<string, string | string[]> = Object.fromEntries(res.headers)
      const cookies = res.headers.getSetCookie()
      if (cookies.length > 0) headers['set-cookie'] = cookies
      summary.headers = headers
    }
    if (failure !== undefined) summary.error = failure
    if (info !== undefined) summary.call = info
    process.stderr.write(`${JSON.stringify(summary)}\n`)
  }
  return code
}

async function write(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain')
}

async function writeBody(res: Response, output: string | undefined): Promise<void> {
  const file = output === undefined || output === '-' ? undefined : createWriteStream(output)
  const dest: NodeJS.WritableStream = file ?? process.stdout
  if (file !== undefined) {
    try {
      await once(file, 'open')
    } catch (err) {
      await res.body?.cancel()
      throw new OutputError(`cannot write ${output ?? ''} (${(err as NodeJS.ErrnoException).code ?? String(err)})`)
    }
  }
  const length = Number(res.headers.get('content-length') ?? NaN)
  const progress = startProgress(process.stderr, Number.isFinite(length) && res.headers.get('content-encoding') === null ? { total: length } : {})
  try {
    if (res.body !== null) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        progress.add(chunk.byteLength)
        await write(dest, chunk)
      }
    }
  } finally {
    progress.done()
    if (file !== undefined) {
      file.end()
      await once(file, 'close')
    }
  }
}
