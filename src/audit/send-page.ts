/**
 * A page of the audit log as JSON, `{"entries":[...],"next":"..."}`, written an entry at a time in turns: a page of
 * 200 seed-sized calls is 6.3 MB, which unpacked and serialised at once (`res.json`) held the event loop, and with it
 * the hook calls, for about 50 ms; now 5-10 ms at the longest, mostly a full collection of the page's garbage
 * (`npm run bench:audit-read`, session 32). Sent chunked, without a Content-Length.
 */
import type { ServerResponse } from 'node:http';
import { mapInTurns } from '../store/in-turns.js';

/**
 * Sends a page with status 200, not to be cached.
 * @param res - the response, headers not yet sent.
 * @param rows - the page's entries.
 * @param next - the next page's link, when there is one.
 */
export async function sendPage(res: ServerResponse, rows: readonly unknown[], next: string | undefined): Promise<void> {
  await sendInTurns(res, 'application/json', '{"entries":[', rows, `]${next === undefined ? '' : `,"next":${JSON.stringify(next)}`}}`);
}

/**
 * Sends a page as a FHIR searchset Bundle (the audit log's AuditEvent view), in turns as `sendPage` does.
 * @param res - the response, headers not yet sent.
 * @param entries - the page's resources with their full URLs.
 * @param self - this page's link.
 * @param next - the next page's link, when there is one.
 */
export async function sendBundle(res: ServerResponse, entries: readonly { fullUrl: string; resource: unknown }[], self: string, next: string | undefined): Promise<void> {
  const links = [{ relation: 'self', url: self }, ...(next === undefined ? [] : [{ relation: 'next', url: next }])];
  await sendInTurns(res, 'application/fhir+json', `{"resourceType":"Bundle","type":"searchset","link":${JSON.stringify(links)},"entry":[`, entries, ']}');
}

async function sendInTurns(res: ServerResponse, type: string, head: string, items: readonly unknown[], tail: string): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  res.write(head);
  let separator = '';
  await mapInTurns(items, (item) => {
    // A reader who hung up gets nothing more; the read is recorded already.
    if (!res.destroyed) res.write(separator + JSON.stringify(item));
    separator = ',';
  });
  res.end(tail);
}
