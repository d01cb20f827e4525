/**
 * The Da Vinci CRD card types (CRD STU 2.0.1, ValueSet cardType: the codes of CodeSystem temp under _cardType): the
 * vocabulary of a rule's `card.topic`, the `source.topic` of every card, and the boolean configuration option a
 * client sets to switch a type off (CRD, "Configuration options": at least one boolean option per card type a
 * service returns).
 */

/** The code system of the CRD card types. */
export const CRD_CARD_TYPES = 'http://hl7.org/fhir/us/davinci-crd/CodeSystem/temp';

/** The card type of the service's own cards (data it could not read, an order it could not evaluate), on every hook. */
export const SERVICE_CARD_TYPE = 'guideline';

/** A card type: the name and description its configuration option shows in a client's configuration screen. */
export interface CardType {
  readonly name: string;
  readonly description: string;
}

const OFF = 'Set to false to receive none of these cards.';

/** The card types, in the value set's order, each with its option's name and description (unique, as CRD asks). */
export const CARD_TYPES: ReadonlyMap<string, CardType> = new Map([
  ['coverage-info', { name: 'Coverage information', description: `Cards that say whether an order is covered and why, and whether prior authorization or documentation is needed. ${OFF} The coverage-information system actions on the orders are returned regardless.` }],
  ['claim', { name: 'Claim and billing', description: `Cards about how to bill an order: the billing code, units, modifiers and what the claim must carry. ${OFF}` }],
  ['insurance', { name: 'Insurance record', description: `Cards about the patient's coverage on record, such as no active coverage found. ${OFF}` }],
  ['limits', { name: 'Coverage limits', description: `Cards about limits the plan sets on a service, such as quantity or frequency. ${OFF}` }],
  ['network', { name: 'Network', description: `Cards about whether the performer or location is in the plan's network. ${OFF}` }],
  ['appropriate-use', { name: 'Appropriate use', description: `Cards about appropriate-use criteria for an order. ${OFF}` }],
  ['cost', { name: 'Cost', description: `Cards about what an order will cost the patient. ${OFF}` }],
  ['therapy-alternatives-opt', { name: 'Optional therapy alternatives', description: `Cards that suggest alternatives the plan prefers but does not require. ${OFF}` }],
  ['therapy-alternatives-req', { name: 'Required therapy alternatives', description: `Cards about alternatives the plan requires to be tried first. ${OFF}` }],
  ['clinical-reminder', { name: 'Clinical reminders', description: `Cards that remind of documentation missing for this refill or the next, and of refills coming due. ${OFF}` }],
  ['duplicate-therapy', { name: 'Duplicate therapy', description: `Cards about an order that repeats a therapy already in place. ${OFF}` }],
  ['contraindication', { name: 'Contraindications', description: `Cards about a condition or drug on record that the order's drug label contraindicates or warns against. ${OFF}` }],
  ['guideline', { name: 'Guideline checks', description: `Cards that check an order against labels and guidelines, and the service's own notes (data it could not read, an order it could not evaluate). ${OFF}` }],
  ['off-guideline', { name: 'Departures from guidelines', description: `Cards about an order that departs from its label or from consensus guidelines, such as a dose above a ceiling. ${OFF}` }],
]);
