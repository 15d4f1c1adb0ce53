#!/usr/bin/env node
/**
 * After `tsc` has emitted dist/: marks the type imports of optional peer dependencies (pino,
 * @opentelemetry/api, ioredis) in every .d.ts with `// @ts-ignore`, so a consumer that type-checks
 * with `skipLibCheck: false` and has not installed them gets no TS2307 (the types are then `any`),
 * while a consumer that has them installed gets the real `Logger`, `Tracer` and `Meter` types.
 * (tsc does not keep such comments on imports in its declaration output, hence this step.)
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const OPTIONAL_PEERS = ['pino', '@opentelemetry/api', 'ioredis']

const IMPORT = new RegExp(`^(import(?: type)? [^;]*? from '(?:${OPTIONAL_PEERS.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})';?)$`, 'gm')
const MARK = '// @ts-ignore -- optional peer dependency: without it these types are `any`'

export function markOptionalPeerImports(dir) {
  let changed = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue
    const file = join(entry.parentPath ?? entry.path, entry.name)
    const text = readFileSync(file, 'utf8')
    const next = text.replace(IMPORT, (line, _m, offset) =>
      text.slice(Math.max(0, offset - MARK.length - 1), offset).startsWith(MARK) ? line : `${MARK}\n${line}`,
    )
    if (next !== text) {
      writeFileSync(file, next)
      changed++
    }
  }
  return changed
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'dist'
  markOptionalPeerImports(dir)
}
