/**
 * The `bin` declaration: package.json points at the built file and the source keeps its shebang
 * (tsc copies it). The packed package runs it as npm links it in
 * test/integration/packed-consumer.test.ts; .ci/run also starts dist/cli/main.js after the build.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI_SOURCE, ROOT } from './run-cli.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string>; files?: string[] }

describe('the safefetch bin', () => {
  it('is declared in package.json, shipped, and maps to the CLI source', () => {
    expect(pkg.bin).toEqual({ safefetch: './dist/cli/main.js' })
    expect(pkg.files).toContain('dist')
    expect(readFileSync(CLI_SOURCE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })
})
