/**
 * Small helpers shared by the integration suites (not a test file itself).
 */
import type http from 'node:http'
import { expect } from 'vitest'
import { SafeFetchError, type ErrorCode } from '../../src/index.js'

/** Awaits a promise that must reject with a SafeFetchError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SafeFetchError> {
  let error: unknown
  try {
    await promise
  } catch (err) {
    error = err
  }
  expect(error, `expected ${code}, got a value`).toBeDefined()
  expect(error).toBeInstanceOf(SafeFetchError)
  expect((error as SafeFetchError).code, (error as Error).message).toBe(code)
  return error as SafeFetchError
}

/** Calls `fn`, which must throw (synchronously) a SafeFetchError of `code`. */
export function throwsWith(fn: () => unknown, code: ErrorCode): SafeFetchError {
  let error: unknown
  try {
    fn()
  } catch (err) {
    error = err
  }
  expect(error, `expected ${code} to be thrown`).toBeInstanceOf(SafeFetchError)
  expect((error as SafeFetchError).code, (error as Error).message).toBe(code)
  return error as SafeFetchError
}

/** The whole request body as text. */
export function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** Echoes method, path, headers and body as JSON. */
export function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  void readBody(req).then((body) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString('latin1') }))
  })
}

export interface Echo {
  method: string
  url: string
  headers: Record<string, string | undefined>
  body: string
}

/** Client option that lets a test reach its server on 127.0.0.1 (loopback is denied by default). */
export const LOOPBACK = { policy: { allow: ['127.0.0.1/32'] } } as const
