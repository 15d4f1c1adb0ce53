/**
 * The observe layer finishes the call at the later of two moments: the body settled, and the client
 * edge handed the Response out (handOut). The edge's own bookkeeping (ctx.onEnd) runs once, last.
 */
import { describe, expect, it } from 'vitest'
import { BodySettle } from '../../src/call-signal.js'
import { SafeFetchError } from '../../src/errors.js'
import { finishCall, handOut, observeLayer } from '../../src/layers/observe.js'
import { createObserveState, resolveObserveOptions } from '../../src/observe/observe-state.js'
import { compose } from '../../src/pipeline.js'
import { logSink } from '../support/logs.js'
import { observeCall } from '../support/contexts.js'
import { fakeTransport } from '../support/handlers.js'

async function start(settle: BodySettle) {
  const sink = logSink('info', { bindings: { client: 'test' } })
  const state = createObserveState(resolveObserveOptions({}), { name: 'test' })
  const call = observeCall({ logger: sink.logger })
  const ends: string[] = []
  call.ctx.onEnd = () => ends.push(`end with ${sink.lines().length} line(s)`)
  const response = await compose([observeLayer(state)], fakeTransport({ status: 200, settle }))(call.req, call.ctx)
  return { sink, state, ctx: call.ctx, response, ends }
}

describe('observe layer: when the call ends', () => {
  it('body settled before the hand-out: ends at the hand-out, with the settled bytes', async () => {
    const settle = new BodySettle()
    const { sink, ctx, ends } = await start(settle)
    settle.bytes = 42
    settle.finish()
    expect(sink.lines()).toHaveLength(0)
    handOut(ctx)
    expect(sink.lines()).toEqual([expect.objectContaining({ msg: 'call completed', bytes: 42, status: 200 })])
    expect(ctx.record.timings.total).toBe(ctx.record.durationMs)
    expect(ends).toEqual(['end with 1 line(s)'])
  })

  it('handed out before the body settled: ends when it settles, with its error', async () => {
    const settle = new BodySettle()
    const { sink, ctx, ends } = await start(settle)
    handOut(ctx)
    expect(sink.lines()).toHaveLength(0)
    expect(ends).toEqual([])
    settle.bytes = 7
    settle.finish(new SafeFetchError('ERR_READ_TIMEOUT', 'response body stalled'))
    expect(sink.lines()).toEqual([expect.objectContaining({ msg: 'call failed', errorCode: 'ERR_READ_TIMEOUT', bytes: 7, status: 200 })])
    expect(ends).toEqual(['end with 1 line(s)'])
  })

  it('the edge could not hand it out: its error ends the call once; the body settling later is a no-op', async () => {
    const settle = new BodySettle()
    const { sink, ctx, response, ends } = await start(settle)
    settle.bytes = 3
    finishCall(ctx, response, new SafeFetchError('ERR_BAD_RESPONSE', 'status outside 200–599'), 0)
    settle.finish()
    handOut(ctx)
    expect(sink.lines()).toEqual([expect.objectContaining({ msg: 'call failed', errorCode: 'ERR_BAD_RESPONSE', bytes: 0 })])
    expect(ends).toHaveLength(1)
  })

  it('runs the edge hook even when a report step throws', async () => {
    const settle = new BodySettle()
    const { ctx, ends } = await start(settle)
    ctx.logger!.isLevelEnabled = () => {
      throw new Error('logger broke')
    }
    settle.finish()
    expect(() => handOut(ctx)).toThrow('logger broke')
    expect(ends).toEqual(['end with 0 line(s)'])
    handOut(ctx)
    expect(ends).toHaveLength(1)
  })
})
