import { describe, expect, it } from 'vitest'
import { DispatchGate, type GateJob, type OriginQueue } from '../../src/net/dispatch-gate.js'
import { nextTurn } from '../support/waiting.js'

interface TestJob extends GateJob {
  readonly name: string
  live: boolean
  slot: OriginQueue | undefined
}

function job(name: string, log: string[]): TestJob {
  const j: TestJob = {
    name,
    live: true,
    slot: undefined,
    queuePrev: undefined,
    queueNext: undefined,
    queuedIn: undefined,
    admit(slot) {
      if (!j.live) {
        log.push(`${name} skipped`)
        return false
      }
      j.slot = slot
      log.push(`${name} sent`)
      return true
    },
  }
  return j
}

describe('DispatchGate', () => {
  it('admits up to the limit per origin, then queues in FIFO order', async () => {
    const gate = new DispatchGate(2)
    const log: string[] = []
    const jobs = ['a', 'b', 'c', 'd'].map((name) => job(name, log))
    for (const j of jobs) gate.enter('http://x', j)
    gate.enter('http://y', job('other', log))
    expect(log).toEqual(['a sent', 'b sent', 'other sent'])
    expect(gate.snapshot('http://x')).toEqual({ active: 2, waiting: 2 })
    gate.exit(jobs[0]!.slot!)
    // Handed on from a setImmediate, not synchronously.
    expect(log).toHaveLength(3)
    await nextTurn()
    expect(log).toEqual(['a sent', 'b sent', 'other sent', 'c sent'])
  })

  it('a freed slot skips settled waiters; withdrawn waiters leave at once', async () => {
    const gate = new DispatchGate(1)
    const log: string[] = []
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => job(name, log)) as [TestJob, TestJob, TestJob, TestJob]
    for (const j of [a, b, c, d]) gate.enter('http://x', j)
    gate.withdraw(c)
    expect(gate.snapshot('http://x')).toEqual({ active: 1, waiting: 2 })
    b.live = false
    gate.exit(a.slot!)
    await nextTurn()
    expect(log).toEqual(['a sent', 'b skipped', 'd sent'])
    gate.exit(d.slot!)
    // Idle origins keep no state.
    expect(gate.snapshot('http://x')).toEqual({ active: 0, waiting: 0 })
    expect((gate as unknown as { queues: Map<string, unknown> }).queues.size).toBe(0)
  })

  it('a job that is dead on arrival takes no slot', () => {
    const gate = new DispatchGate(1)
    const log: string[] = []
    const dead = job('dead', log)
    dead.live = false
    gate.enter('http://x', dead)
    gate.enter('http://x', job('next', log))
    expect(log).toEqual(['dead skipped', 'next sent'])
  })
})
