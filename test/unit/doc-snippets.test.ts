/**
 * Every TypeScript snippet in README.md and docs/*.md compiles against the sources (issue 11).
 *
 * Each ```ts / ```typescript / ```js / ```javascript block becomes its own virtual ES module
 * (`moduleDetection: force`, so top-level await works and snippets do not share names), and one
 * Program type-checks them all with the compiler options of tsconfig.json (strict,
 * exactOptionalPropertyTypes, noUncheckedIndexedAccess…), 'safefetch' and 'safefetch/testing'
 * mapped to src/ by its `paths`. A block that is not code (output, shell) is fenced as ```text,
 * ```sh or ```console, not excluded here.
 *
 * Convention for readers: a snippet imports what it uses from 'safefetch' (so it can be copied),
 * and may use the few placeholder names of PRELUDE below for the caller's own values (a URL, a
 * client, a pino logger…) without declaring them. Nothing else is implicit.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { beforeAll, describe, expect, it } from 'vitest'

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const virtualDir = join(root, '__doc_snippets__')

/** The placeholders snippets may use undeclared: the reader's own values. */
const PRELUDE = `
import type { Logger } from 'pino'
import type { Client, ClientOptions, FleetRedis } from 'safefetch'
declare global {
  /** A URL string your application received from a user (webhook, preview…). */
  const userSuppliedUrl: string
  /** A URL string or URL. */
  const url: string | URL
  /** A value the caller sends as JSON. */
  const payload: unknown
  /** A request body. */
  const body: string
  /** A bearer token. */
  const token: string
  /** A pino logger (the application's). */
  const logger: Logger
  /** A client made with createClient(). */
  const client: Client
  /** Options for createClient(). */
  const options: ClientOptions
  /** A port number (e.g. of a test server). */
  const port: number
  /** A connected Redis client (ioredis or node-redis). */
  const redis: FleetRedis
}
export {}
`

interface Snippet {
  /** e.g. docs/caching.md:16 (line of the opening fence) */
  where: string
  fileName: string
  code: string
}

const CODE_FENCE = /^(`{3,})(ts|typescript|js|javascript)\s*$/

export function extractSnippets(relPath: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n')
  const out: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = CODE_FENCE.exec(lines[i]!)
    if (open === null) {
      // Skip over other fenced blocks so a ```ts inside a ````md example is not taken as code.
      const other = /^(`{3,})\S*\s*$/.exec(lines[i]!)
      if (other !== null) {
        const fence = other[1]!
        while (++i < lines.length && lines[i]!.trimEnd() !== fence);
      }
      continue
    }
    const fence = open[1]!
    const start = i
    const body: string[] = []
    while (++i < lines.length && lines[i]!.trimEnd() !== fence) body.push(lines[i]!)
    const where = `${relPath}:${start + 1}`
    out.push({ where, fileName: join(virtualDir, `${relPath.replace(/[^\w]/g, '_')}_L${start + 1}.mts`), code: `${body.join('\n')}\n` })
  }
  return out
}

function allSnippets(): Snippet[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ]
  return files.flatMap((rel) => extractSnippets(rel, readFileSync(join(root, rel), 'utf8')))
}

/** Type-checks the given modules in one Program; returns the formatted errors per file name. */
function typeCheck(modules: { fileName: string; code: string }[]): Map<string, string[]> {
  const configPath = join(root, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, (p) => ts.sys.readFile(p))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath)
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, moduleDetection: ts.ModuleDetectionKind.Force }
  const virtual = new Map(modules.map((m) => [m.fileName, m.code]))
  const host = ts.createCompilerHost(options, true)
  const { getSourceFile, fileExists, readFile } = host
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f)
  host.readFile = (f) => virtual.get(f) ?? readFile.call(host, f)
  host.getSourceFile = (f, lang, onError, create) => {
    const text = virtual.get(f)
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile.call(host, f, lang, onError, create)
  }
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host })
  const errors = new Map<string, string[]>()
  const global = program.getGlobalDiagnostics()
  if (global.length > 0) throw new Error(ts.formatDiagnostics(global, formatHost))
  for (const m of modules) {
    const sf = program.getSourceFile(m.fileName)
    if (sf === undefined) throw new Error(`${m.fileName} not in the program`)
    const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]
    errors.set(
      m.fileName,
      diags.map((d) => {
        const pos = d.start === undefined ? '' : `line ${sf.getLineAndCharacterOfPosition(d.start).line + 1}: `
        return `${pos}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
      }),
    )
  }
  return errors
}

const formatHost: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }

const snippets = allSnippets()
const prelude = { fileName: join(virtualDir, 'prelude.d.mts'), code: PRELUDE }
// Known-bad snippets: prove the check fails on a wrong option name, a wrong type and a wrong import.
const broken = [
  { fileName: join(virtualDir, 'broken_option.mts'), code: "import { createClient } from 'safefetch'\ncreateClient({ timeout: { totl: 100 } })\n" },
  { fileName: join(virtualDir, 'broken_type.mts'), code: "import { safeFetch } from 'safefetch'\nawait safeFetch(url, { timeout: { total: '5s' } })\n" },
  { fileName: join(virtualDir, 'broken_import.mts'), code: "import { createClients } from 'safefetch'\ncreateClients()\n" },
  { fileName: join(virtualDir, 'broken_free_name.mts'), code: "import { safeFetch } from 'safefetch'\nawait safeFetch(someUndeclaredUrl)\n" },
]

describe('TypeScript snippets in README.md and docs/*.md', () => {
  let errors: Map<string, string[]>
  beforeAll(() => {
    errors = typeCheck([prelude, ...snippets, ...broken])
  }, 60_000)

  it('finds the snippets (README and several docs)', () => {
    expect(snippets.length).toBeGreaterThanOrEqual(15)
    expect(snippets.some((s) => s.where.startsWith('README.md:'))).toBe(true)
  })

  it('the prelude itself compiles', () => {
    expect(errors.get(prelude.fileName)).toEqual([])
  })

  it('the check fails on a wrong option name, a wrong type, a wrong import and an undeclared name', () => {
    for (const b of broken) expect(errors.get(b.fileName), b.fileName).not.toEqual([])
    expect(errors.get(broken[0]!.fileName)!.join('\n')).toMatch(/totl/)
  })

  it.each(snippets.map((s) => [s.where, s] as const))('%s compiles', (_where, s) => {
    expect(errors.get(s.fileName)).toEqual([])
  })
})
