/**
 * The package as a user installs it, for the checks that need the tarball: `npm pack` of a staging
 * copy (package.json, README, LICENSE, docs, src and dist — what `files` ships), and consumer
 * projects with the tarball extracted into their node_modules. Nothing is fetched: a consumer's
 * other packages are symlinks into this repository's node_modules (no registry in the test
 * namespace, none needed in CI).
 *
 * One implementation for both users:
 * - scripts/consumer-smoke.mjs (CI, after `npm run build`): `packPackage({ build: false })` packs
 *   the built dist/;
 * - test/integration/packed-consumer.test.ts: `packPackage()` builds the sources into the stage
 *   with tsc first, so the test runs on a fresh clone without dist/.
 * Types: pack.d.mts.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Runs a command with a time limit; never throws for a non-zero exit (the caller decides). */
export function run(file, args, { cwd, timeoutMs, env = {} }) {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        done({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr })
      },
    )
  })
}

/** npm without the registry: no update check, no audit, no funding notice, offline. */
const NPM_ENV = { npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_offline: 'true' }

async function check(step, result) {
  if (result.code !== 0) throw new Error(`${step} failed (${result.code}):\n${result.stdout}${result.stderr}`)
  return result
}

/**
 * Packs the package with `npm pack` from a staging copy in a new temporary folder. `build: true`
 * (the default) compiles src/ into the stage's dist/ as `npm run build` does; `build: false` uses
 * this repository's dist/ (run `npm run build` first).
 */
export async function packPackage({ build = true, timeoutMs = 120_000 } = {}) {
  const root = await mkdtemp(join(tmpdir(), 'safefetch-pack-'))
  const stage = join(root, 'stage')
  await mkdir(stage)
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'docs', 'src']) {
    if (existsSync(join(REPO, entry))) await cp(join(REPO, entry), join(stage, entry), { recursive: true })
  }
  if (build) {
    const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
    await check('build', await run(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: REPO, timeoutMs }))
    // The same post-build step as `npm run build`: optional peers' type imports marked in the .d.ts.
    const mark = join(REPO, 'scripts/optional-peer-types.mjs')
    await check('optional-peer-types', await run(process.execPath, [mark, join(stage, 'dist')], { cwd: REPO, timeoutMs }))
  } else {
    if (!existsSync(join(REPO, 'dist', 'index.js'))) throw new Error('run npm run build first')
    await cp(join(REPO, 'dist'), join(stage, 'dist'), { recursive: true })
  }
  const pack = await check(
    'npm pack',
    await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: stage, timeoutMs, env: NPM_ENV }),
  )
  const [info] = JSON.parse(pack.stdout)
  if (info === undefined) throw new Error(`npm pack printed no package:\n${pack.stdout}`)
  return {
    root,
    tarball: join(root, info.filename),
    files: info.files.map((f) => f.path),
    remove: () => rm(root, { recursive: true, force: true }),
  }
}

/**
 * A consumer project in a new folder `name` next to the packed package: `node_modules/safefetch`
 * extracted from the tarball, the package's runtime dependencies and `links` (optional peers, the
 * consumer's dev tools) symlinked from this repository's node_modules, and `files` written
 * relative to the project folder. Returns the folder.
 */
export async function makeConsumer(packed, { name = 'consumer', files = {}, links = [] } = {}) {
  const project = join(packed.root, name)
  const target = join(project, 'node_modules', 'safefetch')
  await mkdir(target, { recursive: true })
  await check('tar', await run('tar', ['-xzf', packed.tarball, '-C', target, '--strip-components=1'], { cwd: project, timeoutMs: 60_000 }))
  const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8'))
  for (const dep of new Set([...Object.keys(manifest.dependencies ?? {}), ...links])) {
    const from = join(REPO, 'node_modules', dep)
    if (!existsSync(from)) throw new Error(`${dep} is not installed in the repository (npm ci first)`)
    const to = join(project, 'node_modules', dep)
    await mkdir(dirname(to), { recursive: true })
    await symlink(from, to, 'dir')
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(project, path)), { recursive: true })
    await writeFile(join(project, path), text)
  }
  return project
}
