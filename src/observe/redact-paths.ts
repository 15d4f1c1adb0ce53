/**
 * Path rules of `redact`: credentials that live in the URL path, where no query-name heuristic can
 * see them. Incoming-webhook and bot APIs authenticate by a path segment, so the whole URL is the
 * secret ("keep your webhook URL secret", Slack's and Discord's docs say).
 *
 * The defaults are one anchored RegExp over the raw pathname: a path that does not start like one
 * of these services fails at its first few characters, so an ordinary URL pays one failed `exec`
 * (well under a microsecond). Each shape is specific enough (literal segments, id formats) that
 * ordinary API paths do not match it; only the secret part is hidden, ids stay readable:
 * - Slack incoming webhooks `/services/T…/B…/<secret>`, workflow webhooks
 *   `/workflows/T…/A…/<id>/<secret>` and `/triggers/T…/<id>/<secret>` (hooks.slack.com); workspace
 *   and channel ids are upper-case letters and digits and always hold a digit;
 * - Telegram Bot API `/bot<id>:<secret>/<method>` and `/file/bot<id>:<secret>/<path>`
 *   (https://core.telegram.org/bots/api#making-requests);
 * - Discord webhooks `/api[/v<n>]/webhooks/<snowflake id>/<secret>`
 *   (https://discord.com/developers/docs/resources/webhook#execute-webhook);
 * - Microsoft Teams incoming webhooks `/webhookb2/<ids>/IncomingWebhook/<secret>/<id>[/<secret>]`;
 * - Mattermost incoming webhooks `/hooks/<26 lower-case letters and digits>`;
 * - Zapier catch hooks `/hooks/catch/<id>/<secret>`;
 * - IFTTT Webhooks `/trigger/<event>/[json/]with/key/<secret>`;
 * - Netlify build hooks `/build_hooks/<24 hex digits>`.
 */
import { SafeFetchError } from '../errors.js'

const REDACTED = 'REDACTED'

/**
 * A user path rule. A RegExp is matched against the raw pathname (percent-encoded, as sent); the
 * text of each capture group — or of the whole match when it has no groups — is hidden, at every
 * match. A function gets the raw pathname and returns the pathname to show; the segments it
 * changed count as secrets (and are scrubbed from error messages).
 */
export type RedactPathRule = RegExp | ((pathname: string) => string)

export type CompiledPathRule =
  /** `lead`: the characters a matching path can have right after its first `/` (a cheap pre-check). */
  { readonly kind: 'regexp'; readonly re: RegExp; readonly lead?: string } | { readonly kind: 'function'; readonly fn: (pathname: string) => string }

const DEFAULT_PATHS = new RegExp(
  '^(?:' +
    [
      '/services/T[A-Z0-9]*\\d[A-Z0-9]*/B[A-Z0-9]*\\d[A-Z0-9]*/([^/]+)',
      '/workflows/T[A-Z0-9]*\\d[A-Z0-9]*/A[A-Z0-9]*\\d[A-Z0-9]*/\\d+/([^/]+)',
      '/triggers/T[A-Z0-9]*\\d[A-Z0-9]*/\\d+/([^/]+)',
      '(?:/file)?/bot\\d+:([^/]+)',
      '/api(?:/v\\d+)?/webhooks/\\d{15,}/([^/]+)',
      '/webhookb2/[^/]+/IncomingWebhook/([^/]+)/[^/]+(?:/([^/]+))?',
      '/hooks/([a-z0-9]{26})(?=/|$)',
      '/hooks/catch/\\d+/([^/]+)',
      '/trigger/[^/]+/(?:json/)?with/key/([^/]+)',
      '/build_hooks/([0-9a-f]{24})(?=/|$)',
    ].join('|') +
    ')',
  'dg',
)

/** First letters of the default shapes: /services /workflows /triggers /trigger /file /bot /api /webhookb2 /hooks /build_hooks. */
export const DEFAULT_PATH_RULES: readonly CompiledPathRule[] = [{ kind: 'regexp', re: DEFAULT_PATHS, lead: 'swtfbah' }]

/** Validates `redact.paths` once per client; RegExps are copied with the flags we need (`d`, `g`). */
export function compilePathRules(input: unknown, path: string): CompiledPathRule[] {
  if (!Array.isArray(input)) {
    throw new SafeFetchError('ERR_INVALID_OPTION', `${path} must be an array of RegExps or functions, got ${typeof input}`)
  }
  return input.map((rule: unknown, i): CompiledPathRule => {
    if (rule instanceof RegExp) {
      // Our own copy: `g` to hide every match, `d` for the capture groups' positions; the caller's
      // object (and its lastIndex) is never touched. `y` would stop at the first miss.
      const flags = `${rule.flags.replace(/[dgy]/g, '')}dg`
      return { kind: 'regexp', re: new RegExp(rule.source, flags) }
    }
    if (typeof rule === 'function') return { kind: 'function', fn: rule as (pathname: string) => string }
    throw new SafeFetchError(
      'ERR_INVALID_OPTION',
      `${path}[${i}] must be a RegExp or a function (pathname) => string, got ${rule === null ? 'null' : typeof rule}`,
    )
  })
}

/** Character ranges of one match to hide: the capture groups that took part, else the whole match. */
function hiddenRanges(match: RegExpExecArray): [number, number][] {
  const indices = match.indices!
  if (indices.length === 1) return [indices[0]!]
  const ranges: [number, number][] = []
  for (let g = 1; g < indices.length; g++) {
    const range = indices[g]
    if (range !== undefined && range[1] > range[0]) ranges.push(range)
  }
  return ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1])
}

/** Runs one RegExp rule; `found` collects the hidden texts. Returns `path` itself when nothing matched. */
function applyRegExp(re: RegExp, path: string, found: string[] | undefined): string {
  re.lastIndex = 0
  let out = ''
  let last = 0
  let changed = false
  for (let match = re.exec(path); match !== null; match = re.exec(path)) {
    for (const [from, to] of hiddenRanges(match)) {
      if (from < last) continue // nested in a group already hidden
      out += path.slice(last, from) + REDACTED
      found?.push(path.slice(from, to))
      last = to
      changed = true
    }
    if (match[0].length === 0) re.lastIndex++
    if (re.lastIndex > path.length) break
  }
  return changed ? out + path.slice(last) : path
}

/** Runs a function rule; one that throws or returns a non-string hides the whole path. */
function applyFunction(fn: (pathname: string) => string, path: string, found: string[] | undefined): string {
  let shown: unknown
  try {
    shown = fn(path)
  } catch {
    shown = undefined
  }
  if (typeof shown !== 'string') {
    found?.push(path)
    return `/${REDACTED}`
  }
  if (shown === path) return path
  if (found !== undefined) {
    const before = path.split('/')
    const after = shown.split('/')
    if (before.length !== after.length) found.push(path)
    else for (let i = 0; i < before.length; i++) if (before[i] !== after[i] && before[i] !== '') found.push(before[i]!)
  }
  return shown
}

function applyRules(path: string, rules: readonly CompiledPathRule[], found: string[] | undefined): string {
  let out = path
  for (const rule of rules) {
    if (rule.kind === 'function') out = applyFunction(rule.fn, out, found)
    else if (rule.lead === undefined || rule.lead.includes(out.charAt(1))) out = applyRegExp(rule.re, out, found)
  }
  return out
}

/** The pathname as it may be logged; the same string when no rule matched (callers compare with ===). */
export function redactPath(path: string, rules: readonly CompiledPathRule[]): string {
  return applyRules(path, rules, undefined)
}

/** The secret parts the rules hide in a pathname (error path only: for scrubbing free text). */
export function pathSecrets(path: string, rules: readonly CompiledPathRule[]): string[] {
  const found: string[] = []
  applyRules(path, rules, found)
  return found
}
