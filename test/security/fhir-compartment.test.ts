/**
 * The embedded FHIR server's compartment checks for SMART tokens, over real HTTP: a patient-context token reaches
 * only its patient. Tokens are real oidc-provider access tokens, minted through the provider's own Grant and
 * AccessToken models (the consent page that normally leads there is covered by the browser test in test/e2e).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CLIENT_ID } from '../../src/ehr/authorization-server.js';
import { EHR_USER } from '../../src/ehr/embedded-ehr.js';
import type { EmbeddedEhr } from '../../src/ehr/embedded-ehr.js';
import { startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let service: RunningService;
let ehr: EmbeddedEhr;
let seedAToken: string;
let userToken: string;
let noPatientToken: string;

async function mintToken(scope: string, patient?: string): Promise<string> {
  const { provider, contexts } = ehr;
  const grant = new provider.Grant({ accountId: EHR_USER, clientId: APP_CLIENT_ID });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  contexts.setGrant(grantId, patient ? { patient } : {});
  const client = await provider.Client.find(APP_CLIENT_ID);
  if (!client) throw new Error('the app client is not registered');
  return new provider.AccessToken({ accountId: EHR_USER, grantId, client, scope, gty: 'authorization_code' }).save();
}

async function get(path: string, token: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${service.baseUrl}/fhir/${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function diagnostics(body: Record<string, unknown>): string {
  return JSON.stringify(body['issue']);
}

beforeAll(async () => {
  service = await startService();
  const parts = service.built.parts.ehr;
  if (!parts) throw new Error('the development default has an embedded EHR');
  ehr = await parts;
  seedAToken = await mintToken('openid launch patient/*.rs', 'it-seed-a');
  userToken = await mintToken('openid user/*.rs');
  noPatientToken = await mintToken('openid patient/*.rs');
});

afterAll(async () => {
  await service.stop();
});

describe('a patient-context token', () => {
  it('reads its own patient and its own records', async () => {
    expect((await get('Patient/it-seed-a', seedAToken)).status).toBe(200);
    const condition = await get('Condition/it-seed-a-g894', seedAToken);
    expect(condition.status).toBe(200);
    expect(condition.body['id']).toBe('it-seed-a-g894');
    expect((await get('MedicationRequest/it-seed-a-draft-morphine', seedAToken)).status).toBe(200);
  });

  it('reads resources that belong to no patient (the prescriber, a payer)', async () => {
    expect((await get('Practitioner/it-prac-1', seedAToken)).status).toBe(200);
    expect((await get('Organization/it-payer-commercial', seedAToken)).status).toBe(200);
  });

  it("is refused another patient's record read by id, with an OperationOutcome", async () => {
    for (const path of ['Condition/it-seed-b-g894', 'Observation/it-seed-b-pain-with', 'Coverage/it-seed-b-coverage', 'MedicationRequest/it-seed-b-draft-mix', 'Device/it-seed-b-pump']) {
      const answer = await get(path, seedAToken);
      expect(answer.status, path).toBe(403);
      expect(answer.body['resourceType']).toBe('OperationOutcome');
      expect(diagnostics(answer.body)).toContain('reaches only its patient');
    }
  });

  it('judges a read by where the record points: versioned and absolute references count, a group does not', async () => {
    const observation = (id: string, subject: { reference?: string; identifier?: { value: string } }) =>
      ehr.fhir.repo.createResource({ resourceType: 'Observation', id, status: 'final', code: { text: 'pain' }, subject }, { assignedId: true });
    await observation('cmp-own-versioned', { reference: 'Patient/it-seed-a/_history/1' });
    await observation('cmp-own-absolute', { reference: `${service.baseUrl}/fhir/Patient/it-seed-a` });
    await observation('cmp-other-versioned', { reference: 'Patient/it-seed-b/_history/1' });
    await observation('cmp-group', { reference: 'Group/everyone' });
    await observation('cmp-identifier-only', { identifier: { value: 'MRN-1' } });
    expect((await get('Observation/cmp-own-versioned', seedAToken)).status).toBe(200);
    expect((await get('Observation/cmp-own-absolute', seedAToken)).status).toBe(200);
    for (const id of ['cmp-other-versioned', 'cmp-group', 'cmp-identifier-only']) expect((await get(`Observation/${id}`, seedAToken)).status, id).toBe(403);
  });

  it('may list patients only by naming its own', async () => {
    const all = await get('Patient', seedAToken);
    expect(all.status).toBe(403);
    expect(diagnostics(all.body)).toContain('_id');
    expect((await get('Patient?_id=it-seed-b', seedAToken)).status).toBe(403);
    const own = await get('Patient?_id=it-seed-a', seedAToken);
    expect(own.status).toBe(200);
    expect((own.body['entry'] as { resource: { id: string } }[]).map((e) => e.resource.id)).toEqual(['it-seed-a']);
  });

  it('searches only by naming its patient', async () => {
    expect((await get('Condition?patient=it-seed-b', seedAToken)).status).toBe(403);
    expect((await get('Condition', seedAToken)).status).toBe(403);
    const own = await get('Condition?patient=it-seed-a', seedAToken);
    expect(own.status).toBe(200);
    expect((own.body['entry'] as unknown[]).length).toBe(2);
  });

  it('is refused _include and _revinclude, which reach other patients through shared records', async () => {
    // Through the shared prescriber, this search returned seed B's and the baclofen patient's orders.
    for (const path of [
      'MedicationRequest?patient=it-seed-a&_include=MedicationRequest:requester&_revinclude:iterate=MedicationRequest:requester',
      'Condition?patient=it-seed-a&_include=Condition:subject',
      'Patient?_id=it-seed-a&_revinclude=Condition:subject',
    ]) {
      const answer = await get(path, seedAToken);
      expect(answer.status, path).toBe(403);
      expect(diagnostics(answer.body)).toContain('_include or _revinclude');
    }
    const userSearch = await get('MedicationRequest?patient=it-seed-a&_include=MedicationRequest:requester&_revinclude:iterate=MedicationRequest:requester', userToken);
    expect(userSearch.status).toBe(200);
    expect((userSearch.body['entry'] as { resource: { id: string } }[]).map((e) => e.resource.id)).toContain('it-seed-b-draft-mix');
  });

  it('is refused history and operations, which the checks above do not cover', async () => {
    for (const path of ['Condition/it-seed-b-g894/_history', 'Patient/it-seed-a/$everything', 'Condition/_history']) {
      const answer = await get(path, seedAToken);
      expect(answer.status, path).toBe(403);
      expect(answer.body['resourceType']).toBe('OperationOutcome');
    }
  });

  it('creates only records that point at its patient, by the same links as reads', async () => {
    const writer = await mintToken('openid launch patient/*.cruds', 'it-seed-a');
    const post = async (resource: Record<string, unknown>): Promise<number> =>
      (await fetch(`${service.baseUrl}/fhir/${resource['resourceType'] as string}`, { method: 'POST', headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/fhir+json' }, body: JSON.stringify(resource) })).status;
    const note = (subject: Record<string, unknown> | undefined) => ({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'text/plain', data: 'bm90ZQ==' } }], ...(subject ? { subject } : {}) });
    expect(await post(note({ reference: 'Patient/it-seed-a' }))).toBe(201);
    expect(await post({ resourceType: 'Device', status: 'active', patient: { reference: 'Patient/it-seed-a' } })).toBe(201);
    expect(await post(note({ reference: 'Patient/it-seed-b' }))).toBe(403);
    expect(await post(note({ reference: 'Group/everyone' }))).toBe(403);
    expect(await post(note(undefined))).toBe(403);
  });

  it('gets a plain 404 for an id that does not exist', async () => {
    expect((await get('Condition/no-such-condition', seedAToken)).status).toBe(404);
  });
});

describe('a patient-level token without a patient in its launch context', () => {
  it('reaches no record', async () => {
    for (const path of ['Condition/it-seed-b-g894', 'Condition?patient=it-seed-a', 'Patient/it-seed-a', 'Patient']) {
      const answer = await get(path, noPatientToken);
      expect(answer.status, path).toBe(403);
      expect(diagnostics(answer.body)).toContain('without a patient');
    }
  });
});

describe('a user-level token without a patient context', () => {
  it("reads any patient's record", async () => {
    expect((await get('Condition/it-seed-b-g894', userToken)).status).toBe(200);
    const all = await get('Patient', userToken);
    expect(all.status).toBe(200);
    expect((all.body['entry'] as unknown[]).length).toBeGreaterThanOrEqual(3);
  });
});
