/**
 * Da Vinci CRD configuration options, end to end: discovery offers one boolean per card type a service returns, and
 * a hook call that sets one to false gets no card of that type, while its coverage information is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import { discoveryFailures } from '../support/spec-oracle.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';

interface Option {
  code: string;
  type: string;
  name: string;
  description: string;
  default: unknown;
}
interface WireCard {
  summary: string;
  source: { topic?: { code: string } };
}

function seedA(configuration?: unknown, extension?: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = fixtureRequest('seed-a.order-sign.json');
  delete body['fhirServer'];
  if (extension !== undefined) body['extension'] = extension;
  else if (configuration !== undefined) body['extension'] = { 'davinci-crd.configuration': configuration };
  return body;
}

async function signSeedA(configuration?: unknown, extension?: unknown): Promise<{ cards: WireCard[]; systemActions: unknown[] }> {
  const res = await call(svc, 'POST', ORDER_SIGN, seedA(configuration, extension));
  expect(res.status, res.text).toBe(200);
  return { cards: res.body['cards'] as WireCard[], systemActions: (res.body['systemActions'] as unknown[] | undefined) ?? [] };
}

/** A system action without the ids and dates that differ between calls. */
function stable(action: unknown): string {
  return JSON.stringify(action).replace(/"valueString":"[0-9a-f-]{36}"/g, '"valueString":"<id>"');
}

async function options(serviceId: string): Promise<Option[]> {
  const res = await call(svc, 'GET', '/cds-services');
  const service = (res.body['services'] as { id: string; extension?: Record<string, Option[]> }[]).find((s) => s.id === serviceId);
  return service?.extension?.['davinci-crd.configuration-options'] ?? [];
}

describe('CRD configuration options', () => {
  it('discovery offers a boolean, on by default, for each card type a service can return', async () => {
    const signOptions = await options('intrathecal-order-sign');
    expect(signOptions.map((o) => o.code)).toEqual(expect.arrayContaining(['coverage-info', 'claim', 'clinical-reminder', 'guideline', 'off-guideline']));
    for (const o of signOptions) expect(o).toMatchObject({ type: 'boolean', default: true });
    // patient-view answers reminders, not billing: it offers no option for a type it never returns.
    const viewOptions = (await options('intrathecal-patient-view')).map((o) => o.code);
    expect(viewOptions).toContain('clinical-reminder');
    expect(viewOptions).not.toContain('claim');
  });

  it('a type set to false is not returned; other cards and the coverage information are unchanged', async () => {
    const all = await signSeedA();
    const topics = new Set(all.cards.map((c) => c.source.topic?.code));
    expect(topics.has('coverage-info')).toBe(true);
    const off = await signSeedA({ 'coverage-info': false });
    expect(off.cards.map((c) => c.summary)).toEqual(all.cards.filter((c) => c.source.topic?.code !== 'coverage-info').map((c) => c.summary));
    expect(off.systemActions.map(stable)).toEqual(all.systemActions.map(stable));
    expect(off.systemActions.length).toBeGreaterThan(0);
  });

  it('every type off leaves no card, and the coverage-information system actions still come', async () => {
    const codes = (await options('intrathecal-order-sign')).map((o) => o.code);
    const off = await signSeedA(Object.fromEntries(codes.map((c) => [c, false])));
    expect(off.cards).toEqual([]);
    expect(off.systemActions.length).toBeGreaterThan(0);
  });

  it('true, "false" as text, and options the service does not offer are understood or ignored', async () => {
    const all = await signSeedA();
    const summaries = (cards: WireCard[]): string[] => cards.map((c) => c.summary);
    expect(summaries((await signSeedA({ 'coverage-info': true, 'max-cards': 1, 'alt-drug': 'yes', cost: 7 })).cards)).toEqual(summaries(all.cards));
    const text = await signSeedA({ 'clinical-reminder': 'false' });
    expect(summaries(text.cards)).toEqual(summaries(all.cards.filter((c) => c.source.topic?.code !== 'clinical-reminder')));
    expect(summaries(text.cards).length).toBeLessThan(all.cards.length);
    // An extension that is not an object cannot hold a configuration: the call is answered with every card.
    expect(summaries((await signSeedA(undefined, 'not an object')).cards)).toEqual(summaries(all.cards));
  });

  it('refuses an offered option set to something other than true or false, and a configuration that is not an object', async () => {
    const number = await call(svc, 'POST', ORDER_SIGN, seedA({ claim: 0, guideline: 'no' }));
    expect(number.status).toBe(400);
    const issues = (number.body['issue'] as { expression?: string[]; details?: { text?: string } }[]).map((i) => [i.expression?.[0], i.details?.text]);
    expect(issues).toEqual([
      ['extension.davinci-crd.configuration.claim', 'extension.davinci-crd.configuration.claim must be true or false, got a number'],
      ['extension.davinci-crd.configuration.guideline', 'extension.davinci-crd.configuration.guideline must be true or false, got a string'],
    ]);
    const list = await call(svc, 'POST', ORDER_SIGN, seedA([{ code: 'claim', value: false }]));
    expect(list.status).toBe(400);
    expect(JSON.stringify(list.body)).toContain('extension.davinci-crd.configuration must be an object');
  });
});

describe('the discovery check of the spec oracle', () => {
  it('finds malformed options (so the check on every discovery answer can fail)', () => {
    const option = { code: 'claim', type: 'boolean', name: 'Claim', description: 'Billing cards.', default: true };
    const body = (options: unknown): unknown => ({ services: [{ hook: 'order-sign', id: 'x', description: 'y', extension: { 'davinci-crd.configuration-options': options } }] });
    expect(discoveryFailures(body([option]))).toEqual([]);
    expect(discoveryFailures(body([option, { ...option, code: 'cost' }]))).toEqual([
      'services[0].extension.davinci-crd.configuration-options: each name must be unique',
      'services[0].extension.davinci-crd.configuration-options: each description must be unique',
    ]);
    expect(discoveryFailures(body([{ ...option, default: 'true' }]))).toEqual(['services[0].extension.davinci-crd.configuration-options[0].default must be a boolean']);
    expect(discoveryFailures(body([{ ...option, type: 'string' }]))).toEqual(['services[0].extension.davinci-crd.configuration-options[0].type must be boolean or integer']);
    expect(discoveryFailures(body({ claim: option }))).toEqual(['services[0].extension.davinci-crd.configuration-options must be an array']);
  });
});
