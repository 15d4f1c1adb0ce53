/**
 * safeFetch(): fetch with secure defaults, for application code that has no client of its own.
 *
 * It uses one lazily created default client (default options, nothing global to change). A call
 * that passes client-level options (policy, lookup, tls, logger, baseUrl …) gets a one-shot client
 * with those options, closed once the response body has been delivered.
 */
import { createClient, type Client, type FetchInput, type SafeRequestInit } from './client.js'
import { CLIENT_ONLY_OPTION_KEYS, type ClientOptions } from './options.js'

export type SafeFetchInit = SafeRequestInit & Omit<ClientOptions, 'headers' | 'timeout' | 'redirect' | 'maxResponseBytes' | 'maxDecompressionRatio' | 'decompress' | 'retry' | 'cache'>

/** Options that shape a client (its pool, cache, stats …): passing one gives the call a one-shot client. */
const CLIENT_ONLY_KEYS = CLIENT_ONLY_OPTION_KEYS

let defaultClient: Client | undefined

export async function safeFetch(input: FetchInput, init?: SafeFetchInit): Promise<Response> {
  if (init === undefined || !CLIENT_ONLY_KEYS.some((key) => init[key] !== undefined)) {
    return (defaultClient ??= createClient()).fetch(input, init)
  }
  const clientOptions: ClientOptions = {}
  for (const key of CLIENT_ONLY_KEYS) {
    if (init[key] !== undefined) (clientOptions as Record<string, unknown>)[key] = init[key]
  }
  // A one-shot client serves one call: a cache it alone holds could never be hit.
  const client = createClient({ cache: false, ...clientOptions })
  let response: Response
  try {
    response = await client.fetch(input, init)
  } catch (err) {
    await client.close()
    throw err
  }
  // Close the one-shot pool once the body is done; the pool closes gracefully after it.
  void client.close()
  return response
}
