/**
 * CDS Hooks 2.0 wire types, our own, matching the specification exactly
 * (https://cds-hooks.hl7.org/2.0/ and the logical models CDSHooksRequest/Response/Feedback).
 * `@medplum/core`'s CDS types are not used: they still say `hard-stop` and make `source` optional.
 */
import type { Bundle, Coding, Resource, Task } from '@medplum/fhirtypes';

/** The hooks this service implements. */
export type HookName = 'order-sign' | 'order-select' | 'order-dispatch' | 'appointment-book' | 'patient-view' | 'encounter-start' | 'encounter-discharge';

/**
 * Hooks whose context sends no order or appointment (the rules of scope patient run on them). encounter-start sends
 * none either, but names an encounter the service reads and judges as a visit (engine/context.ts).
 */
export const PATIENT_HOOKS: ReadonlySet<HookName> = new Set(['patient-view', 'encounter-start', 'encounter-discharge']);

/** The prefetch key (and read) of the Encounter an encounter-start call names, judged as the visit it starts. */
export const ENCOUNTER_KEY = 'encounter';

/** A service entry of the discovery response (https://cds-hooks.hl7.org/2.0/#response). */
export interface CdsServiceDescriptor {
  hook: HookName;
  title?: string;
  description: string;
  id: string;
  prefetch?: Record<string, string>;
  usageRequirements?: string;
  /** CDS Hooks extensions; here the Da Vinci CRD configuration options. */
  extension?: Record<string, unknown>;
}

/** `GET /cds-services` body. */
export interface CdsDiscoveryResponse {
  services: CdsServiceDescriptor[];
}

/** `fhirAuthorization` of a hook request (https://cds-hooks.hl7.org/2.0/#passing-the-access-token-to-the-cds-service). */
export interface FhirAuthorization {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  subject?: string;
  patient?: string;
}

/** Context fields of the hooks, after parsing; unknown fields are dropped. */
export interface HookContext {
  /** Empty on order-dispatch, whose context has no user. */
  userId: string;
  patientId: string;
  encounterId?: string;
  /** order-sign and order-select. */
  draftOrders?: Bundle;
  /** order-select: references (`Type/id`) to entries of draftOrders. */
  selections?: string[];
  /** appointment-book: the Appointments being booked (status proposed), judged as orders are. */
  appointments?: Bundle;
  /** order-dispatch: references (`Type/id`) to the existing orders whose fulfilment is sought. */
  dispatchedOrders?: string[];
  /** order-dispatch: reference (`Type/id`) to who is asked to perform them (a pharmacy, a home infusion provider). */
  performer?: string;
  /** order-dispatch: the fulfilment requests, one per order, when the client sends them (kept; no rule reads them). */
  fulfillmentTasks?: Task[];
}

/** A prefetch value as a client may send it: a resource (or Bundle), or null for "looked, found nothing". */
export type PrefetchValue = Resource | null;

/** A parsed, checked hook request. */
export interface HookRequest {
  hook: HookName;
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: FhirAuthorization;
  context: HookContext;
  /** Only the keys the service declared; undeclared keys are dropped while parsing. */
  prefetch: Record<string, PrefetchValue>;
  /** The CRD configuration options the call set, of those the service offers (card type code -> on or off). */
  configuration?: Record<string, boolean>;
}

/** Card indicator: urgency from the clinician's point of view. */
export type Indicator = 'info' | 'warning' | 'critical';

/** `Card.source`. */
export interface CardSource {
  label: string;
  url?: string;
  icon?: string;
  topic?: Coding;
}

/** An action of a suggestion or a system action. */
export interface CdsAction {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: Resource;
  resourceId?: string;
}

/** `Card.suggestions[]`. */
export interface Suggestion {
  label: string;
  uuid: string;
  isRecommended?: boolean;
  actions?: CdsAction[];
}

/** `Card.links[]`: appContext only on smart links. */
export type Link =
  | { label: string; url: string; type: 'absolute'; autolaunchable?: boolean }
  | { label: string; url: string; type: 'smart'; appContext?: string; autolaunchable?: boolean };

/** A CDS Hooks card. */
export interface Card {
  uuid: string;
  summary: string;
  detail?: string;
  indicator: Indicator;
  source: CardSource;
  suggestions?: Suggestion[];
  selectionBehavior?: 'at-most-one' | 'any';
  overrideReasons?: Coding[];
  links?: Link[];
  /**
   * CDS Hooks extensions; here Da Vinci CRD's `davinci-crd.associated-resource`: the orders (appointments,
   * encounters) of the call the card is about, as local references.
   */
  extension?: Record<string, unknown>;
}

/** The body of a hook response. */
export interface CdsResponse {
  cards: Card[];
  systemActions?: CdsAction[];
}

/** One item of a feedback body (https://cds-hooks.hl7.org/2.0/#feedback). */
export interface FeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: { id: string }[];
  overrideReason?: { reason?: Coding; userComment?: string };
  outcomeTimestamp: string;
}
