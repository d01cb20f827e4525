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
  res.statusCode = 200;
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.write('{"entries":[');
  let separator = '';
  await mapInTurns(rows, (row) => {
    // A reader who hung up gets nothing more; the read is recorded already.
    if (!res.destroyed) res.write(separator + JSON.stringify(row));
    separator = ',';
  });
  res.end(`]${next === undefined ? '' : `,"next":${JSON.stringify(next)}`}}`);
}
