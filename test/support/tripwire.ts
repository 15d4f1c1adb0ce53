/**
 * Test-setup tripwire: any socket connect to an address that is not loopback (or one of the test
 * hosts the isolation script added to `lo`) is refused before a packet leaves, and fails the test
 * that made it. Names other than `localhost` are refused too: tests inject DNS with `lookup`.
 *
 * Every TCP and TLS connect in Node goes through net.Socket.prototype.connect, so that is where
 * the wire is strung.
 */
import net from 'node:net'
import { afterEach } from 'vitest'

const testHosts = new Set((process.env.SAFEFETCH_TEST_HOSTS ?? '').split(',').filter(Boolean))
const violations: string[] = []

function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host
  if (bare === 'localhost' || bare === '::1' || testHosts.has(bare)) return true
  if (net.isIPv4(bare)) return bare.startsWith('127.')
  const lower = bare.toLowerCase()
  if (lower.startsWith('::ffff:')) {
    const rest = lower.slice(7)
    // The URL parser writes [::ffff:127.0.0.1] as [::ffff:7f00:1].
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest)
    if (hex !== null) return parseInt(hex[1]!, 16) >> 8 === 127
    return isLoopback(rest)
  }
  return false
}

function targetOf(args: unknown[]): string | undefined {
  const first = args[0]
  if (Array.isArray(first)) return targetOf(first)
  if (first !== null && typeof first === 'object') {
    const options = first as { path?: string; host?: string; port?: number }
    if (typeof options.path === 'string') return undefined // unix socket
    return options.host ?? 'localhost'
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return undefined // unix socket path
  return typeof args[1] === 'string' ? args[1] : 'localhost'
}

const originalConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function tripwireConnect(this: net.Socket, ...args: unknown[]) {
  const host = targetOf(args)
  if (host !== undefined && !isLoopback(host)) {
    const message = `TRIPWIRE: a socket tried to connect to ${host}, which is not loopback`
    violations.push(message)
    process.nextTick(() => this.destroy(Object.assign(new Error(message), { code: 'ETRIPWIRE' })))
    return this
  }
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args)
} as typeof net.Socket.prototype.connect

export function tripwireViolations(): readonly string[] {
  return violations
}

afterEach(() => {
  if (violations.length > 0) {
    const list = violations.splice(0)
    throw new Error(list.join('\n'))
  }
})
