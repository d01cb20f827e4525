import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { appointmentOrderReferences, inlineAppointmentOrders } from './appointment-orders.js';

const BASE = 'https://ehr.example/fhir';
const appointment = (...refs: string[]): Resource => ({ resourceType: 'Appointment', status: 'proposed', participant: [], basedOn: refs.map((reference) => ({ reference, display: 'the order' })) });
const order = (id: string, code: string): Resource => ({ resourceType: 'ServiceRequest', id, status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, code: { coding: [{ code }] } });

describe('the order an Appointment is booked for', () => {
  it("names the record's ServiceRequests an Appointment is based on, in any form that reaches the fhirServer, with their places", () => {
    const booked = [
      appointment('ServiceRequest/a', 'ServiceRequest/b/_history/2', `${BASE}/ServiceRequest/c`, 'https://elsewhere.example/fhir/ServiceRequest/d', '#e', 'CarePlan/f', 'urn:uuid:1'),
      order('a', '95990'),
      undefined,
      appointment('ServiceRequest/a'),
    ];
    expect(appointmentOrderReferences(booked, BASE)).toEqual([
      { key: 'ServiceRequest/a', appointment: 0, basedOn: 0 },
      { key: 'ServiceRequest/b', appointment: 0, basedOn: 1 },
      { key: 'ServiceRequest/c', appointment: 0, basedOn: 2 },
      { key: 'ServiceRequest/a', appointment: 3, basedOn: 0 },
    ]);
  });

  it('copies each order at hand into its Appointment, contained, the basedOn pointing at it; nothing changes in place', () => {
    const first = { ...appointment('ServiceRequest/a', 'ServiceRequest/b'), contained: [{ resourceType: 'Location', id: 'a' }] } as Resource;
    const untouched = appointment('ServiceRequest/missing');
    const before = JSON.stringify([first, untouched]);
    const out = inlineAppointmentOrders([first, untouched], new Map([['ServiceRequest/a', order('a', '95990')], ['ServiceRequest/b', order('b', '95991')]]));
    expect(out[1]).toBe(untouched);
    expect(out[0]).toMatchObject({
      // `a` is taken by the Location: the order gets a free id.
      contained: [{ resourceType: 'Location', id: 'a' }, { resourceType: 'ServiceRequest', id: 'a-2', code: { coding: [{ code: '95990' }] } }, { resourceType: 'ServiceRequest', id: 'b' }],
      basedOn: [{ reference: '#a-2', display: 'the order' }, { reference: '#b', display: 'the order' }],
    });
    expect(JSON.stringify([first, untouched])).toBe(before);
    expect(inlineAppointmentOrders([untouched], new Map())).toEqual([untouched]);
  });
});
