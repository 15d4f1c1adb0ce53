/**
 * One undici Agent per client options generation. It owns what only the socket layer can do:
 * the guarded connector (DNS + address check + connect timeout) and keep-alive pooling. No proxy
 * is ever taken from the environment (HTTP_PROXY …): only undici's EnvHttpProxyAgent reads it.
 *
 * undici's own headers/body timeouts are switched off: they run on a coarse ~500 ms timer wheel
 * (undici's timer resolution), so the transport keeps precise timers of its own.
 */
import { Agent } from 'undici'
import type { ResolvedClientOptions } from '../options.js'
import { DispatchGate, dispatchGates } from './dispatch-gate.js'
import { createGuardedConnector } from './guarded-connector.js'
import { createProxyConnector } from './proxy-connector.js'

export function createAgent(options: ResolvedClientOptions): Agent {
  const connector = {
    policy: options.policy.address,
    lookup: options.lookup,
    tls: options.tls,
    connectTimeout: options.timeout.connect,
  }
  const agent = new Agent({
    // With a proxy, the same guard runs and the proxy is handed only checked addresses (proxy-connector.ts).
    connect: options.proxy === undefined ? createGuardedConnector(connector) : createProxyConnector({ ...connector, proxy: options.proxy }),
    connections: options.connectionsPerOrigin,
    keepAliveTimeout: options.keepAliveTimeout,
    keepAliveMaxTimeout: Math.max(options.keepAliveTimeout, 600_000),
    headersTimeout: 0,
    bodyTimeout: 0,
  } as Agent.Options)
  // No more requests per origin reach the pool than it has connections (see dispatch-gate.ts).
  dispatchGates.set(agent, new DispatchGate(options.connectionsPerOrigin))
  return agent
}

/** Closes every socket now (nothing of ours is in flight): no grace period for undici's leftovers. */
export async function destroyAgent(agent: Agent): Promise<void> {
  if (!agent.destroyed) await agent.destroy().catch(() => {})
}

/** Closes gracefully, then forcibly: a silent server must not keep sockets (or the process) alive. */
export async function closeAgent(agent: Agent, graceMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      agent.destroy().then(resolve, resolve)
    }, graceMs)
    timer.unref()
  })
  try {
    await Promise.race([agent.close(), forced])
  } finally {
    clearTimeout(timer)
  }
  if (!agent.destroyed) await agent.destroy().catch(() => {})
}
