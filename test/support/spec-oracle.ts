/**
 * The CDS Hooks specification's own constraints as a test oracle: the FHIRPath invariants of the spec's logical
 * models (HL7/cds-hooks input/fsh/invariants, listed in shared/reference/cds-hooks-invariants.md) plus the
 * models' cardinalities and the JSON rule "no null or empty values". Every hook response, discovery body and
 * feedback body the tests produce goes through here.
 */
import { evaluate } from 'fhirpath';

interface Invariant {
  readonly id: string;
  /** FHIRPath rooted at the element the invariant is attached to. */
  readonly expression: string;
}

/** Invariant and cardinality checks per element of the response model. */
const ON_CARD: readonly Invariant[] = [
  { id: 'card-uuid', expression: "uuid.exists() and uuid.matches('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')" },
  { id: 'card-summary', expression: 'summary.exists() and summary.length() < 140' },
  { id: 'card-indicator', expression: "indicator = 'info' or indicator = 'warning' or indicator = 'critical'" },
  { id: 'card-source', expression: 'source.label.exists() and source.count() = 1' },
  { id: 'card-source-topic', expression: 'source.topic.count() <= 1' },
  { id: 'card-selectionBehavior', expression: "selectionBehavior.empty() or selectionBehavior = 'at-most-one' or selectionBehavior = 'any'" },
  { id: 'cds-resp-1', expression: "(selectionBehavior = 'at-most-one') implies suggestions.where(isRecommended).count() <= 1" },
  { id: 'cds-resp-6', expression: 'suggestions.exists() implies selectionBehavior.exists()' },
];
const ON_SUGGESTION: readonly Invariant[] = [
  { id: 'suggestion-label', expression: 'label.exists()' },
  { id: 'suggestion-uuid (CRD)', expression: 'uuid.exists()' },
  { id: 'cds-resp-5', expression: 'actions.all(description.exists())' },
  { id: 'cds-resp-7', expression: "actionSelectionBehavior.empty() or actionSelectionBehavior = 'all' or actionSelectionBehavior = 'any' or actionSelectionBehavior = 'at-most-one'" },
];
const ON_ACTION: readonly Invariant[] = [
  { id: 'action-type', expression: "type = 'create' or type = 'update' or type = 'delete'" },
  { id: 'action-description', expression: 'description.exists()' },
  { id: 'cds-resp-2', expression: "(type = 'delete') implies (resourceId.exists() and resource.empty())" },
  { id: 'action-resource', expression: "(type = 'create' or type = 'update') implies resource.exists()" },
];
const ON_LINK: readonly Invariant[] = [
  { id: 'link-fields', expression: 'label.exists() and url.exists() and type.exists()' },
  { id: 'link-type', expression: "type = 'absolute' or type = 'smart'" },
  { id: 'cds-resp-3', expression: "(type != 'smart') implies (appContext.empty())" },
];
const ON_OVERRIDE_REASONS: readonly Invariant[] = [{ id: 'cds-resp-4', expression: 'all(display.exists())' }];
const ON_FEEDBACK: readonly Invariant[] = [
  { id: 'feedback-card', expression: 'card.exists()' },
  { id: 'feedback-timestamp', expression: 'outcomeTimestamp.exists()' },
  { id: 'cds-fb-1', expression: "outcome = 'accepted' or outcome = 'overridden'" },
  { id: 'cds-fb-2', expression: "(outcome = 'accepted') implies acceptedSuggestions.exists()" },
];
const ON_OVERRIDE_REASON: readonly Invariant[] = [{ id: 'cds-fb-3', expression: 'reason.exists() or userComment.exists()' }];

type Json = Record<string, unknown>;

function check(node: unknown, invariants: readonly Invariant[], path: string, failures: string[]): void {
  for (const inv of invariants) {
    let result: unknown[];
    try {
      result = evaluate(node as object, inv.expression) as unknown[];
    } catch (err) {
      failures.push(`${path}: ${inv.id} could not be evaluated: ${String(err)}`);
      continue;
    }
    if (!(result.length === 1 && result[0] === true)) failures.push(`${path}: ${inv.id} failed (${inv.expression})`);
  }
}

/** Lists every null, empty string, empty array or empty object below a value, with its path. */
function emptyValues(value: unknown, path: string, out: string[], allowEmptyHere = false): void {
  if (value === null || value === '') out.push(`${path} is ${JSON.stringify(value)}`);
  else if (Array.isArray(value)) {
    if (value.length === 0 && !allowEmptyHere) out.push(`${path} is []`);
    value.forEach((v, i) => emptyValues(v, `${path}[${i}]`, out));
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Json);
    if (entries.length === 0) out.push(`${path} is {}`);
    for (const [k, v] of entries) emptyValues(v, `${path}.${k}`, out);
  }
}

const list = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : v === undefined ? [] : [v as Json]);

/**
 * Checks a hook response body against the spec's constraints.
 * @param body - the parsed response body.
 * @returns the failures, empty when the body conforms.
 */
export function responseFailures(body: unknown): string[] {
  const failures: string[] = [];
  const root = body as Json;
  if (!Array.isArray(root?.['cards'])) return ['cards must be present (an array, [] when there is no guidance)'];
  for (const key of Object.keys(root)) if (key !== 'cards' && key !== 'systemActions') failures.push(`unexpected top-level element ${key}`);
  emptyValues(root['cards'], 'cards', failures, true);
  if ('systemActions' in root) emptyValues(root['systemActions'], 'systemActions', failures);
  list(root['cards']).forEach((card, i) => {
    const p = `cards[${i}]`;
    check(card, ON_CARD, p, failures);
    list(card['suggestions']).forEach((s, j) => {
      check(s, ON_SUGGESTION, `${p}.suggestions[${j}]`, failures);
      list(s['actions']).forEach((a, k) => check(a, ON_ACTION, `${p}.suggestions[${j}].actions[${k}]`, failures));
    });
    list(card['links']).forEach((l, j) => check(l, ON_LINK, `${p}.links[${j}]`, failures));
    if (card['overrideReasons'] !== undefined) check(card['overrideReasons'], ON_OVERRIDE_REASONS, `${p}.overrideReasons`, failures);
  });
  list(root['systemActions']).forEach((a, i) => check(a, ON_ACTION, `systemActions[${i}]`, failures));
  return failures;
}

/**
 * Checks a feedback body against the spec's constraints (cds-fb-1..3 and cardinalities).
 * @param body - the feedback body.
 * @returns the failures, empty when the body conforms.
 */
export function feedbackFailures(body: unknown): string[] {
  const failures: string[] = [];
  const items = (body as Json | null)?.['feedback'];
  if (!Array.isArray(items) || items.length === 0) return ['feedback must be a non-empty array'];
  emptyValues(items, 'feedback', failures);
  (items as Json[]).forEach((item, i) => {
    if (typeof item !== 'object' || item === null) {
      failures.push(`feedback[${i}] is not an object`);
      return;
    }
    check(item, ON_FEEDBACK, `feedback[${i}]`, failures);
    if (item['overrideReason'] !== undefined) check(item['overrideReason'], ON_OVERRIDE_REASON, `feedback[${i}].overrideReason`, failures);
  });
  return failures;
}

/**
 * Checks the Da Vinci CRD configuration options of a discovery entry (CDSHookServicesExtensionConfiguration): each
 * with a code, a type boolean or integer, a name, a description and a default of that type; codes, names and
 * descriptions unique within the service.
 */
function configurationOptionFailures(options: unknown, where: string, failures: string[]): void {
  if (!Array.isArray(options)) {
    failures.push(`${where} must be an array`);
    return;
  }
  (options as Json[]).forEach((o, j) => {
    for (const field of ['code', 'name', 'description']) if (typeof o[field] !== 'string' || o[field] === '') failures.push(`${where}[${j}].${field} must be a non-empty string`);
    if (o['type'] !== 'boolean' && o['type'] !== 'integer') failures.push(`${where}[${j}].type must be boolean or integer`);
    else if (o['type'] === 'boolean' ? typeof o['default'] !== 'boolean' : !Number.isInteger(o['default'])) failures.push(`${where}[${j}].default must be a ${String(o['type'])}`);
  });
  for (const field of ['code', 'name', 'description']) {
    const values = (options as Json[]).map((o) => o[field]);
    if (new Set(values).size !== values.length) failures.push(`${where}: each ${field} must be unique`);
  }
}

/**
 * Checks a discovery body: every service has hook, description and id strings, and CRD configuration options,
 * when listed, are well formed.
 * @param body - the discovery body.
 * @returns the failures.
 */
export function discoveryFailures(body: unknown): string[] {
  const failures: string[] = [];
  const services = (body as Json | null)?.['services'];
  if (!Array.isArray(services)) return ['services must be an array'];
  emptyValues(services, 'services', failures, true);
  (services as Json[]).forEach((s, i) => {
    for (const field of ['hook', 'description', 'id']) if (typeof s[field] !== 'string') failures.push(`services[${i}].${field} must be a string`);
    const options = (s['extension'] as Json | undefined)?.['davinci-crd.configuration-options'];
    if (options !== undefined) configurationOptionFailures(options, `services[${i}].extension.davinci-crd.configuration-options`, failures);
  });
  return failures;
}

/**
 * Checks an error body: an OperationOutcome with at least one issue, each with severity, code and text.
 * @param body - the error body.
 * @returns the failures.
 */
export function outcomeFailures(body: unknown): string[] {
  const failures: string[] = [];
  check(body, [
    { id: 'oo-type', expression: "resourceType = 'OperationOutcome'" },
    { id: 'oo-issue', expression: 'issue.exists() and issue.all(severity.exists() and code.exists() and details.text.exists())' },
  ], 'OperationOutcome', failures);
  if (JSON.stringify(body).includes('    at ')) failures.push('the body carries a stack trace');
  return failures;
}
