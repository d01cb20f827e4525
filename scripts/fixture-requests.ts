/**
 * Builds the CDS Hooks requests in `fhir-fixtures/requests/` from the patient Bundles and draft orders, so the
 * prefetch in a request is exactly what a FHIR search would return for that patient.
 * `npm run fixtures` rewrites the files; a test fails when the committed files drift from what this builds.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { answerQuery } from '../src/fhir/answer-query.js';
import { ensureFhirDefinitions } from '../src/fhir/definitions.js';
import { fillTemplate } from '../src/hooks/prefetch-template.js';
import type { HookContext } from '../src/hooks/types.js';
import { loadServiceDefinitions } from '../src/services/service-definitions.js';

/** The FHIR base the committed requests name: the embedded server of `npm start`. */
export const FIXTURE_FHIR_SERVER = 'http://localhost:3000/fhir';
/** The clinician who signs the fixture orders. */
export const FIXTURE_USER = 'Practitioner/it-prac-1';

function readBundle(path: string): Resource[] {
  return ((JSON.parse(readFileSync(path, 'utf8')) as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

/** Deterministic hookInstance per fixture, so regenerated files are identical. */
function hookInstance(caseName: string, variant: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${caseName}/${variant}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const hex = h.toString(16).padStart(8, '0');
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

/**
 * Builds every fixture request.
 * @param root - the `fhir-fixtures/` folder.
 * @param rulesDir - the `cds-hooks/` folder (service definitions give the prefetch templates).
 * @returns file name -> request body.
 */
export function buildFixtureRequests(root: string, rulesDir: string): Map<string, unknown> {
  ensureFhirDefinitions();
  const services = loadServiceDefinitions(rulesDir);
  const orderSign = services.find((s) => s.hook === 'order-sign');
  if (!orderSign) throw new Error('no order-sign service declared');
  const shared = readBundle(join(root, 'patients', 'shared.json'));
  const out = new Map<string, unknown>();
  for (const file of readdirSync(join(root, 'orders')).filter((f) => f.endsWith('.json')).sort()) {
    const caseName = file.replace(/\.json$/, '');
    const patientResources = [...shared, ...readBundle(join(root, 'patients', file))];
    const patient = patientResources.find((r) => r.resourceType === 'Patient' && r.id?.startsWith('it-'));
    if (!patient?.id) throw new Error(`fhir-fixtures/patients/${file} has no Patient`);
    const orders = JSON.parse(readFileSync(join(root, 'orders', file), 'utf8')) as Resource[];
    const context: HookContext & Record<string, unknown> = {
      userId: FIXTURE_USER,
      patientId: patient.id,
      draftOrders: { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) },
    };
    const prefetch: Record<string, Resource | null> = {};
    for (const key of orderSign.prefetch) {
      const query = fillTemplate(key.parsed, context);
      if (query !== undefined) prefetch[key.key] = answerQuery(query, patientResources);
    }
    const base = { hookInstance: hookInstance(caseName, 'order-sign'), hook: 'order-sign', fhirServer: FIXTURE_FHIR_SERVER, context };
    out.set(`${caseName}.order-sign.json`, { ...base, prefetch });
    out.set(`${caseName}.order-sign.no-prefetch.json`, { ...base, hookInstance: hookInstance(caseName, 'no-prefetch') });
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
