import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { call, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';
import { PACK_VERSION } from '../support/rules-copy.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' });
});
afterAll(() => svc.stop());

describe('GET /cds-services', () => {
  it('lists the seven services declared in cds-hooks/services.yaml, with their prefetch templates', async () => {
    const res = await call(svc, 'GET', '/cds-services');
    expect(res.status).toBe(200);
    const services = res.body['services'] as { id: string; hook: string; prefetch: Record<string, string> }[];
    expect(services.map((s) => [s.id, s.hook])).toEqual([
      ['intrathecal-order-sign', 'order-sign'],
      ['intrathecal-order-dispatch', 'order-dispatch'],
      ['intrathecal-appointment-book', 'appointment-book'],
      ['intrathecal-order-select', 'order-select'],
      ['intrathecal-encounter-start', 'encounter-start'],
      ['intrathecal-encounter-discharge', 'encounter-discharge'],
      ['intrathecal-patient-view', 'patient-view'],
    ]);
    const declared = parse(readFileSync('cds-hooks/services.yaml', 'utf8')) as { services: { prefetch: Record<string, { query: string }> }[] };
    services.forEach((s, i) => {
      const expected = Object.fromEntries(Object.entries(declared.services[i]?.prefetch ?? {}).map(([k, v]) => [k, v.query]));
      expect(s.prefetch).toEqual(expected);
      expect(JSON.stringify(s.prefetch)).not.toContain('required');
    });
  });

  it('allows any origin', async () => {
    const res = await call(svc, 'GET', '/cds-services', undefined, { Origin: 'https://sandbox.cds-hooks.org' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it.each(['/cds-services', '/cds-services/intrathecal-order-sign', '/cds-services/intrathecal-order-sign/feedback'])(
    'answers the CORS preflight at %s',
    async (path) => {
      const res = await fetch(`${svc.baseUrl}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://sandbox.cds-hooks.org', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    }
  );

  it('answers /healthz for load balancers, naming the rules it answers with', async () => {
    const res = await call(svc, 'GET', '/healthz');
    expect(res.status).toBe(200);
    // And the audit writer's state, for a monitor to alert on records lost (none here).
    expect(res.body).toEqual({ status: 'ok', packs: `intrathecal@${PACK_VERSION}`, audit: { notWritten: 0, retrying: false, spoolBytes: 0 } });
  });

  it('answers /readyz when its database answers (here the SQLite file of STORE_PATH)', async () => {
    const res = await call(svc, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', packs: `intrathecal@${PACK_VERSION}`, database: 'SQLite (STORE_PATH)' });
  });

  it('answers 405 with an OperationOutcome for a method a CDS path does not take', async () => {
    const res = await call(svc, 'GET', '/cds-services/intrathecal-order-sign');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('POST');
    const del = await call(svc, 'DELETE', '/cds-services');
    expect(del.status).toBe(405);
  });

  it('answers 404 with an OperationOutcome for an unknown path', async () => {
    const res = await call(svc, 'GET', '/nothing-here');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/fhir+json');
  });
});
