/**
 * Accepting a card's suggestion in the embedded EHR: the suggestions a page showed are remembered by uuid for their
 * patient only, and their actions are applied to a real Medplum repository holding the fixtures, all or none, never
 * outside the patient the card was shown for.
 */
import type { ServiceRequest } from '@medplum/fhirtypes';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEmbeddedFhir } from '../fhir/embedded-server.js';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';
import { HttpError } from '../http/outcomes.js';
import { applySuggestion, ShownSuggestions } from './suggestions.js';
import type { ShownAction, ShownSuggestion } from './suggestions.js';

const PATIENT = 'it-var-medicare';
const S9328 = 'ServiceRequest/it-var-medicare-draft-s9328';
const PENDING = ['MedicationRequest/it-var-medicare-draft-morphine', S9328];

const service95990 = (patient = PATIENT): ServiceRequest => ({
  resourceType: 'ServiceRequest',
  status: 'draft',
  intent: 'order',
  code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] },
  subject: { reference: `Patient/${patient}` },
});

const suggestion = (actions: readonly ShownAction[]): ShownSuggestion => ({ service: 'intrathecal-order-sign', patient: PATIENT, card: 'card-1', uuid: 's-1', label: 'Replace', actions });

/** The answer of a hook with one card holding the given suggestions. */
const answer = (card: string, ...uuids: string[]) => ({ cards: [{ uuid: card, summary: 's', suggestions: uuids.map((uuid) => ({ uuid, label: `label ${uuid}`, actions: [{ type: 'delete', description: 'd', resourceId: S9328 }] })) }] });

/** The status and message of the HttpError a call throws. */
function refusal(thrown: unknown): { status: number; text: string } {
  expect(thrown).toBeInstanceOf(HttpError);
  const e = thrown as HttpError;
  return { status: e.status, text: JSON.stringify(e.outcome) };
}

let fhir: EmbeddedFhir;
beforeEach(async () => {
  fhir = await createEmbeddedFhir('fhir-fixtures/patients', 'fhir-fixtures/orders');
});

describe('ShownSuggestions', () => {
  it('gives a suggestion once, for the patient it was shown for only, and again when given back', () => {
    const shown = new ShownSuggestions();
    shown.remember('intrathecal-order-sign', PATIENT, answer('card-1', 's-1', 's-2'));
    expect(refusal(catchOf(() => shown.take('s-2', 'it-seed-a'))).status).toBe(404);
    const taken = shown.take('s-2', PATIENT);
    expect(taken).toMatchObject({ service: 'intrathecal-order-sign', card: 'card-1', uuid: 's-2', label: 'label s-2', actions: [{ type: 'delete', resourceId: S9328 }] });
    // A second click while the first is being applied finds nothing.
    expect(refusal(catchOf(() => shown.take('s-2', PATIENT))).status).toBe(404);
    shown.giveBack(taken);
    expect(shown.take('s-2', PATIENT).uuid).toBe('s-2');
    expect(shown.take('s-1', PATIENT).uuid).toBe('s-1');
  });

  it('keeps the newest 500: an older page can no longer be accepted', () => {
    const shown = new ShownSuggestions();
    for (let i = 0; i < 501; i++) shown.remember('intrathecal-order-sign', PATIENT, answer(`card-${String(i)}`, `s-${String(i)}`));
    expect(refusal(catchOf(() => shown.take('s-0', PATIENT))).status).toBe(404);
    expect(shown.take('s-1', PATIENT).card).toBe('card-1');
    expect(shown.take('s-500', PATIENT).card).toBe('card-500');
  });

  it('ignores what is not a card with suggestions (an OperationOutcome, cards without uuids)', () => {
    const shown = new ShownSuggestions();
    shown.remember('s', PATIENT, { resourceType: 'OperationOutcome' });
    shown.remember('s', PATIENT, { cards: [{ summary: 'no uuid', suggestions: [{ uuid: 'x' }] }, { uuid: 'c', suggestions: [{ label: 'no uuid' }] }] });
    expect(refusal(catchOf(() => shown.take('x', PATIENT))).status).toBe(404);
  });
});

describe('applySuggestion', () => {
  it("removes the pending order and creates the suggested one on the patient's record", async () => {
    const done = await applySuggestion(fhir.repo, suggestion([{ type: 'delete', description: 'd', resourceId: S9328 }, { type: 'create', description: 'c', resource: service95990() }]), PENDING);
    expect(done[0]).toBe(`removed ${S9328}`);
    expect(done[1]).toMatch(/^created ServiceRequest\/[\w-]+ \(95990, draft\)$/);
    await expect(fhir.repo.readResource('ServiceRequest', 'it-var-medicare-draft-s9328')).rejects.toThrow();
    const created = await fhir.repo.searchResources<ServiceRequest>({ resourceType: 'ServiceRequest', filters: [] });
    expect(created.filter((r) => r.code?.coding?.[0]?.code === '95990').map((r) => r.subject?.reference)).toEqual([`Patient/${PATIENT}`]);
  });

  it.each([
    ['a resource about another patient', [{ type: 'delete', description: 'd', resourceId: S9328 }, { type: 'create', description: 'c', resource: service95990('it-seed-a') }], 'suggestion.actions[1].resource', 'the resource must be about Patient/it-var-medicare'],
    ['a delete of an order that is not pending for the patient', [{ type: 'create', description: 'c', resource: service95990() }, { type: 'delete', description: 'd', resourceId: 'ServiceRequest/it-seed-a-draft-s9328' }], 'suggestion.actions[1].resourceId', 'is not one of the patient\'s pending orders'],
    ['an update of a resource that is not a pending order', [{ type: 'update', description: 'u', resource: { ...service95990(), id: 'nowhere' } }], 'suggestion.actions[0].resource', 'ServiceRequest/nowhere is not one of'],
    ['an action of no known type', [{ type: 'replace', description: 'r' }], 'suggestion.actions[0].type', 'an action is create, update or delete'],
  ] as [string, ShownAction[], string, string][])('refuses %s with 400 naming the action, and changes nothing', async (_name, actions, where, message) => {
    const thrown = await applySuggestion(fhir.repo, suggestion(actions), PENDING).catch((e: unknown) => e);
    const { status, text } = refusal(thrown);
    expect(status).toBe(400);
    expect(text).toContain(where);
    expect(text).toContain(message);
    // All or none: the pending S9328 order is still there, and no 95990 order was created.
    expect((await fhir.repo.readResource<ServiceRequest>('ServiceRequest', 'it-var-medicare-draft-s9328')).status).toBe('draft');
    const all = await fhir.repo.searchResources<ServiceRequest>({ resourceType: 'ServiceRequest', filters: [] });
    expect(all.some((r) => r.code?.coding?.[0]?.code === '95990')).toBe(false);
  });

  it('updates a pending order of the patient', async () => {
    const current = await fhir.repo.readResource<ServiceRequest>('ServiceRequest', 'it-var-medicare-draft-s9328');
    const done = await applySuggestion(fhir.repo, suggestion([{ type: 'update', description: 'u', resource: { ...current, quantityQuantity: { value: 90, unit: 'day' } } }]), PENDING);
    expect(done).toEqual([expect.stringMatching(/^updated ServiceRequest\/it-var-medicare-draft-s9328 /) as string]);
    expect((await fhir.repo.readResource<ServiceRequest>('ServiceRequest', 'it-var-medicare-draft-s9328')).quantityQuantity?.value).toBe(90);
  });
});

/** What a function throws. */
function catchOf(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}
