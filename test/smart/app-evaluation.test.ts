import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRulePacks } from '../../src/engine/rule-packs.js';
import { evaluateForApp } from '../../src/smart/app-evaluation.js';
import { appRequestFrom } from '../support/app-request.js';
import { call, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const packs = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema');
const NOW = new Date('2026-11-20T15:00:00Z');
/** A Da Vinci PAS review action on a line: not certified (X12 306 A3). */
const REVIEW_A3 = {
  url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewAction',
  extension: [{ url: 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-reviewActionCode', valueCodeableConcept: { coding: [{ system: 'https://codesystem.x12.org/005010/306', code: 'A3' }] } }],
};

describe('the evaluation the app shows', () => {
  it('seed A: coverage per order, dose only for the drug, every criterion with a status', () => {
    const view = evaluateForApp(packs, appRequestFrom('seed-a.order-sign.json'), NOW, 'http://localhost:3000');
    expect(view.orders.map((o) => [o.reference, o.coverage?.covered, o.dose.length > 0])).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'covered', true],
      ['ServiceRequest/it-seed-a-draft-s9328', 'covered', false],
    ]);
    // The sources the morphine order's coverage lines rest on, each once: the established-drug conclusion's own, then
    // the plan-dependent prior authorization's.
    expect(view.orders[0]?.coverage?.sources.map((s) => s.title)).toEqual([
      'Anthem CG-SURG-79 Implantable Infusion Pumps',
      'Aetna CPB 0161 Infusion Pumps',
      'CMS NCD 280.14 Infusion Pumps',
      'CMS article A55239 Implantable Infusion Pumps for Chronic Pain',
      'Codman implantable pump reimbursement FAQ',
      'PHDSC Source of Payment Typology (Coverage.type)',
      'Da Vinci Coverage Requirements Discovery STU 2, coverage-information extension',
    ]);
    expect(view.criteria.length).toBeGreaterThan(30);
    expect(new Set(view.criteria.map((c) => c.status))).toEqual(new Set(['met', 'not met', 'not known']));
    expect(view.documentation.map((d) => [d.name, d.status])).toEqual([
      ['recentPainScore', 'met'],
      ['painScoreWithout', 'not met'],
      ['painScoreWith', 'met'],
      ['functionDocumented', 'not met'],
      ['planDocumented', 'not met'],
    ]);
    expect(view.pitfalls).toHaveLength(6);
    // Each pitfall with the sources it rests on, by title and confidence.
    const mme = view.pitfalls.find((p) => p.text.includes('morphine-equivalent (MME)'));
    expect(mme?.sources.map((s) => [s.title, s.confidence])).toEqual([['CDC opioid prescribing decision support (cqframework opioid-cds-r4), value sets and MME conversion factors', 'confirmed']]);
    expect(view.pitfalls.every((p) => p.sources.length > 0)).toBe(true);
  });

  it('an order under review that the record also holds (active, named by a dispatch card) is judged as if it were not there', () => {
    const drafted = appRequestFrom('seed-a.order-sign.json');
    const active = drafted.orders.map((o) => ({ ...o, status: 'active' }) as Resource);
    const alone = evaluateForApp(packs, { ...drafted, orders: active }, NOW, 'http://localhost:3000');
    const withRecord = evaluateForApp(packs, { ...drafted, orders: active, records: { ...drafted.records, medicationRequests: [...(drafted.records.medicationRequests ?? []), ...active.filter((o) => o.resourceType === 'MedicationRequest')] } }, NOW, 'http://localhost:3000');
    const statuses = (v: typeof alone) => [...v.criteria, ...v.orders.flatMap((o) => o.criteria)].map((c) => `${c.name}: ${c.status} ${c.value ?? ''}`);
    expect(statuses(withRecord)).toEqual(statuses(alone));
    expect(withRecord.orders.map((o) => o.cards.map((c) => c.summary))).toEqual(alone.orders.map((o) => o.cards.map((c) => c.summary)));
  });

  it('the summary states what the record shows and marks the rest MISSING, inventing nothing', () => {
    const view = evaluateForApp(packs, appRequestFrom('seed-a.order-sign.json', ['observations']), NOW, 'http://localhost:3000');
    expect(view.summary).toContain('- Condition/it-seed-a-g894 (G89.4 Chronic pain syndrome, active, since 2016-05-02)');
    expect(view.summary).toContain('Billed: 480 units of J2274 x 10 mg = 4,800 mg over 365 days, about 13.2 mg/day on average.');
    expect(view.summary).toContain('[MISSING: a pain score is recorded within the monitoring look-back (could not be checked)]');
    expect(view.summary).toContain('Not available from the EHR when this was drafted: observations.');
    expect(view.summary).not.toMatch(/pain score (of|was) \d/);
  });

  it("the summary's coverage conclusion names, per order, the sources that conclusion rests on (and no others)", () => {
    const view = evaluateForApp(packs, appRequestFrom('seed-a.order-sign.json'), NOW, 'http://localhost:3000');
    const section = view.summary.split('Coverage conclusion\n')[1]?.split('\n\n')[0]?.split('\n') ?? [];
    const basedOn = section.filter((l) => l.startsWith('  - Based on: '));
    // One line per order judged, right under its conclusion, listing that order's own sources by title.
    expect(section.map((l) => (l.startsWith('- ') ? l.split(':')[0] : l.slice(0, 14)))).toEqual([
      '- MedicationRequest/it-seed-a-draft-morphine',
      '  - Based on: ',
      '- ServiceRequest/it-seed-a-draft-s9328',
      '  - Based on: ',
    ]);
    view.orders.forEach((o, i) => {
      for (const s of o.coverage?.sources ?? []) expect(basedOn[i]).toContain(s.title);
    });
    expect(basedOn[0]).toContain('CMS NCD 280.14 Infusion Pumps');
    // A source of the pack that no conclusion rests on (a drug label) is not cited as a coverage basis.
    expect(view.sources.map((s) => s.title).filter((t) => !basedOn.some((l) => l.includes(t))).length).toBeGreaterThan(0);
  });

  it('the summary lists the prior authorizations on file, those the rules do not count apart, and having none is not marked MISSING', () => {
    const section = (summary: string): string => summary.split('Prior authorizations on file\n')[1]?.split('\n\n')[0] ?? '';
    const seedA = evaluateForApp(packs, appRequestFrom('seed-a.order-sign.json'), NOW, 'http://localhost:3000');
    expect(section(seedA.summary).split('\n')).toEqual([
      '- ClaimResponse/it-seed-a-pa-6201931 (authorization 6201931, 2024-11-18 to 2025-11-17, complete, Certified: intrathecal morphine pump refills and home infusion supplies)',
      '- ClaimResponse/it-seed-a-pa-7192230 (authorization 7192230, 2025-11-18 to 2026-11-17, complete, Certified: intrathecal morphine pump refills and home infusion supplies)',
    ]);
    expect(section(evaluateForApp(packs, appRequestFrom('seed-b.order-sign.json'), NOW, 'http://localhost:3000').summary)).toBe('- None on record.');
    // One the rules do not count is set apart, so the reviewer does not cite it: cancelled, or another insurer's.
    const withOthers = appRequestFrom('seed-a.order-sign.json');
    const [first] = (withOthers.records['claimResponses'] ?? []) as (Resource & Record<string, unknown>)[];
    withOthers.records['claimResponses'] = [
      ...(withOthers.records['claimResponses'] ?? []),
      { ...first, id: 'cancelled', preAuthRef: '111', status: 'cancelled' } as Resource,
      { ...first, id: 'other-plan', preAuthRef: '222', insurer: { reference: 'Organization/elsewhere', display: 'Other Health Plan' } } as Resource,
      { ...first, id: 'denied', preAuthRef: '333', disposition: undefined, addItem: undefined, item: [{ itemSequence: 1, adjudication: [{ category: { coding: [{ code: 'submitted' }] }, extension: [REVIEW_A3] }] }] } as Resource,
    ];
    const lines = section(evaluateForApp(packs, withOthers, NOW, 'http://localhost:3000').summary).split('\n');
    expect(lines.slice(0, 2).map((l) => l.split(' (')[0])).toEqual(['- ClaimResponse/it-seed-a-pa-6201931', '- ClaimResponse/it-seed-a-pa-7192230']);
    expect(lines.slice(2)).toEqual([
      '- On record but not counted (not active, not adjudicated, nothing certified, no authorization number, or another insurer):',
      '  - ClaimResponse/cancelled (authorization 111, 2024-11-18 to 2025-11-17, complete, cancelled, Certified: intrathecal morphine pump refills and home infusion supplies)',
      '  - ClaimResponse/other-plan (authorization 222, 2024-11-18 to 2025-11-17, complete, Other Health Plan, Certified: intrathecal morphine pump refills and home infusion supplies)',
      '  - ClaimResponse/denied (authorization 333, 2024-11-18 to 2025-11-17, item 1 not certified, complete)',
    ]);
    withOthers.records['claimResponses'] = withOthers.records['claimResponses']?.filter((r) => r.id === 'cancelled');
    expect(section(evaluateForApp(packs, withOthers, NOW, 'http://localhost:3000').summary).split('\n').slice(0, 2)).toEqual([
      '- None from the active plan that the rules count.',
      '- On record but not counted (not active, not adjudicated, nothing certified, no authorization number, or another insurer):',
    ]);
    expect(section(evaluateForApp(packs, appRequestFrom('seed-a.order-sign.json', ['claimResponses']), NOW, 'http://localhost:3000').summary)).toBe('- Could not be read from the EHR.');
  });

  it("the summary says the payer's latest answer that no prior authorization is needed as such, not as one not counted", () => {
    const section = (summary: string): string[] => (summary.split('Prior authorizations on file\n')[1]?.split('\n\n')[0] ?? '').split('\n');
    const request = appRequestFrom('seed-a-renewal-no-review.order-sign.json');
    const lines = section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary);
    // The ended authorizations the rules count come first, as for seed A; the NA answer is said as what it is.
    expect(lines.map((l) => l.split(' (')[0])).toEqual([
      '- ClaimResponse/it-seed-a-pa-6201931',
      '- ClaimResponse/it-seed-a-pa-7192230',
      "- The payer's latest answer: no prior authorization needed",
      '  - ClaimResponse/it-var-pa-renewal-no-review',
    ]);
    expect(lines[3]).toContain('J2274 no action required (no. RV-9001), S9328 no action required (no. RV-9001)');
    expect(lines.join('\n')).not.toContain('not counted');
    // A later answer that certifies again makes the NA one a past answer: set apart with the others, as before.
    const na = (request.records['claimResponses'] ?? []).find((r) => r.id === 'it-var-pa-renewal-no-review');
    const renewed = { ...(JSON.parse(JSON.stringify(na).replaceAll('"NA"', '"A1"')) as Resource), id: 'renewed', created: '2026-11-19T09:00:00Z' } as Resource;
    const later = { ...request, records: { ...request.records, claimResponses: [...(request.records['claimResponses'] ?? []), renewed] } };
    expect(section(evaluateForApp(packs, later, NOW, 'http://localhost:3000').summary).join('\n')).toMatch(/not counted[^]*it-var-pa-renewal-no-review/);
  });

  it("judges an order by the Medication the app read, however the order references it, and names the drug", () => {
    const request = appRequestFrom('seed-b-referenced-medication.order-sign.json');
    const medication = request.orders.find((r) => r.resourceType === 'Medication') as Resource;
    const order = request.orders.find((r) => r.resourceType === 'MedicationRequest') as Resource & { medicationReference: { reference: string } };
    const judge = (reference: string) => {
      const view = evaluateForApp(packs, { ...request, orders: [{ ...order, medicationReference: { ...order.medicationReference, reference } } as Resource], supporting: [medication] }, NOW, 'http://localhost:3000');
      return view.orders.map((o) => [o.description, o.coverage?.covered, o.cards.map((c) => c.summary)]);
    };
    const relative = judge(`Medication/${medication.id ?? ''}`);
    expect(relative[0]?.[2]).toContain('Compounded pump drug: bill under J7999 (or the code the payer names) with each drug, concentration and amount');
    expect(String(relative[0]?.[0])).not.toContain('Medication/');
    expect(judge(`Medication/${medication.id ?? ''}/_history/3`)).toEqual(relative);
    // Absolute on the FHIR base the app read from, with or without its trailing slash; on another server, not.
    const onServer = (fhirServer: string, reference: string) =>
      evaluateForApp(packs, { ...request, fhirServer, orders: [{ ...order, medicationReference: { reference } } as Resource], supporting: [medication] }, NOW, 'http://localhost:3000')
        .orders.map((o) => [o.description, o.coverage?.covered, o.cards.map((c) => c.summary)]);
    expect(onServer('https://ehr.example/fhir/', `https://ehr.example/fhir/Medication/${medication.id ?? ''}`)).toEqual(relative);
    expect(onServer('https://ehr.example/fhir', `https://elsewhere.example/fhir/Medication/${medication.id ?? ''}`)).not.toEqual(relative);
  });

  it('the summary lists as active diagnoses only those the rules count as active', () => {
    // A payer reads this list: a diagnosis entered in error, refuted or resolved must not be on it.
    const request = appRequestFrom('seed-a.order-sign.json');
    const condition = (id: string, extra: Record<string, unknown>): Resource => ({ resourceType: 'Condition', id, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.29', display: 'Other chronic pain' }] }, subject: { reference: 'Patient/it-seed-a' }, ...extra });
    const verification = (code: string) => ({ verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code }] } });
    const clinical = (code: string) => ({ clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code }] } });
    request.records['conditions'] = [
      ...(request.records['conditions'] ?? []),
      condition('void-error', { ...clinical('active'), ...verification('entered-in-error') }),
      condition('void-refuted', verification('refuted')),
      condition('resolved', { ...clinical('resolved'), abatementDateTime: '2025-01-01' }),
      condition('abated-no-status', { abatementDateTime: '2025-01-01' }),
      condition('relapsed', clinical('relapse')),
    ];
    const diagnoses = evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary.split('Diagnoses (active)\n')[1]?.split('\n\n')[0] ?? '';
    expect(diagnoses).toContain('Condition/it-seed-a-g894');
    expect(diagnoses).toContain('Condition/relapsed');
    for (const id of ['void-error', 'void-refuted', 'resolved', 'abated-no-status']) expect(diagnoses).not.toContain(`Condition/${id}`);
  });

  it('the summary lists under Device the pump the rules recognised, not every device on record', () => {
    const request = appRequestFrom('seed-a.order-sign.json');
    const device = (id: string, extra: Record<string, unknown>): Resource => ({ resourceType: 'Device', id, patient: { reference: 'Patient/it-seed-a' }, ...extra });
    request.records['devices'] = [
      ...(request.records['devices'] ?? []),
      device('pacemaker', { status: 'active', deviceName: [{ name: 'Cardiac pacemaker', type: 'user-friendly-name' }] }),
      device('void-pump', { status: 'entered-in-error', deviceName: [{ name: 'SynchroMed II', type: 'user-friendly-name' }], modelNumber: '8637-20' }),
    ];
    const section = (summary: string): string => summary.split('\nDevice\n')[1]?.split('\n\n')[0] ?? '';
    const devices = section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary);
    expect(devices).toBe('- Device/it-seed-a-pump (SynchroMed II, model 8637-40, active)');

    request.records['devices'] = [device('pacemaker', { status: 'active', deviceName: [{ name: 'Cardiac pacemaker', type: 'user-friendly-name' }] })];
    expect(section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary)).toBe('- [MISSING: implanted pump Device]');
    delete request.records['devices'];
    expect(section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary)).toBe('- [MISSING: implanted pump Device: could not be read from the EHR]');
  });

  it("the summary's therapy history holds completed procedures and intraspinal doses from the administration record", () => {
    // A trial bolus charted on the medication administration record is part of the history a payer asks for; an
    // oral dose given on the ward, or one not given, is not.
    const request = appRequestFrom('seed-a.order-sign.json');
    const administration = (id: string, status: string, drug: string, route: string): Resource => ({ resourceType: 'MedicationAdministration', id, status, medicationCodeableConcept: { text: drug }, subject: { reference: 'Patient/it-seed-a' }, effectiveDateTime: '2026-10-01', dosage: { route: { text: route } } } as Resource);
    request.records['medicationAdministrations'] = [
      administration('bolus', 'completed', 'Morphine PF 1 mg/mL', 'Intrathecal'),
      administration('oral', 'completed', 'Oxycodone 5 mg tablet', 'By mouth'),
      administration('not-given', 'not-done', 'Morphine PF 1 mg/mL', 'Intrathecal'),
    ];
    request.records['procedures'] = [...(request.records['procedures'] ?? []), { resourceType: 'Procedure', id: 'planned', status: 'preparation', code: { text: 'Pump replacement' }, subject: { reference: 'Patient/it-seed-a' } }];
    const section = (summary: string): string => summary.split('\nTherapy history\n')[1]?.split('\n\n')[0] ?? '';
    const history = section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary);
    expect(history).toContain('Procedure/it-seed-a-implant');
    expect(history).toContain('- MedicationAdministration/bolus (Morphine PF 1 mg/mL');
    for (const id of ['MedicationAdministration/oral', 'MedicationAdministration/not-given', 'Procedure/planned']) expect(history).not.toContain(id);

    delete request.records['medicationAdministrations'];
    const partial = section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary).split('\n');
    expect(partial.some((l) => l.includes('Procedure/it-seed-a-implant'))).toBe(true);
    expect(partial.at(-1)).toBe('- [MISSING: the rest of the therapy history: medicationAdministrations could not be read from the EHR]');

    request.records['procedures'] = [];
    request.records['medicationAdministrations'] = [];
    expect(section(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary)).toBe('- [MISSING: implant, refill or trial procedure]');
  });

  it('a new start lists the implant-time criteria instead', () => {
    const view = evaluateForApp(packs, appRequestFrom('seed-a-new-start-with-trial.order-sign.json'), NOW, 'http://localhost:3000');
    expect(view.policyCriteria.map((c) => [c.name, c.status])).toEqual([
      ['painIndication', 'met'],
      ['trialProcedure', 'met'],
      ['trialResultDocumented', 'met'],
      ['systemicOpioidHistory', 'not met'],
      ['psychEvaluationMet', 'met'],
    ]);
    expect(view.summary).toContain('Policy criteria (new intrathecal therapy, implant-time criteria)');
  });

  it('a new start for neoplasm-related pain alone is not asked a psychological evaluation; beside non-cancer pain it is', () => {
    const request = appRequestFrom('seed-a-new-start-without-trial.order-sign.json');
    const cancerPain = { resourceType: 'Condition', id: 'g893', clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.3' }] }, subject: { reference: 'Patient/it-seed-a' } } as Resource;
    const nonCancer = (request.records['conditions'] ?? []).filter((c) => JSON.stringify(c).includes('"G89.4"'));
    expect(nonCancer).toHaveLength(1);
    const psych = (conditions: Resource[]) => {
      const view = evaluateForApp(packs, { ...request, records: { ...request.records, conditions } }, NOW, 'http://localhost:3000');
      const row = view.policyCriteria.find((c) => c.name === 'psychEvaluationMet');
      return { status: row?.status, evidence: row?.evidence.map((e) => e.reference), summary: view.summary.split('\n').filter((l) => l.includes('psychological or psychiatric evaluation')) };
    };
    expect(psych([cancerPain])).toEqual({ status: 'met', evidence: ['Condition/g893'], summary: [expect.stringContaining('evaluation is recorded, or none is asked (the only pain on record is neoplasm-related): met; Condition/g893') as unknown] });
    expect(psych([cancerPain, ...nonCancer])).toMatchObject({ status: 'not met', summary: [expect.stringContaining('[MISSING: not shown in the record]') as unknown] });
  });

  it('a baclofen pump for spasticity is judged by spasticity, function and the plan, never by pain scores', () => {
    const request = appRequestFrom('baclofen-ms.order-sign.json');
    const view = evaluateForApp(packs, request, NOW, 'http://localhost:3000');
    expect(view.documentation.map((d) => [d.name, d.status])).toEqual([
      ['recentSpasticityScore', 'not met'],
      ['functionDocumented', 'not met'],
      ['planDocumented', 'not met'],
    ]);
    expect(view.policyCriteria.map((c) => [c.name, c.status])).toEqual([
      ['establishedPump', 'met'],
      ['qualifyingIndication', 'met'],
      ['recentSpasticityScore', 'not met'],
      ['functionDocumented', 'not met'],
      ['planDocumented', 'not met'],
    ]);
    expect(view.pitfalls.map((p) => p.text).join('\n')).toContain('abrupt discontinuation of intrathecal baclofen can be fatal');
    expect(view.pitfalls.find((p) => p.text.includes('abrupt discontinuation'))?.sources.map((s) => s.title)).toEqual(['Lioresal Intrathecal / Gablofen prescribing information']);
    expect(view.summary).not.toMatch(/pain score/i);
    expect(view.summary).toContain('[MISSING: a spasticity measure (Ashworth, Tardieu, spasm frequency) is recorded within the monitoring look-back]');

    // Launched from the chart with no order, the record alone (spasticity, no pain diagnosis) chooses the same lists.
    expect(evaluateForApp(packs, { ...request, orders: [] }, NOW, 'http://localhost:3000').documentation.map((d) => d.name)).toEqual(['recentSpasticityScore', 'functionDocumented', 'planDocumented']);

    // A new baclofen start lists the NCD's anti-spasmodic criteria, not the pain ones.
    const records = { ...request.records, devices: [], procedures: [] };
    expect(evaluateForApp(packs, { ...request, records }, NOW, 'http://localhost:3000').policyCriteria.map((c) => c.name)).toEqual([
      'spasticityIndication',
      'oralAntispasmodicHistory',
      'baclofenTestDose',
      'baclofenTestDoseResult',
    ]);
  });

  it('the orders judged choose the lists: a pain drug keeps the pain lists even when the record shows only spasticity', () => {
    const request = appRequestFrom('baclofen-ms.order-sign.json');
    const baclofen = request.orders.find((o) => o.resourceType === 'MedicationRequest') as Resource;
    const hcpcs = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
    const intrathecal = { route: { coding: [{ system: 'http://snomed.info/sct', code: '72607000' }] } };
    const morphine = { resourceType: 'MedicationRequest', id: 'mor', status: 'draft', intent: 'order', subject: { reference: 'Patient/it-var-baclofen' }, medicationCodeableConcept: { coding: [{ system: hcpcs, code: 'J2274' }] }, dosageInstruction: [intrathecal] } as Resource;
    const refill = { resourceType: 'ServiceRequest', id: 'refill', status: 'draft', intent: 'order', subject: { reference: 'Patient/it-var-baclofen' }, code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] } } as Resource;
    const documentation = (orders: Resource[]): string[] => evaluateForApp(packs, { ...request, orders }, NOW, 'http://localhost:3000').documentation.map((d) => d.name);
    const spasticity = ['recentSpasticityScore', 'functionDocumented', 'planDocumented'];
    const pain = ['recentPainScore', 'painScoreWithout', 'painScoreWith', 'functionDocumented', 'planDocumented'];

    expect(documentation([morphine])).toEqual(pain);
    expect(documentation([refill])).toEqual(spasticity);
    expect(documentation([baclofen, refill])).toEqual(spasticity);
    // One order for each therapy: the default lists, which name everything a pain order needs.
    expect(documentation([baclofen, morphine])).toEqual(pain);
    // An order the pack does not judge (a laboratory test) leaves the choice to the record.
    const lab = { resourceType: 'ServiceRequest', id: 'lab', status: 'draft', intent: 'order', subject: { reference: 'Patient/it-var-baclofen' }, code: { text: 'Complete blood count' } } as Resource;
    expect(documentation([lab])).toEqual(spasticity);
    // A mix of morphine and baclofen treats both: the pain lists with the spasticity measure added.
    const strength = (value: number, code: string) => ({ numerator: { value, code }, denominator: { value: 1, code: 'mL' } });
    const medication = { resourceType: 'Medication', id: 'mix', code: { coding: [{ system: hcpcs, code: 'J7999' }] }, ingredient: [{ itemCodeableConcept: { text: 'Morphine' }, strength: strength(10, 'mg') }, { itemCodeableConcept: { text: 'Baclofen' }, strength: strength(500, 'ug') }] };
    const mix = { resourceType: 'MedicationRequest', id: 'mix-order', status: 'draft', intent: 'order', subject: { reference: 'Patient/it-var-baclofen' }, contained: [medication], medicationReference: { reference: '#mix' }, dosageInstruction: [intrathecal] } as Resource;
    expect(documentation([mix])).toEqual(['recentPainScore', 'painScoreWithout', 'painScoreWith', 'recentSpasticityScore', 'functionDocumented', 'planDocumented']);
    expect(evaluateForApp(packs, { ...request, orders: [mix] }, NOW, 'http://localhost:3000').summary).toContain('[MISSING: a spasticity measure (Ashworth, Tardieu, spasm frequency) is recorded within the monitoring look-back]');
    expect(documentation([mix, morphine])).toEqual(pain);
  });

  it('a per-order criterion that differs between the orders is shown for each, never one order for both', () => {
    // The record shows spasticity only: the baclofen order has its indication, a morphine order has none.
    const request = appRequestFrom('baclofen-ms.order-sign.json');
    const baclofen = request.orders.find((o) => o.resourceType === 'MedicationRequest') as Resource;
    const hcpcs = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
    const morphine = { resourceType: 'MedicationRequest', id: 'mor', status: 'draft', intent: 'order', subject: { reference: 'Patient/it-var-baclofen' }, medicationCodeableConcept: { coding: [{ system: hcpcs, code: 'J2274' }] }, dosageInstruction: [{ route: { coding: [{ system: 'http://snomed.info/sct', code: '72607000' }] } }] } as Resource;
    const indication = (orders: Resource[]) => {
      const view = evaluateForApp(packs, { ...request, orders }, NOW, 'http://localhost:3000');
      return { rows: view.policyCriteria.filter((c) => c.name === 'qualifyingIndication'), summary: view.summary };
    };

    const both = indication([baclofen, morphine]);
    expect(both.rows.map((c) => c.status)).toEqual(['met', 'not met']);
    expect(both.rows[0]?.description).toContain(`(${baclofen.resourceType}/${baclofen.id ?? ''}`);
    expect(both.rows[1]?.description).toContain('(MedicationRequest/mor');
    expect(both.summary).toMatch(/\(MedicationRequest\/mor[^\n]*\): \[MISSING: not shown in the record\]/);

    // One order, or orders that agree: one row, as before.
    const alone = indication([baclofen]).rows;
    expect(alone.map((c) => c.status)).toEqual(['met']);
    expect(alone[0]?.description).not.toContain('(MedicationRequest/');
    expect(indication([morphine, { ...morphine, id: 'mor-2' }]).rows.map((c) => c.status)).toEqual(['not met']);
  });
});

describe('POST /app/api/evaluate', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService({ EMBEDDED_FHIR: 'false' });
  });
  afterAll(() => svc.stop());

  it('answers the evaluation for FHIR data, and 400 naming what is wrong otherwise', async () => {
    const ok = await call(svc, 'POST', '/app/api/evaluate', appRequestFrom('seed-b.order-sign.json'));
    expect(ok.status).toBe(200);
    expect((ok.body['orders'] as { coverage?: { covered: string } }[])[0]?.coverage?.covered).toBe('covered');
    const bad = await call(svc, 'POST', '/app/api/evaluate', { patient: { resourceType: 'Group' }, records: { conditions: 'x' }, orders: [1], fhirServer: { url: 'x' } });
    expect(bad.status).toBe(400);
    expect((bad.body['issue'] as { expression: string[] }[]).map((i) => i.expression[0])).toEqual(['patient', 'records.conditions', 'orders', 'fhirServer']);
  });

  it('serves the app with its runtime configuration and the fhirclient library', async () => {
    const config = await (await fetch(`${svc.baseUrl}/app/config.js`)).text();
    expect(config).toContain('"clientId":"intrathecal-app"');
    expect(config).toContain('patient/Coverage.rs');
    const lib = await fetch(`${svc.baseUrl}/app/vendor/fhir-client.js`);
    expect(lib.status).toBe(200);
    expect((await lib.text()).length).toBeGreaterThan(10_000);
  });
});
