/**
 * Prefetch templates: parsing at load time and token substitution per request
 * (https://cds-hooks.hl7.org/2.0/#prefetch-tokens).
 */
import type { HookContext, HookName } from './types.js';

/** What a template asks the FHIR server for. */
export interface ParsedTemplate {
  /** The template as declared. */
  readonly template: string;
  /** `read` (`Type/id`) answers one resource; `search` (`Type?...`) answers a Bundle. */
  readonly kind: 'read' | 'search';
  /** The resource type read, or searched for. */
  readonly resourceType: string;
  /** The tokens the template uses, e.g. `context.patientId`, `userPractitionerId`. */
  readonly tokens: readonly string[];
}

const USER_TOKENS: Record<string, string> = {
  userPractitionerId: 'Practitioner',
  userPractitionerRoleId: 'PractitionerRole',
  userPatientId: 'Patient',
  userRelatedPersonId: 'RelatedPerson',
};

/**
 * Root-level primitive context fields that may be used as tokens, per hook (draftOrders, selections,
 * dispatchedOrders and appointments may not; order-dispatch has no userId).
 */
const CONTEXT_TOKENS: Record<HookName, readonly string[]> = {
  'patient-view': ['userId', 'patientId', 'encounterId'],
  'order-select': ['userId', 'patientId', 'encounterId'],
  'order-sign': ['userId', 'patientId', 'encounterId'],
  'order-dispatch': ['patientId', 'performer'],
  'appointment-book': ['userId', 'patientId', 'encounterId'],
  'encounter-start': ['userId', 'patientId', 'encounterId'],
  'encounter-discharge': ['userId', 'patientId', 'encounterId'],
};

const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Parses a template and checks its tokens against the hook.
 * @param template - e.g. `Condition?patient={{context.patientId}}`.
 * @param hook - the hook whose context fills the tokens.
 * @returns the parsed template.
 * @throws Error with a message saying what is wrong with the template.
 */
export function parseTemplate(template: string, hook: HookName): ParsedTemplate {
  const tokens = [...template.matchAll(TOKEN)].map((m) => m[1] ?? '');
  for (const token of tokens) {
    const field = token.startsWith('context.') ? token.slice('context.'.length) : undefined;
    const ok = field !== undefined ? CONTEXT_TOKENS[hook].includes(field) : token in USER_TOKENS;
    if (!ok) throw new Error(`prefetch token {{${token}}} is not allowed for hook ${hook}`);
  }
  if (template.replace(TOKEN, '').includes('{{') || template.replace(TOKEN, '').includes('}}')) {
    throw new Error(`prefetch template "${template}" has unbalanced braces`);
  }
  const match = /^([A-Z][A-Za-z]+)([/?])/.exec(template);
  if (!match?.[1]) throw new Error(`prefetch template "${template}" must start with a resource type and / or ?`);
  return { template, kind: match[2] === '/' ? 'read' : 'search', resourceType: match[1], tokens };
}

/**
 * Resolves the value of every token the spec defines from a request context.
 * `userPractitionerId` and its siblings come from `userId` when it names a resource of that type.
 */
function tokenValue(token: string, context: HookContext): string | undefined {
  if (token.startsWith('context.')) {
    const value = (context as unknown as Record<string, unknown>)[token.slice('context.'.length)];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }
  const type = USER_TOKENS[token];
  const [userType, userId] = context.userId.split('/');
  return type !== undefined && userType === type && userId ? userId : undefined;
}

/**
 * Fills a template's tokens from the request context.
 * @param parsed - the parsed template.
 * @param context - the request's hook context.
 * @returns the relative FHIR query, or undefined when a token has no value in this request.
 */
export function fillTemplate(parsed: ParsedTemplate, context: HookContext): string | undefined {
  let missing = false;
  const query = parsed.template.replace(TOKEN, (_all, token: string) => {
    const value = tokenValue(token.trim(), context);
    if (value === undefined) {
      missing = true;
      return '';
    }
    return encodeURIComponent(value);
  });
  return missing ? undefined : query;
}
