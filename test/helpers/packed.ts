/**
 * The package as a user installs it: built from the sources into a staging folder, packed with
 * `npm pack` (so `files`, `exports` and `bin` are what the registry would get), and extracted into
 * a consumer project's node_modules. Nothing is fetched: the consumer's other packages are
 * symlinks into this repository's node_modules (there is no registry inside the test namespace).
 *
 * Shared by the tests that need the packed package (consumer type-check and test run); each call
 * builds afresh, so `npm test` on a fresh clone (no dist/) works.
 */
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command with a time limit; never throws for a non-zero exit (the caller asserts). */
export function run(file: string, args: readonly string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        done({ code, stdout, stderr: error !== null && code === null ? `${stderr}\n${error.message}` : stderr })
      },
    )
  })
}

/** npm without the registry: no update check, no audit, no funding notice, offline. */
const NPM_ENV = { npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_offline: 'true' }

export interface PackedPackage {
  /** The temporary folder holding everything below; remove() deletes it. */
  readonly root: string
  /** The .tgz `npm pack` wrote. */
  readonly tarball: string
  /** Paths inside the tarball (without the leading `package/`). */
  readonly files: readonly string[]
  remove(): Promise<void>
}

/** Builds the sources into a staging copy of the package and packs it with `npm pack`. */
export async function packPackage(timeoutMs = 120_000): Promise<PackedPackage> {
  const root = await mkdtemp(join(tmpdir(), 'safefetch-pack-'))
  const stage = join(root, 'stage')
  await mkdir(stage)
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'docs', 'src']) {
    if (existsSync(join(REPO, entry))) await cp(join(REPO, entry), join(stage, entry), { recursive: true })
  }
  const tsc = join(REPO, 'node_modules/typescript/bin/tsc')
  const build = await run(process.execPath, [tsc, '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: REPO, timeoutMs })
  if (build.code !== 0) throw new Error(`build failed (${build.code}):\n${build.stdout}${build.stderr}`)
  // The same post-build step as `npm run build`: optional peers' type imports marked in the .d.ts.
  const mark = await run(process.execPath, [join(REPO, 'scripts/optional-peer-types.mjs'), join(stage, 'dist')], { cwd: REPO, timeoutMs })
  if (mark.code !== 0) throw new Error(`optional-peer-types failed (${mark.code}):\n${mark.stdout}${mark.stderr}`)
  const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: stage, timeoutMs, env: NPM_ENV })
  if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code}):\n${pack.stdout}${pack.stderr}`)
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[]
  if (info === undefined) throw new Error(`npm pack printed no package:\n${pack.stdout}`)
  return {
    root,
    tarball: join(root, info.filename),
    files: info.files.map((f) => f.path),
    remove: () => rm(root, { recursive: true, force: true }),
  }
}

/**
 * A consumer project next to the packed package: `node_modules/safefetch` extracted from the
 * tarball, and `links` (safefetch's dependencies, the consumer's dev tools) symlinked from this
 * repository's node_modules. `files` are written relative to the project folder.
 */
export async function consumerProject(packed: PackedPackage, files: Readonly<Record<string, string>>, links: readonly string[]): Promise<string> {
  const project = join(packed.root, 'consumer')
  const target = join(project, 'node_modules', 'safefetch')
  await mkdir(target, { recursive: true })
  const untar = await run('tar', ['-xzf', packed.tarball, '-C', target, '--strip-components=1'], { cwd: project, timeoutMs: 60_000 })
  if (untar.code !== 0) throw new Error(`tar failed: ${untar.stderr}`)
  const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }
  const names = new Set([...Object.keys(manifest.dependencies ?? {}), ...links])
  for (const name of names) {
    const from = join(REPO, 'node_modules', name)
    if (!existsSync(from)) throw new Error(`${name} is not installed in the repository (npm ci first)`)
    const to = join(project, 'node_modules', name)
    await mkdir(dirname(to), { recursive: true })
    await symlink(from, to, 'dir')
  }
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(project, path)), { recursive: true })
    await writeFile(join(project, path), text)
  }
  return project
}
