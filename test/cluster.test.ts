/**
 * Several processes on one machine (Node cluster, WORKERS=2): both serve the port, and the state that matters
 * across requests (JWT replay store, feedback) is shared through the SQLite file. A worker that cannot start stops
 * the service rather than being replaced forever.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { fixtureRequest, tempStorePath } from './support/harness.js';
import { makeKey, signToken } from './support/jwt.js';

describe('WORKERS=2', () => {
  it('two workers share the port, and a JWT used on one is refused on the other', async () => {
    const key = await makeKey('ES384');
    const clients = join(mkdtempSync(join(tmpdir(), 'itcds-clients-')), 'clients.json');
    const storePath = tempStorePath();
    writeFileSync(clients, JSON.stringify([{ iss: 'https://ehr.example', jwks: { keys: [key.publicJwk] }, fhirServers: [] }]));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'development', WORKERS: '2', PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: storePath, CDS_CLIENTS_FILE: clients, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', PUBLIC_BASE_URL: 'https://cds.example', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A worker that dies at start-up is replaced by the primary, and its replacement would still make two listening
    // workers: the primary's report of the death is what shows it (the store's lock race did this once).
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    try {
      const listening = await new Promise<{ port: number; worker: number }[]>((resolve, reject) => {
        const seen: { port: number; worker: number }[] = [];
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          for (const line of out.split('\n')) {
            const m = /"port":(\d+).*"worker":(\d+).*"msg":"listening"/.exec(line);
            if (m && !seen.some((s) => s.worker === Number(m[2]))) seen.push({ port: Number(m[1]), worker: Number(m[2]) });
          }
          if (seen.length === 2) resolve(seen);
        });
        child.on('exit', (code) => reject(new Error(`exited ${String(code)}`)));
      });
      expect(listening[0]?.port).toBe(listening[1]?.port);
      const url = `http://127.0.0.1:${listening[0]?.port ?? 0}/cds-services/intrathecal-order-sign`;
      const body = JSON.stringify(fixtureRequest('seed-a.order-sign.json'));
      const post = async (token: string) => (await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body })).status;
      const statuses = await Promise.all(Array.from({ length: 6 }, async () => post(await signToken(key, { iss: 'https://ehr.example', aud: 'https://cds.example/cds-services/intrathecal-order-sign' }))));
      expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
      const once = await signToken(key, { iss: 'https://ehr.example', aud: 'https://cds.example/cds-services/intrathecal-order-sign' });
      const replays = [await post(once), await post(once), await post(once), await post(once)];
      expect(replays).toEqual([200, 401, 401, 401]);
      expect(errors).not.toMatch(/worker \d+ exited/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    // Both workers write the one audit file: the six calls and the first use of the replayed token are there (the
    // refused replays never reached a service). That a stopping worker drains its writer is not shown here: its
    // writes end 0.3 ms (median) to 5 ms (p99) after each answer, long before the signal; audit-writer.test.ts
    // shows close() drains.
    const audit = new DatabaseSync(join(dirname(storePath), 'intrathecal-cds-audit.sqlite'));
    expect(audit.prepare('SELECT status, count(*) AS n FROM hook_invocation GROUP BY status').all()).toEqual([{ status: 200, n: 7 }]);
    audit.close();
  }, 30_000);

  it('stops with exit 1 when a worker cannot start, instead of replacing it in a loop', async () => {
    // A store path under a regular file cannot be created: every worker fails the same way at start-up.
    const dir = mkdtempSync(join(tmpdir(), 'itcds-cluster-'));
    writeFileSync(join(dir, 'not-a-folder'), '');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'development', WORKERS: '2', PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: join(dir, 'not-a-folder', 'store.sqlite'), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(errors).toMatch(/worker \d+ failed to start \(exit 1\); stopping the service/);
    expect(errors).not.toContain('starting another');
  }, 30_000);
});
