/**
 * Version discipline for rule content (after gatekeeper-library's check): a rule whose content changed must have a
 * new version, and so must a pack whose shared content (pack.yaml, criteria, value sets) changed. "Content" is
 * the parsed file without its version: comments and formatting are free to change. Compared through git history:
 * every commit that touched the file against the one before it, and the working tree against the last commit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Runs git in a folder and returns stdout; throws when git fails. */
export type Git = (args: readonly string[]) => string;

/**
 * A git runner for a repository folder.
 * @param cwd - the repository.
 * @returns the runner.
 */
export function gitIn(cwd: string): Git {
  return (args) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** The content of a YAML/JSON text without its version, and the version. */
function contentOf(text: string): { content: string; version: string | undefined } {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch {
    return { content: text, version: undefined };
  }
  if (typeof parsed !== 'object' || parsed === null) return { content: JSON.stringify(parsed), version: undefined };
  const { version, ...rest } = parsed as Record<string, unknown>;
  return { content: JSON.stringify(sortKeys(rest)), version: typeof version === 'string' ? version : undefined };
}

/** One state of a versioned unit (a rule, or a pack's shared files). */
interface Snapshot {
  readonly label: string;
  readonly content: string;
  readonly version: string | undefined;
}

function compareSnapshots(unit: string, snapshots: readonly Snapshot[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i + 1 < snapshots.length; i++) {
    const newer = snapshots[i] as Snapshot;
    const older = snapshots[i + 1] as Snapshot;
    if (newer.content !== older.content && newer.version === older.version) {
      problems.push(`${unit} changed in ${newer.label} without a new version (still ${newer.version ?? 'unversioned'}); bump its version`);
    }
  }
  return problems;
}

function commitsTouching(git: Git, paths: readonly string[]): string[] {
  return git(['log', '--format=%H', '--', ...paths]).split('\n').filter(Boolean);
}

function showOrEmpty(git: Git, commit: string, path: string): string | undefined {
  try {
    return git(['show', `${commit}:${path}`]);
  } catch {
    return undefined;
  }
}

function packSharedFiles(packDir: string, list: (dir: string) => string[]): string[] {
  return [join(packDir, 'pack.yaml'), ...list(join(packDir, 'criteria')), ...list(join(packDir, 'valuesets'))];
}

/**
 * Finds content changes without a version change in the rule packs under a folder.
 * @param repoRoot - the git repository.
 * @param packsDir - packs folder relative to the repository root (e.g. cds-hooks/packs).
 * @param git - the git runner (defaults to git in repoRoot).
 * @returns one message per offending change; empty when every change came with a new version.
 */
export function versionProblems(repoRoot: string, packsDir: string, git: Git = gitIn(repoRoot)): string[] {
  const abs = join(repoRoot, packsDir);
  if (!existsSync(abs)) return [];
  const problems: string[] = [];
  const workingList = (dir: string): string[] => (existsSync(join(repoRoot, dir)) ? readdirSync(join(repoRoot, dir)).sort().map((f) => join(dir, f)) : []);
  for (const pack of readdirSync(abs).sort()) {
    const packDir = join(packsDir, pack);
    if (!existsSync(join(repoRoot, packDir, 'pack.yaml'))) continue;
    for (const file of workingList(join(packDir, 'rules')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.tests.yaml'))) {
      const snapshots: Snapshot[] = [{ label: 'the working tree', ...contentOf(readFileSync(join(repoRoot, file), 'utf8')) }];
      for (const commit of commitsTouching(git, [file])) {
        const text = showOrEmpty(git, commit, file);
        if (text !== undefined) snapshots.push({ label: `commit ${commit.slice(0, 10)}`, ...contentOf(text) });
      }
      problems.push(...compareSnapshots(`rule file ${file}`, snapshots));
    }
    const shared = (read: (path: string) => string | undefined, list: (dir: string) => string[]): Snapshot | undefined => {
      const files = packSharedFiles(packDir, list);
      const manifest = read(join(packDir, 'pack.yaml'));
      if (manifest === undefined) return undefined;
      const parts = files.map((f) => `${f}\n${contentOf(read(f) ?? '').content}`);
      return { label: '', content: parts.join('\n'), version: contentOf(manifest).version };
    };
    const current = shared((p) => (existsSync(join(repoRoot, p)) ? readFileSync(join(repoRoot, p), 'utf8') : undefined), workingList);
    const snapshots: Snapshot[] = current ? [{ ...current, label: 'the working tree' }] : [];
    for (const commit of commitsTouching(git, [join(packDir, 'pack.yaml'), join(packDir, 'criteria'), join(packDir, 'valuesets')])) {
      const list = (dir: string): string[] => {
        try {
          return git(['ls-tree', '--name-only', `${commit}:${dir}`]).split('\n').filter(Boolean).sort().map((f) => join(dir, f));
        } catch {
          return [];
        }
      };
      const snap = shared((p) => showOrEmpty(git, commit, p), list);
      if (snap) snapshots.push({ ...snap, label: `commit ${commit.slice(0, 10)}` });
    }
    problems.push(...compareSnapshots(`pack ${packDir} (pack.yaml, criteria, value sets)`, snapshots));
  }
  return problems;
}
