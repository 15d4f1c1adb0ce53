/**
 * Starts a real `redis-server` for tests on a free loopback port, without persistence
 * (`--save '' --appendonly no`), and stops it. Needs redis-server on the PATH (CI installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closedPort } from './servers.js'

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills the server (SIGKILL: an outage, not a shutdown) and waits for it to exit. */
  kill(): Promise<void>
  /** Starts it again on the same port (an outage that ends). */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** `REDIS_SERVER` overrides the binary (default: redis-server on the PATH). */
const BINARY = process.env['REDIS_SERVER'] ?? 'redis-server'

/**
 * Whether Redis tests can run: redis-server is on the PATH. With SAFEFETCH_REQUIRE_REDIS=1 (CI)
 * a missing redis-server is an error instead of a skip.
 */
export function redisAvailable(): boolean {
  const found = spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0
  if (!found && process.env['SAFEFETCH_REQUIRE_REDIS'] === '1') {
    throw new Error('SAFEFETCH_REQUIRE_REDIS=1 but redis-server is not installed')
  }
  return found
}

async function launch(port: number): Promise<ChildProcess> {
  const child = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}:\n${output}`)), 10_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited with ${code}:\n${output}`))
    })
  })
  child.stdout!.resume()
  child.stderr!.resume()
  return child
}

export async function startRedis(): Promise<RedisServer> {
  const port = await closedPort()
  let child: ChildProcess | undefined = await launch(port)
  const kill = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = once(running, 'exit')
    running.kill('SIGKILL')
    await exited
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill()
      child = await launch(port)
    },
    stop: kill,
  }
}
