#!/usr/bin/env node
/**
 * Packs safefetch as npm would publish it and uses the tarball as a new user would: ESM import,
 * CommonJS require (Node >= 20.19, require(esm)), `tsc --strict` with `skipLibCheck: false` with
 * and without the optional peers (pino, @opentelemetry/api, ioredis), and @arethetypeswrong/cli.
 *
 * No network: the consumer's dependencies are symlinked from this repository's node_modules (run
 * `npm ci` and `npm run build` first). Packing and consumer projects: scripts/pack.mjs, shared with
 * test/integration/packed-consumer.test.ts.
 *
 *   node scripts/consumer-smoke.mjs            # pack, then every check; exit 1 on a failure
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeConsumer, packPackage, REPO } from './pack.mjs'

export { REPO }
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'))

/** Optional peers: installed by the app when it uses them. */
const OPTIONAL_PEERS = Object.keys(pkg.peerDependencies ?? {})
const CONSUMER_PACKAGE_JSON = JSON.stringify({ name: 'consumer', private: true }, null, 2)

function run(label, command, args, options = {}) {
  process.stdout.write(`-- ${label}\n`)
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options })
    if (out.trim() !== '') process.stdout.write(`${out.trim()}\n`)
    return true
  } catch (err) {
    process.stdout.write(`${err.stdout ?? ''}${err.stderr ?? ''}\nFAILED: ${label}\n`)
    return false
  }
}

/**
 * Relative links in the packed Markdown files (`files`: paths in the tarball) whose target is not
 * in the tarball, as "doc -> link". Inline links `[t](path "title")`, `[t](<path>)`, reference
 * definitions `[t]: path` and `<img src>`/`<a href>`; URLs with a scheme, `//host` and
 * same-document `#anchors` are not files. A link that leaves the package (`../../x`) dangles.
 */
export function danglingDocLinks(files, read) {
  const shipped = new Set(files)
  const isShipped = (target) => shipped.has(target) || files.some((f) => f.startsWith(`${target.replace(/\/$/, '')}/`))
  const out = []
  for (const doc of files.filter((f) => f.endsWith('.md'))) {
    // Code blocks and code spans are not links.
    const text = read(doc)
      .replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '')
      .replace(/`[^`\n]*`/g, '')
    const links = [
      ...[...text.matchAll(/\]\(\s*<([^>]*)>/g)].map((m) => m[1]),
      ...[...text.matchAll(/\]\(\s*([^)<\s]+)/g)].map((m) => m[1]),
      ...[...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)/gm)].map((m) => m[1]),
      ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]),
    ]
    for (const link of links) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('//') || link.startsWith('#')) continue
      const path = link.replace(/[?#].*$/, '')
      if (path === '') continue
      let decoded
      try {
        decoded = decodeURIComponent(path)
      } catch {
        decoded = path
      }
      const target = posix.normalize(posix.join(posix.dirname(doc), decoded))
      if (target.startsWith('../') || !isShipped(target)) out.push(`${doc} -> ${link}`)
    }
  }
  return out
}

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    target: 'ES2022',
    lib: ['ES2023'],
    types: ['node'],
    exactOptionalPropertyTypes: true,
  },
  include: ['*.ts'],
}

const BASIC_TS = `import { createClient, safeFetch, isSafeFetchError, SafeFetchError, type ClientOptions, type ErrorCode } from 'safefetch'

const options: ClientOptions = { name: 'api', timeout: 5_000, retry: { limit: 1 }, logger: false }
const client = createClient(options)
export async function get(url: string): Promise<string> {
  try {
    const response: Response = await client.fetch(url, { timeout: { total: 1_000 } })
    return await response.text()
  } catch (err) {
    if (isSafeFetchError(err)) {
      const code: ErrorCode = err.code
      throw new SafeFetchError(code, err.message)
    }
    throw err
  }
}
export const once = safeFetch
`

const PEERS_TS = `import pino from 'pino'
import { trace, metrics } from '@opentelemetry/api'
import { createClient } from 'safefetch'

createClient({ logger: pino({ level: 'info' }), tracer: trace.getTracer('t'), meter: metrics.getMeter('m') })
// With the peers installed the types are real, not any: these must be errors.
// @ts-expect-error a number is not a Tracer
createClient({ tracer: 42 })
// @ts-expect-error a string is not a pino Logger
createClient({ logger: 'console' })
`

export async function main() {
  const repoBin = (name) => join(REPO, 'node_modules', '.bin', name)
  const packed = await packPackage({ build: false })
  const { tarball, files } = packed
  let ok = true
  process.stdout.write(`packed ${tarball} (${files.length} files)\n`)
  // Source maps only with their sources; docs only link to shipped files.
  const maps = files.filter((f) => f.endsWith('.map'))
  if (maps.length > 0 && !files.some((f) => f.startsWith('src/'))) {
    process.stdout.write(`FAILED: ${maps.length} source maps shipped without the sources they point to\n`)
    ok = false
  }
  if (!files.includes('LICENSE')) {
    process.stdout.write('FAILED: LICENSE is not in the package\n')
    ok = false
  }
  // Shipped docs and README only link to files that are in the package (the docs cite ../src/*.ts,
  // shipped for that reason; tests and examples are named as repository paths, not linked).
  const dangling = danglingDocLinks(files, (doc) => readFileSync(join(REPO, doc), 'utf8'))
  if (dangling.length > 0) {
    process.stdout.write(`FAILED: ${dangling.length} links in shipped docs point to files not in the package:\n${dangling.map((d) => `  ${d}\n`).join('')}`)
    ok = false
  }

  const bare = await makeConsumer(packed, { name: 'bare', links: ['@types/node'], files: { 'package.json': CONSUMER_PACKAGE_JSON } })
  writeFileSync(
    join(bare, 'esm.mjs'),
    `import { safeFetch, createClient, isSafeFetchError } from 'safefetch'\nif (typeof safeFetch !== 'function' || typeof createClient !== 'function' || typeof isSafeFetchError !== 'function') process.exit(1)\nawait createClient().close()\n// Without the optional peer pino, safefetch/testing still imports; recordingLogger() says what is missing.\nconst testing = await import('safefetch/testing')\nif (typeof testing.MockAgent !== 'function' || typeof testing.staticLookup !== 'function') process.exit(1)\ntry { testing.recordingLogger(); process.exit(1) } catch (err) { if (err.code !== 'ERR_INVALID_OPTION' || !/pino/.test(err.message)) process.exit(1) }\nconsole.log('ESM import ok (safefetch and safefetch/testing, no optional peers)')\n`,
  )
  writeFileSync(
    join(bare, 'cjs.cjs'),
    `const { safeFetch, createClient } = require('safefetch')\nif (typeof safeFetch !== 'function' || typeof createClient !== 'function') process.exit(1)\ncreateClient().close().then(() => console.log('CommonJS require ok on ' + process.version))\n`,
  )
  writeFileSync(join(bare, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
  writeFileSync(join(bare, 'basic.ts'), BASIC_TS)
  ok = run('ESM import', process.execPath, ['esm.mjs'], { cwd: bare }) && ok
  ok = run('CommonJS require', process.execPath, ['cjs.cjs'], { cwd: bare }) && ok
  ok = run('tsc --strict, skipLibCheck false, no optional peers', process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', bare]) && ok

  const full = await makeConsumer(packed, { name: 'full', links: [...OPTIONAL_PEERS, '@types/node'], files: { 'package.json': CONSUMER_PACKAGE_JSON } })
  writeFileSync(join(full, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2))
  writeFileSync(join(full, 'basic.ts'), BASIC_TS)
  writeFileSync(join(full, 'peers.ts'), PEERS_TS)
  ok =
    run('tsc --strict, skipLibCheck false, with pino, @opentelemetry/api, ioredis', process.execPath, [
      join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      full,
    ]) && ok

  if (existsSync(repoBin('attw'))) {
    // ESM-only package: the "CJS resolves to ESM" note is expected (require(esm) on Node >= 20.19).
    ok = run('@arethetypeswrong/cli', repoBin('attw'), [tarball, '--profile', 'esm-only']) && ok
  } else {
    process.stdout.write('FAILED: @arethetypeswrong/cli is not installed (devDependency)\n')
    ok = false
  }
  await packed.remove()
  process.stdout.write(ok ? 'consumer smoke test passed\n' : 'consumer smoke test FAILED\n')
  return ok
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exit((await main()) ? 0 : 1)
