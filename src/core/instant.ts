/** RFC 3339 times as instants: parsed strictly (a real calendar date) and spelled one way, so one instant is one key. */

// Any number of fraction digits (Alertmanager sends ms or ns); the offset as Z or ±hh:mm.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS[month - 1] ?? 0);
}

/** A parsed instant: whole milliseconds of the second it falls in, and the nanoseconds within that second. */
export interface Instant {
  /** Epoch ms of the start of the second (UTC). */
  readonly secondMs: number;
  /** 0..999,999,999; digits past the ninth are dropped, as Go's time.Parse does. */
  readonly nanos: number;
}

/** Parses an RFC 3339 time; null when it is not one or names no real instant (2026-02-30, 24:00, second 60). */
export function parseInstant(text: string): Instant | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return null;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  utc.setUTCFullYear(year);
  const nanos = Number((m[7] ?? '').slice(0, 9).padEnd(9, '0'));
  return { secondMs: utc.getTime() - offsetMin * 60_000, nanos };
}

/** Spells an instant as Go's RFC3339Nano in UTC (trailing fraction zeros dropped), the form Alertmanager itself sends. */
export function formatInstant(instant: Instant): string {
  const whole = new Date(instant.secondMs).toISOString().replace(/\.\d{3}Z$/, '');
  const fraction = String(instant.nanos).padStart(9, '0').replace(/0+$/, '');
  return `${whole}${fraction === '' ? '' : `.${fraction}`}Z`;
}

// A delivery names the same few startsAt spellings thousands of times (once per key it reads or writes): remember them.
const CANONICAL_CACHE_SIZE = 4096;
const canonicalCache = new Map<string, string | null>();

/** The one spelling of an RFC 3339 time's instant, or null when it names none. */
export function canonicalInstant(text: string): string | null {
  const known = canonicalCache.get(text);
  if (known !== undefined) return known;
  const instant = parseInstant(text);
  const canonical = instant === null ? null : formatInstant(instant);
  if (canonicalCache.size >= CANONICAL_CACHE_SIZE) canonicalCache.clear();
  canonicalCache.set(text, canonical);
  return canonical;
}
