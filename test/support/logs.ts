/**
 * A real pino logger writing JSON lines into memory, read back parsed (like pino's own
 * test/helper.js `sink()`), and a pino-shaped stand-in whose calls are recorded.
 */
import { Writable } from 'node:stream'
import pino, { type Logger } from 'pino'
import { vi } from 'vitest'

export type LogLine = Record<string, unknown> & { level: number; msg: string }

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const

export interface LogSink {
  /** The logger (a client given it makes its own `{ client: name }` child). */
  readonly logger: Logger
  /** Every line written so far, parsed. */
  lines(): LogLine[]
  /** Everything written so far, as text (to grep for secrets). */
  text(): string
  /** The per-call summary lines ('call completed' / 'call failed'). */
  summaries(): LogLine[]
  /** The retry layer's lines ('retrying'). */
  retries(): LogLine[]
}

export interface LogSinkOptions {
  redact?: pino.LoggerOptions['redact']
  /** Bindings of a child logger, as a client adds them (e.g. `{ client: 'test' }` for a layer test). */
  bindings?: pino.Bindings
}

/** A pino logger at `level` writing to a stream that keeps the raw text. */
export function logSink(level: pino.LevelWithSilent = 'info', options: LogSinkOptions = {}): LogSink {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  const settings: pino.LoggerOptions = { level }
  if (options.redact !== undefined) settings.redact = options.redact
  const root = pino(settings, stream)
  const logger = options.bindings === undefined ? root : root.child(options.bindings)
  const text = (): string => chunks.join('')
  const lines = (): LogLine[] =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine)
  return {
    logger,
    text,
    lines,
    summaries: () => lines().filter((l) => l.msg === 'call completed' || l.msg === 'call failed'),
    retries: () => lines().filter((l) => l.msg === 'retrying'),
  }
}

/** A pino-shaped logger whose calls are recorded (`warn` is the one the layers use). */
export function fakeLogger(): Logger & { warn: ReturnType<typeof vi.fn> } {
  const logger = { warn: vi.fn(), info: vi.fn(), error: vi.fn(), debug: vi.fn() }
  return logger as unknown as Logger & { warn: ReturnType<typeof vi.fn> }
}
