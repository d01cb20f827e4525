import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionError } from '../services/service-definitions.js';
import { expressionsOf, loadRulePacks, readThresholdOverrides, uncitedSources, unreadCriteria, unreadThresholds, unreadValueSets } from './rule-packs.js';
import type { RulePack } from './pack-types.js';

/** A copy of the demo pack with one file edited. */
function demoWith(file: string, edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), 'itcds-packs-'));
  cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
  const path = join(root, 'demo', file);
  writeFileSync(path, edit(readFileSync(path, 'utf8')));
  return root;
}

const load = (root: string, overrides: Record<string, number> = {}) => loadRulePacks(root, 'cds-hooks/schema', overrides);

/** The one pack of a packs folder (the demo pack's by default), loaded. */
function onlyPack(root = 'test/packs'): RulePack {
  const [pack] = load(root);
  if (!pack) throw new Error(`no pack loaded from ${root}`);
  return pack;
}

/** Rewrites the demo pack.yaml of a folder made by demoWith. */
function editPackYaml(root: string, edit: (text: string) => string): void {
  const packFile = join(root, 'demo', 'pack.yaml');
  writeFileSync(packFile, edit(readFileSync(packFile, 'utf8')));
}

describe('loading and checking rule packs', () => {
  it('loads the demo pack with criteria in dependency order', () => {
    const [pack] = load('test/packs');
    expect(pack?.rules.map((r) => r.id)).toEqual(['demo-dose-ceiling', 'demo-established-order', 'demo-no-pain-score']);
    const names = [...(pack?.criteria.keys() ?? [])];
    expect(names.indexOf('dailyMg')).toBeLessThan(names.indexOf('aboveCeiling'));
    expect(pack?.criteria.get('aboveCeiling')?.perOrder).toBe(true);
    expect(pack?.criteria.get('established')?.perOrder).toBe(false);
    expect(pack?.rules.find((r) => r.id === 'demo-dose-ceiling')?.thresholds).toEqual(['demoMaxDailyMg']);
  });

  it.each([
    ['a rule file that does not match the schema', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace(/^when:.*$/m, ''), /demo-dose-ceiling.yaml: does not match its schema: .*when/],
    ['an expression that does not parse', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('when: "%aboveCeiling"', 'when: "%aboveCeiling and ("'), /demo-dose-ceiling.yaml: rule demo-dose-ceiling \(when\): expression does not parse[\s\S]*%aboveCeiling and \(/],
    ['an unknown function', 'criteria/demo.yaml', (t: string) => t.replace("type.text.lower()", 'type.text.lowercase()'), /criterion activePump \(evidence\): unknown function lowercase\(\)/],
    ['an unknown function hidden where an empty record never reaches', 'criteria/demo.yaml', (t: string) => t.replace("code.inValueSet('demo-chronic-pain')", "code.memberOfVs('demo-chronic-pain')"), /unknown function memberOfVs\(\)/],
    ['a FHIRPath variable the service does not provide', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('when: "%aboveCeiling"', 'when: "%aboveCeiling and %terminologies.exists()"'), /rule demo-dose-ceiling \(when\): %terminologies is a FHIRPath variable this service does not provide: rules run without a terminology server/],
    ['an unknown variable', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('when: "%aboveCeiling"', 'when: "%aboveCieling"'), /rule demo-dose-ceiling \(when\): unknown variable %aboveCieling/],
    ['a defined variable that reuses a criterion name', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('when: "%aboveCeiling"', `when: "defineVariable('established', %aboveCeiling).select(%established)"`), /rule demo-dose-ceiling \(when\): defineVariable\('established'\) reuses the name of a context variable or criterion/],
    ['a defined variable whose name is computed', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('when: "%aboveCeiling"', `when: "defineVariable('a' & 'b', %aboveCeiling).select(%ab)"`), /defineVariable\(\) takes its name as a string literal/],
    ['a regular expression taken from record data', 'criteria/demo.yaml', (t: string) => t.replace("type.text.lower().contains('intrathecal')", 'type.text.matches(%patient.name.family.first())'), /criterion activePump \(evidence\): matches\(\) takes its regular expression as a string literal/],
    ['a regular expression that does not compile', 'criteria/demo.yaml', (t: string) => t.replace("type.text.lower().contains('intrathecal')", "type.text.matches('intra(thecal')"), /criterion activePump \(evidence\): matches\('intra\(thecal'\) is not a regular expression/],
    ['a regular expression that does not compile once its escapes are read', 'criteria/demo.yaml', (t: string) => t.replace("type.text.lower().contains('intrathecal')", "type.text.matches('intra\\\\(thecal')"), /matches\('intra\(thecal'\) is not a regular expression/],
    ['an unknown value set', 'criteria/demo.yaml', (t: string) => t.replace("inValueSet('demo-morphine')", "inValueSet('demo-morfine')"), /criterion isMorphineOrder: unknown value set "demo-morfine"/],
    ['a card without a topic (a client could not switch it off)', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('  topic: off-guideline\n', ''), /demo-dose-ceiling.yaml: does not match its schema: .*card.*topic/],
    ['a topic that is not a CRD card type', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('topic: off-guideline', 'topic: dose'), /demo-dose-ceiling.yaml: does not match its schema: .*card\/topic/],
    ['a card about an order whose detail does not say which', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('detail: "Order: {{order}}."', 'detail: "Above the ceiling."'), /rule demo-dose-ceiling: a card about an order names it in its detail \(\{\{order\}\} or \{\{orderReference\}\}\)/],
    ['an unknown source', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('sources: [demo-consensus]', 'sources: [pacc-2099]'), /card cites unknown source "pacc-2099"/],
    ['a coverage conclusion that cites an unknown source', 'rules/demo-established-order.yaml', (t: string) => `${t}  sources: [demo-polcy]\n`, /rule demo-established-order: coverage conclusion cites unknown source "demo-polcy"/],
    ['a coverage conclusion without a card that names no source', 'rules/demo-established-order.yaml', (t: string) => t.replace(/card:\n( {2}.*\n)+/, ''), /rule demo-established-order: a coverage conclusion without a card names the sources it rests on \(coverage.sources\)/],
    ['an unknown threshold', 'criteria/demo.yaml', (t: string) => t.replace('%thresholds.demoMaxDailyMg', '%thresholds.demoMaxDaily'), /unknown threshold %thresholds.demoMaxDaily/],
    ['an unknown card placeholder', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('{{dailyMg}}', '{{dailyMgs}}'), /card placeholder \{\{dailyMgs\}\} names nothing/],
    ['two rules with one id', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('id: demo-dose-ceiling', 'id: demo-no-pain-score'), /rule id demo-no-pain-score is used by another rule/],
    ['criteria in a cycle', 'criteria/demo.yaml', (t: string) => t.replace('expression: "%activePump and %painDiagnosis"', 'expression: "%activePump and %painDiagnosis and %aboveCeiling"').replace('expression: "%dailyMg > %thresholds.demoMaxDailyMg"', 'expression: "%dailyMg > %thresholds.demoMaxDailyMg and %established"'), /cycle: .*established/],
    ['an is-a filter on a system without prefix hierarchy', 'valuesets/demo-chronic-pain.json', (t: string) => t.replace('"system": "http://hl7.org/fhir/sid/icd-10-cm", "filter"', '"system": "http://snomed.info/sct", "filter"'), /demo-chronic-pain.json: is-a filters are only supported on ICD-10-CM and payer typology/],
    ['combineOrders on a rule of scope patient', 'rules/demo-no-pain-score.yaml', (t: string) => t.replace('indicator: info', 'indicator: info\n  combineOrders: true'), /combineOrders joins the cards of several orders; use scope order/],
    ['combineOrders on a card with suggestions', 'rules/demo-dose-ceiling.yaml', (t: string) => `${t.replace('indicator: warning', 'indicator: warning\n  combineOrders: true')}  selectionBehavior: any\n  suggestions:\n    - { label: "Cancel {{orderReference}}", actions: [{ type: delete, description: cancel, resourceId: "{{orderReference}}" }] }\n`, /combineOrders cannot join suggestions/],
    ['an external reference card with a link to the SMART app', 'rules/demo-dose-ceiling.yaml', (t: string) => `${t.replace('indicator: warning', 'indicator: warning\n  externalReference: true')}  links:\n    - { label: Review, url: /app/launch.html, type: smart }\n`, /rule demo-dose-ceiling: an external reference card links with type absolute only/],
    ['an external reference card with suggestions', 'rules/demo-dose-ceiling.yaml', (t: string) => `${t.replace('indicator: warning', 'indicator: warning\n  externalReference: true')}  selectionBehavior: any\n  suggestions:\n    - { label: "Cancel {{orderReference}}", actions: [{ type: delete, description: cancel, resourceId: "{{orderReference}}" }] }\n`, /rule demo-dose-ceiling: an external reference card has no suggestions/],
    ['an external reference card with nothing to link to', 'rules/demo-dose-ceiling.yaml', (t: string) => t.replace('indicator: warning', 'indicator: warning\n  externalReference: true'), /rule demo-dose-ceiling: an external reference card needs a link: a url on one of its sources, or a link of its own/],
    ['a patient rule that reads %order', 'rules/demo-no-pain-score.yaml', (t: string) => t.replace('when: "%established and %painScoreRecorded.not()"', 'when: "%established and %aboveCeiling"'), /a rule of scope patient reads %order/],
    ['an app variant chosen by a criterion that does not exist', 'pack.yaml', (t: string) => `${t}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded]\n  pitfalls: []\n  variants:\n    - { name: spasticity, when: [establishd], documentation: [painScoreRecorded] }\n`, /app names unknown criterion establishd/],
    ['an app variant that an earlier one always shadows', 'pack.yaml', (t: string) => `${t}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded]\n  pitfalls: []\n  variants:\n    - { name: broad, when: [established, painDiagnosis], documentation: [painScoreRecorded] }\n    - { name: narrow, when: [painDiagnosis], documentation: [established] }\n`, /app variant "narrow" can never be chosen: the variant "broad" before it is chosen whenever its criteria \(painDiagnosis\) are met/],
    ['an app pitfall citing a source the pack does not have', 'pack.yaml', (t: string) => `${t}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded]\n  pitfalls:\n    - { text: Do not deny the drug, sources: [nowhere] }\n`, /app pitfall "Do not deny the drug" cites unknown source "nowhere"/],
    ['an app pitfall citing no source', 'pack.yaml', (t: string) => `${t}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded]\n  pitfalls:\n    - { text: Do not deny the drug, sources: [] }\n`, /pack.yaml: does not match its schema: .*pitfalls\/0\/sources/],
    ['a criterion naming another order without an expression to read for it', 'criteria/demo.yaml', (t: string) => `${t}  earlierMg:\n    kind: value\n    description: The dose of another order\n    forOrder: "%draftOrders.first()"\n    evidence: "%order"\n`, /demo.yaml: does not match its schema: .*forOrder.*expression|expression.*forOrder/],
    ['a criterion that names another order by itself', 'criteria/demo.yaml', (t: string) => `${t}  earlierMg:\n    kind: value\n    description: The dose of another order\n    forOrder: "%earlierMg"\n    expression: "%dailyMg"\n`, /criterion earlierMg: reads itself/],
    ['a value set that includes one the pack does not have', 'valuesets/demo-morphine.json', (t: string) => t.replace('"include": [', '"include": [{ "valueSet": ["https://example.org/fhir/ValueSet/nowhere"] }, '), /demo-morphine.json: compose.include names value set https:\/\/example.org\/fhir\/ValueSet\/nowhere, which is not one of the pack's/],
    ['two value sets with one url', 'valuesets/demo-morphine.json', (t: string) => t.replace(/"url": "[^"]+"/, '"url": "https://intrathecal-cds.example/fhir/ValueSet/demo-chronic-pain"'), /value set url https:\/\/intrathecal-cds.example\/fhir\/ValueSet\/demo-chronic-pain is used twice/],
    ['a value set that includes itself', 'valuesets/demo-morphine.json', (t: string) => t.replace('"include": [', '"include": [{ "valueSet": ["https://intrathecal-cds.example/fhir/ValueSet/demo-morphine"] }, '), /demo-morphine.json: value sets include each other in a cycle: .*demo-morphine -> .*demo-morphine/],
    ['a negative threshold', 'pack.yaml', (t: string) => t.replace('value: 15', 'value: -15'), /pack.yaml: does not match its schema: \/thresholds\/demoMaxDailyMg\/value must be >= 0/],
    ['an expression that fails on an empty record', 'criteria/demo.yaml', (t: string) => t.replace('expression: "%activePump and %painDiagnosis"', `expression: "%activePump and ('a' + 1) = 'a1'"`), /criterion established: expression fails on an empty record/],
  ])('refuses %s, naming the file, the rule or criterion and the expression', (_name, file, edit, message) => {
    const root = demoWith(file, edit);
    expect(() => load(root)).toThrow(DefinitionError);
    expect(() => load(root)).toThrow(message);
  });

  it.each([
    ['no packs folder', (root: string) => root + '-missing', /-missing: no such folder/],
    ['an empty packs folder', (root: string) => root, /: no rule pack in it/],
    ['a pack folder whose pack.yaml is misnamed', (root: string) => {
      cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
      renameSync(join(root, 'demo', 'pack.yaml'), join(root, 'demo', 'pack.yml'));
      return root;
    }, /demo: no pack.yaml/],
  ])('refuses %s, rather than run with rules missing and answer with no cards', (_name, make, message) => {
    const root = make(mkdtempSync(join(tmpdir(), 'itcds-packs-')));
    expect(() => load(root)).toThrow(DefinitionError);
    expect(() => load(root)).toThrow(message);
  });

  it.each([
    ['a rule saved as .yml', 'rules/demo-dose-ceiling.yaml', 'rules/demo-dose-ceiling.yml', /demo-dose-ceiling.yml: not read: rules and their tests \(.tests.yaml\) end in .yaml/],
    ['a value set saved as .yaml', 'valuesets/demo-morphine.json', 'valuesets/demo-morphine.yaml', /demo-morphine.yaml: not read: value sets end in .json/],
    ['a criteria file saved as .yml', 'criteria/demo.yaml', 'criteria/demo.yml', /demo.yml: not read: criteria files end in .yaml/],
    ['test cases left behind by a renamed rule', 'rules/demo-dose-ceiling.yaml', 'rules/demo-ceiling.yaml', /demo-dose-ceiling.tests.yaml: test cases of a rule that is not there \(demo-dose-ceiling.yaml: renamed or removed\?\)/],
  ])('refuses %s rather than pass over it', (_name, from, to, message) => {
    const root = demoWith('pack.yaml', (t) => t);
    renameSync(join(root, 'demo', from), join(root, 'demo', to));
    expect(() => load(root)).toThrow(message);
  });

  it('reads past notes (.md) and hidden files in a pack folder', () => {
    const root = demoWith('pack.yaml', (t) => t);
    writeFileSync(join(root, 'demo', 'rules', 'README.md'), '# Notes for the rule authors\n');
    writeFileSync(join(root, 'demo', 'rules', '.demo-dose-ceiling.yaml.swp'), '');
    expect(load(root)[0]?.rules.map((r) => r.id).sort()).toEqual(load('test/packs')[0]?.rules.map((r) => r.id).sort());
  });

  it('passes over a hidden folder beside the packs', () => {
    const root = mkdtempSync(join(tmpdir(), 'itcds-packs-'));
    cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
    mkdirSync(join(root, '.cache'));
    expect(load(root).map((p) => p.id)).toEqual(['demo']);
  });

  it('accepts a variable the expression defines itself, and does not count it as a criterion it reads', () => {
    const root = demoWith('rules/demo-dose-ceiling.yaml', (t) => t.replace('when: "%aboveCeiling"', `when: "defineVariable('above', %aboveCeiling).select(%above).first()"`));
    const rule = load(root)[0]?.rules.find((r) => r.id === 'demo-dose-ceiling');
    expect(rule?.when.variables).toEqual(new Set(['aboveCeiling']));
    expect(rule?.when.native).toBeDefined();
  });

  it('compiles a text written in several places once (the shipped pack writes 24 such repeats)', () => {
    const expressions = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema').flatMap((pack) => expressionsOf(pack).map(([, e]) => e));
    const texts = new Set(expressions.map((e) => e.text));
    expect(expressions.length).toBeGreaterThan(texts.size);
    expect(new Set(expressions).size).toBe(texts.size);
  });

  it('applies deployment threshold overrides and refuses overrides of thresholds that do not exist', () => {
    const [pack] = load('test/packs', { demoMaxDailyMg: 12 });
    expect(pack?.thresholds.get('demoMaxDailyMg')).toMatchObject({ value: 12, overridden: true });
    expect(() => load('test/packs', { noSuchThreshold: 1 })).toThrow(/noSuchThreshold/);
  });

  it("refuses a threshold's value or override above the maximum the pack gives it, and takes one at it", () => {
    const capped = (maximum: number): string => demoWith('pack.yaml', (t) => t.replace('    value: 15\n', `    value: 15\n    maximum: ${String(maximum)}\n`));
    expect(() => load(capped(10))).toThrow(/pack.yaml: threshold demoMaxDailyMg is 15, above its maximum 10/);
    expect(() => load(capped(16), { demoMaxDailyMg: 20 })).toThrow('threshold demoMaxDailyMg set to 20 mg/day, above the most it can be (16 mg/day)');
    expect(load(capped(16), { demoMaxDailyMg: 16 })[0]?.thresholds.get('demoMaxDailyMg')).toMatchObject({ value: 16, overridden: true });
  });
});

describe('unreadCriteria', () => {
  it('names a criterion nothing reads, and not one read only through the app or through another criterion', () => {
    const root = demoWith('criteria/demo.yaml', (t) => `${t}  spare:\n    description: Read by nothing\n    expression: "%painDiagnosis"\n  chained:\n    description: Read by appOnly\n    expression: "%activePump"\n  appOnly:\n    description: Read by the app\n    expression: "%chained"\n`);
    editPackYaml(root, (t) => `${t}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded, appOnly]\n  pitfalls: []\n`);
    expect(unreadCriteria(onlyPack(root))).toEqual(['spare']);
    expect(unreadCriteria(onlyPack())).toEqual([]);
  });
});

describe('unreadValueSets', () => {
  it('names a value set no expression names, and not one only a named value set includes', () => {
    const root = demoWith('valuesets/demo-chronic-pain.json', (t) => t.replace('"include": [', '"include": [{ "valueSet": ["https://intrathecal-cds.example/fhir/ValueSet/demo-included"] }, '));
    const extra = (id: string): string => JSON.stringify({ resourceType: 'ValueSet', id, url: `https://intrathecal-cds.example/fhir/ValueSet/${id}`, title: id, status: 'active', compose: { include: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', concept: [{ code: 'G89.3' }] }] } });
    writeFileSync(join(root, 'demo', 'valuesets', 'demo-included.json'), extra('demo-included'));
    writeFileSync(join(root, 'demo', 'valuesets', 'demo-spare.json'), extra('demo-spare'));
    expect(unreadValueSets(onlyPack(root))).toEqual(['demo-spare']);
    expect(unreadValueSets(onlyPack())).toEqual([]);
  });
});

describe('unreadThresholds', () => {
  it('names a threshold nothing reads, and one read only by a criterion nothing reads', () => {
    const root = demoWith('criteria/demo.yaml', (t) => `${t}  spare:\n    description: Read by nothing\n    expression: "%dailyMg > %thresholds.demoForSpare"\n`);
    const threshold = (id: string): string => `  ${id}:\n    value: 1\n    unit: mg/day\n    description: ${id}\n    source: demo-consensus\n    confidence: unconfirmed\n`;
    editPackYaml(root, (t) => t.replace('thresholds:\n', `thresholds:\n${threshold('demoUnused')}${threshold('demoForSpare')}`));
    expect(unreadThresholds(onlyPack(root))).toEqual(['demoUnused', 'demoForSpare']);
    expect(unreadThresholds(onlyPack())).toEqual([]);
  });
});

describe('uncitedSources', () => {
  it('names a source nothing cites, and not one cited only by a threshold or only by a coverage conclusion', () => {
    const root = demoWith('rules/demo-established-order.yaml', (t) => `${t}  sources: [demo-payer-faq]\n`);
    const source = (id: string): string => `  ${id}:\n    title: ${id}\n    confidence: confirmed\n`;
    editPackYaml(root, (t) => t.replace('sources:\n', `sources:\n${source('demo-payer-faq')}${source('demo-spare')}`));
    const pack = onlyPack(root);
    // demo-consensus is cited by a card and the threshold, demo-policy by a card, demo-payer-faq by the coverage conclusion alone.
    expect(pack.rules.find((r) => r.id === 'demo-established-order')?.coverage?.sources).toEqual(['demo-payer-faq']);
    expect(uncitedSources(pack)).toEqual(['demo-spare']);
    expect(uncitedSources(onlyPack())).toEqual([]);
  });

  it('counts a source cited only by a pitfall of the app as cited', () => {
    const source = (id: string): string => `  ${id}:\n    title: ${id}\n    confidence: confirmed\n`;
    const root = demoWith('pack.yaml', (t) => `${t.replace('sources:\n', `sources:\n${source('demo-pitfall-source')}${source('demo-spare')}`)}app:\n  policyCriteria: [established]\n  documentation: [painScoreRecorded]\n  pitfalls:\n    - { text: Do not deny the drug, sources: [demo-pitfall-source] }\n`);
    expect(uncitedSources(onlyPack(root))).toEqual(['demo-spare']);
  });

  it("gives a coverage conclusion that names no source its card's", () => {
    expect(onlyPack().rules.find((r) => r.id === 'demo-established-order')?.coverage?.sources).toEqual(['demo-policy']);
  });
});

describe('readThresholdOverrides', () => {
  const file = (text: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-thresholds-')), 'thresholds.json');
    writeFileSync(path, text);
    return path;
  };

  it('reads an object of threshold id -> number, and nothing without a file', () => {
    expect(readThresholdOverrides(file('{"demoMaxDailyMg": 12, "zero": 0}'))).toEqual({ demoMaxDailyMg: 12, zero: 0 });
    expect(readThresholdOverrides(undefined)).toEqual({});
  });

  it.each([
    ['text that is not JSON', '{demoMaxDailyMg: 12}', /cannot be read as JSON/],
    ['a list', '[12]', /must be a JSON object of threshold id -> number/],
    ['a number written as text', '{"demoMaxDailyMg": "12"}', /must be a JSON object of threshold id -> number/],
    ['a negative number', '{"demoMaxDailyMg": 12, "demoLookbackDays": -90}', /demoLookbackDays is -90; a threshold is never negative/],
  ])('refuses %s, naming the file', (_name, text, message) => {
    const path = file(text);
    expect(() => readThresholdOverrides(path)).toThrow(DefinitionError);
    expect(() => readThresholdOverrides(path)).toThrow(new RegExp(`${path}: ${message.source}`));
  });
});
