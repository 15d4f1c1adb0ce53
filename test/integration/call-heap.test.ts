/**
 * Per-call objects must die young. When something keeps them alive through young-generation GCs
 * (V8 scavenges), every call's objects are promoted to the old generation and freed only by the
 * next full GC: scavenges then copy ~4 KB per call and the client spends ~25 % more CPU per call.
 * Seen three times (an object literal with a per-response getter; closures made inside async
 * functions and kept on the call's context; a Set of in-flight contexts that churned at
 * concurrency): old-space growth of 4–5.5 KB per call, against 0.2–1 KB otherwise (undici.request
 * alone: ~1.1 KB). Measured in a child process with --expose-gc (call-heap.fixture.ts): bytes, not
 * time; bounded at 24 000 calls.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const run = promisify(execFile)
const fixture = fileURLToPath(new URL('./call-heap.fixture.ts', import.meta.url))

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

it('promotes no per-call garbage: old space grows < 2.5 KB per call at concurrency 1 and 32', async () => {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', fixture, '2000'], { timeout: 110_000 })
  const result = JSON.parse(stdout) as { perRound: number; c1: number[]; c32: number[] }
  const shown = (values: number[]): string => values.map((v) => v.toFixed(0)).join(' ')
  console.log(`old-space growth per call (bytes), 6 rounds of ${result.perRound}: c=1 ${shown(result.c1)}; c=32 ${shown(result.c32)}`)
  expect(median(result.c1)).toBeLessThan(2500)
  expect(median(result.c32)).toBeLessThan(2500)
}, 120_000)
