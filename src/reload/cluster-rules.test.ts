/**
 * The primary's view of its workers' rules: one line once a reload has reached every worker, saying whether they
 * agree; a warning when a worker starts with rules the others do not answer with.
 */
import { describe, expect, it } from 'vitest';
import { ClusterRules, isClusterRules, isRulesReport, RULES_REPORT } from './cluster-rules.js';
import type { RulesReport } from './cluster-rules.js';

function recorder() {
  const lines: { level: 'info' | 'warn'; fields: Record<string, unknown>; msg: string }[] = [];
  const log = {
    info: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', fields, msg }),
    warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }),
  };
  return { lines, log: log as never };
}

const report = (packs: string, outcome: RulesReport['outcome']): RulesReport => ({ type: RULES_REPORT, packs, outcome });

describe('ClusterRules', () => {
  it('says once, after the last worker reported its reload, that all answer with the same rules', () => {
    const { lines, log } = recorder();
    const rules = new ClusterRules(log);
    rules.reported(1, report('p@1.0.0', 'started'));
    rules.reported(2, report('p@1.0.0', 'started'));
    rules.signalled(1);
    rules.signalled(2);
    rules.reported(1, report('p@1.1.0', 'reloaded'));
    expect(lines).toEqual([]);
    expect(rules.agree).toBe(false);
    rules.reported(2, report('p@1.1.0', 'reloaded'));
    expect(lines).toEqual([{ level: 'info', fields: { packs: 'p@1.1.0', workers: 2, refused: [] }, msg: 'rules reload reached every worker: all 2 answer with the same rules' }]);
    expect(rules.workers).toEqual([{ worker: 1, packs: 'p@1.1.0' }, { worker: 2, packs: 'p@1.1.0' }]);
  });

  it('warns when the reload leaves the workers on different rules, naming each', () => {
    const { lines, log } = recorder();
    const rules = new ClusterRules(log);
    rules.reported(2, report('p@1.0.0', 'started'));
    rules.reported(1, report('p@1.0.0', 'started'));
    rules.signalled(1);
    rules.signalled(2);
    rules.reported(2, report('p@1.0.0', 'refused'));
    rules.reported(1, report('p@1.1.0', 'reloaded'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe('warn');
    expect(lines[0]?.fields).toEqual({ workers: [{ worker: 1, packs: 'p@1.1.0' }, { worker: 2, packs: 'p@1.0.0' }], refused: [2] });
    expect(lines[0]?.msg).toMatch(/different rules.*send SIGHUP again/);
  });

  it('says when no worker could use the files', () => {
    const { lines, log } = recorder();
    const rules = new ClusterRules(log);
    for (const id of [1, 2]) rules.reported(id, report('p@1.0.0', 'started'));
    for (const id of [1, 2]) rules.signalled(id);
    for (const id of [1, 2]) rules.reported(id, report('p@1.0.0', 'refused'));
    expect(lines.map((l) => l.msg)).toEqual(['rules reload reached every worker: none could use the files; all 2 still answer with the same rules']);
  });

  it('does not wait for a worker that ended, nor count a start as its reload', () => {
    const { lines, log } = recorder();
    const rules = new ClusterRules(log);
    for (const id of [1, 2]) rules.reported(id, report('p@1.0.0', 'started'));
    for (const id of [1, 2]) rules.signalled(id);
    rules.reported(1, report('p@1.1.0', 'reloaded'));
    // Worker 2 died before reloading; its replacement starts with the files as they are now.
    rules.exited(2);
    expect(lines.map((l) => l.msg)).toEqual(['rules reload reached every worker: all 1 answer with the same rules']);
    rules.signalled(1);
    rules.reported(3, report('p@1.1.0', 'started'));
    expect(lines).toHaveLength(1);
    rules.reported(1, report('p@1.1.0', 'unchanged'));
    expect(lines.map((l) => l.msg).at(-1)).toBe('rules reload reached every worker: all 2 answer with the same rules');
  });

  it('warns when a worker starts with rules another does not answer with (a replacement after the files changed)', () => {
    const { lines, log } = recorder();
    const rules = new ClusterRules(log);
    rules.reported(1, report('p@1.0.0', 'started'));
    rules.reported(2, report('p@1.0.0', 'started'));
    expect(lines).toEqual([]);
    rules.exited(2);
    rules.reported(3, report('p@1.1.0', 'started'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', fields: { worker: 3, workers: [{ worker: 1, packs: 'p@1.0.0' }, { worker: 3, packs: 'p@1.1.0' }] } });
    expect(lines[0]?.msg).toMatch(/^worker 3 started with rules another worker does not answer with .*send SIGHUP/);
  });

  it('tells its messages from any other', () => {
    expect(isRulesReport(report('p@1.0.0', 'started'))).toBe(true);
    expect(isRulesReport({ type: RULES_REPORT, packs: 'p@1.0.0' })).toBe(false);
    expect(isRulesReport({ cmd: 'NODE_CLUSTER', act: 'listening' })).toBe(false);
    expect(isRulesReport(null)).toBe(false);
    expect(isClusterRules({ type: 'intrathecal-cds:cluster-rules', workers: [] })).toBe(true);
    expect(isClusterRules({ type: 'intrathecal-cds:cluster-rules' })).toBe(false);
  });
});
