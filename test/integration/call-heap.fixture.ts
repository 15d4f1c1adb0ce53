/**
 * Run as a child process by call-heap.test.ts (`node --expose-gc --import tsx`): a real client
 * (cache: false) against a loopback origin in its own process (so the origin's objects are not in
 * this heap), at concurrency 1 and 32. For each round of calls it reports how much the old
 * generation grew per call between two full GCs: per-call garbage that V8 had to promote because
 * something kept it alive through young-generation GCs. Prints one JSON line.
 * Usage: node --expose-gc --import tsx call-heap.fixture.ts [callsPerRound]
 *        (with `origin` as the argument it is the origin: it sends its port and serves 1 KiB bodies)
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'

if (process.argv[2] === 'origin') {
  const body = Buffer.alloc(1024, 'x')
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
    res.end(body)
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }))
  process.on('disconnect', () => process.exit(0))
} else {
  const { createClient } = await import('../../src/index.js')
  const perRound = Number(process.argv[2] ?? 2000)
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  const origin = fork(fileURLToPath(import.meta.url), ['origin'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  const [message] = (await once(origin, 'message')) as [{ port: number }]
  const url = `http://127.0.0.1:${message.port}/plain`
  const client = createClient({ policy: { allow: ['127.0.0.1/32'] }, cache: false, connectionsPerOrigin: 64 })
  const oldSpace = (): number => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size
  const call = async (): Promise<void> => {
    const response = await client.fetch(url)
    if ((await response.arrayBuffer()).byteLength !== 1024) throw new Error('short body')
  }
  const rounds = async (concurrency: number): Promise<number[]> => {
    const growth: number[] = []
    for (let round = 0; round < 6; round++) {
      gc()
      gc()
      const before = oldSpace()
      let started = 0
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started++ < perRound) await call()
        }),
      )
      growth.push((oldSpace() - before) / perRound)
    }
    return growth
  }
  for (let i = 0; i < 1000; i++) await call() // warm up: JIT, pools
  const c1 = await rounds(1)
  const c32 = await rounds(32)
  await client.close()
  origin.disconnect()
  origin.kill()
  process.stdout.write(JSON.stringify({ perRound, c1, c32 }))
}
