/**
 * `npm run bench`: requests per second against a loopback origin in its own process, reported as
 * ratios to undici measured in the same run (absolute numbers vary by machine; ratios hold).
 *
 * Bounded: each case runs for a fixed time and at most a fixed number of requests.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { Agent, fetch as undiciFetch, request as undiciRequest } from 'undici'
import { createClient } from '../src/index.js'
import { extraCases } from './extra-cases.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
const MAX_REQUESTS = 200_000
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)

export interface BenchCase {
  name: string
  setup?: () => Promise<void>
  run: (url: string) => Promise<void>
  teardown?: () => Promise<void>
}

const origin = fork(new URL('./origin.mjs', import.meta.url), { stdio: 'inherit' })
const [message] = (await once(origin, 'message')) as [{ port: number }]
const base = `http://127.0.0.1:${message.port}`

const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000 })
const fetchAgent = new Agent({ connections: 64, keepAliveTimeout: 60_000 })
const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, connectionsPerOrigin: 64, keepAliveTimeout: 60_000 })

const cases: BenchCase[] = [
  {
    name: 'undici.request',
    run: async (url) => {
      const { body } = await undiciRequest(url, { dispatcher: agent })
      await body.arrayBuffer()
    },
  },
  {
    name: 'undici.fetch',
    run: async (url) => {
      const res = await undiciFetch(url, { dispatcher: fetchAgent })
      await res.arrayBuffer()
    },
  },
  {
    name: 'safefetch',
    run: async (url) => {
      const res = await client.fetch(url)
      await res.arrayBuffer()
    },
  },
  ...(await extraCases()),
]

async function measure(benchCase: BenchCase, concurrency: number): Promise<number> {
  const url = `${base}/${benchCase.name.includes('cache hit') ? 'cached' : 'plain'}`
  let done = 0
  const deadline = performance.now() + SECONDS * 1000
  const started = performance.now()
  async function worker(): Promise<void> {
    while (done < MAX_REQUESTS && performance.now() < deadline) {
      await benchCase.run(url)
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return done / ((performance.now() - started) / 1000)
}

const results = new Map<string, number[]>()
for (const benchCase of cases) await benchCase.setup?.()
for (const concurrency of [1, 32]) {
  // Warm up every case (JIT, pools) before measuring.
  for (const benchCase of cases) for (let i = 0; i < 200; i++) await benchCase.run(`${base}/${benchCase.name.includes('cache hit') ? 'cached' : 'plain'}`)
  // Interleave rounds so drift on the machine hits every case alike; keep the median.
  for (let round = 0; round < ROUNDS; round++) {
    for (const benchCase of cases) {
      const key = `${benchCase.name}@${concurrency}`
      const list = results.get(key) ?? []
      list.push(await measure(benchCase, concurrency))
      results.set(key, list)
    }
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
console.log(`\nsafefetch benchmark — ${process.version}, ${SECONDS}s × ${ROUNDS} rounds per case, 1 KiB bodies, loopback origin in its own process\n`)
for (const concurrency of [1, 32]) {
  const request = median(results.get(`undici.request@${concurrency}`)!)
  const fetchRate = median(results.get(`undici.fetch@${concurrency}`)!)
  console.log(`concurrency ${concurrency}`)
  console.log(`  ${'case'.padEnd(34)} ${'req/s'.padStart(9)}  ${'× undici.request'.padStart(16)}  ${'× undici.fetch'.padStart(14)}`)
  for (const benchCase of cases) {
    const rate = median(results.get(`${benchCase.name}@${concurrency}`)!)
    console.log(
      `  ${benchCase.name.padEnd(34)} ${rate.toFixed(0).padStart(9)}  ${(rate / request).toFixed(2).padStart(16)}  ${(rate / fetchRate).toFixed(2).padStart(14)}`,
    )
  }
  console.log('')
}

for (const benchCase of cases) await benchCase.teardown?.()
await client.close()
await agent.close()
await fetchAgent.close()
origin.disconnect()
origin.kill()
