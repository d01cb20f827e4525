/**
 * Reading an answer's coverage information back, as a person looks at it: one line per order or visit annotated
 * ("MedicationRequest/x: covered: covered, prior authorization: no-auth"), with the reasons the service gave. Used by
 * the embedded EHR's page and `npm run evaluate -- --brief`.
 */
import { COVERAGE_INFORMATION } from './coverage-information.js';

/** A system action of an answer, as far as its coverage information goes. */
export interface ActionView {
  resource?: { resourceType?: string; id?: string; extension?: { url?: string; extension?: { url?: string; valueCode?: string; valueString?: string; valueCodeableConcept?: { text?: string } }[] }[] };
}

/** One coverage-information extension of an answer. */
export interface CoverageRead {
  /** `Type/id` of the order or visit it annotates. */
  readonly reference: string;
  /** "covered: covered, prior authorization: no-auth", with "documentation: clinical" when it says so. */
  readonly text: string;
  readonly reasons: readonly string[];
}

/**
 * The coverage information of an answer's system actions.
 * @param actions - the answer's `systemActions`.
 * @returns one entry per coverage-information extension, in order.
 */
export function readCoverage(actions: readonly ActionView[]): CoverageRead[] {
  return actions.flatMap((a) => (a.resource?.extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION).map((info) => {
    const subs = info.extension ?? [];
    const parts = new Map(subs.map((e) => [e.url ?? '', e.valueCode ?? e.valueString ?? '']));
    const what = [`covered: ${parts.get('covered') ?? '?'}`, `prior authorization: ${parts.get('pa-needed') ?? '?'}`, ...(parts.get('doc-needed') ? [`documentation: ${parts.get('doc-needed') ?? ''}`] : [])];
    const reasons = subs.filter((e) => e.url === 'reason').flatMap((e) => (e.valueCodeableConcept?.text ? [e.valueCodeableConcept.text] : []));
    return { reference: `${a.resource?.resourceType ?? ''}/${a.resource?.id ?? ''}`, text: what.join(', '), reasons };
  }));
}
