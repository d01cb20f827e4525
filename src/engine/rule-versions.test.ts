import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { gitIn, versionProblems } from './rule-versions.js';

let repo: string;
let git: ReturnType<typeof gitIn>;

function write(path: string, text: string): void {
  writeFileSync(join(repo, path), text);
}
function commit(message: string): void {
  git(['add', '-A']);
  git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', message]);
}
const rule = (version: string, when: string, comment = '') => `${comment}id: r1\nversion: ${version}\ntitle: R\nhooks: [order-sign]\nscope: patient\nwhen: "${when}"\ncard: { indicator: info, summary: s, sources: [x] }\n`;
const pack = (version: string) => `id: p\nversion: ${version}\ntitle: P\ndescription: d\nsources: { x: { title: X, confidence: confirmed } }\n`;
const criteria = (expr: string) => `criteria:\n  a:\n    description: A\n    expression: "${expr}"\n`;

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'itcds-git-'));
  git = gitIn(repo);
  git(['init', '-q']);
  mkdirSync(join(repo, 'packs/p/rules'), { recursive: true });
  mkdirSync(join(repo, 'packs/p/criteria'), { recursive: true });
  write('packs/p/pack.yaml', pack('1.0.0'));
  write('packs/p/criteria/c.yaml', criteria('true'));
  write('packs/p/rules/r1.yaml', rule('1.0.0', '%a'));
  write('packs/p/rules/r1.tests.yaml', 'cases: []\n');
  commit('first');
});

describe('versionProblems', () => {
  it('passes history where every content change came with a new version', () => {
    write('packs/p/rules/r1.yaml', rule('1.1.0', '%a.not()'));
    commit('change with bump');
    write('packs/p/rules/r1.yaml', rule('1.1.0', '%a.not()', '# only a comment\n'));
    write('packs/p/rules/r1.tests.yaml', 'cases: [1]\n');
    commit('comment and tests only');
    expect(versionProblems(repo, 'packs', git)).toEqual([]);
  });

  it('flags a committed rule change without a version bump, even when later commits follow', () => {
    write('packs/p/rules/r1.yaml', rule('1.0.0', '%a.not()'));
    commit('change without bump');
    write('packs/p/rules/r1.tests.yaml', 'cases: [2]\n');
    commit('unrelated');
    const problems = versionProblems(repo, 'packs', git);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/rule file packs\/p\/rules\/r1.yaml changed in commit [0-9a-f]{10} without a new version \(still 1.0.0\)/);
  });

  it('flags an uncommitted change without a bump (for rule authors before they commit)', () => {
    write('packs/p/rules/r1.yaml', rule('1.0.0', '%a and true'));
    expect(versionProblems(repo, 'packs', git)[0]).toMatch(/changed in the working tree/);
  });

  it('flags shared criteria that changed without a new pack version, and accepts the bump', () => {
    write('packs/p/criteria/c.yaml', criteria('false'));
    expect(versionProblems(repo, 'packs', git)[0]).toMatch(/pack packs\/p .* changed in the working tree/);
    write('packs/p/pack.yaml', pack('1.0.1'));
    expect(versionProblems(repo, 'packs', git)).toEqual([]);
  });

  it('flags a committed change of shared files without a new pack version: a changed, an added and a removed file', () => {
    mkdirSync(join(repo, 'packs/p/valuesets'), { recursive: true });
    write('packs/p/valuesets/v.json', '{"resourceType": "ValueSet", "id": "v", "version": "1"}');
    write('packs/p/pack.yaml', pack('1.1.0'));
    commit('value set, with a bump');
    write('packs/p/criteria/c.yaml', criteria('false'));
    commit('criteria changed, no bump');
    write('packs/p/pack.yaml', pack('1.2.0'));
    commit('bump');
    write('packs/p/criteria/d.yaml', criteria('true'));
    commit('criteria added, no bump');
    write('packs/p/pack.yaml', pack('1.3.0'));
    commit('bump again');
    git(['rm', '-q', 'packs/p/valuesets/v.json']);
    commit('value set removed, no bump');
    mkdirSync(join(repo, 'packs/p/valuesets'), { recursive: true });
    write('packs/p/valuesets/w.json', '{"resourceType": "ValueSet", "id": "w"}');
    write('packs/p/pack.yaml', pack('1.4.0'));
    commit('value set added, with a bump');
    // Only the value set's own version changed: content without the version is the same, so no bump is needed.
    write('packs/p/valuesets/w.json', '{"resourceType": "ValueSet", "id": "w", "version": "2"}');
    commit('value set version only');
    const problems = versionProblems(repo, 'packs', git);
    const log = git(['log', '--format=%H %s']).split('\n');
    const commitOf = (subject: string) => log.find((l) => l.endsWith(` ${subject}`))?.slice(0, 10);
    expect(problems).toEqual([
      `pack packs/p (pack.yaml, criteria, value sets) changed in commit ${commitOf('value set removed, no bump') ?? ''} without a new version (still 1.3.0); bump its version`,
      `pack packs/p (pack.yaml, criteria, value sets) changed in commit ${commitOf('criteria added, no bump') ?? ''} without a new version (still 1.2.0); bump its version`,
      `pack packs/p (pack.yaml, criteria, value sets) changed in commit ${commitOf('criteria changed, no bump') ?? ''} without a new version (still 1.1.0); bump its version`,
    ]);
  });
});
