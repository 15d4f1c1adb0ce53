/**
 * A one-line progress indicator for `safefetch get`: bytes so far, rate, and a percentage when the
 * length is known. Shown on stderr only when stderr is a terminal, and only once a body has been
 * arriving for more than ~1 s: a quick call prints nothing, and a pipe or a log file never gets
 * carriage-return noise.
 */

interface ProgressStream {
  readonly isTTY?: boolean
  write(text: string): boolean
}

interface ProgressOptions {
  /** Milliseconds before the first line. Default 1000. */
  delayMs?: number
  /** Milliseconds between redraws. Default 250. */
  intervalMs?: number
  /** The declared body length, when there is one. */
  total?: number
  /** Clock in ms (tests). Default performance.now. */
  now?: () => number
}

interface Progress {
  /** Count delivered bytes. */
  add(bytes: number): void
  /** Stop and erase the line. */
  done(): void
}

const NONE: Progress = { add() {}, done() {} }

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i] as string}`
}

export function startProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
  if (stream.isTTY !== true) return NONE
  const now = options.now ?? (() => performance.now())
  const started = now()
  let bytes = 0
  let shown = false
  const draw = (): void => {
    const seconds = Math.max((now() - started) / 1000, 0.001)
    const pct =
      options.total !== undefined && options.total > 0 ? `  ${Math.min(100, Math.floor((bytes / options.total) * 100))}% of ${formatBytes(options.total)}` : ''
    stream.write(`\r\x1b[K${formatBytes(bytes)}  ${formatBytes(Math.round(bytes / seconds))}/s${pct}`)
    shown = true
  }
  let interval: NodeJS.Timeout | undefined
  const delay = setTimeout(() => {
    draw()
    interval = setInterval(draw, options.intervalMs ?? 250)
    interval.unref()
  }, options.delayMs ?? 1_000)
  delay.unref()
  return {
    add(n) {
      bytes += n
    },
    done() {
      clearTimeout(delay)
      if (interval !== undefined) clearInterval(interval)
      if (shown) stream.write('\r\x1b[K')
    },
  }
}
