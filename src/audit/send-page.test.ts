import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { turnsDuring } from '../../test/support/turns.js';
import { sendPage } from './send-page.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real HTTP server whose one route sends what `respond` sends; resolves with its URL. */
async function serve(respond: (res: ServerResponse) => Promise<void>): Promise<string> {
  const server = createServer((_req, res) => void respond(res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
}

/** 200 entries the size of a recorded seed call (its 30 KB request, parsed), as the largest page holds. */
const seed = JSON.parse(readFileSync('fhir-fixtures/requests/seed-a.order-sign.json', 'utf8')) as unknown;
const rows = Array.from({ length: 200 }, (_v, id) => ({ id, request: seed }));

describe('a page of the audit log as JSON', () => {
  it('is the entries and the next link, as one JSON document, not to be cached', async () => {
    const url = await serve((res) => sendPage(res, rows.slice(0, 3), '/audit/hook-invocations?before=1-2'));
    const answer = await fetch(url);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await answer.json()).toEqual({ entries: rows.slice(0, 3), next: '/audit/hook-invocations?before=1-2' });
    const empty = await fetch(await serve((res) => sendPage(res, [], undefined)));
    expect(await empty.json()).toEqual({ entries: [] });
  });

  it('writes a page of 200 seed-sized calls over several turns of the event loop, not in one', async () => {
    let writing: Promise<{ turns: number }> | undefined;
    const url = await serve((res) => {
      writing = turnsDuring(() => sendPage(res, rows, undefined));
      return writing.then(() => undefined);
    });
    const answer = await fetch(url);
    const body = (await answer.json()) as { entries: unknown[] };
    expect(body.entries).toHaveLength(200);
    expect(body.entries[199]).toEqual(rows[199]);
    // About 6 MB to serialise: tens of milliseconds here, so many turns of 2 ms; at once it would be none.
    expect((await writing)?.turns).toBeGreaterThanOrEqual(2);
  });

  it('serialises nothing more for a reader who hung up, and settles without an error', async () => {
    let serialised = 0;
    const counted = rows.map((row) => ({ toJSON: () => ((serialised += 1), row) }));
    let writing: Promise<void> | undefined;
    let hungUp: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (hungUp = resolve));
    const url = await serve(async (res) => {
      res.on('close', hungUp);
      await closed;
      writing = sendPage(res, counted, undefined);
      await writing;
    });
    const controller = new AbortController();
    const answer = fetch(url, { signal: controller.signal }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await answer).toBe('aborted');
    await closed;
    await expect(writing).resolves.toBeUndefined();
    expect(serialised).toBe(0);
  });
});
