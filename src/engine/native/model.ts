/**
 * The parts of the FHIR R4 model the native engine needs, read from fhirpath.js's own R4 model so both engines
 * agree: which element names are choice elements (value[x], effective[x], ...) and with which type suffixes, which
 * types are resources, and which types derive from which.
 */
import r4 from 'fhirpath/fhir-context/r4';

interface R4Model {
  readonly choiceTypePaths: Readonly<Record<string, readonly string[]>>;
  readonly type2Parent: Readonly<Record<string, string>>;
  readonly path2Type: Readonly<Record<string, string>>;
}

const model = r4 as unknown as R4Model;

/** Type suffixes per choice element name, over every type that has such an element. */
const choiceSuffixes = new Map<string, string[]>();
for (const [path, types] of Object.entries(model.choiceTypePaths)) {
  const name = path.slice(path.lastIndexOf('.') + 1);
  const known = choiceSuffixes.get(name) ?? [];
  for (const t of types) if (!known.includes(t)) known.push(t);
  choiceSuffixes.set(name, known);
}

/** The JSON keys a choice element may take (`value` -> `valueQuantity`, ...); empty when it is no choice element. */
export function choiceKeys(name: string): readonly string[] {
  return (choiceSuffixes.get(name) ?? []).map((t) => name + t);
}

/** The types a type derives from; choice suffixes of primitive types are capitalised (`PositiveInt`). */
function ancestors(type: string): string[] {
  const out: string[] = [];
  if (model.type2Parent[type] === undefined) type = type.charAt(0).toLowerCase() + type.slice(1);
  for (let t = model.type2Parent[type]; t !== undefined; t = model.type2Parent[t]) out.push(t);
  return out;
}

const parents = new Set(Object.values(model.type2Parent));

/** Whether a type name is a resource type (derives from Resource) that no other type derives from. */
export function isConcreteResourceType(type: string): boolean {
  return ancestors(type).includes('Resource') && !parents.has(type);
}

function capitalised(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

/**
 * How `name.ofType(type)` reads a choice element: the JSON key of that type, the element's other keys (fhirpath.js
 * reads only one type when a record carries two), and the keys of types derived from `type` (which fhirpath.js
 * counts as that type); the native engine falls back in both cases.
 * @returns undefined when `name` is no choice element or `type` is not one of its types.
 */
export function choiceOfType(name: string, type: string): { key: string; otherKeys: readonly string[]; derivedKeys: readonly string[] } | undefined {
  const suffixes = choiceSuffixes.get(name);
  const own = capitalised(type);
  if (!suffixes?.includes(own)) return undefined;
  const key = name + own;
  const derivedKeys = suffixes.filter((s) => s !== own && ancestors(s).some((a) => capitalised(a) === own)).map((s) => name + s);
  return { key, otherKeys: choiceKeys(name).filter((k) => k !== key), derivedKeys };
}

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);

/** Whether values of a type are dates or times for fhirpath.js (compared as such, not as text). */
export function isDateType(type: string | undefined): boolean {
  return type !== undefined && DATE_TYPES.has(type);
}

/**
 * The type of an element of a known type: `Period` + `start` -> `dateTime`; a backbone element gives its path
 * (`Dosage.doseAndRate`) so the next element can be looked up.
 * @returns undefined when the model does not say.
 */
export function elementType(typePath: string, name: string): string | undefined {
  const path = `${typePath}.${name}`;
  const type = model.path2Type[path];
  return type === 'BackboneElement' || type === 'Element' ? path : type;
}
