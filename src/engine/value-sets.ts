/**
 * Value sets: FHIR R4 ValueSet resources with `compose.include` (system + concepts, or an `is-a` filter on
 * prefix-hierarchical systems such as ICD-10-CM, or another value set of the pack included whole), compiled into
 * fast membership tests.
 */
import type { Coding, ValueSet } from '@medplum/fhirtypes';
import { canonicalSystem, comparableCode, hasPrefixHierarchy } from './code-systems.js';

/** A compiled value set. */
export interface CompiledValueSet {
  readonly id: string;
  readonly url: string;
  readonly title: string;
  /** Canonical URLs of the value sets it includes whole (`compose.include.valueSet`). */
  readonly includesValueSets: readonly string[];
  /** Whether a coding is a member. */
  contains(coding: Coding): boolean;
}

interface Include {
  readonly codes: Set<string>;
  readonly prefixes: readonly string[];
  readonly excluded: Set<string>;
}

/**
 * Compiles a ValueSet resource.
 * @param vs - the resource.
 * @param where - file name, for messages.
 * @param resolve - finds an included value set by its canonical URL, at the first coding tested (the pack checks at
 *   load that every one exists and that none includes itself).
 * @returns the compiled value set.
 * @throws Error naming the file and the element that cannot be used.
 */
export function compileValueSet(vs: ValueSet, where: string, resolve: (url: string) => CompiledValueSet | undefined = () => undefined): CompiledValueSet {
  if (vs.resourceType !== 'ValueSet' || !vs.id || !vs.url) throw new Error(`${where}: a ValueSet with id and url is required`);
  if (!vs.compose?.include?.length) throw new Error(`${where}: ValueSet ${vs.id} has no compose.include`);
  const bySystem = new Map<string, Include>();
  const entry = (system: string): Include => {
    let inc = bySystem.get(system);
    if (!inc) {
      inc = { codes: new Set(), prefixes: [], excluded: new Set() };
      bySystem.set(system, inc);
    }
    return inc;
  };
  const included: string[] = [];
  let members: CompiledValueSet[] | undefined;
  vs.compose.include.forEach((include, i) => {
    if (include.valueSet?.length) {
      // FHIR: several value sets in one include, or a system beside them, mean an intersection; not supported.
      if (include.valueSet.length > 1 || include.system || include.concept || include.filter) {
        throw new Error(`${where}: compose.include[${i}] includes a value set whole only alone (one valueSet, no system, concept or filter beside it)`);
      }
      included.push(include.valueSet[0] ?? '');
      return;
    }
    if (!include.system) throw new Error(`${where}: compose.include[${i}] needs a system`);
    const system = canonicalSystem(include.system);
    const inc = entry(system);
    for (const concept of include.concept ?? []) inc.codes.add(comparableCode(system, concept.code ?? ''));
    for (const filter of include.filter ?? []) {
      if (filter.op !== 'is-a' || filter.property !== 'concept' || !filter.value) {
        throw new Error(`${where}: compose.include[${i}].filter supports only property "concept", op "is-a"`);
      }
      if (!hasPrefixHierarchy(system)) throw new Error(`${where}: is-a filters are only supported on ICD-10-CM and payer typology, not ${system}`);
      (inc.prefixes as string[]).push(comparableCode(system, filter.value));
    }
    if (!include.concept?.length && !include.filter?.length) throw new Error(`${where}: compose.include[${i}] lists no concept and no filter`);
  });
  for (const exclude of vs.compose.exclude ?? []) {
    if (!exclude.system) continue;
    const system = canonicalSystem(exclude.system);
    for (const concept of exclude.concept ?? []) entry(system).excluded.add(comparableCode(system, concept.code ?? ''));
  }
  return {
    id: vs.id,
    url: vs.url,
    title: vs.title ?? vs.name ?? vs.id,
    includesValueSets: included,
    contains(coding) {
      if (!coding.system || !coding.code) return false;
      const system = canonicalSystem(coding.system);
      const inc = bySystem.get(system);
      const code = inc ? comparableCode(system, coding.code) : '';
      if (inc?.excluded.has(code)) return false;
      if (inc && (inc.codes.has(code) || inc.prefixes.some((p) => code.startsWith(p)))) return true;
      // Resolved at the first test, when the pack has compiled (and checked) every value set; then kept.
      members ??= included.flatMap((url) => resolve(url) ?? []);
      return members.some((m) => m.contains(coding));
    },
  };
}

/**
 * The codings of whatever a FHIRPath expression handed over: a Coding, a CodeableConcept, or a resource whose
 * `code` is a CodeableConcept.
 * @param node - one item of a FHIRPath collection.
 * @returns its codings.
 */
export function codingsOf(node: unknown): Coding[] {
  if (typeof node !== 'object' || node === null) return [];
  const n = node as { coding?: unknown; system?: unknown; code?: unknown };
  if (Array.isArray(n.coding)) return n.coding as Coding[];
  if (typeof n.system === 'string' && typeof n.code === 'string') return [n as Coding];
  if (typeof n.code === 'object' && n.code !== null) return codingsOf(n.code);
  return [];
}
