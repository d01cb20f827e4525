import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { encounterPartReferences, inlineEncounterParts, MAX_ENCOUNTER_PARTS } from './encounter-parts.js';

const BASE = 'https://ehr.example/fhir';
const encounter = (links: Record<string, unknown>): Resource => ({ resourceType: 'Encounter', id: 'e1', status: 'in-progress', class: { code: 'AMB' }, ...links });

describe('the parts an Encounter names', () => {
  it('are its Appointments and ServiceRequests on the record: relative, versioned or absolute on the fhirServer, each once', () => {
    const e = encounter({
      appointment: [{ reference: 'Appointment/a1' }, { reference: `${BASE}/Appointment/a2/_history/3` }, { reference: 'https://other.example/fhir/Appointment/a3' }, { reference: 'Appointment/a1' }],
      basedOn: [{ reference: 'ServiceRequest/s1' }, { reference: '#contained' }, { reference: 'CarePlan/c1' }, { display: 'no reference' }],
    });
    expect(encounterPartReferences(e, BASE)).toEqual(['Appointment/a1', 'Appointment/a2', 'ServiceRequest/s1']);
  });

  it(`are at most ${String(MAX_ENCOUNTER_PARTS)}`, () => {
    const e = encounter({ basedOn: Array.from({ length: 9 }, (_, i) => ({ reference: `ServiceRequest/s${String(i)}` })) });
    expect(encounterPartReferences(e)).toHaveLength(MAX_ENCOUNTER_PARTS);
  });

  it('are copied in as contained resources, the references pointing there, the Encounter itself unchanged', () => {
    const e = encounter({ contained: [{ resourceType: 'Location', id: 'a1' }], appointment: [{ reference: 'Appointment/a1' }], basedOn: [{ reference: 'ServiceRequest/gone' }] });
    const appointment = { resourceType: 'Appointment', id: 'a1', status: 'arrived' } as Resource;
    const judged = inlineEncounterParts(e, new Map([['Appointment/a1', appointment]]), BASE) as unknown as Record<string, unknown>;
    expect(judged['contained']).toEqual([{ resourceType: 'Location', id: 'a1' }, { ...appointment, id: 'a1-2' }]);
    expect(judged['appointment']).toEqual([{ reference: '#a1-2' }]);
    expect(judged['basedOn']).toEqual([{ reference: 'ServiceRequest/gone' }]);
    expect((e as unknown as Record<string, unknown>)['appointment']).toEqual([{ reference: 'Appointment/a1' }]);
    expect(inlineEncounterParts(e, new Map(), BASE)).toBe(e);
  });
});
