import type { MedicationRequest } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { EvaluationInput } from '../hooks/handle-hook.js';
import { contextFromInput } from './context.js';

const order = (id: string, status: MedicationRequest['status']): MedicationRequest => ({ resourceType: 'MedicationRequest', id, status, intent: 'order', subject: { reference: 'Patient/p' }, medicationCodeableConcept: { text: 'morphine PF' } });

describe('contextFromInput on order-dispatch', () => {
  it('judges the dispatched orders and takes them out of the record they came with: an order is not its own earlier fill', () => {
    const dispatched = order('refill', 'active');
    const earlier = order('earlier', 'completed');
    const input = {
      service: { hook: 'order-dispatch' },
      request: { hook: 'order-dispatch', hookInstance: 'h', context: { userId: '', patientId: 'p', dispatchedOrders: ['MedicationRequest/refill'], performer: 'Organization/pharmacy' }, prefetch: {} },
      data: { resources: { medicationRequests: [earlier, dispatched] }, unavailable: [], dispatchedOrders: [dispatched] },
      now: new Date('2026-11-20T15:00:00Z'),
    } as unknown as EvaluationInput;
    const ctx = contextFromInput(input);
    expect(ctx.ordersToJudge.map((o) => o.id)).toEqual(['refill']);
    expect(ctx.draftOrders.map((o) => o.id)).toEqual(['refill']);
    expect(ctx.data.medicationRequests?.map((o) => o.id)).toEqual(['earlier']);
  });
});
