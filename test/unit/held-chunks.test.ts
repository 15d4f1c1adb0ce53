import { describe, expect, it } from 'vitest'
import { compact, HeldChunks, pinsMore } from '../../src/net/held-chunks.js'

/** A view of `length` bytes inside a buffer of `size` bytes, like undici's chunks of a socket read. */
function view(length: number, size: number, fill = 1): Uint8Array {
  const buffer = new ArrayBuffer(size)
  const chunk = new Uint8Array(buffer, size - length, length)
  chunk.fill(fill)
  return chunk
}

function joined(chunks: Uint8Array[]): number[] {
  return chunks.flatMap((c) => [...c])
}

describe('held chunks', () => {
  it('keeps a chunk that fills most of its buffer as is (no copy on the fast path)', () => {
    const oneKiB = view(1024, 1149)
    const big = view(65410, 65536)
    expect(pinsMore(oneKiB)).toBe(false)
    expect(compact(oneKiB)).toBe(oneKiB)
    const held = new HeldChunks()
    held.add(oneKiB)
    held.add(big)
    const list = held.take()
    expect(list[0]).toBe(oneKiB)
    expect(list[1]).toBe(big)
  })

  it('copies a small view of a large buffer, so it no longer pins the buffer', () => {
    const pinned = view(1, 60_000)
    expect(pinsMore(pinned)).toBe(true)
    const copy = compact(pinned)
    expect(copy.buffer.byteLength).toBe(1)
    expect([...copy]).toEqual([1])
    const bigPinned = view(8000, 64_000)
    const held = new HeldChunks()
    held.add(bigPinned)
    expect(held.take()[0]!.buffer.byteLength).toBe(8000)
  })

  it('merges runs of small chunks: 100 000 one-byte chunks become a few buffers', () => {
    const held = new HeldChunks()
    for (let i = 0; i < 100_000; i++) held.add(view(1, 64, i % 251))
    expect(held.bytes).toBe(100_000)
    expect(held.length).toBeLessThan(10)
    expect(held.retained).toBeLessThan(2 * 100_000)
    const list = held.take()
    const bytes = joined(list)
    expect(bytes).toHaveLength(100_000)
    expect(bytes.slice(0, 3)).toEqual([0, 1, 2])
    expect(bytes[99_999]).toBe(99_999 % 251)
    expect(held.bytes).toBe(0)
  })

  it('keeps order across small, large and small chunks and trims a mostly empty merge buffer', () => {
    const held = new HeldChunks()
    held.add(view(10, 20, 1)) // lone small chunk: kept
    held.add(view(10, 30_000, 2)) // second small chunk: both merged
    held.add(view(5000, 5000, 3)) // large: the merge buffer is closed (trimmed)
    held.add(view(1, 1, 4))
    const list = held.take()
    expect(list.map((c) => c.byteLength)).toEqual([20, 5000, 1])
    expect(list[0]!.buffer.byteLength).toBe(20)
    expect(joined(list)).toEqual([...Array(10).fill(1), ...Array(10).fill(2), ...Array(5000).fill(3), 4])
  })

  it('counts retained memory, not data: a kept view counts its whole buffer', () => {
    const held = new HeldChunks()
    held.add(view(6000, 10_000))
    expect(held.bytes).toBe(6000)
    expect(held.retained).toBeGreaterThanOrEqual(10_000)
  })
})
