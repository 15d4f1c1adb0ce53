import { describe, expect, it } from 'vitest'
import type { CallInfo } from '../../src/index.js'
import { formatTimings } from '../../src/cli/timings.js'

function record(over: Partial<CallInfo>): CallInfo {
  return { id: 'x-1', method: 'GET', url: 'https://api.test/', startedAt: 0, attempts: 1, redirects: 0, bytes: 2048, timings: {}, attemptLog: [], ...over }
}

describe('formatTimings', () => {
  it('aligns every phase, bars scaled to the longest, and summarises the call', () => {
    const text = formatTimings(
      record({
        status: 200,
        cache: 'miss',
        remoteAddress: '2001:db8::1',
        durationMs: 250.5,
        timings: { queued: 0.5, dns: 10, connect: 20, tls: 30, firstByte: 100, download: 100, total: 200 },
        attemptLog: [{ attempt: 1, hop: 0, url: 'https://api.test/', remotePort: 443, reusedConnection: false, timings: {} }],
      }),
      'OK',
    )
    const lines = text.split('\n')
    expect(lines.slice(0, 7)).toEqual([
      '  queued       0.50 ms  █',
      '  dns          10.0 ms  ██',
      '  connect      20.0 ms  ████',
      '  tls          30.0 ms  ██████',
      '  first byte  100.0 ms  ████████████████████',
      '  download    100.0 ms  ████████████████████',
      '  total       200.0 ms  ████████████████████████████████████████',
    ])
    expect(text).toContain('call 250.5 ms')
    expect(text).toContain('status 200 OK · cache miss · 1 request, 0 retries, 0 redirects · remote [2001:db8::1]:443 · 2.0 KiB')
  })

  it('shows a reused connection without dns/connect/tls, and the retries', () => {
    const text = formatTimings(
      record({
        status: 200,
        attempts: 2,
        remoteAddress: '127.0.0.1',
        timings: { queued: 0.1, firstByte: 3, download: 1, total: 4 },
        attemptLog: [
          { attempt: 1, hop: 0, url: 'u', status: 503, retryReason: 'status 503', retryDelayMs: 80, timings: {} },
          { attempt: 2, hop: 0, url: 'u', remotePort: 8080, reusedConnection: true, timings: {} },
        ],
      }),
    )
    expect(text).toMatch(/^ {2}dns +- *$/m)
    expect(text).toContain('retry after attempt 1: status 503, waited 80.0 ms')
    expect(text).toContain('2 requests, 1 retry')
    expect(text).toContain('remote 127.0.0.1:8080 (reused connection)')
  })

  it('says so when no request was sent', () => {
    const text = formatTimings(record({ attempts: 0, errorCode: 'ERR_ADDRESS_BLOCKED', durationMs: 1 }))
    expect(text).toContain('no phase timings: the call ended before any request was sent')
    expect(text).toContain('error ERR_ADDRESS_BLOCKED')
  })
})
