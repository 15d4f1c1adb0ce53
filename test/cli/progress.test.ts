import { afterEach, describe, expect, it, vi } from 'vitest'
import { formatBytes, startProgress } from '../../src/cli/progress.js'

function stream(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): boolean } {
  return {
    isTTY,
    text: '',
    write(t: string) {
      this.text += t
      return true
    },
  }
}

describe('progress indicator', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('stays silent when stderr is not a terminal', () => {
    vi.useFakeTimers()
    const s = stream(false)
    const p = startProgress(s)
    p.add(5_000_000)
    vi.advanceTimersByTime(5_000)
    p.done()
    expect(s.text).toBe('')
  })

  it('stays silent for a body that ends within the delay', () => {
    vi.useFakeTimers()
    const s = stream(true)
    const p = startProgress(s)
    p.add(1000)
    vi.advanceTimersByTime(900)
    p.done()
    vi.advanceTimersByTime(5_000)
    expect(s.text).toBe('')
  })

  it('shows bytes, rate and percentage after the delay, then erases its line', () => {
    vi.useFakeTimers()
    let now = 0
    const s = stream(true)
    const p = startProgress(s, { total: 4 * 1024 * 1024, now: () => now })
    p.add(2 * 1024 * 1024)
    now = 2_000
    vi.advanceTimersByTime(1_000)
    expect(s.text).toBe('\r\x1b[K2.0 MiB  1.0 MiB/s  50% of 4.0 MiB')
    p.add(2 * 1024 * 1024)
    now = 2_250
    vi.advanceTimersByTime(250)
    expect(s.text.endsWith('4.0 MiB  1.8 MiB/s  100% of 4.0 MiB')).toBe(true)
    p.done()
    expect(s.text.endsWith('\r\x1b[K')).toBe(true)
  })

  it('formats sizes in binary units', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(25 * 1024 * 1024), formatBytes(3 * 1024 ** 3)]).toEqual([
      '0 B',
      '1023 B',
      '1.5 KiB',
      '25 MiB',
      '3.0 GiB',
    ])
  })
})
