/**
 * `safefetch get` as a user runs it: the real command in a child process against real loopback
 * servers in the test namespace. Loopback is refused by default, so every call that should reach a
 * server passes --allow 127.0.0.1 (which is itself part of what is tested).
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { CLI_SOURCE, ROOT, runCli } from './run-cli.js'
import { selfSignedCertificate, startHttpServer, startHttpsServer, startSilentServer, type TestServer } from '../support/servers.js'
import { startForwardProxy, type ForwardProxy } from '../support/forward-proxy.js'

const BODY = randomBytes(300 * 1024)
const dir = mkdtempSync(join(tmpdir(), 'safefetch-cli-'))
let server: TestServer
let tlsServer: TestServer
let silent: TestServer
let proxy: ForwardProxy
let flaky = 0
let certFile: string

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      switch (req.url) {
        case '/binary':
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length })
          res.end(BODY)
          return
        case '/echo':
          res.writeHead(201, 'Made It', {
            'content-type': 'application/octet-stream',
            'x-method': req.method ?? '',
            'x-token': String(req.headers['x-token']),
            'x-type': String(req.headers['content-type']),
            'set-cookie': ['a=1', 'b=2'],
          })
          res.end(Buffer.concat(chunks))
          return
        case '/trickle': {
          // 100 KiB over ~1.5 s: slow enough for the progress line.
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 10 * 10240 })
          let sent = 0
          const timer = setInterval(() => {
            res.write(Buffer.alloc(10240, 0x61))
            if (++sent === 10) {
              clearInterval(timer)
              res.end()
            }
          }, 150)
          return
        }
        case '/to-metadata':
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' })
          res.end()
          return
        case '/missing':
          res.writeHead(404, { 'content-type': 'text/plain' })
          res.end('not here\n')
          return
        case '/flaky':
          flaky++
          res.writeHead(flaky % 2 === 1 ? 503 : 200, { 'content-type': 'text/plain' })
          res.end(flaky % 2 === 1 ? 'busy' : 'ok')
          return
        default:
          res.writeHead(200, { 'content-type': 'text/plain' })
          res.end('hello')
      }
    })
  })
  const certificate = await selfSignedCertificate('api.test')
  certFile = join(dir, 'ca.pem')
  writeFileSync(certFile, certificate.cert)
  tlsServer = await startHttpsServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('secure hello')
  }, certificate)
  silent = await startSilentServer()
  proxy = await startForwardProxy()
})

afterAll(async () => {
  await Promise.all([server.close(), tlsServer.close(), silent.close(), proxy.close()])
})

const allow = ['--allow', '127.0.0.1']

// Children queue for two slots (run-cli.ts): the time limit covers the wait, not just the run.
describe.concurrent('safefetch get', { timeout: 120_000 }, () => {
  it('writes the body byte for byte to stdout and to -o', async () => {
    const out = await runCli(['get', ...allow, `${server.origin}/binary`])
    expect(out.code).toBe(0)
    expect(out.stdout.equals(BODY)).toBe(true)
    expect(out.stderr).toBe('')
    const file = join(dir, 'body.bin')
    const saved = await runCli(['get', ...allow, '-o', file, `${server.origin}/binary`])
    expect(saved.code).toBe(0)
    expect(saved.stdout.length).toBe(0)
    expect(readFileSync(file).equals(BODY)).toBe(true)
  })

  it('-i prints the status line and headers; -X, -H and -d @file make the request', async () => {
    const payload = Buffer.from([0, 1, 2, 255, 13, 10, 10, 0x7f])
    const file = join(dir, 'payload.bin')
    writeFileSync(file, payload)
    const r = await runCli(['get', ...allow, '-i', '-X', 'PUT', '-H', 'x-token: abc', '-d', `@${file}`, `${server.origin}/echo`])
    expect(r.code).toBe(0)
    const split = r.stdout.indexOf('\r\n\r\n')
    const head = r.stdout.subarray(0, split).toString('latin1').split('\r\n')
    expect(head[0]).toBe('HTTP/1.1 201 Made It')
    expect(head).toContain('x-method: PUT')
    expect(head).toContain('x-token: abc')
    expect(head).toContain('x-type: application/x-www-form-urlencoded')
    expect(head).toContain('set-cookie: a=1')
    expect(head).toContain('set-cookie: b=2')
    // The file's bytes, as is (no newline stripping).
    expect(r.stdout.subarray(split + 4).equals(payload)).toBe(true)
  })

  it('-d text implies POST, -d @- reads stdin', async () => {
    const text = await runCli(['get', ...allow, '-i', '-d', 'a=1&b=2', `${server.origin}/echo`])
    expect(text.out).toContain('x-method: POST')
    expect(text.out.endsWith('\r\n\r\na=1&b=2')).toBe(true)
    const piped = await runCli(['get', ...allow, '-H', 'content-type: text/plain', '-d', '@-', `${server.origin}/echo`], { stdin: 'from stdin\n' })
    expect(piped.code).toBe(0)
    expect(piped.out).toBe('from stdin\n')
  })

  it('--timings shows every phase, the cache status and the remote address; -v the pino line; --json the call', async () => {
    const r = await runCli(['get', '--timings', '-v', '--json', '--resolve', `api.test:127.0.0.1`, ...allow, `https://api.test:${tlsServer.port}/`], {
      env: { NODE_EXTRA_CA_CERTS: certFile },
    })
    expect(r.stderr).not.toMatch(/ERR_/)
    expect(r.code).toBe(0)
    expect(r.out).toBe('secure hello')
    for (const phase of ['queued', 'dns', 'connect', 'tls', 'first byte', 'download', 'total']) {
      expect(r.stderr).toMatch(new RegExp(`^  ${phase} +\\d+\\.\\d+ ms`, 'm'))
    }
    expect(r.stderr).toContain('status 200 OK')
    expect(r.stderr).toContain('cache miss')
    expect(r.stderr).toContain('1 request, 0 retries, 0 redirects')
    expect(r.stderr).toContain(`remote 127.0.0.1:${tlsServer.port}`)
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{'))
    const logLine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'call completed')
    expect(logLine).toMatchObject({ level: 30, status: 200, method: 'GET', url: `https://api.test:${tlsServer.port}/`, remoteAddress: '127.0.0.1' })
    const summary = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => 'exitCode' in l)
    expect(summary).toMatchObject({ exitCode: 0, status: 200, headers: { 'content-type': 'text/plain' }, call: { attempts: 1, cache: 'miss', bytes: 12 } })
    expect((summary?.call as { timings: Record<string, number> }).timings.tls).toBeGreaterThan(0)
  })

  it('retries with --retry and reports the retry', async () => {
    const r = await runCli(['get', ...allow, '--retry', '1', '--timings', `${server.origin}/flaky`])
    expect(r.code).toBe(0)
    expect(r.out).toBe('ok')
    expect(r.stderr).toContain('2 requests, 1 retry')
    expect(r.stderr).toMatch(/retry after attempt 1: .*503/)
  })

  it('exits 3 when the policy refuses, without connecting', async () => {
    const own = await startHttpServer((_req, res) => res.end('must not be reached'))
    const r = await runCli(['get', `${own.origin}/`])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('safefetch: ERR_ADDRESS_BLOCKED: 127.0.0.1 is in 127.0.0.0/8 (loopback')
    expect(r.stdout.length).toBe(0)
    const meta = await runCli(['get', 'http://169.254.169.254/latest/meta-data/'])
    expect(meta.code).toBe(3)
    expect(own.connections).toBe(0)
    await own.close()
    // Every redirect hop is checked: an allowed origin cannot bounce the call to the metadata service.
    const bounced = await runCli(['get', ...allow, '--timings', `${server.origin}/to-metadata`])
    expect(bounced.code).toBe(3)
    expect(bounced.stderr).toContain('safefetch: ERR_ADDRESS_BLOCKED: 169.254.169.254 is in 169.254.0.0/16 (link-local, RFC 3927)')
    expect(bounced.stdout.length).toBe(0)
  })

  it('exits 4 when the call fails: refused connection, deadline, too large a body', async () => {
    const closed = await startHttpServer(() => {})
    const port = closed.port
    await closed.close()
    const [refused, slow, large] = await Promise.all([
      runCli(['get', ...allow, '--timings', `http://127.0.0.1:${port}/`]),
      runCli(['get', ...allow, '--timeout', '300ms', '--retry', '0', `${silent.origin}/`]),
      runCli(['get', ...allow, '--max-bytes', '100k', `${server.origin}/binary`]),
    ])
    expect(refused.code).toBe(4)
    expect(refused.stderr).toContain('safefetch: ERR_NETWORK:')
    expect(refused.stderr).toMatch(/retry after attempt 1: ERR_NETWORK/)
    expect(slow.code).toBe(4)
    expect(slow.stderr).toMatch(/safefetch: ERR_(DEADLINE_EXCEEDED|HEADERS_TIMEOUT):/)
    expect(large.code).toBe(4)
    expect(large.stderr).toContain('safefetch: ERR_RESPONSE_TOO_LARGE:')
  })

  it('exits 5 on an HTTP error with --fail (no body), 0 without it', async () => {
    const failed = await runCli(['get', ...allow, '--fail', `${server.origin}/missing`])
    expect(failed.code).toBe(5)
    expect(failed.stdout.length).toBe(0)
    expect(failed.stderr).toContain('HTTP 404 Not Found')
    const shown = await runCli(['get', ...allow, `${server.origin}/missing`])
    expect(shown.code).toBe(0)
    expect(shown.out).toBe('not here\n')
  })

  it('goes through --proxy, asking it for the checked address', async () => {
    const r = await runCli(['get', ...allow, '--resolve', 'origin.test:127.0.0.1', '--proxy', proxy.origin, `http://origin.test:${server.port}/`])
    expect(r.code).toBe(0)
    expect(r.out).toBe('hello')
    expect(proxy.log.some((entry) => entry.target.includes(`127.0.0.1:${server.port}`))).toBe(true)
    expect(proxy.names).toEqual([])
  })

  it('shows no progress line when stderr is not a terminal, however slow the body', async () => {
    const r = await runCli(['get', ...allow, `${server.origin}/trickle`])
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBe(102400)
    expect(r.stderr).toBe('')
  })

  // util-linux `script` gives the child a terminal; where it is missing, the unit tests cover the line.
  it.runIf(spawnSync('script', ['--version']).status === 0)(
    'shows bytes and rate on a terminal for a body slower than a second, then erases the line',
    async () => {
      const file = join(dir, 'trickle.bin')
      const command = [process.execPath, '--import', 'tsx', CLI_SOURCE, 'get', ...allow, '-o', file, `${server.origin}/trickle`].join(' ')
      const { spawn } = await import('node:child_process')
      const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
      let terminal = ''
      child.stdout.on('data', (c: Buffer) => (terminal += c.toString('utf8')))
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
      expect(code).toBe(0)
      expect(readFileSync(file).length).toBe(102400)
      const ERASE = '\r\x1b[K'
      const drawn = terminal.split(ERASE).slice(1, -1)
      expect(drawn.length).toBeGreaterThan(0)
      for (const line of drawn) expect(line).toMatch(/^\d+(\.\d)? (B|KiB) {2}\d+(\.\d)? (B|KiB)\/s {2}\d+% of 100 KiB$/)
      // The line is erased at the end: the last thing written is the erase sequence.
      expect(terminal.endsWith(ERASE)).toBe(true)
    },
  )

  it.each([
    [['get'], /no URL given/],
    [['get', '--timeout', '5 parsecs', 'http://a.test/'], /--timeout must be a duration/],
    [['get', '--retry', 'two', 'http://a.test/'], /--retry must be a whole number/],
    [['get', '-H', 'no colon', 'http://a.test/'], /-H must be "name: value"/],
    [['get', '-H', 'x-a: b\r\nx-injected: 1', 'http://a.test/'], /the value has characters a header cannot carry/],
    [['get', '-H', 'host: evil.test', 'http://a.test/'], /ERR_INVALID_OPTION: init\.headers\.host cannot be set/],
    [['get', 'http://exa mple.test/'], /ERR_URL_INVALID/],
    [['get', '--allow', 'nope', 'http://a.test/'], /ERR_INVALID_OPTION: policy\.allow\[0\]/],
    [['get', 'http://a.test/', 'http://b.test/'], /one URL at a time/],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const r = await runCli(args)
    expect(r.stderr).toMatch(message)
    expect(r.code).toBe(2)
  })

  it('--help lists the flags, the exit codes and examples', async () => {
    const r = await runCli(['get', '--help'])
    expect(r.code).toBe(0)
    for (const text of [
      'Usage: safefetch get',
      '--timings',
      '--timeout <duration>',
      '--retry <n>',
      '--fail',
      '--max-bytes',
      '--proxy',
      '-d, --data',
      '3 refused by the policy',
      'safefetch get --timings -o /dev/null',
    ]) {
      expect(r.out).toContain(text)
    }
  })
})
