/**
 * One-line, human descriptions of FHIR resources, for evidence on cards and in the app:
 * "Condition/123 (G89.4 Chronic pain syndrome, active)". Only what the resource says; nothing inferred.
 */
import type { CodeableConcept, Resource } from '@medplum/fhirtypes';

function concept(cc: CodeableConcept | undefined): string | undefined {
  if (!cc) return undefined;
  const coding = cc.coding?.find((c) => c.code) ?? cc.coding?.[0];
  if (coding?.code) return [coding.code, coding.display ?? cc.text].filter(Boolean).join(' ');
  return cc.text;
}

function status(cc: CodeableConcept | undefined): string | undefined {
  return cc?.coding?.[0]?.code ?? cc?.text;
}

function quantityText(q: { value?: number; unit?: string; code?: string } | undefined): string | undefined {
  return q?.value === undefined ? undefined : `${q.value}${q.unit ? ` ${q.unit}` : ''}`;
}

function medicationText(r: { medicationCodeableConcept?: CodeableConcept; medicationReference?: { display?: string; reference?: string }; contained?: Resource[] }): string | undefined {
  if (r.medicationCodeableConcept) return concept(r.medicationCodeableConcept);
  const ref = r.medicationReference?.reference;
  const contained = ref?.startsWith('#') ? r.contained?.find((c) => c.resourceType === 'Medication' && `#${c.id ?? ''}` === ref) : undefined;
  if (contained?.resourceType === 'Medication') return contained.code?.text ?? concept(contained.code) ?? r.medicationReference?.display;
  return r.medicationReference?.display ?? ref;
}

/**
 * The facts of a resource worth showing next to its reference.
 * @param resource - any FHIR resource.
 * @returns a short text, without the reference.
 */
export function describeFacts(resource: Resource): string {
  const parts: (string | undefined)[] = [];
  switch (resource.resourceType) {
    case 'Condition':
      parts.push(concept(resource.code), status(resource.clinicalStatus), resource.onsetDateTime && `since ${resource.onsetDateTime.slice(0, 10)}`);
      break;
    case 'Device':
      parts.push(resource.deviceName?.[0]?.name ?? resource.type?.text ?? concept(resource.type), resource.modelNumber && `model ${resource.modelNumber}`, resource.status);
      break;
    case 'MedicationRequest':
      parts.push(medicationText(resource), resource.status, resource.authoredOn?.slice(0, 10));
      break;
    case 'ServiceRequest':
    case 'DeviceRequest':
      parts.push(resource.resourceType === 'ServiceRequest' ? concept(resource.code) : concept(resource.codeCodeableConcept), resource.status, resource.authoredOn?.slice(0, 10));
      break;
    case 'Observation':
      parts.push(
        concept(resource.code),
        resource.valueQuantity ? quantityText(resource.valueQuantity) : resource.valueInteger !== undefined ? String(resource.valueInteger) : resource.valueString ?? concept(resource.valueCodeableConcept),
        resource.method?.text,
        resource.effectiveDateTime?.slice(0, 10)
      );
      break;
    case 'Procedure':
      parts.push(concept(resource.code), resource.status, resource.performedDateTime?.slice(0, 10) ?? resource.performedPeriod?.start?.slice(0, 10));
      break;
    case 'Coverage':
      parts.push(concept(resource.type), resource.status, resource.payor?.[0]?.display);
      break;
    case 'Patient':
      parts.push(resource.birthDate && `born ${resource.birthDate}`);
      break;
    default:
      break;
  }
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(', ');
}

/**
 * "Type/id (facts)".
 * @param reference - the resource's reference.
 * @param resource - the resource.
 * @returns the description.
 */
export function describeEvidence(reference: string, resource: Resource): string {
  const facts = describeFacts(resource);
  return facts ? `${reference} (${facts})` : reference;
}
