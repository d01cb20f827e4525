import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { feedbackStore } from '../../src/store/feedback-store.js';
import { call, startService, tempStorePath } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const FEEDBACK = '/cds-services/intrathecal-order-sign/feedback';
const CARD = '8f4a0cf2-6d6c-4a0e-9c7e-2f4a1e0b7d11';

const accepted = { card: CARD, outcome: 'accepted', acceptedSuggestions: [{ id: 'c7a2f1e4-1111-4a0e-9c7e-2f4a1e0b7d11' }], outcomeTimestamp: '2026-11-20T15:04:05Z' };
const overridden = { card: CARD, outcome: 'overridden', overrideReason: { reason: { code: 'patient-refused', system: 'https://example.org/override-reasons' }, userComment: 'discussed with patient' }, outcomeTimestamp: '2026-11-20T15:05:00.123+01:00' };

let svc: RunningService;
let storePath: string;
beforeAll(async () => {
  storePath = tempStorePath();
  svc = await startService({ EMBEDDED_FHIR: 'false', STORE_PATH: storePath });
});
afterAll(() => svc.stop());

describe('POST /cds-services/{id}/feedback', () => {
  it('stores accepted and overridden feedback and answers 200', async () => {
    const res = await call(svc, 'POST', FEEDBACK, { feedback: [accepted, overridden] });
    expect(res.status).toBe(200);
    const stored = await svc.built.parts.feedback.list('intrathecal-order-sign');
    expect(stored.slice(-2).map((f) => [f.card, f.outcome, f.acceptedSuggestions, f.overrideReason, f.outcomeTimestamp])).toEqual([
      [CARD, 'accepted', accepted.acceptedSuggestions, undefined, accepted.outcomeTimestamp],
      [CARD, 'overridden', undefined, overridden.overrideReason, overridden.outcomeTimestamp],
    ]);
  });

  it('accepts what the CDS Hooks sandbox sends on dismiss: a reason Coding without display', async () => {
    const res = await call(svc, 'POST', FEEDBACK, { feedback: [{ card: CARD, outcome: 'overridden', overrideReason: { reason: { code: 'x', system: 'y' } }, outcomeTimestamp: '2026-11-20T15:06:00Z' }] });
    expect(res.status).toBe(200);
  });

  it.each([
    ['an empty feedback list', { feedback: [] }, 'feedback'],
    ['no card uuid', { feedback: [{ ...accepted, card: undefined }] }, 'feedback[0].card'],
    ['an unknown outcome (cds-fb-1)', { feedback: [{ ...accepted, outcome: 'ignored' }] }, 'feedback[0].outcome'],
    ['accepted without acceptedSuggestions (cds-fb-2)', { feedback: [{ ...accepted, acceptedSuggestions: undefined }] }, 'feedback[0].acceptedSuggestions'],
    ['an override reason with neither reason nor comment (cds-fb-3)', { feedback: [{ ...overridden, overrideReason: {} }] }, 'feedback[0].overrideReason'],
    ['a timestamp that is not ISO 8601', { feedback: [{ ...accepted, outcomeTimestamp: '20/11/2026' }] }, 'feedback[0].outcomeTimestamp'],
    ['an invalid calendar date', { feedback: [{ ...accepted, outcomeTimestamp: '2026-13-45T99:00:00Z' }] }, 'feedback[0].outcomeTimestamp'],
  ])('400 for %s, storing nothing of the body', async (_name, body, expression) => {
    // A valid item goes first: the whole body is refused, so it must not be stored either.
    const sent = body.feedback.length === 0 ? body : { feedback: [accepted, ...body.feedback] };
    const where = body.feedback.length === 0 ? expression : expression.replace('feedback[0]', 'feedback[1]');
    const before = (await svc.built.parts.feedback.list()).length;
    const res = await call(svc, 'POST', FEEDBACK, sent);
    expect(res.status).toBe(400);
    expect((res.body['issue'] as { expression?: string[] }[]).map((i) => i.expression?.[0])).toContain(where);
    expect((await svc.built.parts.feedback.list()).length).toBe(before);
  });

  it('keeps stored feedback across a restart of the service', async () => {
    const path = tempStorePath();
    const first = await startService({ EMBEDDED_FHIR: 'false', STORE_PATH: path });
    expect((await call(first, 'POST', FEEDBACK, { feedback: [accepted] })).status).toBe(200);
    await first.stop();
    const second = await startService({ EMBEDDED_FHIR: 'false', STORE_PATH: path });
    try {
      expect((await second.built.parts.feedback.list()).map((f) => f.card)).toEqual([CARD]);
    } finally {
      await second.stop();
    }
  });

  it('keeps feedback answered with 200 when the process is killed right after', async () => {
    const path = tempStorePath();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'development', PORT: '0', STORE_PATH: path, EMBEDDED_FHIR: 'false', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /"port":(\d+).*"msg":"listening"/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.on('exit', (code) => reject(new Error(`service exited with ${String(code)} before listening`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}${FEEDBACK}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ feedback: [accepted, overridden] }) });
    expect(res.status).toBe(200);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const db = openDatabase(path);
    try {
      expect((await feedbackStore(db).list()).map((f) => f.outcome)).toEqual(['accepted', 'overridden']);
    } finally {
      db.close();
    }
  });
});
