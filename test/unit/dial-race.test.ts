import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { dialRace, interleaveFamilies, type AttemptOutcome } from '../../src/net/dial-race.js'

interface Fake {
  readonly address: string
  settle: (outcome: AttemptOutcome<string>) => void
  stopped: boolean
}

function race(addresses: string[]) {
  const attempts: Fake[] = []
  const result: { error?: Error; value?: string; calls: number } = { calls: 0 }
  const discarded: string[] = []
  const cancel = dialRace<string>(addresses, {
    attempt: (address, settle) => {
      const fake: Fake = { address, settle, stopped: false }
      attempts.push(fake)
      return () => void (fake.stopped = true)
    },
    done: (error, value) => {
      result.calls++
      if (error !== undefined) result.error = error
      if (value !== undefined) result.value = value
    },
    discard: (value) => void discarded.push(value),
    noAddress: () => new Error('no address'),
  })
  return { attempts, result, discarded, cancel }
}

describe('interleaveFamilies (RFC 8305 §4)', () => {
  it.each([
    [[], []],
    [['::1'], ['::1']],
    [
      ['1.1.1.1', '2.2.2.2'],
      ['1.1.1.1', '2.2.2.2'],
    ],
    [
      ['a::1', 'a::2', '1.1.1.1', '2.2.2.2'],
      ['a::1', '1.1.1.1', 'a::2', '2.2.2.2'],
    ],
    [
      ['1.1.1.1', 'a::1', 'a::2', 'a::3'],
      ['1.1.1.1', 'a::1', 'a::2', 'a::3'],
    ],
    [
      ['1.1.1.1', '2.2.2.2', '3.3.3.3', 'a::1'],
      ['1.1.1.1', 'a::1', '2.2.2.2', '3.3.3.3'],
    ],
  ])('%j -> %j', (input, expected) => {
    expect(interleaveFamilies(input)).toEqual(expected)
  })
})

describe('dialRace (RFC 8305 §5)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('starts the next address after 250 ms; the first to connect wins and the others are stopped', () => {
    const { attempts, result } = race(['a::1', '1.1.1.1', 'a::2'])
    expect(attempts.map((a) => a.address)).toEqual(['a::1'])
    vi.advanceTimersByTime(249)
    expect(attempts).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(attempts.map((a) => a.address)).toEqual(['a::1', '1.1.1.1'])
    attempts[1]!.settle({ value: 'v4 socket' })
    expect(result).toEqual({ calls: 1, value: 'v4 socket' })
    expect(attempts[0]!.stopped).toBe(true)
    // Nothing else starts after the race is decided.
    vi.advanceTimersByTime(1_000)
    expect(attempts).toHaveLength(2)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('a failed attempt starts the next one at once; all failing reports the last error', () => {
    const { attempts, result } = race(['1.1.1.1', '2.2.2.2'])
    attempts[0]!.settle({ error: new Error('refused 1'), final: false })
    expect(attempts).toHaveLength(2)
    expect(result.calls).toBe(0)
    attempts[1]!.settle({ error: new Error('refused 2'), final: false })
    expect(result.calls).toBe(1)
    expect(result.error?.message).toBe('refused 2')
  })

  it('waits for attempts still running before failing', () => {
    const { attempts, result } = race(['1.1.1.1', '2.2.2.2'])
    vi.advanceTimersByTime(250)
    attempts[1]!.settle({ error: new Error('refused 2'), final: false })
    expect(result.calls).toBe(0)
    attempts[0]!.settle({ value: 'late but fine' })
    expect(result).toEqual({ calls: 1, value: 'late but fine' })
  })

  it('a final failure ends the race and stops the rest', () => {
    const { attempts, result } = race(['1.1.1.1', '2.2.2.2', '3.3.3.3'])
    vi.advanceTimersByTime(250)
    attempts[1]!.settle({ error: new Error('certificate'), final: true })
    expect(result.error?.message).toBe('certificate')
    expect(attempts[0]!.stopped).toBe(true)
    vi.advanceTimersByTime(1_000)
    expect(attempts).toHaveLength(2)
  })

  it('a winner that arrives after the race was decided is discarded', () => {
    const { attempts, discarded, cancel } = race(['1.1.1.1'])
    cancel()
    expect(attempts[0]!.stopped).toBe(true)
    attempts[0]!.settle({ value: 'too late' })
    expect(discarded).toEqual(['too late'])
  })

  it('no address: the noAddress error', () => {
    const { result } = race([])
    expect(result.error?.message).toBe('no address')
  })
})
