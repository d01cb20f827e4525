/** Building records whose absent fields are left out rather than set to undefined (exactOptionalPropertyTypes). */

/**
 * `{ [key]: value }` when the value is present, `{}` when it is not; spread into an object literal.
 * @param key - the field's name.
 * @param value - its value, or undefined.
 * @returns the one-field object, or an empty one.
 */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
