/**
 * Body chunks held in memory (a body nobody reads yet, a body being collected whole), counted by
 * the memory they keep alive rather than by their data bytes.
 *
 * Why: undici hands each body chunk as a view of the socket read that carried it. A 1-byte chunk
 * behind a 60 KB chunk extension keeps the whole ~64 KB read buffer alive, so 20 KB of such data
 * held ~1.2 GB; plain 1-byte chunks cost ~110 bytes of object per data byte. So:
 * - a chunk that is a small view of a much larger buffer is copied (it would pin the rest);
 * - runs of small chunks are merged into one buffer (one object per MERGE_CAPACITY bytes);
 * - a chunk that fills most of its buffer is kept as is: a normal 1 KiB or 64 KiB body pays no copy.
 * What is held is then at most about twice its data bytes, plus one merge buffer.
 */

/** Chunks shorter than this are merged with their neighbours. */
const SMALL_CHUNK = 4 * 1024
const MERGE_CAPACITY = 16 * 1024
/** Estimated bytes a held chunk costs besides its data (typed array + ArrayBuffer objects, backing-store header). */
export const CHUNK_OVERHEAD = 200

/** Whether keeping `chunk` keeps alive more than twice its own bytes (the rest of a socket read, or a zlib output buffer). */
export function pinsMore(chunk: Uint8Array): boolean {
  return chunk.buffer.byteLength > 2 * chunk.byteLength
}

/** An exact-size copy that owns its memory (not Buffer's shared pool, which would pin 8 KiB slabs). */
function copyOf(chunk: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(chunk)
}

/** The chunk itself, or an exact copy when keeping it would pin more than twice its bytes. */
export function compact(chunk: Uint8Array): Uint8Array {
  return pinsMore(chunk) ? copyOf(chunk) : chunk
}

export class HeldChunks {
  private list: Uint8Array[] = []
  /** Data bytes held. */
  bytes = 0
  /** Memory held: backing stores kept alive (a kept view counts its whole buffer) plus CHUNK_OVERHEAD each. */
  retained = 0
  /** The merge buffer the last entry of `list` is a view of, while it has room. */
  private merge: Uint8Array | undefined
  private mergeUsed = 0

  get length(): number {
    return this.list.length
  }

  add(chunk: Uint8Array): void {
    const length = chunk.byteLength
    if (length === 0) return
    this.bytes += length
    const list = this.list
    if (length < SMALL_CHUNK) {
      const merge = this.merge
      if (merge !== undefined && this.mergeUsed + length <= merge.byteLength) {
        merge.set(chunk, this.mergeUsed)
        this.mergeUsed += length
        list[list.length - 1] = merge.subarray(0, this.mergeUsed)
        return
      }
      // Fast path: a lone small chunk (a small body) that does not pin a larger buffer is kept as is.
      if (list.length === 0 && !pinsMore(chunk)) {
        list.push(chunk)
        this.retained += chunk.buffer.byteLength + CHUNK_OVERHEAD
        return
      }
      this.closeMerge()
      const fresh = new Uint8Array(MERGE_CAPACITY)
      let used = 0
      // A lone small chunk kept by the fast path joins the merge, so small chunks never pile up one by one.
      const first = list.length === 1 ? list[0]! : undefined
      if (first !== undefined && first.byteLength < SMALL_CHUNK) {
        fresh.set(first, 0)
        used = first.byteLength
        this.retained -= first.buffer.byteLength + CHUNK_OVERHEAD
        list.pop()
      }
      fresh.set(chunk, used)
      this.merge = fresh
      this.mergeUsed = used + length
      list.push(fresh.subarray(0, this.mergeUsed))
      this.retained += MERGE_CAPACITY + CHUNK_OVERHEAD
      return
    }
    this.closeMerge()
    if (pinsMore(chunk)) {
      list.push(copyOf(chunk))
      this.retained += length + CHUNK_OVERHEAD
    } else {
      list.push(chunk)
      this.retained += chunk.buffer.byteLength + CHUNK_OVERHEAD
    }
  }

  /** Everything held, in order; the holder is empty afterwards. */
  take(): Uint8Array[] {
    const list = this.list
    this.list = []
    this.bytes = 0
    this.retained = 0
    this.merge = undefined
    this.mergeUsed = 0
    return list
  }

  /** The merge buffer gets no more bytes: if it is mostly empty, keep an exact copy instead. */
  private closeMerge(): void {
    const merge = this.merge
    if (merge === undefined) return
    this.merge = undefined
    if (this.mergeUsed * 2 < merge.byteLength) {
      this.list[this.list.length - 1] = merge.slice(0, this.mergeUsed)
      this.retained -= merge.byteLength - this.mergeUsed
    }
  }
}
