/**
 * safeFetch(): fetch with secure defaults, for application code that has no client of its own.
 *
 * It uses one lazily created default client (default options, nothing global to change). A call
 * that passes client-level options (policy, lookup, tls, logger, baseUrl …) gets a one-shot client
 * with those options, closed once the response body has been delivered.
 */
import { createClient, type Client } from './client.js'
import type { FetchInput, SafeRequestInit } from './request-input.js'
import { isPlainObject } from './option-checks.js'
import { CLIENT_ONLY_OPTION_KEYS, type ClientOptions, type TimeoutOptions } from './options.js'

/**
 * A call's init plus the client options (policy, lookup, tls, logger …). `timeout` may carry
 * `connect` here: a call with it gets a one-shot client built with that connect timeout.
 */
export type SafeFetchInit = Omit<SafeRequestInit, 'timeout'> &
  Omit<ClientOptions, 'headers' | 'timeout' | 'redirect' | 'maxResponseBytes' | 'maxDecompressionRatio' | 'decompress' | 'retry' | 'cache'> & {
    timeout?: TimeoutOptions | number
  }

/** Options that shape a client (its pool, cache, stats …): passing one gives the call a one-shot client. */
const CLIENT_ONLY_KEYS = CLIENT_ONLY_OPTION_KEYS

let defaultClient: Client | undefined

export async function safeFetch(input: FetchInput, init?: SafeFetchInit): Promise<Response> {
  // The connect timeout is fixed when a pool is built, so a call that sets it needs its own client.
  const connectTimeout = init !== undefined && isPlainObject(init.timeout) && init.timeout['connect'] !== undefined
  if (init === undefined || (!connectTimeout && !CLIENT_ONLY_KEYS.some((key) => init[key] !== undefined))) {
    return (defaultClient ??= createClient()).fetch(input, init as SafeRequestInit | undefined)
  }
  const clientOptions: ClientOptions = {}
  const callInit: Record<string, unknown> = { ...init }
  for (const key of CLIENT_ONLY_KEYS) {
    if (init[key] !== undefined) (clientOptions as Record<string, unknown>)[key] = init[key]
    delete callInit[key]
  }
  if (connectTimeout) {
    clientOptions.timeout = init.timeout as TimeoutOptions
    delete callInit['timeout']
  }
  // A one-shot client serves one call: a cache it alone holds could never be hit.
  const client = createClient({ cache: false, ...clientOptions })
  let response: Response
  try {
    response = await client.fetch(input, callInit as SafeRequestInit)
  } catch (err) {
    await client.close()
    throw err
  }
  // Close the one-shot pool once the body is done; the pool closes gracefully after it.
  void client.close()
  return response
}
