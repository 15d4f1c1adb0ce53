/**
 * The transport of a client built with a test `dispatcher` (undici's MockAgent, docs/testing.md).
 * Every layer above it runs as in production; what changes is below the transport: a mock has no
 * socket, so the guarded connector cannot judge the address being dialled. Instead the name is
 * resolved with the client's `lookup` and every answer judged by the address policy *before*
 * dispatch (the same guardedLookup the connector uses); the first checked address is recorded as
 * the exchange's remote address, so the call info, the log line and the cache's address records
 * read as they do on the real path.
 *
 * The dispatcher is never allowed to reach the network: if it passes an exchange on to a real
 * connection (a MockAgent with net connect enabled and no matching interceptor), the transport
 * sees the socket before the request is written and fails the call (transport.ts, onSocket).
 */
import type { LookupFunction } from 'node:net'
import type { Dispatcher } from 'undici'
import type { CallContext } from '../context.js'
import { SafeFetchError, systemCode } from '../errors.js'
import type { Handler } from '../pipeline.js'
import type { OutboundRequest, RawResponse } from '../types.js'
import type { CompiledAddressPolicy } from './address-policy.js'
import { resolveCheckedTarget } from './resolve-target.js'
import { createTransport, type DispatchTarget, type Route } from './transport.js'
import { redactUrlForError } from '../observe/redact.js'

interface MockTransportOptions {
  readonly policy: CompiledAddressPolicy
  /** Required for a mock (options.ts): the system resolver would send DNS queries from a test. */
  readonly lookup: LookupFunction
  /** timeout.connect in ms, applied to the lookup; 0 = none. */
  readonly connectTimeout: number
}

/** undici's MockNotMatchedError (MockAgent with net connect disabled, or not enabled for the origin). */
const MOCK_NOT_MATCHED = 'UND_MOCK_ERR_MOCK_NOT_MATCHED'

export function createMockTransport(dispatcher: Dispatcher, options: MockTransportOptions): Handler {
  const inner = createTransport(dispatcher, checkedRoute(options), true)
  return function mockTransport(req: OutboundRequest, ctx: CallContext): Promise<RawResponse> {
    return inner(req, ctx).catch((err: unknown) => {
      throw notMatched(err, req) ?? err
    })
  }
}

/**
 * undici's message can quote the request headers (Authorization included), so it stays on `cause`
 * and the message names only the method and the redacted URL.
 */
function notMatched(err: unknown, req: OutboundRequest): SafeFetchError | undefined {
  if (!(err instanceof SafeFetchError) || err.code !== 'ERR_NETWORK' || systemCode(err) !== MOCK_NOT_MATCHED) return undefined
  const url = redactUrlForError(req.url)
  return new SafeFetchError(
    'ERR_MOCK_NOT_MATCHED',
    `no mock matched ${req.method} ${url}: the dispatcher has no interceptor for this method, path, headers and body, and net connect is disabled (docs/testing.md)`,
    { url, cause: err.cause },
  )
}

/** Resolves and judges the request's host, then dispatches to the request's own origin. */
function checkedRoute(options: MockTransportOptions): Route {
  return async (req: OutboundRequest, _ctx: CallContext, urlText: string): Promise<DispatchTarget> => {
    const url = req.url
    const { port, addresses, dnsMs } = await resolveCheckedTarget(url, urlText, options)
    return { origin: url.origin, path: url.pathname + url.search, headers: req.headers, dnsMs, remoteAddress: addresses[0]!, remotePort: port }
  }
}
