/**
 * pino is an optional peer dependency: the library only needs its types (the caller passes its
 * own logger). The two places that make a logger themselves — `recordingLogger()` in
 * `safefetch/testing` and the CLI's `-v` — load it when they are called, so importing either
 * module works without pino installed, and a missing pino is one clear error, not a crash at
 * import time (ERR_MODULE_NOT_FOUND from a static import).
 */
import { createRequire } from 'node:module'
import type pino from 'pino'
import { SafeFetchError } from './errors.js'

type Pino = typeof pino

const require = createRequire(import.meta.url)
let loaded: Pino | undefined

/** pino, resolved from the caller's installation; `feature` names what needed it in the error. */
export function loadPino(feature: string): Pino {
  if (loaded !== undefined) return loaded
  try {
    loaded = require('pino') as Pino
    return loaded
  } catch (cause) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${feature} needs pino, an optional peer dependency of safefetch: install it (npm install pino)`, { cause })
  }
}
