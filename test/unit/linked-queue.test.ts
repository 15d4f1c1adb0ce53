import { describe, expect, it } from 'vitest'
import { LinkedQueue, type QueueLinks } from '../../src/net/linked-queue.js'

interface Item extends QueueLinks<Item> {
  readonly name: string
}

const item = (name: string): Item => ({ name, queuePrev: undefined, queueNext: undefined, queuedIn: undefined })
const names = (queue: LinkedQueue<Item>): string[] => {
  const out: string[] = []
  for (let at = queue.head; at !== undefined; at = at.queueNext) out.push(at.name)
  return out
}

describe('LinkedQueue', () => {
  it('is FIFO', () => {
    const queue = new LinkedQueue<Item>()
    for (const name of ['a', 'b', 'c']) queue.push(item(name))
    expect(queue.size).toBe(3)
    expect(queue.shift()?.name).toBe('a')
    expect(queue.shift()?.name).toBe('b')
    expect(queue.shift()?.name).toBe('c')
    expect(queue.shift()).toBeUndefined()
    expect(queue.size).toBe(0)
    expect(queue.head).toBeUndefined()
    expect(queue.tail).toBeUndefined()
  })

  it('removes from the head, the middle and the tail, and unlinks the item', () => {
    const queue = new LinkedQueue<Item>()
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [Item, Item, Item, Item]
    for (const i of [a, b, c, d]) queue.push(i)
    expect(queue.remove(b)).toBe(true)
    expect(names(queue)).toEqual(['a', 'c', 'd'])
    expect(b).toMatchObject({ queuePrev: undefined, queueNext: undefined, queuedIn: undefined })
    expect(queue.remove(a)).toBe(true)
    expect(queue.remove(d)).toBe(true)
    expect(names(queue)).toEqual(['c'])
    expect(queue.head).toBe(c)
    expect(queue.tail).toBe(c)
    expect(c.queuePrev).toBeUndefined()
    expect(c.queueNext).toBeUndefined()
    expect(queue.size).toBe(1)
  })

  it('removing an item that is not in the queue changes nothing', () => {
    const one = new LinkedQueue<Item>()
    const other = new LinkedQueue<Item>()
    const a = item('a')
    const b = item('b')
    one.push(a)
    other.push(b)
    expect(one.remove(b)).toBe(false)
    expect(one.remove(item('c'))).toBe(false)
    expect(one.remove(a)).toBe(true)
    expect(one.remove(a)).toBe(false)
    expect(one.size).toBe(0)
    expect(other.size).toBe(1)
    expect(names(other)).toEqual(['b'])
  })

  it('an item can be queued again after it left', () => {
    const queue = new LinkedQueue<Item>()
    const a = item('a')
    queue.push(a)
    queue.push(item('b'))
    queue.remove(a)
    queue.push(a)
    expect(names(queue)).toEqual(['b', 'a'])
    expect(a.queuedIn).toBe(queue)
  })
})
