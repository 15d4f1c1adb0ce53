/**
 * `npm run demo`: safefetch end to end, offline, on loopback only.
 *
 * Runs inside a network namespace with only loopback when `unshare` works (scripts/isolated.mjs),
 * so even the refusals below could not reach a real 169.254.169.254 or 10.0.0.1 if the guard failed.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import { createClient, getCallInfo, safeFetch, SafeFetchError } from '../src/index.js'

const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text)

// The origin: a tiny API on 127.0.0.1 with one endpoint that never answers.
const server = http.createServer((req, res) => {
  if (req.url === '/slow') return // accept, read the request, say nothing
  res.setHeader('content-type', 'application/json')
  res.setHeader('cache-control', 'max-age=60')
  res.end(JSON.stringify({ hello: 'world', path: req.url }))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

// pino writes JSON lines; collect them to show at the end (and echo them as they come).
const logLines: string[] = []
const logger = pino(
  { level: 'info', base: null },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString().trim())
      done()
    },
  }),
)

console.log(bold(`origin on loopback: ${origin}`))
console.log(
  process.env.SAFEFETCH_NETNS === '1'
    ? 'network: isolated namespace (loopback only)\n'
    : 'network: NOT isolated (unshare unavailable); only loopback is contacted\n',
)

// A client for one API. Loopback is private, so the policy has to allow this one address.
const api = createClient({
  name: 'demo-api',
  baseUrl: origin,
  policy: { allow: ['127.0.0.1/32'] },
  timeout: { headers: 300 },
  logger,
})

console.log(bold('1. a successful call through a client that allows its loopback origin'))
const response = await api.fetch('/hello?token=s3cret')
console.log(`   ${response.status} ${await response.text()}`)
const info = getCallInfo(response)
console.log(`   call record: attempts=${info?.attempts} remote=${info?.remoteAddress} timings=${JSON.stringify(roundTimings(info?.timings ?? {}))}\n`)

console.log(bold('   … and again: the response said max-age=60, so the RFC 9111 cache answers without the origin'))
const again = await api.fetch('/hello?token=s3cret')
await again.text()
console.log(`   ${again.status} cache=${getCallInfo(again)?.cache} age=${again.headers.get('age')}\n`)

console.log(bold('2. safeFetch() of the cloud metadata address is refused before any socket'))
await show(() => safeFetch('http://169.254.169.254/latest/meta-data/'))

console.log(bold('3. a hostname that resolves into the intranet (10.0.0.1, via an injected lookup) is refused at connect time'))
const userUrls = createClient({
  logger,
  lookup: (_hostname, _options, callback) => {
    ;(callback as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: '10.0.0.1', family: 4 }])
  },
})
await show(() => userUrls.fetch('http://intranet.example/admin'))

console.log(bold('4. an API that never answers: each attempt ends at the headers timeout (300 ms); GET is idempotent, so it is retried twice with backoff'))
await show(() => api.fetch('/slow'))

console.log(bold('5. the log lines (one per call, secrets redacted)'))
for (const line of logLines) console.log(`   ${line}`)

console.log(bold('\n6. per-origin statistics of the API client (client.stats())'))
const stats = api.stats()
for (const [origin, entry] of Object.entries(stats.origins ?? {})) console.log(`   ${origin}: ${JSON.stringify(entry)}`)

await api.close()
await userUrls.close()
server.closeAllConnections()
server.close()

async function show(call: () => Promise<Response>): Promise<void> {
  const started = performance.now()
  try {
    const res = await call()
    console.log(`   unexpected success: ${res.status}\n`)
    process.exitCode = 1
  } catch (err) {
    if (!(err instanceof SafeFetchError)) throw err
    console.log(`   ${err.code} after ${Math.round(performance.now() - started)} ms: ${err.message}\n`)
  }
}

function roundTimings(timings: object): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of Object.entries(timings) as [string, number | undefined][]) if (value !== undefined) out[key] = Math.round(value * 100) / 100
  return out
}
