/**
 * The `bin` as a user installs it: package.json points at the built file, the source keeps its
 * shebang (tsc copies it), and — when `npm run build` has run, as in CI and land.sh — the built
 * file starts with plain node (no tsx) and gives the same verdicts as the source.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI_SOURCE, ROOT, runCli } from './run-cli.js'

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string>; files?: string[] }
const built = join(ROOT, pkg.bin?.safefetch ?? 'missing')

describe('the safefetch bin', () => {
  it('is declared in package.json, shipped, and maps to the CLI source', () => {
    expect(pkg.bin).toEqual({ safefetch: './dist/cli/main.js' })
    expect(pkg.files).toContain('dist')
    expect(readFileSync(CLI_SOURCE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it.skipIf(!existsSync(built))('runs from dist/ with plain node', async () => {
    expect(readFileSync(built, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    const r = await runCli(['check', '--json', 'http://169.254.169.254/'], { bin: built })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out)).toMatchObject([{ allowed: false, reason: { check: 'address', address: { name: 'link-local' } } }])
    const version = await runCli(['--version'], { bin: built })
    expect(version.out.trim()).toMatch(/^\d+\.\d+\.\d+/)
  })
})
