/**
 * The observability suites' origin: routes that sleep, trickle, fail, redirect or echo, so a test
 * sees every kind of call in its logs, spans and stats.
 */
import type http from 'node:http'
import { echo } from './replies.js'
import { sleep } from './waiting.js'

/**
 * Routes of the test origin (query parameters are ignored except where named):
 * - `/slow?ms=N`           sleeps N ms before the headers, then 5 bytes
 * - `/chunks?n=N&gap=G`    headers at once, then N chunks of 100 bytes with G ms between them
 * - `/flaky/<key>?fail=N`  503 for the first N requests to that key, then 200
 * - `/status/<code>`       that status, body `status <code>`
 * - `/redirect?to=<path>`  302 to `to`
 * - `/redirect-signed`     302 to `/landing?sig=SIG-SECRET&x=1` (a secret only the server names)
 * - `/cookie`              sets a cookie, `cache-control: max-age=60`
 * - `/cacheable`           `cache-control: max-age=60`
 * - `/swr`                 `cache-control: max-age=0, stale-while-revalidate=60`
 * - anything else          echo (method, url, headers, body as JSON)
 */
export function originHandler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const flakyCounts = new Map<string, number>()
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin.test')
    const path = url.pathname
    const number = (name: string, fallback: number): number => Number(url.searchParams.get(name) ?? fallback)
    if (path === '/slow') {
      void sleep(number('ms', 100)).then(() => res.end('slow!'))
    } else if (path === '/chunks') {
      res.setHeader('content-type', 'text/plain')
      res.flushHeaders()
      void (async () => {
        const n = number('n', 3)
        for (let i = 0; i < n; i++) {
          if (i > 0) await sleep(number('gap', 50))
          res.write(Buffer.alloc(100, 'c'))
        }
        res.end()
      })()
    } else if (path.startsWith('/flaky/')) {
      const seen = (flakyCounts.get(path) ?? 0) + 1
      flakyCounts.set(path, seen)
      res.statusCode = seen <= number('fail', 1) ? 503 : 200
      res.end(`attempt ${seen}`)
    } else if (path.startsWith('/status/')) {
      res.statusCode = Number(path.slice('/status/'.length))
      res.end(`status ${res.statusCode}`)
    } else if (path === '/redirect') {
      res.statusCode = 302
      res.setHeader('location', url.searchParams.get('to') ?? '/')
      res.end()
    } else if (path === '/redirect-signed') {
      res.statusCode = 302
      res.setHeader('location', '/landing?sig=SIG-SECRET&x=1')
      res.end()
    } else if (path === '/cookie') {
      res.setHeader('set-cookie', 'session=SETCOOKIE-SECRET-3; HttpOnly')
      res.setHeader('cache-control', 'max-age=60')
      res.end('cookie set')
    } else if (path === '/cacheable') {
      res.setHeader('cache-control', 'max-age=60')
      res.end('cacheable body')
    } else if (path === '/swr') {
      res.setHeader('cache-control', 'max-age=0, stale-while-revalidate=60')
      res.end('swr body')
    } else {
      echo(req, res)
    }
  }
}
