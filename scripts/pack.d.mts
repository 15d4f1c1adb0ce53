// Types of pack.mjs (plain ESM, run by node in CI without a build step).

export declare const REPO: string

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command with a time limit; never throws for a non-zero exit (the caller decides). */
export declare function run(file: string, args: readonly string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>

export interface PackedPackage {
  /** The temporary folder holding everything below; remove() deletes it. */
  readonly root: string
  /** The .tgz `npm pack` wrote. */
  readonly tarball: string
  /** Paths inside the tarball (without the leading `package/`). */
  readonly files: readonly string[]
  remove(): Promise<void>
}

/** `build: true` (default) compiles src/ into the stage; `build: false` packs this repository's dist/. */
export declare function packPackage(options?: { build?: boolean; timeoutMs?: number }): Promise<PackedPackage>

export interface ConsumerOptions {
  /** Folder name under the pack's root (default 'consumer'). */
  name?: string
  /** Files to write, relative to the project folder. */
  files?: Readonly<Record<string, string>>
  /** Packages symlinked from this repository's node_modules besides the package's dependencies. */
  links?: readonly string[]
}

export declare function makeConsumer(packed: PackedPackage, options?: ConsumerOptions): Promise<string>
