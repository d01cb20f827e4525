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

/** A template read once: literal text, placeholders, and null for text between braces of no known form. */
type TemplateParts = readonly (string | Placeholder | null)[];

/** Templates come from the loaded packs, so there are few; the bound only guards against misuse. */
const MAX_REMEMBERED_TEMPLATES = 10_000;
const readTemplates = new Map<string, TemplateParts>();

function partsOf(template: string): TemplateParts {
  let parts = readTemplates.get(template);
  if (parts) return parts;
  const out: (string | Placeholder | null)[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) out.push(template.slice(last, m.index));
    out.push(readPlaceholder((m[1] ?? '').trim()) ?? null);
    last = m.index + m[0].length;
  }
  if (last < template.length) out.push(template.slice(last));
  parts = out;
  if (readTemplates.size >= MAX_REMEMBERED_TEMPLATES) readTemplates.clear();
  readTemplates.set(template, parts);
  return parts;
}

/**
 * Fills every placeholder of a template (read once per template text; unknown placeholders become empty).
 * @param template - card text.
 * @param fill - gives the text for one placeholder.
 * @returns the filled text.
 */
export function fillPlaceholders(template: string, fill: (p: Placeholder) => string): string {
  let text = '';
  for (const part of partsOf(template)) text += typeof part === 'string' ? part : part ? fill(part) : '';
  return text;
}
