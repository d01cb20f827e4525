/**
 * The rule catalogue (docs/rule-catalogue.md) says what the rules say: it is regenerated and compared, so a rule,
 * threshold or source changed without `npm run rules:catalogue` fails here. And it renders as the committee reads
 * it: one section per rule with its table whole, FHIRPath's union operator kept inside a table cell.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import { loadRulePacks } from '../src/engine/rule-packs.js';
import { catalogueOf, packCatalogue } from '../src/rule-docs/catalogue.js';
import { headingAnchor } from '../src/rule-docs/criteria-section.js';
import { editFile } from './support/rules-copy.js';

const SCHEMA = join('cds-hooks', 'schema');

describe('the rule catalogue', () => {
  it('is what the rules say (else: npm run rules:catalogue)', () => {
    expect(readFileSync(join('docs', 'rule-catalogue.md'), 'utf8')).toBe(catalogueOf(join('cds-hooks', 'packs'), SCHEMA));
  });

  it('has one section per rule, each table whole, with what the criteria mean and how far each source is confirmed', () => {
    const [pack] = loadRulePacks(join('cds-hooks', 'packs'), SCHEMA);
    const html = new MarkdownIt().render(readFileSync(join('docs', 'rule-catalogue.md'), 'utf8'));
    expect(html.match(/<h3>[a-z0-9-]+ \d+\.\d+\.\d+: /g)).toHaveLength(pack?.rules.length ?? -1);
    // Every rule table row has its two cells (a stray pipe would split one, a missing one merge rows).
    const ruleRows = html.match(/<tr>\n<td>(Hooks|Applies to|Fires when|Criteria|Card|Suggests|Coverage information|Thresholds|Sources|Test cases)<\/td>\n<td>[^]*?<\/td>\n<\/tr>/g) ?? [];
    expect(ruleRows.filter((r) => r.includes('<td>Test cases</td>'))).toHaveLength(pack?.rules.length ?? -1);
    const morphine = html.slice(html.indexOf('<h3>it-dose-morphine'), html.indexOf('<h3>', html.indexOf('<h3>it-dose-morphine') + 1));
    expect(morphine).toMatch(/<a href="#criteria-in-criteria[a-z-]+yaml"><code>%orderHasMorphine<\/code><\/a>: The order contains morphine/);
    expect(morphine).toContain('morphineMaxDailyMg = 15 mg/day, unconfirmed, configurable (THRESHOLDS_FILE)');
    expect(morphine).toContain('<a href="https://doi.org/10.1111/ner.12538">Deer TR et al., Polyanalgesic Consensus Conference 2017, Neuromodulation 20(2):96-132</a> (unconfirmed)');
    // What accepting a card would change in the record, for the rules whose cards carry suggestions only.
    const suggests = html.match(/<td>Suggests<\/td>\n<td>[^]*?<\/td>/g) ?? [];
    expect(suggests).toHaveLength(pack?.rules.filter((r) => (r.card?.suggestions ?? []).length > 0).length ?? -1);
    expect(suggests.join('\n')).toContain('(recommended): delete (Remove the S-code order, which Medicare does not pay), create (Order the pump refill and maintenance service instead)');
  });

  it("lists what the SMART app shows, the default's lists and each variant's, pitfalls included", () => {
    const [pack] = loadRulePacks(join('cds-hooks', 'packs'), SCHEMA);
    const html = new MarkdownIt().render(readFileSync(join('docs', 'rule-catalogue.md'), 'utf8'));
    const start = html.indexOf('<h2>What the SMART app shows</h2>');
    expect(start).toBeGreaterThan(0);
    const section = html.slice(start, html.indexOf('<h2>', start + 1));
    const variants = pack?.app?.variants ?? [];
    expect(section.match(/<h3>[^<]*<\/h3>/g)).toEqual(['<h3>Default</h3>', ...variants.map((v) => `<h3>Variant: ${v.name}</h3>`)]);
    // One pitfalls row per view, each pitfall of the pack's default and of the spasticity variant in it.
    const pitfalls = section.match(/<td>Pitfalls shown to a reviewer<\/td>\n<td>[^]*?<\/td>/g) ?? [];
    expect(pitfalls).toHaveLength(1 + variants.length);
    for (const p of pack?.app?.pitfalls ?? []) expect(pitfalls[0]).toContain(p.text);
    // Each with the sources it rests on, and the sources section says the app's pitfalls cite them.
    expect(pitfalls[0]).toContain('Do not apply oral morphine-equivalent (MME) limits to intrathecal doses. <em>Sources: <a href="https://github.com/cqframework/opioid-cds-r4">CDC opioid prescribing decision support');
    expect(html).toMatch(/<td>cdc-opioid-cds<\/td>[^]*?<td>pitfalls of the SMART app<\/td>/);
    expect(pitfalls[1]).toContain('Do not apply pain criteria (pain scores, pain relief, a psychological evaluation for pain) to a spasticity pump.');
    // The criteria as the rules' sections give them, and the dose lines the app computes.
    expect(section).toContain('<code>%establishedPump</code>: The patient has an established implanted pump');
    expect(section).toContain('<td>Dose math</td>\n<td><code>%billedMorphineLine</code>');
    expect(section).toContain('<code>%baclofenDoseChangeLine</code>');
    // A variant that leaves a list out shows the default's: the pain-and-spasticity mix keeps the pain policy.
    const mix = section.slice(section.indexOf('<h3>Variant: Pain and spasticity'));
    expect(mix).toContain('<code>%responseDocumented</code>');
  });

  it('lists every criterion once, by its file, with what it reads (linked to sections that exist) and every rule that uses it at any depth', () => {
    const [pack] = loadRulePacks(join('cds-hooks', 'packs'), SCHEMA);
    if (!pack) throw new Error('the pack did not load');
    const html = new MarkdownIt().render(readFileSync(join('docs', 'rule-catalogue.md'), 'utf8'));
    const start = html.indexOf('<h2>Criteria</h2>');
    const section = html.slice(start, html.indexOf('<h2>', start + 1));
    const rows = [...section.matchAll(/<tr>\n<td><code>%([A-Za-z0-9]+)<\/code><\/td>/g)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...pack.criteria.keys()].sort());
    // Every link to a criterion, here and in the rules' sections, goes to a heading of this section.
    const headings = new Set([...section.matchAll(/<h3>([^<]+)<\/h3>/g)].map((m) => headingAnchor(m[1] ?? '')));
    const links = [...html.matchAll(/<a href="#(criteria-in-[^"]+)"><code>%/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(pack.criteria.size);
    expect(links.filter((l) => !headings.has(l ?? ''))).toEqual([]);
    // preauthorizationLines is five criteria below it-pa-renewal-at-visit's when (drugAuthorizationRenewalDue,
    // renewalDue, pastAuthorizationsOnly, endedAuthorizationTerms, orderAuthorizationTerms, orderDecisionLines):
    // still its user.
    const row = (name: string): string => section.slice(section.indexOf(`<td><code>%${name}</code></td>`)).split('</tr>')[0] ?? '';
    expect(row('preauthorizationLines')).toContain('it-pa-renewal-at-visit');
    expect(row('preauthorizationLines')).toContain('<a href="#criteria-in-criteriaprior-authorizationyaml"><code>%payerPreauthorizations</code></a>; data: claims, claimResponses, coverages');
    expect(row('drugRenewalAlsoNote')).toContain('value, for another order');
    // A criterion only the app reads says so.
    expect(row('billedMorphineLine')).toContain('the SMART app');
  });

  it('keeps a union inside its table cell, and counts the cases beside each rule', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'itcds-catalogue-')), 'packs');
    cpSync(join('test', 'packs'), dir, { recursive: true });
    editFile(join(dir, 'demo', 'rules', 'demo-dose-ceiling.yaml'), 'when: "%aboveCeiling"', 'when: "(%aboveCeiling | %aboveCeiling).allTrue()"');
    const [pack] = loadRulePacks(dir, SCHEMA);
    if (!pack) throw new Error('the demo pack did not load');
    const text = packCatalogue(pack, new Map([['demo-dose-ceiling', 3]]));
    expect(text).toContain('| Fires when | `(%aboveCeiling \\| %aboveCeiling).allTrue()` |');
    const html = new MarkdownIt().render(text);
    expect(html).toContain('<td>Fires when</td>\n<td><code>(%aboveCeiling | %aboveCeiling).allTrue()</code></td>');
    expect(text).toContain('| Test cases | 3, in rules/demo-dose-ceiling.tests.yaml |');
    expect(text).toContain('| Test cases | 0, in rules/demo-no-pain-score.tests.yaml |');
  });
});
