/**
 * Assertions on the library's errors: a call must fail with a SafeFetchError of a given code.
 */
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
