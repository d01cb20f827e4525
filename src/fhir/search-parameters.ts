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
 * those that mention `Type.` anywhere, which also gives Person the `RelatedPerson.` branches). The other branches
 * start from another resource type, so on this type they are empty and the matches are the same. A base none of
 * whose branches is found keeps the whole expression.
 * @param param - a SearchParameter as FHIR defines it.
 * @returns the parameter itself when it has one base or no expression, otherwise one copy per base.
 */
export function perResourceType(param: SearchParameter): SearchParameter[] {
  const bases = param.base ?? [];
  if (bases.length < 2 || !param.expression) return [param];
  const branches: string[] = [];
  collectBranches(parseFhirPath(param.expression).child, branches);
  return bases.map((base) => {
    const own = branches.filter((branch) => branch.startsWith(`${base}.`));
    return { ...param, base: [base], ...(own.length > 0 ? { expression: own.join(' | ') } : {}) };
  });
}
