/**
 * A patient's record from the fixture Bundles, with changes: what rule test cases and fixture variations start from.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { referenceOf } from './json.js';

/** Changes to a record. */
export interface RecordChanges {
  /** `Type/id` of resources to leave out. */
  readonly without?: readonly string[];
  /** Resources to add; one with the same `Type/id` as an existing resource replaces it. */
  readonly with?: readonly Resource[];
}

/**
 * The resources of a Bundle file.
 * @param file - path of a FHIR Bundle.
 * @returns its resources.
 */
export function bundleResources(file: string): Resource[] {
  return ((JSON.parse(readFileSync(file, 'utf8')) as Bundle).entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
}

/**
 * Applies changes to a list of resources.
 * @param resources - the resources.
 * @param changes - what to leave out and what to add or replace.
 * @returns the changed list.
 */
export function applyChanges(resources: readonly Resource[], changes: RecordChanges): Resource[] {
  const drop = new Set(changes.without ?? []);
  const replaced = new Set((changes.with ?? []).map(referenceOf));
  return resources.filter((r) => !drop.has(referenceOf(r)) && !replaced.has(referenceOf(r))).concat(changes.with ?? []);
}

/**
 * A fixture patient's whole record (the shared Bundle plus the patient's own), changed.
 * @param fixturesRoot - the fhir-fixtures folder.
 * @param patient - the patient Bundle's name (without .json).
 * @param changes - record changes.
 * @returns the resources a FHIR server would hold.
 */
export function fixtureRecord(fixturesRoot: string, patient: string, changes: RecordChanges = {}): Resource[] {
  const base = [...bundleResources(join(fixturesRoot, 'patients', 'shared.json')), ...bundleResources(join(fixturesRoot, 'patients', `${patient}.json`))];
  return applyChanges(base, changes);
}
