/**
 * HTTP-date parsing, RFC 9110 §5.6.7. Recipients must accept all three formats; `Date.parse` is
 * not used because it also accepts many non-HTTP forms and reads asctime dates in local time.
 *
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT   (the preferred format)
 *   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT  (obsolete)
 *   asctime-date Sun Nov  6 08:49:37 1994        (obsolete, always UTC)
 *
 * The grammar says "HTTP-date is case sensitive", but the same section asks recipients to be
 * robust ("Recipients of timestamp values are encouraged to be robust in parsing timestamps"), and
 * origins do send `sun, 06 nov 1994 08:49:37 gmt` or `GMT` in other cases: day and month names
 * and `GMT` are matched case-insensitively. Everything else (digit counts, separators, ranges,
 * the zone being GMT) stays strict, so a non-date is still not a date.
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const DAY_L = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i')
const RFC850_DATE = new RegExp(`^${DAY_L}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`, 'i')
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i')

/**
 * Milliseconds since the epoch, or undefined when `value` is not an HTTP-date.
 * @param now epoch milliseconds, only used to place an rfc850 two-digit year in its century
 */
export function parseHttpDate(value: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(value)
  if (m !== null) return build(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!)
  m = RFC850_DATE.exec(value)
  if (m !== null) return build(fullYear(Number(m[3]), now), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!)
  m = ASCTIME_DATE.exec(value)
  if (m !== null) return build(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!)
  return undefined
}

/**
 * §5.6.7: a two-digit year that "appears to be more than 50 years in the future" is read as "the
 * most recent year in the past that had the same last two digits".
 */
function fullYear(twoDigits: number, now: number): number {
  const current = new Date(now).getUTCFullYear()
  const year = current - (current % 100) + twoDigits
  return year > current + 50 ? year - 100 : year
}

function build(year: number, monthName: string, day: number, hh: string, mm: string, ss: string): number | undefined {
  const month = MONTHS[monthName.toLowerCase()]!
  const hour = Number(hh)
  const minute = Number(mm)
  const second = Number(ss)
  // second may be 60: the grammar allows a leap second (§5.6.7), which Date.UTC rolls over.
  if (day < 1 || hour > 23 || minute > 59 || second > 60) return undefined
  const time = Date.UTC(year, month, day, hour, minute, second)
  // Reject dates that do not exist (31 Feb): Date.UTC would silently roll them into the next month.
  if (new Date(Date.UTC(year, month, day)).getUTCDate() !== day) return undefined
  return time
}
