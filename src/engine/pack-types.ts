/**
 * The rule pack as loaded and compiled: what the engine evaluates. Files on disk are described by the JSON
 * Schemas in cds-hooks/schema/; these types are what the loader makes of them.
 */
import type { HookName, Indicator } from '../hooks/types.js';
import type { ExpressionEngines } from './expressions.js';
import type { CompiledValueSet } from './value-sets.js';

/** How far a fact is confirmed (the reference's [C] / [S] / [U]). */
export type Confidence = 'confirmed' | 'secondary' | 'unconfirmed';

/** A source a rule cites. */
export interface Source {
  readonly id: string;
  readonly title: string;
  readonly url?: string;
  readonly date?: string;
  readonly confidence: Confidence;
  readonly note?: string;
}

/** A number the rules compare against; deployments may override it. */
export interface Threshold {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly description: string;
  readonly source: string;
  readonly confidence: Confidence;
  /** The most the value can mean (100 for a share of something); no value or override may exceed it. */
  readonly maximum?: number;
  /** True when THRESHOLDS_FILE replaced the pack's value. */
  readonly overridden: boolean;
}

/** A compiled expression and where it came from (for messages). */
export interface CompiledExpression extends ExpressionEngines {
  readonly text: string;
  /** Variables it reads (without %). */
  readonly variables: ReadonlySet<string>;
  /** Thresholds it reads (`%thresholds.<id>`). */
  readonly thresholds: ReadonlySet<string>;
  /** Value sets it names (`codedIn('<id>')`, `inValueSet('<id>')`), from its parse tree. */
  readonly valueSets: ReadonlySet<string>;
}

/** A named criterion. */
export interface Criterion {
  readonly name: string;
  readonly description: string;
  readonly kind: 'boolean' | 'value';
  readonly expression?: CompiledExpression;
  readonly evidence?: CompiledExpression;
  /**
   * Names another order (one MedicationRequest or ServiceRequest, usually one from the record): the expression and
   * the evidence are then read as for that order, which is %order to them and to the criteria they read.
   */
  readonly forOrder?: CompiledExpression;
  /** Criteria it reads, directly. */
  readonly dependsOn: readonly string[];
  /** Data variables it reads (patient, conditions, ...), directly or through value criteria. */
  readonly reads: readonly string[];
  /** Whether it reads %order, directly or through other criteria. */
  readonly perOrder: boolean;
  /** Thresholds it reads, directly or through other criteria. */
  readonly thresholds: readonly string[];
  readonly file: string;
}

/** A link template. */
export interface LinkTemplate {
  readonly label: string;
  readonly url: string;
  readonly type: 'absolute' | 'smart';
  readonly appContext?: string;
}

/** A suggestion template. */
export interface SuggestionTemplate {
  readonly label: string;
  readonly isRecommended?: boolean;
  readonly actions?: readonly { type: 'create' | 'update' | 'delete'; description: string; resource?: Record<string, unknown>; resourceId?: string }[];
}

/** The card a rule yields. */
export interface CardTemplate {
  readonly indicator: Indicator;
  readonly summary: string;
  readonly detail?: string;
  readonly sources: readonly string[];
  /** Da Vinci CRD card type (cards/card-types.ts): the card's source.topic, and the option that switches it off. */
  readonly topic: string;
  /**
   * A Da Vinci CRD External Reference card: a summary of what its sources say, linking to them with absolute links
   * only (each cited source that has a url, and any links given); no link to the SMART app and no suggestions.
   */
  readonly externalReference?: boolean;
  /** One card for every order of a call on which the rule fires with the same text (scope order, no suggestions). */
  readonly combineOrders?: boolean;
  readonly links?: readonly LinkTemplate[];
  readonly suggestions?: readonly SuggestionTemplate[];
  readonly selectionBehavior?: 'at-most-one' | 'any';
  readonly overrideReasons?: readonly { system?: string; code: string; display: string }[];
}

/** The per-order coverage conclusion a rule yields (Da Vinci CRD coverage-information). */
export interface CoverageTemplate {
  readonly covered?: 'covered' | 'not-covered' | 'conditional';
  readonly paNeeded?: 'no-auth' | 'auth-needed' | 'satisfied' | 'performpa' | 'conditional';
  readonly docNeeded?: readonly ('clinical' | 'admin' | 'patient' | 'conditional')[];
  readonly infoNeeded?: readonly ('performer' | 'location' | 'timeframe')[];
  /** The prior authorization that satisfies the order (CRD satisfied-pa-id); may hold `{{criterion}}` placeholders. */
  readonly satisfiedPaId?: string;
  /** May hold `{{criterion}}` placeholders, filled per order. */
  readonly reason: string;
  /** Source ids the conclusion rests on: its own, or its rule's card's (a rule without a card must name them). */
  readonly sources: readonly string[];
}

/** A compiled rule. */
export interface Rule {
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly description?: string;
  readonly hooks: readonly HookName[];
  readonly scope: 'order' | 'patient';
  readonly orders?: CompiledExpression;
  readonly when: CompiledExpression;
  /** Criteria the `when` expression reads: their evidence is the rule's evidence. */
  readonly criteria: readonly string[];
  /** Criteria the placeholders of the card and the coverage conclusion name (values and evidence to keep with a finding). */
  readonly placeholderCriteria: readonly string[];
  /** Thresholds its decision or card depends on (the card says where each comes from). */
  readonly thresholds: readonly string[];
  /** Of those, the ones its card names or its `when` reads itself (not through a criterion): every card lists them. */
  readonly namedThresholds: readonly string[];
  readonly card?: CardTemplate;
  readonly coverage?: CoverageTemplate;
  readonly file: string;
  readonly testsFile: string;
  /** Its content without its version (pack-digests.ts): a reload refuses a change that kept the version. */
  readonly digest: string;
}

/** What the SMART app shows from a pack (pack.yaml `app`). */
export interface AppView {
  readonly establishedCriterion?: string;
  /** A patient-level criterion whose evidence is the therapy's device (the summary lists it under Device). */
  readonly deviceCriterion?: string;
  /** A patient-level criterion whose evidence is the therapy history (the summary lists it under Therapy history). */
  readonly historyCriterion?: string;
  /** A patient-level criterion whose evidence is the prior authorizations the rules count (the summary lists them apart). */
  readonly authorizationCriterion?: string;
  /**
   * A per-order criterion whose evidence is the payer's answer that the order needs no prior authorization (X12 NA):
   * the summary lists those answers as such, not with the responses the rules do not count.
   */
  readonly noReviewCriterion?: string;
  readonly policyCriteria: readonly string[];
  readonly newStartCriteria?: readonly string[];
  readonly documentation: readonly string[];
  readonly doseLines?: readonly string[];
  readonly doseWhen?: string;
  readonly pitfalls: readonly Pitfall[];
  /** Lists for particular therapies (a spasticity pump), replacing the ones above when chosen. */
  readonly variants?: readonly AppVariant[];
}

/** The app's lists for one kind of therapy; a list left out keeps the pack's default. */
export interface AppVariant {
  readonly name: string;
  /**
   * Criteria that choose the variant. With orders the pack judged, it applies when every such order meets one of the
   * per-order criteria; with none (launched from the chart), when one of the patient-level criteria is met.
   */
  readonly when: readonly string[];
  readonly policyCriteria?: readonly string[];
  readonly newStartCriteria?: readonly string[];
  readonly documentation?: readonly string[];
  readonly pitfalls?: readonly Pitfall[];
}

/** A pitfall the SMART app puts before a reviewer, with the ids of the sources it rests on. */
export interface Pitfall {
  readonly text: string;
  readonly sources: readonly string[];
}

/** A loaded, checked, compiled rule pack. */
export interface RulePack {
  readonly id: string;
  readonly version: string;
  readonly title: string;
  readonly description: string;
  readonly dir: string;
  readonly sources: ReadonlyMap<string, Source>;
  readonly thresholds: ReadonlyMap<string, Threshold>;
  readonly valueSets: ReadonlyMap<string, CompiledValueSet>;
  /** Criteria in dependency order (a criterion after everything it reads). */
  readonly criteria: ReadonlyMap<string, Criterion>;
  readonly rules: readonly Rule[];
  /** What the SMART app shows, when the pack says. */
  readonly app?: AppView;
  /** Its shared content (pack.yaml, criteria, value sets) without its version (pack-digests.ts). */
  readonly digest: string;
}

/** Data variables the engine provides; prefetch keys of the same name fill them. */
export const DATA_VARIABLES = ['patient', 'conditions', 'devices', 'medicationRequests', 'observations', 'procedures', 'medicationAdministrations', 'coverages', 'claimResponses', 'claims'] as const;

/**
 * Data that only completes other data: when the call cannot provide it, criteria read it as empty instead of
 * becoming "not known". The PAS Claims (`%claims`) only name the service of a ClaimResponse line that does not
 * repeat it; without them such a line matches no order (as it did before they were read), and every other
 * authorization is judged as usual.
 */
export const SUPPLEMENTARY_VARIABLES: ReadonlySet<string> = new Set<(typeof DATA_VARIABLES)[number]>(['claims']);

/** Resource types that are orders (CDS Hooks order-sign/order-select, R4): what %order and forOrder may name. */
export const ORDER_TYPES: ReadonlySet<string> = new Set(['MedicationRequest', 'ServiceRequest', 'DeviceRequest', 'NutritionOrder', 'VisionPrescription', 'CommunicationRequest', 'Task']);

/** Every variable the engine provides besides criteria. */
export const CONTEXT_VARIABLES = new Set<string>([...DATA_VARIABLES, 'draftOrders', 'order', 'now', 'today', 'thresholds']);
