/**
 * The live, per-client state that calls share: the connection pool and the objects that keep
 * counts across calls (stats, budgets, breakers, cache). One per client, never global.
 * A `configure()` replaces the options generation; this object lives as long as the client.
 */
import type { Dispatcher } from 'undici'
import type { ResolvedClientOptions } from './options.js'
import type { HttpCache } from './cache/http-cache.js'
import type { RedactRules } from './observe/redact.js'

export interface ClientRuntime {
  /** The options generation the call started with. */
  readonly options: ResolvedClientOptions
  /** The guarded undici Agent of that generation. */
  readonly dispatcher: Dispatcher
  /** The client's HTTP cache (kept across configure()); undefined when caching is off. */
  readonly cache: HttpCache | undefined
  /**
   * The client's redaction rules, for text built below the observe layer (attempt URLs, error
   * messages), also in work without an observe layer of its own (background revalidation).
   */
  readonly observe?: { readonly redact: RedactRules }
}
