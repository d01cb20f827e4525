/**
 * Reloading the rules on the shipped packs, copied and edited: what changed is said, a change that kept its version
 * or a file that does not load is refused and the rules answering stay, THRESHOLDS_FILE is read again.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { loadPipeline } from '../pipeline.js';
import { CurrentRules } from './current-rules.js';
import { captureLog } from '../../test/support/harness.js';
import { copyRules, editFile, PACK_VERSION } from '../../test/support/rules-copy.js';

const RULE = 'packs/intrathecal/rules/it-morphine-above-consensus.yaml';
const PACK = 'packs/intrathecal/pack.yaml';

function rulesIn(dir: string, env: Record<string, string> = {}) {
  const { lines, log } = captureLog();
  const config = loadConfig({ NODE_ENV: 'test', RULES_DIR: dir, ...env });
  const rules = new CurrentRules(() => loadPipeline(config), log);
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { rules, logged };
}

const summaryOf = (rules: CurrentRules) => rules.current.packs[0]?.rules.find((r) => r.id === 'it-morphine-above-consensus')?.card?.summary;

describe('CurrentRules.reload', () => {
  it('answers with a rule changed under a new version, and says what changed', () => {
    const dir = copyRules();
    const { rules, logged } = rulesIn(dir);
    const first = rules.current;
    editFile(join(dir, RULE), 'version: 1.0.0', 'version: 1.1.0');
    editFile(join(dir, RULE), 'is above the PACC consensus maximum', 'exceeds the PACC consensus maximum');
    editFile(join(dir, PACK), `version: ${PACK_VERSION}`, 'version: 99.0.0');
    const outcome = rules.reload();
    expect(outcome).toEqual({
      outcome: 'reloaded',
      label: 'intrathecal@99.0.0',
      changes: [`pack intrathecal ${PACK_VERSION} -> 99.0.0`, 'rule it-morphine-above-consensus 1.0.0 -> 1.1.0'],
      problems: [],
    });
    expect(rules.current).not.toBe(first);
    expect(summaryOf(rules)).toContain('exceeds the PACC');
    expect(logged().at(-1)).toMatchObject({ level: 30, msg: expect.stringContaining('rules reloaded') as unknown, packs: 'intrathecal@99.0.0', changes: outcome.changes, ms: expect.any(Number) as unknown });
  });

  it('refuses a rule changed under the same version and goes on with the rules it had', () => {
    const dir = copyRules();
    const { rules, logged } = rulesIn(dir);
    const first = rules.current;
    editFile(join(dir, RULE), 'is above the PACC consensus maximum', 'exceeds the PACC consensus maximum');
    const outcome = rules.reload();
    expect(outcome.outcome).toBe('refused');
    expect(outcome.problems).toEqual([`rule it-morphine-above-consensus (${join(dir, RULE)}) changed but is still version 1.0.0; give it a new version`]);
    expect(rules.current).toBe(first);
    expect(summaryOf(rules)).toContain('is above the PACC');
    expect(logged().at(-1)).toMatchObject({ level: 50, msg: `rules not reloaded; still answering with intrathecal@${PACK_VERSION}`, problems: outcome.problems });
  });

  it('refuses criteria changed under the same pack version', () => {
    const dir = copyRules();
    const { rules } = rulesIn(dir);
    editFile(join(dir, 'packs/intrathecal/criteria/prior-authorization.yaml'), "outcome != 'error'", "outcome != 'error' and true");
    const outcome = rules.reload();
    expect(outcome.outcome).toBe('refused');
    expect(outcome.problems).toEqual([`pack intrathecal (${join(dir, 'packs/intrathecal')}: pack.yaml, criteria, value sets) changed but is still version ${PACK_VERSION}; give it a new version`]);
  });

  it('does not count comments and formatting as a change', () => {
    const dir = copyRules();
    const { rules } = rulesIn(dir);
    const first = rules.current;
    editFile(join(dir, RULE), 'id: it-morphine-above-consensus', '# a reviewer\'s note\nid:   it-morphine-above-consensus');
    expect(rules.reload()).toEqual({ outcome: 'unchanged', label: `intrathecal@${PACK_VERSION}`, changes: [], problems: [] });
    expect(rules.current).toBe(first);
  });

  it('refuses rules that do not load, naming the file, and goes on with the rules it had', () => {
    const dir = copyRules();
    const { rules } = rulesIn(dir);
    const first = rules.current;
    editFile(join(dir, RULE), 'when: "%aboveMorphineConsensus', 'when: "%aboveMorphineConsensusX');
    const outcome = rules.reload();
    expect(outcome.outcome).toBe('refused');
    expect(outcome.problems[0]).toContain(join(dir, RULE));
    expect(outcome.problems[0]).toContain('aboveMorphineConsensusX');
    expect(rules.current).toBe(first);
  });

  it('reads THRESHOLDS_FILE again: a new value is a change, a bad file is refused', () => {
    const dir = copyRules();
    const file = join(dir, 'thresholds.json');
    writeFileSync(file, JSON.stringify({ morphineMaxDailyMg: 14, monitoringLookbackDays: 120 }));
    const { rules, logged } = rulesIn(dir, { THRESHOLDS_FILE: file });
    expect(rules.current.label).toBe(`intrathecal@${PACK_VERSION}[monitoringLookbackDays=120;morphineMaxDailyMg=14]`);
    const thresholdLines = () => logged().filter((l) => String(l['msg']).startsWith('thresholds set by this deployment')).length;
    expect(thresholdLines()).toBe(1);
    // A rule changed, no threshold: the start's line about them is not said again.
    editFile(join(dir, RULE), 'version: 1.0.0', 'version: 1.0.1');
    expect(rules.reload().changes).toEqual(['rule it-morphine-above-consensus 1.0.0 -> 1.0.1']);
    expect(thresholdLines()).toBe(1);
    writeFileSync(file, JSON.stringify({ morphineMaxDailyMg: 12, monitoringLookbackDays: 120 }));
    expect(rules.reload()).toMatchObject({ label: `intrathecal@${PACK_VERSION}[monitoringLookbackDays=120;morphineMaxDailyMg=12]`, changes: ['threshold morphineMaxDailyMg 14 mg/day (THRESHOLDS_FILE) -> 12 mg/day (THRESHOLDS_FILE)'] });
    expect(rules.current.packs[0]?.thresholds.get('morphineMaxDailyMg')?.value).toBe(12);
    expect(thresholdLines()).toBe(2);
    expect(logged().some((l) => String(l['msg']).startsWith('thresholds set by this deployment') && JSON.stringify(l['thresholds']).includes('"value":12'))).toBe(true);
    writeFileSync(file, JSON.stringify({}));
    expect(rules.reload()).toMatchObject({
      label: `intrathecal@${PACK_VERSION}`,
      changes: ['threshold monitoringLookbackDays 120 days (THRESHOLDS_FILE) -> 90 days', 'threshold morphineMaxDailyMg 12 mg/day (THRESHOLDS_FILE) -> 15 mg/day'],
    });
    writeFileSync(file, '{"morphineMaxDailyMg": -1}');
    const refused = rules.reload();
    expect(refused.outcome).toBe('refused');
    expect(refused.problems).toEqual([`${file}: morphineMaxDailyMg is -1; a threshold is never negative`]);
    expect(rules.current.packs[0]?.thresholds.get('morphineMaxDailyMg')?.value).toBe(15);
  });

  it('says which services were added, removed or changed', () => {
    const dir = copyRules();
    const { rules } = rulesIn(dir);
    editFile(join(dir, 'services.yaml'), 'title: Intrathecal pump drug and supply order check', 'title: Intrathecal pump order check');
    editFile(join(dir, 'services.yaml'), '  - id: intrathecal-order-dispatch', '  - id: intrathecal-order-dispatch-2');
    const outcome = rules.reload();
    expect(outcome.outcome).toBe('reloaded');
    expect(outcome.changes).toEqual(['service intrathecal-order-dispatch removed', 'service intrathecal-order-dispatch-2 added', 'service intrathecal-order-sign changed']);
    expect(rules.current.pipeline.services.get('intrathecal-order-sign')?.title).toBe('Intrathecal pump order check');
  });
});
