/**
 * One 'abort' listener per caller's AbortSignal, however many calls share it.
 *
 * Adding a listener per call made eleven or more concurrent calls on one signal trip Node's
 * MaxListenersExceededWarning (a leak warning for EventTarget at 10 listeners); Node's fetch does
 * not warn there. Here the first call on a signal adds a single listener that fans out to a Set of
 * the calls still waiting on it, and the last one to finish removes it. The map is weak, so a
 * signal nobody holds any more is not kept alive.
 */

type Listener = () => void

interface Fanout {
  readonly listeners: Set<Listener>
  readonly onAbort: () => void
}

const fanouts = new WeakMap<AbortSignal, Fanout>()

/**
 * Calls `listener` once when `signal` aborts (not at once when already aborted: check
 * `signal.aborted` first). Returns a function that stops listening; calling it again is harmless.
 */
export function onUserAbort(signal: AbortSignal, listener: Listener): () => void {
  let fanout = fanouts.get(signal)
  if (fanout === undefined) {
    const listeners = new Set<Listener>()
    const onAbort = (): void => {
      fanouts.delete(signal)
      const waiting = [...listeners]
      listeners.clear()
      for (const each of waiting) {
        try {
          each()
        } catch {
          // One call failing to clean up must not stop the others.
        }
      }
    }
    fanout = { listeners, onAbort }
    fanouts.set(signal, fanout)
    signal.addEventListener('abort', onAbort, { once: true })
  }
  const current = fanout
  current.listeners.add(listener)
  return () => {
    if (!current.listeners.delete(listener) || current.listeners.size > 0) return
    if (fanouts.get(signal) === current) fanouts.delete(signal)
    signal.removeEventListener('abort', current.onAbort)
  }
}
