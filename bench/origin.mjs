// The benchmark origin, in its own process: keep-alive, a 1 KiB body, nothing else.
import http from 'node:http'

const body = Buffer.alloc(1024, 'x')
const server = http.createServer((req, res) => {
  if (req.url.startsWith('/cached')) res.setHeader('cache-control', 'max-age=3600')
  res.setHeader('content-type', 'text/plain')
  res.setHeader('content-length', body.length)
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: server.address().port })
})
process.on('disconnect', () => process.exit(0))
