#!/usr/bin/env node
/**
 * The `safefetch` command: `safefetch check <url>…` and `safefetch get <url>`. See docs/cli.md.
 * Built on the public API only (src/index.ts); this file dispatches and maps failures to exit codes.
 */
import { readFileSync } from 'node:fs'
import { isSafeFetchError } from '../index.js'
import { CHECK_HELP, runCheck } from './check.js'
import { EXIT, UsageError } from './common.js'
import { GET_HELP, runGet } from './get.js'

const HELP = `Usage: safefetch <command> [options]

Commands:
  check <url>...   would safefetch fetch these URLs, and if not, why (no request is made)
  get <url>        fetch one URL with the library's defaults; --timings shows where the time went

Run "safefetch <command> --help" for the options of each command.

Examples:
  safefetch check http://169.254.169.254/
  safefetch get --timings -o /dev/null https://example.com/
`

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'check':
        return await runCheck(rest, process.stdout)
      case 'get':
        return await runGet(rest)
      case 'help':
        process.stdout.write(rest[0] === 'check' ? CHECK_HELP : rest[0] === 'get' ? GET_HELP : HELP)
        return EXIT.ok
      case '-h':
      case '--help':
        process.stdout.write(HELP)
        return EXIT.ok
      case '--version':
      case '-V':
        process.stdout.write(`${version()}\n`)
        return EXIT.ok
      case undefined:
        process.stderr.write(HELP)
        return EXIT.usage
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}; the commands are check and get`)
    }
  } catch (err) {
    return reportUsage(err, command)
  }
}

/** Bad flags (parseArgs' ERR_PARSE_ARGS_*), bad values and invalid options exit 2; anything else is a bug: exit 1. */
function reportUsage(err: unknown, command: string | undefined): number {
  const code = (err as { code?: unknown } | null)?.code
  const hint = command === 'check' || command === 'get' ? `safefetch ${command} --help` : 'safefetch --help'
  if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`safefetch: ${(err as Error).message}\n(see ${hint})\n`)
    return EXIT.usage
  }
  if (isSafeFetchError(err) && err.code === 'ERR_INVALID_OPTION') {
    process.stderr.write(`safefetch: ${err.code}: ${err.message}\n(see ${hint})\n`)
    return EXIT.usage
  }
  process.stderr.write(`safefetch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  return EXIT.refusedOrFailed
}

// A reader that stops early (`safefetch get … | head`) closes the pipe: stop quietly, as it asked.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok)
  throw err
})

// Set the exit code and let the event loop drain (stdout may still be flushing to a pipe).
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`safefetch: ${String(err)}\n`)
    process.exitCode = EXIT.refusedOrFailed
  },
)
