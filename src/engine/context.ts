/**
 * From a checked hook request and its assembled data to the engine's EvaluationContext.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { EvaluationInput } from '../hooks/handle-hook.js';
import type { EvaluationContext } from './evaluate.js';
import { referenceOf } from '../fhir/json.js';
import { inlineMedications, medicationReferenceKey, medicationsByKey } from '../fhir/medication-references.js';
import { DATA_VARIABLES } from './pack-types.js';

/** Resource types that are orders (CDS Hooks order-sign/order-select, R4). */
const ORDER_TYPES = new Set(['MedicationRequest', 'ServiceRequest', 'DeviceRequest', 'NutritionOrder', 'VisionPrescription', 'CommunicationRequest', 'Task']);

/**
 * Builds the evaluation context: data variables from the prefetch keys of the same name (a key the service does
 * not declare, or could not have, is not known), the record's references to Medications that were read resolved
 * into contained ones; orders to judge per hook, and beside them the Medications they reference.
 * @param input - service, request, assembled data and time.
 * @returns the context.
 */
export function contextFromInput(input: EvaluationInput): EvaluationContext {
  const medications = medicationsByKey(input.data.medications ?? []);
  const base = input.request.fhirServer;
  const data: EvaluationContext['data'] = Object.fromEntries(
    DATA_VARIABLES.flatMap((v) => {
      const resources = input.data.resources[v];
      return resources !== undefined ? [[v, inlineMedications(resources, medications, base)]] : [];
    })
  );
  const sent: Resource[] = (input.request.context.draftOrders?.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
  // A Medication a draft order references goes beside it, as if the client had sent it (the order itself is what
  // the coverage-information action echoes, so it is not changed).
  const beside = new Map<string, Resource>();
  if (medications.size > 0) {
    const sentMedications = medicationsByKey(sent);
    for (const r of sent) {
      const key = medicationReferenceKey(r);
      const medication = key === undefined || sentMedications.has(key) ? undefined : medications.get(key);
      if (key && medication) beside.set(key, medication);
    }
  }
  const draftOrders = beside.size > 0 ? [...sent, ...beside.values()] : sent;
  const selections = input.request.context.selections;
  // Medications and other supporting entries of draftOrders are context, not orders to judge.
  const orders = draftOrders.filter((r) => ORDER_TYPES.has(r.resourceType));
  const ordersToJudge = input.service.hook === 'patient-view' ? [] : selections ? orders.filter((o) => selections.includes(referenceOf(o))) : orders;
  return { hook: input.service.hook, data, draftOrders, ordersToJudge, now: input.now };
}
