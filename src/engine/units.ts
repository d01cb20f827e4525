/**
 * The unit of a FHIR Quantity as the dose math reads it: one UCUM code for each unit it converts (mg, ug, mL; d, h,
 * min, wk; and each amount per time), whether the sender wrote a UCUM code or only the unit's text. Shared by the
 * pack function `unitCode()` in both engines.
 */
import { asJsonObject } from '../fhir/json.js';

const UCUM = 'http://unitsofmeasure.org';

/** Spellings of the amounts the dose math converts, lower case, by UCUM code. */
const AMOUNTS: Readonly<Record<string, readonly string[]>> = {
  mg: ['mg', 'milligram', 'milligrams'],
  ug: ['ug', 'mcg', 'µg', 'μg', 'microgram', 'micrograms'],
  mL: ['ml', 'milliliter', 'milliliters', 'millilitre', 'millilitres', 'cc'],
};

/** Words for a number of things (doses of a pump's patient-activated bolus), read as UCUM's unity `1`. */
const COUNTS: ReadonlySet<string> = new Set(['1', 'dose', 'doses', 'time', 'times', 'activation', 'activations', 'bolus', 'boluses']);

/**
 * Words that may name which doses are counted, before a count word: "PTM activations" (the patient therapy
 * manager of a pump), "bolus doses", "demand doses", "PRN doses". Only these: "mg doses" stays unconverted.
 */
const COUNT_QUALIFIERS: ReadonlySet<string> = new Set(['ptm', 'myptm', 'bolus', 'demand', 'patient', 'patient-activated', 'prn', 'rescue']);

/** Whether a lower-case text is a count: a count word, an annotation, or a known qualifier and a count word. */
function isCount(t: string): boolean {
  if (COUNTS.has(t) || /^\{[^{}]*\}$/.test(t)) return true;
  const words = t.split(' ');
  return words.length === 2 && COUNT_QUALIFIERS.has(words[0] ?? '') && COUNTS.has(words[1] ?? '');
}

/** Spellings of the periods, lower case, by UCUM code (24 hours is a day). */
const PERIODS: Readonly<Record<string, readonly string[]>> = {
  d: ['d', 'day', 'days', '24h', '24 h', '24hr', '24 hr', '24 hours', '(24.h)'],
  h: ['h', 'hr', 'hrs', 'hour', 'hours'],
  min: ['min', 'mins', 'minute', 'minutes'],
  wk: ['wk', 'week', 'weeks'],
};

function byText(table: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, string> {
  return new Map(Object.entries(table).flatMap(([code, spellings]) => spellings.map((s): [string, string] => [s, code])));
}

const AMOUNT = byText(AMOUNTS);
const PERIOD = byText(PERIODS);

/** The UCUM codes themselves, each amount alone and per period: what most senders write, read without parsing. */
const CANONICAL: ReadonlyMap<string, string> = new Map(
  [...Object.keys(AMOUNTS), ...Object.keys(PERIODS), ...Object.keys(AMOUNTS).flatMap((a) => Object.keys(PERIODS).map((p) => `${a}/${p}`))].map((c) => [c, c])
);

/**
 * A unit's text or code as a UCUM code the dose math converts: an amount (`mg`, `ug`, `mL`), a period (`d`, `h`,
 * `min`, `wk`), an amount per period (`mL/h`, `ug/d`), or `1` for a number of things (an annotation such as
 * `{dose}`, or doses, times, activations, boluses, also as "PTM activations" or "bolus doses"); case and spaces
 * around the slash do not matter, `Day(s)` is `days`, and `mcg`, `hr`, `day` and `24 h` are read as `ug`, `h`, `d`
 * and `d`. Anything else (per kilogram, a unit it does not know) gives undefined.
 * @param text - the unit as written.
 * @returns the UCUM code, or undefined.
 */
export function normalUnit(text: string): string | undefined {
  const exact = CANONICAL.get(text);
  if (exact !== undefined) return exact;
  // EHR pick lists write plurals as "Day(s)", "Dose(s)": read as the plural.
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ').replace(/\(s\)/g, 's');
  const slash = t.indexOf('/');
  if (slash < 0) return AMOUNT.get(t) ?? PERIOD.get(t) ?? (isCount(t) ? '1' : undefined);
  const amount = AMOUNT.get(t.slice(0, slash).trim());
  const period = PERIOD.get(t.slice(slash + 1).trim());
  return amount && period ? `${amount}/${period}` : undefined;
}

/**
 * A Quantity's code when it is read as a UCUM code: its system is UCUM, or it names none (this project's choice:
 * senders that leave the system out write UCUM codes); undefined for a local system's code or no code. Shared by
 * the dose math and the evidence text, so both read the same codes as units.
 * @param value - the FHIR JSON of the quantity.
 * @returns the code as written, or undefined.
 */
export function ucumCodeOf(value: unknown): string | undefined {
  const q = asJsonObject(value);
  const code = q?.['code'];
  return typeof code === 'string' && (q?.['system'] === undefined || q['system'] === UCUM) ? code : undefined;
}

/**
 * The unit of a Quantity (or a Ratio's numerator or denominator) as the dose math reads it. A UCUM code decides
 * when there is one (system UCUM, or no system); otherwise the unit's text does (a local code system's code is
 * read as text only when there is no unit). The text never overrules a UCUM code, so a quantity whose code and text
 * disagree is read by its code. A quantity with neither unit nor code is a plain number: `1`.
 * @param value - the FHIR JSON of the quantity.
 * @returns the UCUM code, or undefined when it is not a unit the dose math converts.
 */
export function unitCodeOf(value: unknown): string | undefined {
  const q = asJsonObject(value);
  if (!q) return undefined;
  const { code, unit } = q;
  const ucum = ucumCodeOf(q);
  if (ucum !== undefined) return normalUnit(ucum);
  const text = typeof unit === 'string' ? unit : typeof code === 'string' ? code : undefined;
  return text === undefined ? (unit === undefined && code === undefined ? '1' : undefined) : normalUnit(text);
}
