/**
 * Checks a feedback body (https://cds-hooks.hl7.org/2.0/#feedback) against the spec's model and its
 * invariants cds-fb-1..3; 400 naming every problem otherwise.
 */
import type { Coding } from '@medplum/fhirtypes';
import { isJsonObject } from '../fhir/json.js';
import { badRequest } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import type { FeedbackItem } from './types.js';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function parseCoding(value: unknown, path: string, problems: Problem[]): Coding | undefined {
  if (!isJsonObject(value)) {
    problems.push({ code: 'structure', expression: path, message: `${path} must be a Coding` });
    return undefined;
  }
  const coding: Coding = {};
  for (const field of ['system', 'code', 'display'] as const) {
    const v = value[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') problems.push({ code: 'invalid', expression: `${path}.${field}`, message: `${path}.${field} must be a non-empty string` });
    else coding[field] = v;
  }
  if (!coding.code) problems.push({ code: 'required', expression: `${path}.code`, message: `${path}.code is required` });
  return coding;
}

function parseItem(raw: unknown, path: string, problems: Problem[]): FeedbackItem | undefined {
  if (!isJsonObject(raw)) {
    problems.push({ code: 'structure', expression: path, message: `${path} must be an object` });
    return undefined;
  }
  const { card, outcome, acceptedSuggestions, overrideReason, outcomeTimestamp } = raw;
  const before = problems.length;
  if (typeof card !== 'string' || card === '') problems.push({ code: 'required', expression: `${path}.card`, message: `${path}.card (the card's uuid) is required` });
  if (outcome !== 'accepted' && outcome !== 'overridden') {
    problems.push({ code: 'value', expression: `${path}.outcome`, message: `${path}.outcome must be "accepted" or "overridden" (cds-fb-1)` });
  }
  if (typeof outcomeTimestamp !== 'string' || !ISO_DATE_TIME.test(outcomeTimestamp) || Number.isNaN(Date.parse(outcomeTimestamp))) {
    problems.push({ code: 'value', expression: `${path}.outcomeTimestamp`, message: `${path}.outcomeTimestamp must be an ISO 8601 date-time` });
  }
  let suggestions: { id: string }[] | undefined;
  if (acceptedSuggestions !== undefined) {
    if (!Array.isArray(acceptedSuggestions) || !acceptedSuggestions.every((s) => isJsonObject(s) && typeof s['id'] === 'string' && s['id'] !== '')) {
      problems.push({ code: 'structure', expression: `${path}.acceptedSuggestions`, message: `${path}.acceptedSuggestions must be an array of {"id": suggestion uuid}` });
    } else {
      suggestions = acceptedSuggestions.map((s) => ({ id: (s as { id: string }).id }));
    }
  }
  if (outcome === 'accepted' && (!suggestions || suggestions.length === 0)) {
    problems.push({ code: 'required', expression: `${path}.acceptedSuggestions`, message: `an accepted outcome must list acceptedSuggestions (cds-fb-2)` });
  }
  let reason: FeedbackItem['overrideReason'];
  if (overrideReason !== undefined) {
    if (!isJsonObject(overrideReason)) {
      problems.push({ code: 'structure', expression: `${path}.overrideReason`, message: `${path}.overrideReason must be an object` });
    } else {
      reason = {};
      if (overrideReason['reason'] !== undefined) {
        const coding = parseCoding(overrideReason['reason'], `${path}.overrideReason.reason`, problems);
        if (coding) reason.reason = coding;
      }
      const comment = overrideReason['userComment'];
      if (comment !== undefined) {
        if (typeof comment !== 'string') problems.push({ code: 'invalid', expression: `${path}.overrideReason.userComment`, message: 'userComment must be a string' });
        else if (comment !== '') reason.userComment = comment;
      }
      if (!reason.reason && !reason.userComment) {
        problems.push({ code: 'required', expression: `${path}.overrideReason`, message: `an overrideReason needs a reason or a userComment (cds-fb-3)` });
      }
    }
  }
  if (problems.length > before) return undefined;
  return {
    card: card as string,
    outcome: outcome as FeedbackItem['outcome'],
    ...(suggestions ? { acceptedSuggestions: suggestions } : {}),
    ...(reason ? { overrideReason: reason } : {}),
    outcomeTimestamp: outcomeTimestamp as string,
  };
}

/**
 * Parses a feedback body.
 * @param body - the parsed JSON body.
 * @returns the feedback items.
 * @throws HttpError 400 listing every problem, each with its place.
 */
export function parseFeedback(body: unknown): FeedbackItem[] {
  if (!isJsonObject(body) || !Array.isArray(body['feedback']) || body['feedback'].length === 0) {
    throw badRequest([{ code: 'required', expression: 'feedback', message: 'The body must be {"feedback": [ ...one or more items ]}' }]);
  }
  const problems: Problem[] = [];
  const items = (body['feedback'] as unknown[]).map((raw, i) => parseItem(raw, `feedback[${i}]`, problems));
  if (problems.length > 0) throw badRequest(problems);
  return items as FeedbackItem[];
}
