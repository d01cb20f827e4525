import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { call, captureLog, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import { makeKey, signToken } from '../support/jwt.js';

/** Recognisable patient data and secrets, none of which may reach the log. */
const PHI = { name: 'Zebulon-Quixotic', mrn: 'MRN-7733991', birthDate: '1933-03-03', patientId: 'pt-secret-4242' };
const ACCESS_TOKEN = 'fhir-access-token-SECRET-9f8e7d';
/** The pack version the request log must name: the one on disk, so a content change with its version bump keeps this test true. */
const PACK_VERSION = (parseYaml(readFileSync(new URL('../../cds-hooks/packs/intrathecal/pack.yaml', import.meta.url), 'utf8')) as { version: string }).version;

function requestWithPhi(fhirServer: string): Record<string, unknown> {
  const body = fixtureRequest('seed-a.order-sign.json');
  const prefetch = body.prefetch as Record<string, Record<string, unknown>>;
  prefetch['patient'] = { resourceType: 'Patient', id: PHI.patientId, name: [{ family: PHI.name }], birthDate: PHI.birthDate, identifier: [{ value: PHI.mrn }] };
  delete prefetch['observations'];
  // The draft orders name the patient too (a draft of another patient is refused).
  for (const e of (body.context['draftOrders'] as { entry: { resource: { subject: { reference: string } } }[] }).entry) e.resource.subject.reference = `Patient/${PHI.patientId}`;
  return {
    ...body,
    fhirServer,
    fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 30, scope: 'patient/*.read', subject: 'intrathecal-cds', patient: PHI.patientId },
    context: { ...body.context, patientId: PHI.patientId },
  };
}

describe('the log', () => {
  it('carries request id, service, status, duration and pack version, and no patient data, tokens or JWTs', async () => {
    const { lines, log } = captureLog();
    const key = await makeKey('ES384');
    const fhir = await startFakeFhir((_req, res) => {
      res.statusCode = 500;
      res.end(`{"error": "${PHI.name}"}`);
    });
    const svc = await startService({ LOG_LEVEL: 'debug', EMBEDDED_FHIR: 'false' }, { log });
    try {
      const jwt = await signToken(key, { iss: 'https://unknown-ehr.example', aud: 'https://wrong.example', jti: randomUUID() });
      const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', requestWithPhi(fhir.url), { Authorization: `Bearer ${jwt}` });
      expect(res.status).toBe(200);
      const bad = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', { ...requestWithPhi(fhir.url), hookInstance: 7 }, { Authorization: `Bearer ${jwt}` });
      expect(bad.status).toBe(400);
      await call(svc, 'POST', '/cds-services/intrathecal-order-sign', `{"context": {"patientId": "${PHI.patientId}"`);
    } finally {
      await svc.stop();
      await fhir.stop();
    }
    const text = lines.join('');
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request' && l['route'] === '/cds-services/intrathecal-order-sign');
    expect(requests.map((r) => r['status'])).toEqual([200, 400, 400]);
    expect(requests[0]).toMatchObject({ serviceId: 'intrathecal-order-sign', packs: `intrathecal@${PACK_VERSION}`, method: 'POST' });
    expect(typeof requests[0]?.['requestId']).toBe('string');
    expect(typeof requests[0]?.['ms']).toBe('number');
    expect(text).toContain('unauthenticated call served');
    for (const secret of [PHI.name, PHI.mrn, PHI.birthDate, PHI.patientId, ACCESS_TOKEN, 'eyJ']) expect(text).not.toContain(secret);
  });
});
