/**
 * The statements that read a page of the audit log, for SQLite and PostgreSQL alike: only the filters given become
 * conditions, so each can use its index (patient, request, hook instance, time). A single statement with
 * `:x IS NULL OR column = :x` for every filter, as SQLite's store had until session 32, cannot: SQLite then walked
 * the whole log from the newest row for a patient or a request, 60-72 ms per 200,000 calls with the file in the
 * page cache (bench:audit-read), on the event loop that also answers the hooks.
 */
import type { InvocationFilter, PageCursor, ReadFilter } from './audit-store.js';

/** A statement and its values. */
export interface PageQuery {
  readonly sql: string;
  readonly values: unknown[];
}

/** How each database takes a value: its placeholder for the n-th (from 1), its text and its time. */
export interface Dialect {
  placeholder(n: number): string;
  text(value: string): unknown;
  time(value: Date): unknown;
}

/** A condition on one column (`column op ?`) and its value; a condition whose value is absent is left out. */
type Condition = readonly [sql: string, value: unknown];

/**
 * A page of a table, newest first by its time column and then id: the conditions whose value is given, the page's
 * start (the previous page's last row, compared as a row value so that an index on time can seek to it), the limit.
 */
function pageQuery(table: string, time: string, conditions: readonly Condition[], before: PageCursor | undefined, limit: number, d: Dialect): PageQuery {
  const values: unknown[] = [];
  const terms: string[] = [];
  for (const [sql, value] of conditions) {
    if (value === undefined) continue;
    values.push(value);
    terms.push(sql.replace('?', d.placeholder(values.length)));
  }
  if (before !== undefined) {
    values.push(d.time(before.at), before.id);
    terms.push(`(${time}, id) < (${d.placeholder(values.length - 1)}, ${d.placeholder(values.length)})`);
  }
  values.push(limit);
  const filter = terms.length === 0 ? '' : ` WHERE ${terms.join(' AND ')}`;
  return { sql: `SELECT * FROM ${table}${filter} ORDER BY ${time} DESC, id DESC LIMIT ${d.placeholder(values.length)}`, values };
}

const given = <T, R>(value: T | undefined, as: (v: T) => R): R | undefined => (value === undefined ? undefined : as(value));

/**
 * The statement for a page of hook invocations.
 * @param f - the filter.
 * @param d - the database's dialect.
 * @returns the statement and its values.
 */
export function invocationsQuery(f: InvocationFilter, d: Dialect): PageQuery {
  const text = (v: string): unknown => d.text(v);
  const time = (v: Date): unknown => d.time(v);
  return pageQuery('hook_invocation', 'received_at', [
    ['patient_id = ?', given(f.patientId, text)],
    ['hook_instance = ?', given(f.hookInstance, text)],
    ['request_id = ?', given(f.requestId, text)],
    ['service_id = ?', given(f.serviceId, text)],
    ['received_at >= ?', given(f.since, time)],
    ['received_at < ?', given(f.until, time)],
  ], f.before, f.limit, d);
}

/**
 * The statement for a page of the reads of the log.
 * @param f - the filter.
 * @param d - the database's dialect.
 * @returns the statement and its values.
 */
export function readsQuery(f: ReadFilter, d: Dialect): PageQuery {
  return pageQuery('audit_read', 'at', [
    ['reader = ?', given(f.reader, (v) => d.text(v))],
    ['at >= ?', given(f.since, (v) => d.time(v))],
    ['at < ?', given(f.until, (v) => d.time(v))],
  ], f.before, f.limit, d);
}
