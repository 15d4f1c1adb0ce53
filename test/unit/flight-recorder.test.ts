import { describe, expect, it } from 'vitest'
import type { CallRecord } from '../../src/types.js'
import { FlightRecorder } from '../../src/observe/flight-recorder.js'

function record(id: string, over: Partial<CallRecord> = {}): CallRecord {
  return { id, method: 'GET', url: 'https://a.test/', startedAt: 0, attempts: 1, redirects: 0, bytes: 0, timings: {}, attemptLog: [], ...over }
}

describe('FlightRecorder', () => {
  it('keeps the last N, newest first', () => {
    let t = 0
    const recorder = new FlightRecorder(3, () => t)
    for (let i = 1; i <= 5; i++) {
      t = i * 1000
      recorder.add(record(`c${i}`, { errorCode: 'ERR_NETWORK' }), { code: 'ERR_NETWORK', message: `failure ${i}` })
    }
    const recent = recorder.recent()
    expect(recent.map((e) => e.record.id)).toEqual(['c5', 'c4', 'c3'])
    expect(recent[0]).toMatchObject({ at: new Date(5000).toISOString(), error: { code: 'ERR_NETWORK', message: 'failure 5' } })
  })

  it('returns fewer entries before it is full', () => {
    const recorder = new FlightRecorder(50)
    recorder.add(record('only', { status: 503 }))
    expect(recorder.recent().map((e) => e.record.id)).toEqual(['only'])
    expect(recorder.recent()[0]!.error).toBeUndefined()
  })

  it('stores a copy: later changes to the record do not reach it', () => {
    const recorder = new FlightRecorder(2)
    const r = record('c1', { errorCode: 'ERR_DNS', attemptLog: [{ attempt: 1, hop: 0, url: 'https://a.test/', timings: { dns: 3 } }] })
    recorder.add(r)
    r.bytes = 99
    r.attemptLog[0]!.timings.dns = 1000
    const stored = recorder.recent()[0]!.record
    expect(stored.bytes).toBe(0)
    expect(stored.attemptLog[0]!.timings.dns).toBe(3)
  })

  it('size 0 records nothing; clear() empties it', () => {
    const none = new FlightRecorder(0)
    none.add(record('x', { errorCode: 'ERR_DNS' }))
    expect(none.recent()).toEqual([])
    const recorder = new FlightRecorder(2)
    recorder.add(record('x', { errorCode: 'ERR_DNS' }))
    recorder.clear()
    expect(recorder.recent()).toEqual([])
  })

  const failures: [Partial<CallRecord>, boolean][] = [
    [{ status: 200 }, false],
    [{ status: 404 }, false],
    [{ status: 500 }, true],
    [{ status: 503 }, true],
    [{ errorCode: 'ERR_DEADLINE_EXCEEDED' }, true],
    [{ status: 200, errorCode: 'ERR_READ_TIMEOUT' }, true],
  ]
  it.each(failures)('isFailure(%j) → %s', (over, expected) => {
    expect(FlightRecorder.isFailure(record('x', over))).toBe(expected)
  })
})

describe('FlightRecorder copies', () => {
  it('still records a record that carries something structuredClone refuses', () => {
    const recorder = new FlightRecorder(1)
    const r = Object.assign(record('odd', { errorCode: 'ERR_NETWORK' }), { hook: () => 1 })
    recorder.add(r)
    expect(recorder.recent()[0]!.record.id).toBe('odd')
  })

  it('redacts attempt and final URLs written by layers below', () => {
    const recorder = new FlightRecorder(1)
    recorder.add(
      record('r', {
        errorCode: 'ERR_NETWORK',
        finalUrl: 'https://b.test/x?token=t1',
        attemptLog: [{ attempt: 1, hop: 0, url: 'https://u:p@a.test/?sig=s', timings: {} }],
      }),
    )
    const stored = recorder.recent()[0]!.record
    expect(stored.finalUrl).toBe('https://b.test/x?token=REDACTED')
    expect(stored.attemptLog[0]!.url).toBe('https://REDACTED:REDACTED@a.test/?sig=REDACTED')
  })
})
