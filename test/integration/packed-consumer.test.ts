/**
 * Issue 10's "done when", against the package as users get it: the sources are built and packed
 * with `npm pack`, the tarball is extracted into a consumer project (TypeScript strict), and that
 * project's own vitest run mocks https://api.example.com/repos/x with MockAgent through a client
 * with cache and retries on, sees a mocked 503 retried, an unmatched request fail with
 * ERR_MOCK_NOT_MATCHED, and http://10.0.0.1/ refused. The consumer's test
 * (test/fixtures/consumer/repos.spec.ts) uses no network namespace and no tripwire of ours.
 */
import { chmod, mkdir, readFile, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { makeConsumer, packPackage, REPO, run, type PackedPackage } from '../../scripts/pack.mjs'

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    // Our own declaration files are checked too (they name pino's and @opentelemetry/api's types:
    // the consumer has those optional peers installed, as a user of recordingLogger()/`tracer` does;
    // scripts/consumer-smoke.mjs checks a consumer without them).
    skipLibCheck: false,
    noEmit: true,
  },
  include: ['test'],
}

let packed: PackedPackage
let project: string

beforeAll(async () => {
  packed = await packPackage()
  const spec = await readFile(join(REPO, 'test/fixtures/consumer/repos.spec.ts'), 'utf8')
  project = await makeConsumer(packed, {
    files: {
      'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module', devDependencies: { safefetch: '0.1.0', undici: '^7', vitest: '*' } }),
      'tsconfig.json': JSON.stringify(CONSUMER_TSCONFIG),
      'vitest.config.mjs': "export default { test: { include: ['test/**/*.spec.ts'], maxWorkers: 1, testTimeout: 20000 } }\n",
      'test/repos.spec.ts': spec,
    },
    links: ['typescript', 'vitest', '@types/node', '@opentelemetry/api', 'pino'],
  })
}, 240_000)

afterAll(async () => {
  await packed?.remove()
})

describe('the packed package in a consumer project', () => {
  test('the tarball ships both entry points, their types and docs/testing.md', () => {
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.d.ts', 'docs/testing.md', 'package.json']) {
      expect(packed.files).toContain(file)
    }
    // src/ ships because the docs link to it (issue 11); tests and source maps do not.
    expect(packed.files).toContain('src/index.ts')
    expect(packed.files.filter((f) => f.startsWith('test/') || f.endsWith('.map'))).toEqual([])
  })

  test('the consumer test type-checks with tsc --strict', async () => {
    const tsc = await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, timeoutMs: 120_000 })
    expect(`${tsc.stdout}${tsc.stderr}`).toBe('')
    expect(tsc.code).toBe(0)
  }, 150_000)

  test("the consumer's vitest run passes: mocked JSON with cache and retries, a retried 503, the unmatched error, 10.0.0.1 refused", async () => {
    const vitest = await run(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=verbose'], {
      cwd: project,
      timeoutMs: 120_000,
      env: { CI: 'true', NO_COLOR: '1' },
    })
    const output = `${vitest.stdout}${vitest.stderr}`
    expect(vitest.code, output).toBe(0)
    expect(output).toMatch(/Tests\s+5 passed \(5\)/)
  }, 150_000)

  test('the bin runs from the tarball as npm links it: safefetch check refuses the metadata address', async () => {
    // What `npm install` does for a `bin` entry: a link in node_modules/.bin and the file made executable.
    const target = join(project, 'node_modules/safefetch')
    const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as { bin?: Record<string, string> }
    const entry = manifest.bin?.safefetch
    expect(entry).toBe('./dist/cli/main.js')
    await chmod(join(target, entry as string), 0o755)
    await mkdir(join(project, 'node_modules/.bin'), { recursive: true })
    await symlink(join('..', 'safefetch', entry as string), join(project, 'node_modules/.bin/safefetch'))
    // Executed through its shebang (#!/usr/bin/env node), with plain node and no tsx.
    const check = await run(join(project, 'node_modules/.bin/safefetch'), ['check', '--json', 'http://169.254.169.254/'], { cwd: project, timeoutMs: 60_000 })
    expect(check.code, check.stderr).toBe(1)
    expect(JSON.parse(check.stdout)).toMatchObject([{ allowed: false, reason: { check: 'address', address: { name: 'link-local', reference: 'RFC 3927' } } }])
    const help = await run(join(project, 'node_modules/.bin/safefetch'), ['get', '--help'], { cwd: project, timeoutMs: 60_000 })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: safefetch get')
  }, 150_000)
})
