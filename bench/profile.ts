/**
 * A driver for profiling one path at a time (not part of `npm run bench`):
 *   node scripts/isolated.mjs node [--cpu-prof] --import tsx bench/profile.ts <case> <concurrency> <calls>
 * cases: default (cacheable miss+store each call: unique URL), nostore (default client, no-store origin),
 * nocache (cache: false), hit (memory cache hit), pino (cache:false + pino to a file), undici.
 * Prints client CPU µs per call over the measured calls (after a warm-up of 3000 calls).
 * CPU_PROFILE=file.json: a CPU profile of the measured calls only (open it in Chrome DevTools).
 * HEAP_PROFILE=file.json: sampled allocations of the measured calls (every ~128 bytes), objects
 * already collected included; HEAP_MINOR=0 keeps only those that survived a young-generation GC.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { Agent, request } from 'undici'
import { createClient } from '../src/index.js'

const [name = 'nocache', c = '1', n = '20000'] = process.argv.slice(2)
const concurrency = Number(c)
const calls = Number(n)
const origin = fork(new URL('./origin.mjs', import.meta.url), { stdio: 'inherit' })
const [message] = (await once(origin, 'message')) as [{ port: number }]
const base = `http://127.0.0.1:${message.port}`
const dir = mkdtempSync(join(tmpdir(), 'safefetch-profile-'))
const common = { policy: { allow: ['127.0.0.1/32'] }, connectionsPerOrigin: 64, keepAliveTimeout: 60_000 }
const dest = pino.destination({ dest: join(dir, 'log'), sync: false })
const client = createClient(
  name === 'nocache' ? { ...common, cache: false } : name === 'pino' ? { ...common, cache: false, logger: pino({ level: 'info' }, dest) } : common,
)
const agent = new Agent({ connections: 64, keepAliveTimeout: 60_000 })
let seq = 0
const url = (): string => (name === 'hit' ? `${base}/cached` : name === 'default' ? `${base}/cached?${seq++}` : `${base}/plain`)
const one =
  name === 'undici'
    ? async () => {
        const { body } = await request(url(), { dispatcher: agent })
        await body.arrayBuffer()
      }
    : async () => {
        const res = await client.fetch(url())
        await res.arrayBuffer()
      }
async function run(total: number): Promise<void> {
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < total) {
        done++
        await one()
      }
    }),
  )
}
await run(3000)
// HEAP_PROFILE=file: sample every allocation of the measured calls, collected ones included.
const heapFile = process.env.HEAP_PROFILE
const { Session } = await import('node:inspector/promises')
const session = heapFile === undefined ? undefined : new Session()
if (session !== undefined) {
  session.connect()
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 128,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: process.env.HEAP_MINOR !== '0',
  } as never)
}
// CPU_PROFILE=file: a CPU profile of the measured calls only (no start-up, no warm-up), 50 µs samples.
const cpuFile = process.env.CPU_PROFILE
const profiler = cpuFile === undefined ? undefined : new Session()
if (profiler !== undefined) {
  profiler.connect()
  await profiler.post('Profiler.setSamplingInterval', { interval: 50 })
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.start')
}
const cpu0 = process.cpuUsage()
const t0 = performance.now()
await run(calls)
const cpu = process.cpuUsage(cpu0)
const ms = performance.now() - t0
console.log(`${name} c=${concurrency}: ${((cpu.user + cpu.system) / calls).toFixed(1)} µs CPU/call, ${((calls / ms) * 1000).toFixed(0)} req/s`)
if (profiler !== undefined) {
  const { profile } = (await profiler.post('Profiler.stop')) as { profile: unknown }
  const { writeFileSync } = await import('node:fs')
  writeFileSync(cpuFile!, JSON.stringify(profile))
}
if (session !== undefined) {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: unknown }
  const { writeFileSync } = await import('node:fs')
  writeFileSync(heapFile!, JSON.stringify(profile))
}
await client.close()
await agent.close()
dest.flushSync()
rmSync(dir, { recursive: true, force: true })
origin.disconnect()
origin.kill()
