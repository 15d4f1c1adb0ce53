/**
 * The shipped docs link only to files that are shipped (issue 11): every relative link in the
 * README and docs/*.md of the package (as `npm pack` lists it) resolves to a file in it. The same
 * check fails the consumer smoke test (scripts/consumer-smoke.mjs) on the real tarball.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain ESM script without types
import { REPO, danglingDocLinks } from '../../scripts/consumer-smoke.mjs'

const dangling = danglingDocLinks as (files: string[], read: (doc: string) => string) => string[]

describe('links in the shipped docs', () => {
  it('all resolve to files in the package', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: REPO as string,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path)
    expect(files).toContain('docs/security-model.md')
    expect(files).toContain('src/index.ts')
    expect(dangling(files, (doc) => readFileSync(join(REPO as string, doc), 'utf8'))).toEqual([])
  })

  it('flags links to files outside the package, in every link form', () => {
    const files = ['README.md', 'docs/a.md', 'docs/b.md', 'src/x.ts', 'src/net/y.ts']
    const docs: Record<string, string> = {
      'README.md': '[a](docs/a.md) [gone](docs/gone.md) [x](src/x.ts#L3) [web](https://example.com/x) [here](#top)',
      'docs/a.md': [
        '[b](b.md) [y](../src/net/y.ts) [dir](../src/net/) [t](../test/t.ts) [out](../../etc/passwd)',
        '[angle](<../src/missing file.ts>) [titled](../src/z.ts "title") <a href="../examples/e.ts">e</a>',
        '[ref]: ../bench/bench.ts',
        '```md\n[in a code block](../nowhere.md)\n```',
      ].join('\n'),
      'docs/b.md': '[enc](../src/x%2Ets) `[in a span](../nowhere.md)`',
    }
    expect(dangling(files, (doc) => docs[doc]!).sort()).toEqual([
      'README.md -> docs/gone.md',
      'docs/a.md -> ../../etc/passwd',
      'docs/a.md -> ../bench/bench.ts',
      'docs/a.md -> ../examples/e.ts',
      'docs/a.md -> ../src/missing file.ts',
      'docs/a.md -> ../src/z.ts',
      'docs/a.md -> ../test/t.ts',
    ])
  })
})
