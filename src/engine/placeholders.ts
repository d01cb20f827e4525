/**
 * Placeholders in card text: `{{name}}` for a criterion's value, `{{evidence.name}}` for what made it true,
 * `{{evidence}}` for all evidence of the rule, `{{threshold.id}}` for a threshold with its unit, `{{order}}` for
 * the order judged, `{{orderReference}}` (Type/id) and `{{orderSubject}}` (its subject reference) for suggested
 * actions, `{{baseUrl}}` for links. Checked at load time, filled at card time.
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** A placeholder, read. */
export type Placeholder =
  | { kind: 'criterion'; name: string }
  | { kind: 'evidence'; name?: string }
  | { kind: 'threshold'; name: string }
  | { kind: 'order' }
  | { kind: 'orderReference' }
  | { kind: 'orderSubject' }
  | { kind: 'baseUrl' };

/**
 * Reads one placeholder's text.
 * @param text - the text between the braces.
 * @returns the placeholder, or undefined when it is not of a known form.
 */
export function readPlaceholder(text: string): Placeholder | undefined {
  if (text === 'order') return { kind: 'order' };
  if (text === 'orderReference') return { kind: 'orderReference' };
  if (text === 'orderSubject') return { kind: 'orderSubject' };
  if (text === 'baseUrl') return { kind: 'baseUrl' };
  if (text === 'evidence') return { kind: 'evidence' };
  const [head, name, ...rest] = text.split('.');
  if (rest.length > 0) return undefined;
  if (head === 'evidence' && name) return { kind: 'evidence', name };
  if (head === 'threshold' && name) return { kind: 'threshold', name };
  if (name === undefined && head && /^[a-z][a-zA-Z0-9]*$/.test(head)) return { kind: 'criterion', name: head };
  return undefined;
}

/**
 * The placeholder texts in a template string.
 * @param template - card text.
 * @returns the texts between braces, in order.
 */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/**
 * Fills every placeholder of a template.
 * @param template - card text.
 * @param fill - gives the text for one placeholder.
 * @returns the filled text.
 */
export function fillPlaceholders(template: string, fill: (p: Placeholder) => string): string {
  return template.replace(PLACEHOLDER, (_all, text: string) => {
    const p = readPlaceholder(text.trim());
    return p ? fill(p) : '';
  });
}
