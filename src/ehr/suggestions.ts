/**
 * A card's suggestions, accepted in the embedded EHR as an EHR accepts them (CDS Hooks 2.0, "Suggestion" and
 * "Feedback"): the EHR applies the suggestion's actions to its own record (here its embedded FHIR server), then tells
 * the service which suggestion was accepted. The actions applied are the ones the service sent, remembered when the
 * page showed them: a form names a suggestion by its uuid only, so a page cannot make the EHR write anything else.
 *
 * Every action must stay within the patient the card was shown for: a created or updated resource names that patient
 * (`subject` or `patient`), and a deleted one is one of the patient's pending orders. Otherwise nothing is applied.
 */
import type { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';
import { describeEvidence } from '../engine/describe.js';
import { referenceOf } from '../fhir/json.js';
import { badRequest, notFound } from '../http/outcomes.js';

/** An action of a suggestion as the service sent it. */
export interface ShownAction {
  readonly type?: string;
  readonly description?: string;
  readonly resource?: Resource;
  readonly resourceId?: string;
}

/** A suggestion the EHR showed, with the card, service and patient it was shown for. */
export interface ShownSuggestion {
  readonly service: string;
  readonly patient: string;
  readonly card: string;
  readonly uuid: string;
  readonly label: string;
  readonly actions: readonly ShownAction[];
}

/** How many shown suggestions are remembered: a page older than that many suggestions can no longer be accepted. */
const REMEMBERED = 500;

/** The suggestions the EHR's pages showed, by uuid, the newest REMEMBERED of them. */
export class ShownSuggestions {
  readonly #shown = new Map<string, ShownSuggestion>();

  /**
   * Remembers the suggestions of a hook's answer.
   * @param service - the service that answered.
   * @param patient - the patient's id.
   * @param body - the answer's body.
   */
  remember(service: string, patient: string, body: unknown): void {
    const cards = (body as { cards?: unknown } | null)?.cards;
    for (const card of Array.isArray(cards) ? (cards as { uuid?: unknown; suggestions?: unknown }[]) : []) {
      if (typeof card.uuid !== 'string' || !Array.isArray(card.suggestions)) continue;
      for (const s of card.suggestions as { uuid?: unknown; label?: unknown; actions?: unknown }[]) {
        if (typeof s.uuid !== 'string') continue;
        const actions = Array.isArray(s.actions) ? (s.actions as ShownAction[]) : [];
        this.#shown.set(s.uuid, { service, patient, card: card.uuid, uuid: s.uuid, label: typeof s.label === 'string' ? s.label : '', actions });
      }
    }
    for (const uuid of this.#shown.keys()) {
      if (this.#shown.size <= REMEMBERED) break;
      this.#shown.delete(uuid);
    }
  }

  /**
   * Takes a suggestion shown for a patient, so that it is accepted once (a second click meanwhile finds nothing).
   * @param uuid - the suggestion's uuid.
   * @param patient - the patient the form names.
   * @returns the suggestion; 404 when this EHR did not show it for that patient (or it was accepted already).
   */
  take(uuid: string, patient: string): ShownSuggestion {
    const shown = this.#shown.get(uuid);
    if (!shown || shown.patient !== patient) throw notFound('This suggestion was not shown for this patient, or was accepted already: call the hook again');
    this.#shown.delete(uuid);
    return shown;
  }

  /**
   * Gives a suggestion back when its actions could not be applied: it may be accepted again.
   * @param suggestion - the suggestion taken.
   */
  giveBack(suggestion: ShownSuggestion): void {
    this.#shown.set(suggestion.uuid, suggestion);
  }
}

/** The patient a resource is about (`subject` or `patient`), as a reference. */
function patientOfResource(resource: Resource): string | undefined {
  const r = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
  return r.subject?.reference ?? r.patient?.reference;
}

/**
 * Applies a suggestion's actions to the EHR's record: all of them or, when one leaves the patient or names nothing
 * the EHR holds, none (400, naming the action).
 * @param repo - the embedded FHIR server's repository.
 * @param suggestion - the suggestion accepted.
 * @param pendingOrders - the patient's pending orders, `Type/id` (what a delete may remove).
 * @returns what was done, one line per action.
 */
export async function applySuggestion(repo: MemoryRepository, suggestion: ShownSuggestion, pendingOrders: readonly string[]): Promise<string[]> {
  const patient = `Patient/${suggestion.patient}`;
  suggestion.actions.forEach((action, i) => {
    const where = `suggestion.actions[${String(i)}]`;
    if (action.type === 'delete') {
      if (!action.resourceId || !pendingOrders.includes(action.resourceId)) throw badRequest([{ code: 'not-found', expression: `${where}.resourceId`, message: `${action.resourceId ?? '(none)'} is not one of the patient's pending orders` }]);
    } else if (action.type === 'create' || action.type === 'update') {
      if (!action.resource?.resourceType || patientOfResource(action.resource) !== patient) throw badRequest([{ code: 'value', expression: `${where}.resource`, message: `the resource must be about ${patient}` }]);
      if (action.type === 'update' && !pendingOrders.includes(referenceOf(action.resource))) throw badRequest([{ code: 'not-found', expression: `${where}.resource`, message: `${referenceOf(action.resource)} is not one of the patient's pending orders` }]);
    } else {
      throw badRequest([{ code: 'value', expression: `${where}.type`, message: 'an action is create, update or delete' }]);
    }
  });
  const done: string[] = [];
  for (const action of suggestion.actions) {
    if (action.type === 'delete' && action.resourceId) {
      const [type = '', id = ''] = action.resourceId.split('/');
      await repo.deleteResource(type, id);
      done.push(`removed ${action.resourceId}`);
    } else if (action.resource) {
      const stored = action.type === 'create' ? await repo.createResource(action.resource) : await repo.updateResource(action.resource);
      done.push(`${action.type === 'create' ? 'created' : 'updated'} ${describeEvidence(referenceOf(stored), stored)}`);
    }
  }
  return done;
}
