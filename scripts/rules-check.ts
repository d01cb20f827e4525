/**
 * `npm run rules:check [-- <packs folder>...]`: checks rule packs without starting the server, for CI and for
 * rule authors. Loads and compiles every pack (the same checks as start-up), runs every rule's test cases,
 * requires a firing and a non-firing case per rule, and compares rule versions with git history. Also names the
 * expressions the native FHIRPath engine does not compile (they are right, but evaluated by fhirpath.js, slower),
 * the criteria, value sets and thresholds nothing reads, and the sources nothing cites. For the shipped packs, also
 * checks that docs/rule-catalogue.md says what they say (`npm run rules:catalogue` rewrites it).
 * Exit 0 when all is well; 1 with one line per problem otherwise.
 */
import { join } from 'node:path';
import { expressionsOf, loadRulePacks, uncitedSources, unreadCriteria, unreadThresholds, unreadValueSets } from '../src/engine/rule-packs.js';
import { runPackCases } from '../src/rule-cases/run-cases.js';
import { catalogueIsCurrent } from '../src/rule-docs/catalogue.js';
import { versionProblems } from '../src/engine/rule-versions.js';
import { loadServiceDefinitions } from '../src/services/service-definitions.js';

const RULES_DIR = 'cds-hooks';
const schemaDir = join(RULES_DIR, 'schema');
const SHIPPED = join(RULES_DIR, 'packs');
const CATALOGUE = join('docs', 'rule-catalogue.md');
const packDirs = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [SHIPPED];
const out = (line: string): boolean => process.stdout.write(`${line}\n`);

function main(): number {
  const problems: string[] = [];
  const services = loadServiceDefinitions(RULES_DIR);
  let cases = 0;
  for (const dir of packDirs) {
    const packs = loadRulePacks(dir, schemaDir);
    for (const pack of packs) {
      const { outcomes, problems: packProblems } = runPackCases(pack, { services, fixturesRoot: 'fhir-fixtures', schemaDir, publicBaseUrl: 'http://localhost:3000' });
      cases += outcomes.length;
      problems.push(...packProblems);
      for (const o of outcomes) for (const p of o.problems) problems.push(`${o.rule.testsFile}: case "${o.caseName}": ${p}`);
      out(`pack ${pack.id} ${pack.version}: ${pack.rules.length} rules, ${pack.criteria.size} criteria, ${pack.valueSets.size} value sets, ${outcomes.length} cases`);
      const expressions = expressionsOf(pack);
      const gaps = expressions.filter(([, e]) => !e.native);
      out(`  native FHIRPath: ${expressions.length - gaps.length} of ${expressions.length} expressions`);
      for (const [where, e] of gaps) out(`  note: ${where} runs on fhirpath.js (native engine: ${e.nativeGap ?? 'not covered'})`);
      for (const id of unreadValueSets(pack)) out(`  note: value set ${id} is named by no codedIn() or inValueSet() of the pack, nor included by one that is: remove it or use it`);
      for (const name of unreadCriteria(pack)) out(`  note: criterion ${name} (${pack.criteria.get(name)?.file ?? ''}) is read by no rule, no criterion a rule reads, and not the app: remove it or give it a rule`);
      for (const id of unreadThresholds(pack)) out(`  note: threshold ${id} is read by no rule and no criterion that is read: an override of it changes nothing; remove it or use it`);
      for (const id of uncitedSources(pack)) out(`  note: source ${id} is cited by no rule, no threshold and no pitfall of the app: remove it or cite it`);
    }
    try {
      problems.push(...versionProblems('.', dir));
    } catch (err) {
      out(`warning: rule versions not compared with git history (${(err as Error).message.split('\n')[0] ?? ''})`);
    }
  }
  if (packDirs.includes(SHIPPED) && problems.length === 0 && !catalogueIsCurrent(CATALOGUE, SHIPPED, schemaDir)) {
    problems.push(`${CATALOGUE} does not say what the rules say: run npm run rules:catalogue and commit it`);
  }
  for (const p of problems) out(`problem: ${p}`);
  out(problems.length === 0 ? `rule packs OK (${cases} cases)` : `${problems.length} problem(s)`);
  return problems.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  out(`problem: ${(err as Error).message}`);
  process.exitCode = 1;
}
