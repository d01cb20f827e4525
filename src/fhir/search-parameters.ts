/**
 * Search parameters cut to one resource type. FHIR R4 defines the parameters that many resource types share
 * (`patient`, `code`, `date`, `encounter`) once, with one expression that unions a branch per type: 1,386
 * characters and 32 resource types for `patient`. Medplum's in-memory search evaluates a parameter's whole expression
 * on every resource it scans: a patient's Condition search on the embedded server cost 10 ms with the fixtures' 8
 * Conditions loaded, about 1.3 ms per resource.
 */
import { parseFhirPath, UnionAtom } from '@medplum/core';
import type { Atom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';

function collectBranches(atom: Atom, into: string[]): void {
  if (atom instanceof UnionAtom) {
    collectBranches(atom.left, into);
    collectBranches(atom.right, into);
  } else {
    into.push(atom.toString());
  }
}

/**
 * Splits a shared search parameter into one copy per base type, each holding only that type's branches of the
 * expression: the branches whose path starts from that type (Medplum's own `getExpressionForResourceType` takes
 * those that mention `Type.` anywhere, which also gives Person the `RelatedPerson.` branches). A branch that starts
 * from another base is empty on this type, so dropping it keeps the matches the same; a branch that starts from no
 * base (a function, a parenthesis) could match anything, so every copy keeps it. A base with no branch of its own
 * keeps the whole expression.
 * @param param - a SearchParameter as FHIR defines it.
 * @returns the parameter itself when it has one base or no expression, otherwise one copy per base.
 */
export function perResourceType(param: SearchParameter): SearchParameter[] {
  const bases = param.base ?? [];
  if (bases.length < 2 || !param.expression) return [param];
  const branches: string[] = [];
  collectBranches(parseFhirPath(param.expression).child, branches);
  const baseOf = (branch: string): string | undefined => bases.find((base) => branch.startsWith(`${base}.`));
  return bases.map((base) => {
    const own = branches.filter((branch) => baseOf(branch) === base);
    const kept = own.length > 0 ? [...own, ...branches.filter((branch) => baseOf(branch) === undefined)] : [];
    return { ...param, base: [base], ...(kept.length > 0 ? { expression: kept.join(' | ') } : {}) };
  });
}
