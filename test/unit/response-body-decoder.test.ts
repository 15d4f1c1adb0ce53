/**
 * The decoder's input queue is bounded by memory, not only by data bytes (response-body.ts). zlib
 * decodes on the thread pool; while it lags, what the socket delivers queues in front of it. The
 * stream's own high-water mark counts 16 KiB of data, so a body of 1-byte chunks could queue 16 Ki
 * chunk objects (~3 MB of heap) before the socket was paused — on a loaded machine it did.
 */
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type { Dispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { BodySettle, CallSignal } from '../../src/call-signal.js'
import { CHUNK_OVERHEAD } from '../../src/net/held-chunks.js'
import { ResponseBody } from '../../src/net/response-body.js'

/** What undici's controller does for the body: pause and resume the socket. */
function socketControl() {
  let resumed: (() => void) | undefined
  const control = {
    paused: false,
    pauses: 0,
    pause() {
      control.paused = true
      control.pauses++
    },
    resume() {
      control.paused = false
      resumed?.()
    },
    /** Resolves when the body asks for the socket again. */
    nextResume: () => new Promise<void>((resolve) => (resumed = resolve)),
  }
  return control
}

describe('ResponseBody: decoder input', () => {
  it('pauses the socket while a few dozen 1-byte chunks wait for zlib, and decodes the whole body', async () => {
    const decoded = randomBytes(4000)
    const wire = gzipSync(decoded)
    const body = new ResponseBody(['gzip'], { maxBytes: 1 << 20, maxRatio: 100, readTimeout: 0 }, new BodySettle(), new CallSignal(), 'http://x.test/')
    const control = socketControl()
    body.attach(control as unknown as Dispatcher.DispatchController)
    const collected = body.collect()

    // The socket delivers while it is not paused, one byte per chunk (chunk extensions make such bodies cheap to send).
    let queuedBeforeFirstPause = 0
    for (let i = 0; i < wire.length; i++) {
      if (control.paused) {
        const resumed = control.nextResume()
        await resumed
      }
      body.push(Buffer.from(wire.subarray(i, i + 1)))
      if (control.pauses === 0) queuedBeforeFirstPause++
    }
    body.end()

    expect(Buffer.from(await collected).equals(decoded)).toBe(true)
    // Paused long before the 16 KiB (Node 20) / 64 KiB (Node 22+) of data the stream's own
    // high-water mark allows (here never reached): at 16 KiB of data plus chunk objects.
    expect(control.pauses).toBeGreaterThan(0)
    expect(queuedBeforeFirstPause).toBeLessThanOrEqual(Math.ceil((16 * 1024) / CHUNK_OVERHEAD))
  })
})
