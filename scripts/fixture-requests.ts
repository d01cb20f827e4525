/**
 * Builds the CDS Hooks requests in `fhir-fixtures/requests/` from the patient Bundles, the draft orders and the
 * variations, so the prefetch in a request is exactly what a FHIR search would return for that patient: order-sign
 * for every seed and variation, and for every seed an order-dispatch of its orders and an appointment-book of its
 * next refill visit, examples an integrator can send as they are.
 * `npm run fixtures` rewrites the files; a test fails when the committed files drift from what this builds.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { parse as parseYaml } from 'yaml';
import { answerQuery } from '../src/fhir/answer-query.js';
import { applyChanges, fixtureRecord } from '../src/fhir/fixture-record.js';
import { fillTemplate } from '../src/hooks/prefetch-template.js';
import type { HookContext } from '../src/hooks/types.js';
import type { ServiceDefinition } from '../src/services/service-definitions.js';
import { loadServiceDefinitions } from '../src/services/service-definitions.js';

/** The FHIR base the committed requests name: the embedded server of `npm start`. */
export const FIXTURE_FHIR_SERVER = 'http://localhost:3000/fhir';
/** The clinician who signs the fixture orders. */
export const FIXTURE_USER = 'Practitioner/it-prac-1';

/** A variation of a seed case, as written in fhir-fixtures/variations.yaml. */
interface Variation {
  name: string;
  changes: string;
  base: string;
  orders?: string;
  draftOrders?: Resource[];
  without?: string[];
  with?: Resource[];
}

/** Deterministic hookInstance per fixture, so regenerated files are identical. */
function hookInstance(caseName: string, variant: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${caseName}/${variant}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

function readOrders(root: string, name: string): Resource[] {
  return JSON.parse(readFileSync(join(root, 'orders', `${name}.json`), 'utf8')) as Resource[];
}

/** The fixture's patient id. */
function patientOf(name: string, record: readonly Resource[]): string {
  const patient = record.find((r) => r.resourceType === 'Patient' && r.id?.startsWith('it-'));
  if (!patient?.id) throw new Error(`fixture ${name} has no Patient`);
  return patient.id;
}

/** An order-sign request for a record and draft orders, with the prefetch a FHIR server holding the record answers. */
function orderSignRequest(name: string, service: ServiceDefinition, record: readonly Resource[], orders: readonly Resource[], variant: string): Record<string, unknown> {
  const context: HookContext & Record<string, unknown> = {
    userId: FIXTURE_USER,
    patientId: patientOf(name, record),
    draftOrders: { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) },
  };
  const prefetch = prefetchFor(service, context, record);
  return { hookInstance: hookInstance(name, variant), hook: 'order-sign', fhirServer: FIXTURE_FHIR_SERVER, context, ...(variant === 'no-prefetch' ? {} : { prefetch }) };
}

/** The prefetch a FHIR server holding the record answers for a service's templates. */
function prefetchFor(service: ServiceDefinition, context: HookContext, record: readonly Resource[]): Record<string, Resource | null> {
  const prefetch: Record<string, Resource | null> = {};
  for (const key of service.prefetch) {
    const query = fillTemplate(key.parsed, context);
    if (query !== undefined) prefetch[key.key] = answerQuery(query, record);
  }
  return prefetch;
}

/** The home infusion pharmacy the examples dispatch to. */
const FIXTURE_PERFORMER = 'Organization/it-home-infusion-pharmacy';

/**
 * An order-dispatch request for a seed's orders, as they stand on the embedded server: named by reference, sent to
 * the home infusion pharmacy. The service reads them from fhirServer.
 */
function orderDispatchRequest(name: string, service: ServiceDefinition, record: readonly Resource[], orders: readonly Resource[]): Record<string, unknown> {
  const patientId = patientOf(name, record);
  const context = { patientId, dispatchedOrders: orders.filter((o) => o.resourceType !== 'Medication').map((o) => `${o.resourceType}/${o.id ?? ''}`), performer: FIXTURE_PERFORMER };
  return { hookInstance: hookInstance(name, 'order-dispatch'), hook: 'order-dispatch', fhirServer: FIXTURE_FHIR_SERVER, context, prefetch: prefetchFor(service, { userId: '', patientId }, record) };
}

/** An appointment-book request booking the seed's next pump refill and maintenance visit (CPT 95990). */
function appointmentBookRequest(name: string, service: ServiceDefinition, record: readonly Resource[]): Record<string, unknown> {
  const patientId = patientOf(name, record);
  const appointment = {
    resourceType: 'Appointment',
    id: `${patientId}-refill-visit`,
    status: 'proposed',
    serviceType: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990', display: 'Refilling and maintenance of implantable pump or reservoir for drug delivery, spinal or brain' }] }],
    start: '2026-12-04T09:00:00Z',
    end: '2026-12-04T09:30:00Z',
    participant: [
      { actor: { reference: `Patient/${patientId}` }, status: 'accepted' },
      { type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PPRF' }] }], actor: { reference: FIXTURE_USER }, status: 'accepted' },
    ],
  };
  const context = { userId: FIXTURE_USER, patientId, appointments: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: appointment }] } };
  return { hookInstance: hookInstance(name, 'appointment-book'), hook: 'appointment-book', fhirServer: FIXTURE_FHIR_SERVER, context, prefetch: prefetchFor(service, { userId: FIXTURE_USER, patientId }, record) };
}

/**
 * Builds every fixture request: each seed with and without prefetch, its order-dispatch and appointment-book, and
 * each variation with prefetch.
 * @param root - the `fhir-fixtures/` folder.
 * @param rulesDir - the `cds-hooks/` folder (service definitions give the prefetch templates).
 * @returns file name -> request body.
 */
export function buildFixtureRequests(root: string, rulesDir: string): Map<string, unknown> {
  const services = loadServiceDefinitions(rulesDir);
  const serviceOf = (hook: string): ServiceDefinition => {
    const service = services.find((s) => s.hook === hook);
    if (!service) throw new Error(`no ${hook} service declared`);
    return service;
  };
  const orderSign = serviceOf('order-sign');
  const out = new Map<string, unknown>();
  for (const file of readdirSync(join(root, 'orders')).filter((f) => f.endsWith('.json')).sort()) {
    const name = file.replace(/\.json$/, '');
    const record = fixtureRecord(root, name);
    const orders = readOrders(root, name);
    out.set(`${name}.order-sign.json`, orderSignRequest(name, orderSign, record, orders, 'order-sign'));
    out.set(`${name}.order-sign.no-prefetch.json`, orderSignRequest(name, orderSign, record, orders, 'no-prefetch'));
    out.set(`${name}.order-dispatch.json`, orderDispatchRequest(name, serviceOf('order-dispatch'), record, orders));
    out.set(`${name}.appointment-book.json`, appointmentBookRequest(name, serviceOf('appointment-book'), record));
  }
  const { variations } = parseYaml(readFileSync(join(root, 'variations.yaml'), 'utf8')) as { variations: Variation[] };
  for (const v of variations) {
    const changes = { ...(v.without ? { without: v.without } : {}), ...(v.with ? { with: v.with } : {}) };
    const record = fixtureRecord(root, v.base, changes);
    const orders = applyChanges(v.draftOrders ?? readOrders(root, v.orders ?? v.base), { ...(v.without ? { without: v.without } : {}) });
    out.set(`${v.name}.order-sign.json`, orderSignRequest(v.name, orderSign, record, orders, 'order-sign'));
  }
  return out;
}

/** Serialises a request as committed (2-space JSON, trailing newline). */
export function formatFixture(body: unknown): string {
  return `${JSON.stringify(body, null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const [name, body] of buildFixtureRequests('fhir-fixtures', 'cds-hooks')) {
    writeFileSync(join('fhir-fixtures', 'requests', name), formatFixture(body));
    process.stdout.write(`wrote fhir-fixtures/requests/${name}\n`);
  }
}
