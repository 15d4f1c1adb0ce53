/**
 * The setup the resilience suites share: scripted loopback servers and clients that may reach
 * them, both closed after each test, with real timers and mocked functions put back (the fast
 * project shares modules between files: nothing a test changes may outlive it).
 */
import { afterEach, vi } from 'vitest'
import { createClient, type Client, type ClientOptions } from '../../src/index.js'
import { LOOPBACK, startScriptedServer, type Script, type ScriptedServer } from './servers.js'

export interface Fixtures {
  /** A scripted server, closed after the test. */
  serve(script: Script): Promise<ScriptedServer>
  /** A client allowed to reach 127.0.0.1, closed after the test. */
  client(options?: ClientOptions): Client
}

/**
 * Registers an afterEach that closes what the test opened (clients first, then servers) and
 * puts back real timers and mocked functions.
 */
export function useFixtures(): Fixtures {
  const servers: ScriptedServer[] = []
  const clients: Client[] = []
  afterEach(async () => {
    vi.useRealTimers()
    vi.restoreAllMocks()
    await Promise.all(clients.splice(0).map((c) => c.close()))
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  return {
    async serve(script) {
      const server = await startScriptedServer(script)
      servers.push(server)
      return server
    },
    client(options = {}) {
      // No HTTP cache here: coalescing and hits would change the request counts these tests assert.
      const made = createClient({ ...LOOPBACK, cache: false, ...options })
      clients.push(made)
      return made
    },
  }
}
