/**
 * Runs the real `safefetch` command as a child process: the TypeScript source through tsx, so that
 * `npm test` works on a fresh clone without a build (test/cli/bin.test.ts checks the built bin).
 * The child inherits the test's network namespace; every name it needs comes from --resolve.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const CLI_SOURCE = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: Buffer
  stderr: string
  /** stdout as UTF-8 text. */
  out: string
}

export interface RunOptions {
  stdin?: string | Buffer
  env?: Record<string, string>
  /** Run this file with plain node instead of the source through tsx (the built bin). */
  bin?: string
  timeoutMs?: number
}

/**
 * At most two children at a time per test file: each one is a Node start-up plus tsx, and a burst of
 * them starves the timing-sensitive suites running in the other vitest worker on a 2-core machine.
 */
const MAX_CHILDREN = 2
let running = 0
const waiting: (() => void)[] = []

async function slot(): Promise<() => void> {
  // A released slot passes straight to the next waiter, so `running` never exceeds the limit.
  if (running >= MAX_CHILDREN) await new Promise<void>((resolve) => waiting.push(resolve))
  else running++
  return () => {
    const next = waiting.shift()
    if (next === undefined) running--
    else next()
  }
}

export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const release = await slot()
  try {
    return await spawnCli(args, options)
  } finally {
    release()
  }
}

function spawnCli(args: readonly string[], options: RunOptions): Promise<CliResult> {
  const nodeArgs = options.bin === undefined ? ['--import', 'tsx', CLI_SOURCE, ...args] : [options.bin, ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdout = Buffer.concat(out)
      resolve({ code, stdout, stderr: err, out: stdout.toString('utf8') })
    })
    child.stdin.end(options.stdin ?? '')
  })
}
