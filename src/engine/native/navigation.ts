/**
 * Reading FHIR JSON as fhirpath.js reads it, for the native engine: a variable's items, member navigation with
 * choice elements, and `ofType()` on a choice element. Objects that are not resources are boxed as Untyped (fhirpath.js
 * gives them no FHIR type); whatever fhirpath.js would read differently falls back (values.ts).
 */
import { choiceKeys, choiceOfType } from './model.js';
import { Untyped, fallback, isPlainObject } from './values.js';

const boxes = new WeakMap<readonly unknown[], readonly unknown[]>();

function needsBox(v: unknown): boolean {
  return v === null || (isPlainObject(v) && typeof v['resourceType'] !== 'string');
}

function box(v: unknown): unknown {
  if (v === null) return fallback('null in a variable');
  return isPlainObject(v) && typeof v['resourceType'] !== 'string' ? new Untyped(v) : v;
}

/** Collections at least this long are checked for boxing once and remembered (per-type arrays of large records). */
const REMEMBERED_LENGTH = 64;

/**
 * A %variable's items; objects that are not resources are boxed (fhirpath.js gives them no FHIR type).
 * @param value - the variable's value as the caller gave it (a list, or one item).
 * @returns its items.
 * @throws Fallback for an undefined variable or a null.
 */
export function variable(value: unknown): readonly unknown[] {
  if (value === undefined) return fallback('undefined variable');
  if (!Array.isArray(value)) return [box(value)];
  const items = value as readonly unknown[];
  if (items.length < REMEMBERED_LENGTH) return items.some(needsBox) ? items.map(box) : items;
  let boxed = boxes.get(items);
  if (!boxed) boxes.set(items, (boxed = items.some(needsBox) ? items.map(box) : items));
  return boxed;
}

function pushValue(out: unknown[], value: unknown, untyped: boolean): void {
  if (value === null) fallback('null element');
  if (Array.isArray(value)) {
    for (const v of value) pushValue(out, v, untyped);
    return;
  }
  out.push(untyped && isPlainObject(value) ? new Untyped(value) : value);
}

/**
 * Member navigation, choice elements included (`value` reads valueQuantity, valueString, ...).
 * @param name - the element's name.
 * @returns the step from items to the element's values.
 */
export function member(name: string): (items: readonly unknown[]) => unknown[] {
  const choices = choiceKeys(name);
  const extension = `_${name}`;
  return (items) => {
    const out: unknown[] = [];
    for (const item of items) {
      const untyped = item instanceof Untyped;
      const o = untyped ? item.data : item;
      if (!isPlainObject(o)) {
        if (typeof o === 'object') fallback('navigation into an internal value');
        continue;
      }
      if (extension in o) fallback('primitive extension');
      const value = o[name];
      if (value !== undefined) {
        pushValue(out, value, untyped);
        continue;
      }
      // The choice keys present, without a list per item: this runs for every item that lacks the element.
      let found: string | undefined;
      for (const key of choices) {
        if (o[key] === undefined) continue;
        if (untyped || found !== undefined) fallback('choice element without a known type');
        found = key;
      }
      if (found !== undefined) pushValue(out, o[found], false);
    }
    return out;
  };
}

/**
 * `name.ofType(Type)` on a choice element: the element's key of that type.
 * @param name - the choice element's name (`effective`).
 * @param type - the type asked for (`dateTime`).
 * @returns the step from items to the values of that type, or undefined when the element has no such type.
 */
export function choiceRead(name: string, type: string): ((items: readonly unknown[]) => unknown[]) | undefined {
  const choice = choiceOfType(name, type);
  if (!choice) return undefined;
  return (items) => {
    const out: unknown[] = [];
    for (const item of items) {
      if (item instanceof Untyped) fallback('ofType() on an untyped value');
      if (!isPlainObject(item)) {
        if (typeof item === 'object') fallback('ofType() on an internal value');
        continue;
      }
      if (name in item || `_${choice.key}` in item || choice.derivedKeys.some((k) => k in item)) fallback('choice element with another shape');
      if (item[choice.key] !== undefined && choice.otherKeys.some((k) => item[k] !== undefined)) fallback('choice element recorded with two types');
      if (item[choice.key] !== undefined) pushValue(out, item[choice.key], false);
    }
    return out;
  };
}
