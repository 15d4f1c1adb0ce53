/**
 * Detects a request interceptor that has patched Node's sockets in this process, so a connection
 * fails at once with one clear error instead of an obscure one (or a hang).
 *
 * nock 15 and msw 3 are built on @mswjs/interceptors, whose socket interceptor (0.44 and later)
 * replaces `net.Socket.prototype.connect` for every socket in the process. Sockets dialled by our
 * connector then go through it: on Node 20 the patched connect throws `Promise.withResolvers is not
 * a function`, on Node 24 the socket "connects" without a remote address. Neither tool can mock a
 * safefetch call anyway (docs/testing.md): safefetch dials its own checked sockets and never goes
 * through `http.request` or the global `fetch`.
 *
 * Detection reads the interceptors' own registry (`globalThis.__MSW_INTERCEPTORS_REGISTRY`, a Map
 * from the interceptor's symbol to the instance, with its `readyState`), not the identity of
 * `net.Socket.prototype.connect`: APM agents and test tripwires wrap that too, and are harmless.
 * `nock.restore()` disposes the interceptor (readyState 'DISPOSED') and connections work again.
 * One global read and one Map walk per new connection; nothing per request.
 */
import { SafeFetchError } from '../errors.js'

const REGISTRY = '__MSW_INTERCEPTORS_REGISTRY'
const SOCKET_INTERCEPTOR = 'socket-interceptor'

/** True while an @mswjs/interceptors socket interceptor is applied in this process. */
function socketsIntercepted(): boolean {
  const registry: unknown = (globalThis as Record<string, unknown>)[REGISTRY]
  if (!(registry instanceof Map)) return false
  for (const [key, instance] of registry as Map<unknown, unknown>) {
    if (typeof key !== 'symbol' || key.description !== SOCKET_INTERCEPTOR) continue
    if (instance !== null && typeof instance === 'object' && (instance as { readyState?: unknown }).readyState === 'ACTIVE') return true
  }
  return false
}

/** The error a connection attempt fails with while sockets are intercepted; undefined otherwise. */
export function interceptedSocketsError(url: string): SafeFetchError | undefined {
  if (!socketsIntercepted()) return undefined
  return new SafeFetchError(
    'ERR_NET_INTERCEPTED',
    `cannot connect to ${url}: a request interceptor (@mswjs/interceptors, used by nock 15 and msw) has patched net.Socket in this process, ` +
      'and safefetch dials its own checked sockets, which such tools can neither mock nor pass through. ' +
      'Mock safefetch with createClient({ dispatcher: mockAgent, lookup }), or stop the interceptor (nock.restore(), server.close()) ' +
      'for tests that use real servers; see docs/testing.md in the safefetch package',
    { url },
  )
}
