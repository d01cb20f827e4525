/**
 * Several processes on one machine (Node cluster, WORKERS=2): both serve the port, and the state that matters
 * across requests (JWT replay store, feedback) is shared through the SQLite file. A worker that cannot start stops
 * the service rather than being replaced forever. A service stopped under load, one process or several, has every
 * call it answered in its audit log.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fixtureRequest, tempStorePath } from './support/harness.js';
import { makeKey, signToken } from './support/jwt.js';

/** A hook call whose body is sent in two halves, the second when `finish` is called; `status` is its answer's. */
function slowCall(url: string, body: string, id: string): { finish(): void; status: Promise<number | undefined> } {
  const bytes = Buffer.from(body);
  const half = Math.floor(bytes.length / 2);
  const req = request(url, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), 'X-Request-Id': id } });
  const status = new Promise<number | undefined>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
  });
  req.write(bytes.subarray(0, half));
  return { finish: () => req.end(bytes.subarray(half)), status };
}

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
    // refused replays never reached a service). A stop under load is the next test's.
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

describe('a service stopped under load', () => {
  it.each([1, 2])('keeps every call it answered in the audit log when stopped under load (WORKERS=%i)', async (workers) => {
    const storePath = tempStorePath();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'development', WORKERS: String(workers), PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: storePath, ALLOW_UNAUTHENTICATED: 'true', TRUST_SANDBOX: 'false', RATE_LIMIT_PER_MINUTE: '100000', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // A test that fails before the stop leaves no service running (its workers close when the primary is gone).
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      // Read until every process listens, then only drained: the service logs a line per call.
      const onData = (chunk: Buffer): void => {
        out += chunk.toString();
        const ports = [...out.matchAll(/"port":(\d+)[^\n]*"msg":"listening"/g)].map((m) => Number(m[1]));
        if (ports.length < workers) return;
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(ports[0] ?? 0);
      };
      child.stdout.on('data', onData);
      void exited.then((code) => reject(new Error(`exited ${String(code)}`)));
    });
    // The workers' process ids (none with WORKERS=1): the service has stopped only once they have all exited.
    const workerPids = readFileSync(`/proc/${String(child.pid)}/task/${String(child.pid)}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    expect(workerPids).toHaveLength(workers === 1 ? 0 : workers);
    const url = `http://127.0.0.1:${String(port)}/cds-services/intrathecal-order-sign`;
    const body = JSON.stringify(fixtureRequest('seed-a.order-sign.json'));
    // Eight callers, each calling again as soon as it is answered, until the service stops taking calls.
    const answered: string[] = [];
    const statuses = new Set<number>();
    let stopped = false;
    let sent = 0;
    const caller = async (): Promise<void> => {
      while (!stopped) {
        const id = `drain-${String((sent += 1))}`;
        try {
          const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Request-Id': id }, body });
          await res.text();
          statuses.add(res.status);
          if (res.status === 200) answered.push(id);
        } catch {
          stopped = true;
        }
      }
    };
    const callers = Array.from({ length: 8 }, caller);
    const auditPath = join(dirname(storePath), 'intrathecal-cds-audit.sqlite');
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Bounded: a service that answers nothing (or refuses the calls) fails the test, saying what it answered,
    // instead of holding it until the timeout with the service left running.
    const waitUntil = Date.now() + 10_000;
    while (answered.length < 10) {
      if (stopped || Date.now() > waitUntil) throw new Error(`the service answered ${String(answered.length)} of ${String(sent)} calls with 200 before the stop (statuses: ${[...statuses].join(', ') || 'none'})`);
      await pause(20);
    }
    // The audit file is locked by another connection from now until 300 ms after the signal (0.6 s in all: within
    // the writer's 5 s busy timeout, and too short to fill its 64 MB queue, past which the answers themselves would
    // wait): the records of the calls answered meanwhile wait in the writer, and the stop must let it write them
    // before the service (with WORKERS=2, its primary) has exited. The log is read the moment it has.
    // It waits its turn like any writer: the workers' writers hold the lock for a moment at each commit, and a
    // locker without a busy timeout fails at once when it asks during one ("database is locked", seen once in CI).
    const locker = new DatabaseSync(auditPath);
    locker.exec('PRAGMA busy_timeout = 5000');
    locker.exec('BEGIN IMMEDIATE');
    await pause(200);
    // One call is still arriving when the stop begins: the second half of its body comes 100 ms after the signal.
    const slow = slowCall(url, body, 'drain-slow');
    await pause(100);
    child.kill('SIGTERM');
    await pause(100);
    slow.finish();
    const release = setTimeout(() => locker.exec('COMMIT'), 200);
    expect(await slow.status).toBe(200);
    answered.push('drain-slow');
    const code = await exited;
    // A supervisor that sees the primary gone ends what is left of the service (systemd's control group, a
    // container): no worker may still be running then.
    const stillRunning = workerPids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    const audit = new DatabaseSync(auditPath);
    const kept = new Set((audit.prepare('SELECT request_id AS id FROM hook_invocation WHERE status = 200').all() as { id: string }[]).map((r) => r.id));
    audit.close();
    clearTimeout(release);
    if (locker.isTransaction) locker.exec('COMMIT');
    locker.close();
    stopped = true;
    await Promise.all(callers);
    expect(code).toBe(0);
    expect(stillRunning).toEqual([]);
    expect(answered.length).toBeGreaterThan(20);
    expect(answered.filter((id) => !kept.has(id))).toEqual([]);
  }, 30_000);
});
