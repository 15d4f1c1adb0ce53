import { describe, expect, it } from 'vitest'
import { BodyCapture } from '../../src/cache/body-capture.js'
import { until } from '../support/waiting.js'

/** A source of `count` chunks of `size` bytes that records how many chunks were pulled. */
function source(count: number, size: number, fail = false) {
  const state = { pulled: 0, cancelled: false }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled === count) {
          if (fail) controller.error(new Error('boom'))
          else controller.close()
          return
        }
        controller.enqueue(new Uint8Array(size).fill(state.pulled + 1))
        state.pulled++
      },
      cancel() {
        state.cancelled = true
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, state }
}

function sink() {
  const result: { body?: Uint8Array; abandoned: boolean } = { abandoned: false }
  return {
    result,
    sink: {
      complete: (body: Uint8Array) => (result.body = body),
      abandon: () => (result.abandoned = true),
    },
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<number> {
  let bytes = 0
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return bytes
    bytes += value.byteLength
  }
}

describe('BodyCapture', () => {
  it('streams chunk by chunk (nothing read ahead) and completes with a copy of the whole body', async () => {
    const { stream, state } = source(4, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 1000, undefined, s)
    const reader = capture.stream.getReader()
    const first = await reader.read()
    expect(first.value?.byteLength).toBe(100)
    expect(state.pulled).toBe(1)
    first.value!.fill(0) // what the caller does to its chunk does not reach the stored copy
    while (!(await reader.read()).done) {
      // read on
    }
    expect(result.body?.byteLength).toBe(400)
    expect(result.body![0]).toBe(1)
    expect(result.body![399]).toBe(4)
  })

  it('gives up the copy past the limit but keeps streaming', async () => {
    const { stream } = source(10, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 350, undefined, s)
    expect(await readAll(capture.stream)).toBe(1000)
    expect(result.abandoned).toBe(true)
    expect(result.body).toBeUndefined()
  })

  it('abandons on cancel and cancels the origin stream', async () => {
    const { stream, state } = source(10, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 10_000, undefined, s)
    const reader = capture.stream.getReader()
    await reader.read()
    await reader.cancel()
    expect(result.abandoned).toBe(true)
    expect(state.cancelled).toBe(true)
  })

  it('abandons on an origin error and passes the error on', async () => {
    const { stream } = source(2, 100, true)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 10_000, undefined, s)
    await expect(readAll(capture.stream)).rejects.toThrow('boom')
    expect(result.abandoned).toBe(true)
  })

  it('pump(): completes the copy without the caller reading, and the caller still gets every byte', async () => {
    const { stream, state } = source(5, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 10_000, 500, s)
    capture.pump()
    await until(() => result.body !== undefined, 'the pump to complete the copy')
    expect(state.pulled).toBe(5)
    expect(result.body?.byteLength).toBe(500)
    expect(await readAll(capture.stream)).toBe(500)
  })

  it('pump(): while the caller is behind, tiny chunks are merged, not queued one object per byte', async () => {
    const { stream, state } = source(20_000, 1)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 100_000, undefined, s)
    capture.pump()
    await until(() => result.body !== undefined, 'the pump to complete the copy')
    expect(state.pulled).toBe(20_000)
    expect(result.body?.byteLength).toBe(20_000)
    const reader = capture.stream.getReader()
    let chunks = 0
    const bytes: number[] = []
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks++
      bytes.push(...next.value)
    }
    expect(bytes).toHaveLength(20_000)
    expect(bytes.slice(0, 3)).toEqual([1, 2, 3])
    expect(bytes[19_999]).toBe(20_000 % 256)
    // 20 000 queued chunks before; now the first one plus a few 16 KiB merge buffers.
    expect(chunks).toBeLessThan(10)
  })

  it('pump(): a caller that cancels does not stop the copy others wait for', async () => {
    const { stream, state } = source(5, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 10_000, undefined, s)
    const reader = capture.stream.getReader()
    await reader.read()
    capture.pump()
    await reader.cancel()
    await until(() => result.body !== undefined, 'the copy to complete after the cancel')
    expect(state.cancelled).toBe(false)
    expect(result.body?.byteLength).toBe(500)
  })

  it('pump(): stops at the limit, and the caller then reads on demand', async () => {
    const { stream, state } = source(10, 100)
    const { result, sink: s } = sink()
    const capture = new BodyCapture(stream, 250, undefined, s)
    capture.pump()
    await until(() => result.abandoned, 'the pump to give up at the limit')
    expect(result.abandoned).toBe(true)
    expect(state.pulled).toBe(3)
    expect(await readAll(capture.stream)).toBe(1000)
  })
})
