/**
 * The FHIR search parameters of AuditEvent that a hospital's audit repository or SIEM sends (FHIR R4 search, "date"
 * and "reference" types), read as the audit log's own filters: `date` (AuditEvent.recorded, repeatable, with the
 * prefixes eq, gt, ge, lt, le, sa, eb) as a time range, and `patient` as the patient's id.
 */

/** A time range: at or after `since`, before `until`. */
export interface TimeRange {
  readonly since?: Date;
  readonly until?: Date;
}

// A FHIR date or dateTime: a year, a month, a day, or a time to the minute or finer with its zone.
const FHIR_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}))?)?)?$/;
const PREFIX = /^(eq|gt|ge|lt|le|sa|eb|ne|ap)?(.*)$/;

/**
 * The moments a FHIR date or dateTime stands for, as FHIR search reads it: its whole precision (2026-11 is the month).
 * A date without a time is a day in UTC, as the log's days are.
 * @param value - the value without its prefix.
 * @returns the range [low, high), or undefined when the value is not a date.
 */
function precisionRange(value: string): { low: Date; high: Date } | undefined {
  const m = FHIR_DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (mo === undefined) return { low: new Date(Date.UTC(year, 0, 1)), high: new Date(Date.UTC(year + 1, 0, 1)) };
  const month = Number(mo) - 1;
  if (d === undefined) {
    const low = new Date(Date.UTC(year, month, 1));
    return low.getUTCMonth() === month ? { low, high: new Date(Date.UTC(year, month + 1, 1)) } : undefined;
  }
  const low = new Date(Date.UTC(year, month, Number(d)));
  if (low.getUTCMonth() !== month || low.getUTCDate() !== Number(d)) return undefined;
  if (h === undefined) return { low, high: new Date(low.getTime() + 86_400_000) };
  const at = new Date(`${value.slice(0, 10)}T${h}:${mi ?? '00'}:${s ?? '00'}${frac ? `.${frac.slice(0, 3).padEnd(3, '0')}` : ''}${zone ?? 'Z'}`);
  // Date refuses minute or second 60 and hour 25, but reads 24:00 as the next midnight: FHIR's hours end at 23.
  if (Number.isNaN(at.getTime()) || Number(h) > 23) return undefined;
  // The value's last unit: a minute, a second, or a millisecond (finer fractions are read to the millisecond).
  const step = s === undefined ? 60_000 : frac === undefined ? 1000 : 1;
  return { low: at, high: new Date(at.getTime() + step) };
}

const later = (a: Date | undefined, b: Date | undefined): Date | undefined => (a === undefined || (b !== undefined && b > a) ? b : a);
const earlier = (a: Date | undefined, b: Date | undefined): Date | undefined => (a === undefined || (b !== undefined && b < a) ? b : a);

/**
 * The moments both ranges hold.
 * @param a - a range.
 * @param b - another.
 * @returns their intersection (empty when `since` is not before `until`).
 */
export function narrowed(a: TimeRange, b: TimeRange): TimeRange {
  const since = later(a.since, b.since);
  const until = earlier(a.until, b.until);
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

/**
 * The time range that FHIR `date` search values select, for a target that is one moment (AuditEvent.recorded): all
 * of them together (`date=ge2026-11-01&date=lt2026-12-01` is November).
 * @param values - the parameter's values as sent.
 * @returns the range, or the problem with the first value that cannot be read.
 */
export function dateSearchRange(values: readonly string[]): TimeRange | string {
  let range: TimeRange = {};
  for (const raw of values) {
    const [, prefix = 'eq', value = ''] = PREFIX.exec(raw) ?? [];
    if (prefix === 'ne' || prefix === 'ap') return `date prefix ${prefix} is not supported; use eq, gt, ge, lt, le, sa or eb`;
    const moments = precisionRange(value);
    if (moments === undefined) return `date ${raw} is not a FHIR date (2026-11, 2026-11-01) or date-time with its zone (2026-11-01T08:00:00Z), after an optional prefix (ge2026-11-01)`;
    const { low, high } = moments;
    const selected: Record<string, TimeRange> = { eq: { since: low, until: high }, ge: { since: low }, le: { until: high }, gt: { since: high }, sa: { since: high }, lt: { until: low }, eb: { until: low } };
    range = narrowed(range, selected[prefix] ?? {});
  }
  return range;
}

/**
 * The patient id of a FHIR reference search value: `Patient/it-seed-a`, an absolute `https://ehr/fhir/Patient/it-seed-a`,
 * or the id alone (as the log's own `patient` filter takes it).
 * @param value - the value as sent.
 * @returns the id, or undefined for a reference to another resource type.
 */
export function patientSearchId(value: string): string | undefined {
  const parts = value.split('/');
  if (parts.length === 1) return value;
  return parts.at(-2) === 'Patient' && parts.at(-1) ? parts.at(-1) : undefined;
}
