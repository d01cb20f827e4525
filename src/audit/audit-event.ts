/**
 * A recorded hook call as a FHIR R4 AuditEvent, for a hospital's audit repository (an ATNA or FHIR audit store, a
 * SIEM that reads FHIR). Patterned on IHE Basic Audit Log Patterns (BALP): type `rest`, the EHR that called as the
 * Source Role (DICOM 110153, the requestor) and this service as the Destination Role (110152), the service as an
 * application-server source, the patient as an entity (Person / Patient). A CDS Hooks call is no FHIR interaction:
 * its action is Execute (E), its subtype `operation`, and what it was (service, hook, hook instance, request id, the
 * rules that answered) is in the details of a second entity, which points at the full record (request, answer and
 * reads) in this service's audit log. No body is copied: the AuditEvent says who called about whom, when, and how
 * it went.
 *
 * A read of the audit log itself (a person or a script reading patient data through `/audit`) is an AuditEvent too,
 * as BALP's Query pattern has it: action Execute, subtype search-type, the reader as requestor (with the address the
 * read came from), the query as sent as a Query entity.
 */
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { StoredInvocation, StoredRead } from '../store/audit-store.js';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const URI = 'urn:ietf:rfc:3986';

/** The outcome code (R4 AuditEventOutcome) of an HTTP status; no status (the connection closed first) is serious. */
function outcomeOf(status: number | null): { code: NonNullable<AuditEvent['outcome']>; text: string } {
  if (status === null) return { code: '8', text: 'no answer: the connection closed before the service answered' };
  return { code: status < 400 ? '0' : status < 500 ? '4' : '8', text: `HTTP ${String(status)}` };
}

const isUri = (value: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(value);

/** How a read of the log went, as an AuditEvent outcome: refused (no or a wrong token) and invalid are minor failures. */
const READ_OUTCOMES: Readonly<Record<StoredRead['outcome'], { code: NonNullable<AuditEvent['outcome']>; text: string }>> = {
  allowed: { code: '0', text: 'allowed' },
  refused: { code: '4', text: 'refused: no reader token, or not one of the configured readers' },
  invalid: { code: '4', text: 'refused: the query was not valid' },
};

/** This service as the Destination Role and as the source of every AuditEvent it makes. */
function serviceParts(publicBaseUrl: string, path: string): Pick<AuditEvent, 'source'> & { destination: NonNullable<AuditEvent['agent']>[number] } {
  return {
    destination: {
      type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
      who: { identifier: { system: URI, value: `${publicBaseUrl}${path}` }, display: 'intrathecal-cds' },
      requestor: false,
      network: { address: publicBaseUrl, type: '5' },
    },
    source: {
      observer: { identifier: { system: URI, value: publicBaseUrl }, display: 'intrathecal-cds' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
  };
}

/**
 * The AuditEvent of one read of the audit log.
 * @param row - the read as the audit log holds it.
 * @param publicBaseUrl - where this service answers (PUBLIC_BASE_URL).
 * @returns the AuditEvent.
 */
export function readAuditEventOf(row: StoredRead, publicBaseUrl: string): AuditEvent {
  const { code, text } = READ_OUTCOMES[row.outcome];
  const { destination, source } = serviceParts(publicBaseUrl, '/audit');
  return {
    resourceType: 'AuditEvent',
    id: `audit-read-${String(row.id)}`,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type', display: 'search-type' }],
    action: 'E',
    recorded: new Date(row.at).toISOString(),
    outcome: code,
    outcomeDesc: text,
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: { display: row.reader ?? 'no reader (no or an unknown token)' },
        requestor: true,
        network: { address: row.address, type: '2' },
      },
      destination,
    ],
    source,
    entity: [
      {
        type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
        description: `A read of this service's audit log: ${publicBaseUrl}${row.query}`,
        query: Buffer.from(row.query, 'utf8').toString('base64'),
        detail: [{ type: 'rows', valueString: String(row.rows) }],
      },
    ],
  };
}

/**
 * The AuditEvent of one recorded call.
 * @param row - the call as the audit log holds it.
 * @param publicBaseUrl - where this service answers (PUBLIC_BASE_URL).
 * @returns the AuditEvent.
 */
export function auditEventOf(row: StoredInvocation, publicBaseUrl: string): AuditEvent {
  const request = (typeof row.request === 'object' && row.request !== null ? row.request : {}) as { fhirServer?: unknown };
  const fhirServer = typeof request.fhirServer === 'string' && isUri(request.fhirServer) ? request.fhirServer.replace(/\/+$/, '') : undefined;
  const { code, text } = outcomeOf(row.status);
  const service = serviceParts(publicBaseUrl, `/cds-services/${row.serviceId}`);
  const received = new Date(row.receivedAt);
  const details = [
    ['serviceId', row.serviceId],
    ['hook', row.hook],
    ['hookInstance', row.hookInstance],
    ['requestId', row.requestId],
    ['packs', row.packs],
    ['delivered', String(row.delivered)],
  ].flatMap(([type, value]) => (value ? [{ type: type ?? '', valueString: value }] : []));
  const entities: AuditEventEntity[] = [
    ...(row.patientId
      ? [{
          what: { reference: `${fhirServer ? `${fhirServer}/` : ''}Patient/${row.patientId}` },
          type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
          role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1', display: 'Patient' },
        }]
      : []),
    {
      what: { identifier: { system: `${publicBaseUrl}/audit/hook-invocations`, value: row.requestId } },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      description: `The CDS Hooks call as recorded (request, answer, reads): ${publicBaseUrl}/audit/hook-invocations?requestId=${encodeURIComponent(row.requestId)}`,
      detail: details,
    },
  ];
  return {
    resourceType: 'AuditEvent',
    id: `hook-invocation-${String(row.id)}`,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'operation', display: 'operation' }],
    action: 'E',
    period: { start: received.toISOString(), end: new Date(received.getTime() + Math.round(row.ms)).toISOString() },
    recorded: received.toISOString(),
    outcome: code,
    outcomeDesc: text,
    agent: [
      {
        type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
        who: isUri(row.client) ? { identifier: { system: URI, value: row.client } } : { display: `${row.client} (no JWT: development)` },
        requestor: true,
      },
      service.destination,
    ],
    source: service.source,
    entity: entities,
  };
}
