/**
 * The TIMESTAMP of Cognito's PASSWORD_VERIFIER challenge: "ddd MMM d HH:mm:ss UTC yyyy" in UTC, the day of the month
 * without padding (amazon-cognito-identity-js DateHelper). Some clients pad the day; both forms parse.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const two = (n: number) => String(n).padStart(2, '0');

/** Formats a time as the client sends it. */
export function formatSrpTimestamp(date: Date): string {
  const weekday = WEEKDAYS[date.getUTCDay()] ?? 'Sun';
  const month = MONTHS[date.getUTCMonth()] ?? 'Jan';
  return `${weekday} ${month} ${date.getUTCDate()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} UTC ${date.getUTCFullYear()}`;
}

const SHAPE = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) UTC (\d{4})$/;

/** Parses a TIMESTAMP into milliseconds since the epoch, or undefined when it is malformed or names the wrong weekday. */
export function parseSrpTimestamp(text: string): number | undefined {
  const m = SHAPE.exec(text);
  if (!m) return undefined;
  const [, weekday, month, day, hh, mm, ss, year] = m;
  const ms = Date.UTC(Number(year), MONTHS.indexOf(month as (typeof MONTHS)[number]), Number(day), Number(hh), Number(mm), Number(ss));
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCDate() !== Number(day) || WEEKDAYS[date.getUTCDay()] !== weekday) return undefined;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) return undefined;
  return ms;
}
