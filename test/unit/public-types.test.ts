/**
 * The types the docs name are exported from the package entry (issue 11). Type-checked by
 * `npm run typecheck`; the assertions keep the imports honest at runtime too.
 */
import { describe, expect, it } from 'vitest'
import type {
  CallBlockedMessage,
  CallEndMessage,
  CallErrorMessage,
  CallRetryMessage,
  CallStartMessage,
  CallTimeoutOptions,
  RedactRules,
  SafeFetchErrorDetails,
  StatsOptions,
  StatsSnapshot,
  OriginStats,
} from '../../src/index.js'
import { createClient } from '../../src/index.js'

describe('public types', () => {
  it('are exported from the entry point', () => {
    const timeouts: CallTimeoutOptions = { total: 1_000, headers: 500 }
    const stats: StatsOptions = { windowMs: 60_000 }
    const details: SafeFetchErrorDetails = { url: 'https://example.test/' }
    const names: (
      | keyof CallStartMessage
      | keyof CallEndMessage
      | keyof CallErrorMessage
      | keyof CallRetryMessage
      | keyof CallBlockedMessage
      | keyof RedactRules
      | keyof StatsSnapshot
      | keyof OriginStats
    )[] = []
    expect(timeouts.total).toBe(1_000)
    expect(stats.windowMs).toBe(60_000)
    expect(details.url).toBe('https://example.test/')
    expect(names).toEqual([])
    const client = createClient({ cache: false, stats })
    expect(client.options.observe.stats).toMatchObject({ windowMs: 60_000 })
    void client.close()
  })
})
