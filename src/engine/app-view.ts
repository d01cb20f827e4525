/**
 * What a pack's SMART app view (pack.yaml `app`) names: the criteria its lists show and the pitfalls it puts before a
 * reviewer, the default's and each variant's. Read where the pack is checked (compile-pack.ts), where what nothing
 * uses is named (rule-packs.ts) and in the rule catalogue.
 */
import type { AppView, Pitfall } from './pack-types.js';

/**
 * The pitfalls the SMART app's view shows, the default's and each variant's.
 * @param app - pack.yaml's `app`.
 * @returns them, as written (a pitfall may repeat).
 */
export function appPitfalls(app: AppView): Pitfall[] {
  return [...app.pitfalls, ...(app.variants ?? []).flatMap((v) => v.pitfalls ?? [])];
}

/**
 * The criteria the SMART app's view names (its pitfalls are cited text, not criteria).
 * @param app - pack.yaml's `app`.
 * @returns their names, as written (a name may repeat).
 */
export function appCriteria(app: AppView): string[] {
  const variantNames = (app.variants ?? []).flatMap((v) => [v.when, v.policyCriteria ?? [], v.newStartCriteria ?? [], v.documentation ?? []].flat());
  return [app.establishedCriterion ?? [], app.deviceCriterion ?? [], app.historyCriterion ?? [], app.authorizationCriterion ?? [], app.noReviewCriterion ?? [], app.policyCriteria, app.newStartCriteria ?? [], app.documentation, app.doseLines ?? [], app.doseWhen ?? [], variantNames].flat();
}
