/**
 * `safefetch get --timings`: where the time of one call went, from the public `getCallInfo()` record —
 * the phases of the last physical request as an aligned table with bars, then the call as a whole
 * (retries, redirects, cache result, remote address). Pure: takes the record, returns text.
 */
import type { CallInfo, PhaseTimings } from '../index.js'
import { formatBytes } from './progress.js'

const PHASES: ReadonlyArray<readonly [keyof PhaseTimings, string]> = [
  ['queued', 'queued'],
  ['dns', 'dns'],
  ['connect', 'connect'],
  ['tls', 'tls'],
  ['firstByte', 'first byte'],
  ['download', 'download'],
  ['total', 'total'],
]

const BAR_WIDTH = 40

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value < 1000 ? value.toFixed(1) : value.toFixed(0)
}

export function formatTimings(info: CallInfo, statusText?: string): string {
  const last = info.attemptLog[info.attemptLog.length - 1]
  // A call that failed mid-request has its phases on the attempt only.
  const t: PhaseTimings = Object.keys(info.timings).length > 0 ? info.timings : (last?.timings ?? {})
  const longest = Math.max(0, ...PHASES.map(([key]) => t[key] ?? 0))
  const cells = PHASES.map(([key, label]) => {
    const v = t[key]
    return {
      label,
      value: v === undefined ? '-' : `${ms(v)} ms`,
      bar: v === undefined || longest === 0 ? '' : '█'.repeat(Math.max(v > 0 ? 1 : 0, Math.round((v / longest) * BAR_WIDTH))),
    }
  })
  const labelWidth = Math.max(...cells.map((c) => c.label.length))
  const valueWidth = Math.max(...cells.map((c) => c.value.length))
  const lines = PHASES.some(([key]) => t[key] !== undefined)
    ? cells.map((c) => `  ${c.label.padEnd(labelWidth)}  ${c.value.padStart(valueWidth)}  ${c.bar}`.trimEnd())
    : [`  no phase timings: ${info.attempts === 0 ? 'the call ended before any request was sent' : 'no request got as far as a connection'}`]

  const retries = info.attemptLog.filter((a) => a.attempt > 1).length
  const facts: string[] = []
  if (info.status !== undefined) facts.push(`status ${info.status}${statusText ? ` ${statusText}` : ''}`)
  if (info.errorCode !== undefined) facts.push(`error ${info.errorCode}`)
  if (info.cache !== undefined) facts.push(`cache ${info.cache}`)
  facts.push(
    `${info.attempts} request${info.attempts === 1 ? '' : 's'}, ${retries} retr${retries === 1 ? 'y' : 'ies'}, ${info.redirects} redirect${info.redirects === 1 ? '' : 's'}`,
  )
  if (info.remoteAddress !== undefined) {
    const port = last?.remotePort
    const host = info.remoteAddress.includes(':') ? `[${info.remoteAddress}]` : info.remoteAddress
    facts.push(`remote ${host}${port === undefined ? '' : `:${port}`}${last?.reusedConnection === true ? ' (reused connection)' : ''}`)
  }
  facts.push(`${formatBytes(info.bytes)}`)
  const call = info.durationMs === undefined ? '' : `  call ${ms(info.durationMs)} ms (all requests, waits and the body)\n`
  const retried = info.attemptLog
    .filter((a) => a.retryReason !== undefined)
    .map(
      (a) =>
        `  retry after attempt ${a.attempt}${a.hop > 0 ? ` of hop ${a.hop}` : ''}: ${a.retryReason ?? ''}${a.retryDelayMs === undefined ? '' : `, waited ${ms(a.retryDelayMs)} ms`}\n`,
    )
    .join('')
  return `${lines.join('\n')}\n${call}${retried}  ${facts.join(' · ')}\n`
}
