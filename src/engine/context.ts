/**
 * From a checked hook request and its assembled data to the engine's EvaluationContext.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { EvaluationInput } from '../hooks/handle-hook.js';
import type { EvaluationContext } from './evaluate.js';
import { referenceOf } from '../fhir/json.js';
import { DATA_VARIABLES } from './pack-types.js';

/** Resource types that are orders (CDS Hooks order-sign/order-select, R4). */
const ORDER_TYPES = new Set(['MedicationRequest', 'ServiceRequest', 'DeviceRequest', 'NutritionOrder', 'VisionPrescription', 'CommunicationRequest', 'Task']);

/**
 * Builds the evaluation context: data variables from the prefetch keys of the same name (a key the service does
 * not declare, or could not have, is not known); orders to judge per hook.
 * @param input - service, request, assembled data and time.
 * @returns the context.
 */
export function contextFromInput(input: EvaluationInput): EvaluationContext {
  const data: EvaluationContext['data'] = Object.fromEntries(
    DATA_VARIABLES.flatMap((v) => (input.data.resources[v] !== undefined ? [[v, input.data.resources[v]]] : []))
  );
  const draftOrders: Resource[] = (input.request.context.draftOrders?.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  const selections = input.request.context.selections;
  // Medications and other supporting entries of draftOrders are context, not orders to judge.
  const orders = draftOrders.filter((r) => ORDER_TYPES.has(r.resourceType));
  const ordersToJudge = input.service.hook === 'patient-view' ? [] : selections ? orders.filter((o) => selections.includes(referenceOf(o))) : orders;
  return { hook: input.service.hook, data, draftOrders, ordersToJudge, now: input.now };
}
