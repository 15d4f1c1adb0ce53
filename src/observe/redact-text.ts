/**
 * The textual URL redaction rule, for text that did not parse as a URL. It sits below the option
 * checks (option-checks.ts shows refused URL-like values through it) and below redact.ts, which
 * validates its own options with those checks: a module of its own keeps the import graph acyclic.
 */
import { DEFAULT_PATH_RULES, redactPath, type CompiledPathRule } from './redact-paths.js'

export const REDACTED = 'REDACTED'

/** The part of a client's RedactRules this rule reads. */
interface TextRedactRules {
  readonly enabled: boolean
  readonly paths: readonly CompiledPathRule[]
}

const DEFAULT_TEXT_RULES: TextRedactRules = { enabled: true, paths: DEFAULT_PATH_RULES }

/** A scheme, recognised only when a `/` or `\\` follows it. */
const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:(?=[/\\])/

/** Longest text kept of input that did not parse. */
const RAW_TEXT_MAX = 200

/**
 * Log-safe form of text that was meant as a URL but did not parse (so nothing about its structure
 * can be trusted). Conservative and textual:
 * - a scheme is recognised only when followed by `/` or `\` (`https:u:pw@h` has none, so all of
 *   it before the `@` is hidden);
 * - any `/` and `\` after the scheme are skipped, then everything up to the LAST `@` before the
 *   first `?` or `#` is userinfo and becomes REDACTED (`https:/u:pw@h`, `http:\\u:pw@h`,
 *   `//u:p/w@h`: a password with an unencoded `/` is still hidden);
 * - the query becomes `?REDACTED` (every value, whatever its name) and the fragment is dropped;
 * - the path rules run over what is left; the result is capped at 200 characters.
 */
export function redactUrlText(text: string, rules: TextRedactRules = DEFAULT_TEXT_RULES): string {
  if (!rules.enabled) return text
  const cut = text.search(/[?#]/)
  let head = cut === -1 ? text : text.slice(0, cut)
  const scheme = SCHEME.exec(head)
  const afterScheme = scheme === null ? 0 : scheme[0].length
  let start = afterScheme
  while (start < head.length && (head[start] === '/' || head[start] === '\\')) start++
  const at = head.lastIndexOf('@')
  if (at >= start) head = `${head.slice(0, start)}${REDACTED}${head.slice(at)}`
  // With a scheme or a leading `//`, an authority comes first and the path after it.
  const authority = scheme !== null || start - afterScheme >= 2
  let pathStart = start
  if (authority) while (pathStart < head.length && head[pathStart] !== '/' && head[pathStart] !== '\\') pathStart++
  else pathStart = head.indexOf('/')
  if (pathStart !== -1 && pathStart < head.length) head = head.slice(0, pathStart) + redactPath(head.slice(pathStart), rules.paths)
  if (cut !== -1 && text[cut] === '?') head += `?${REDACTED}`
  return head.length > RAW_TEXT_MAX ? `${head.slice(0, RAW_TEXT_MAX)}…` : head
}
