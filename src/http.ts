/**
 * HTTP grammar and method classes shared by every module that checks names or methods
 * (RFC 9110). One definition each, so a header-name check and a method check cannot drift apart.
 */

/**
 * RFC 9110 §5.6.2: `token = 1*tchar`, tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
 * "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA. Field names (§5.1) and methods (§9.1) are tokens.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Whether `text` is an RFC 9110 token: a valid field name or method name. */
export function isToken(text: string): boolean {
  return TOKEN.test(text)
}

/** RFC 9110 §9.2.1: the safe methods (read-only by definition). Upper-case names. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** RFC 9110 §9.2.2: the idempotent methods: the safe ones plus PUT and DELETE. Upper-case names. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])
