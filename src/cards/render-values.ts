/**
 * Text for values on cards: criterion results, computed values, evidence lists, thresholds.
 */
import type { Resource } from '@medplum/fhirtypes';
import { describeEvidence } from '../engine/describe.js';
import type { CriterionResult, EvidenceItem } from '../engine/evaluate.js';
import { referenceOf } from '../fhir/json.js';
import type { Threshold } from '../engine/pack-types.js';

/** Created once: toLocaleString builds a formatter on every call. */
const NUMBER_FORMAT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
/** For a number under 0.01 other than 0: two significant digits, never exponent notation. */
const SMALL_FORMAT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 2 });

function formatNumber(n: number): string {
  // Two decimals would print 0.0024 mg/day (ziconotide ordered in mg, say) as "0 mg/day": a dose that is not zero.
  if (n !== 0 && Math.abs(n) < 0.01) return SMALL_FORMAT.format(n);
  const rounded = Number.isInteger(n) ? n : Number(n.toFixed(2));
  // Below 1,000 (no grouping separator) and other than -0, en-US text is the number's own: skip the formatter.
  return rounded > -1000 && rounded < 1000 && !Object.is(rounded, -0) ? String(rounded) : NUMBER_FORMAT.format(rounded);
}

/**
 * One computed value as text.
 * @param value - an item of a FHIRPath result.
 * @returns its text.
 */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as { resourceType?: string; value?: unknown; unit?: string; asStr?: string };
    if (typeof v.resourceType === 'string') return describeEvidence(referenceOf(v as Resource), v as Resource);
    if (typeof v.value === 'number') return `${formatNumber(v.value)}${v.unit ? ` ${v.unit.replace(/^'|'$/g, '')}` : ''}`;
    if (typeof v.asStr === 'string') return v.asStr;
  }
  return JSON.stringify(value);
}

/**
 * A criterion result as text: its value(s), or met / not met / not known.
 * @param result - the result (undefined when the criterion was not evaluated).
 * @returns the text.
 */
export function formatResult(result: CriterionResult | undefined): string {
  if (!result || result.truth === 'unknown') return 'not known';
  if (result.value) return result.value.map(formatValue).join(', ');
  return result.truth ? 'yes' : 'no';
}

/**
 * Evidence as an inline list.
 * @param evidence - evidence items.
 * @returns "Condition/1 (…); Device/2 (…)" or "none on record".
 */
export function formatEvidence(evidence: readonly EvidenceItem[]): string {
  return evidence.length === 0 ? 'none on record' : evidence.map((e) => describeEvidence(e.reference, e.resource)).join('; ');
}

/**
 * A threshold as text with its unit.
 * @param t - the threshold.
 * @returns e.g. "15 mg/day".
 */
export function formatThreshold(t: Threshold): string {
  return `${formatNumber(t.value)} ${t.unit}`;
}
