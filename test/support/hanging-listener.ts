/**
 * A TCP port on which connect() hangs: a child process listens with a backlog of 1 and never
 * calls accept() (its event loop is blocked), and the accept queue is filled, so Linux drops
 * every further SYN. Works inside the test namespace on any address of `lo`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'

export interface HangingListener {
  readonly host: string
  readonly port: number
  close(): void
}

export async function startHangingListener(host = '127.0.0.1'): Promise<HangingListener> {
  // Node turns `backlog: 0` into its default 511, so ask for 1 (the kernel then queues 2).
  const script = `
    const net = require('node:net')
    const server = net.createServer()
    server.listen({ port: 0, host: ${JSON.stringify(host)}, backlog: 1 }, () => {
      process.stdout.write(server.address().port + '\\n', () => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)
      })
    })`
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    let text = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      if (text.includes('\n')) resolve(Number(text.trim()))
    })
    child.once('exit', (code) => reject(new Error(`listener child exited early (${code})`)))
  })
  const fillers: net.Socket[] = []
  let hangs = false
  for (let i = 0; i < 8 && !hangs; i++) {
    const socket = net.connect({ host, port })
    socket.on('error', () => {})
    fillers.push(socket)
    hangs = !(await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true))
      setTimeout(() => resolve(false), 300)
    }))
  }
  const close = (): void => {
    for (const socket of fillers) socket.destroy()
    child.kill('SIGKILL')
  }
  if (!hangs) {
    close()
    throw new Error('the accept queue did not fill up')
  }
  return { host, port, close }
}
