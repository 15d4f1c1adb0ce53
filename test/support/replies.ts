/**
 * What a test server's handler does with a request: answer it (`reply`), echo it back as JSON
 * (`echo`), read its body (`readBody`), or drop the connection (`resetConnection`).
 */
import type http from 'node:http'

/** Answers `status` with `headers` (a list value sends the field once per member) and `body`. */
export function reply(
  res: http.ServerResponse,
  status: number,
  headers: Record<string, string | string[]> = {},
  body: string | Buffer = `status ${status}`,
): void {
  res.statusCode = status
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
  res.end(body)
}

/** Drops the connection without a response, once the request has arrived (ECONNRESET / "other side closed"). */
export function resetConnection(req: http.IncomingMessage): void {
  req.socket.destroy()
}

/** The whole request body. */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** What `echo` answers. */
export interface Echo {
  method: string
  url: string
  headers: Record<string, string | undefined>
  body: string
}

/** Echoes method, path, headers and body (latin1) as JSON. */
export function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  void readBody(req).then((body) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('latin1') }))
  })
}
