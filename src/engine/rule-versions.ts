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
import { canonicalJson } from '../fhir/json.js';

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
  return { content: canonicalJson(rest), version: typeof version === 'string' ? version : undefined };
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

/** For every file under a folder, the commits that touched it, newest first, from one `git log` (not one per file). */
function commitsByFile(git: Git, dir: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  let commit = '';
  for (const line of git(['-c', 'core.quotePath=false', 'log', '--format=commit %H', '--name-only', '--', dir]).split('\n')) {
    if (line.startsWith('commit ')) commit = line.slice('commit '.length);
    else if (line !== '') byFile.set(line, [...(byFile.get(line) ?? []), commit]);
  }
  return byFile;
}

/** An object read from git: its id and bytes. */
interface GitObject {
  readonly oid: string;
  readonly body: Buffer;
}

/**
 * Reads many objects (`<commit>:<path>`) through one `git cat-file --batch`, not one process each: the history
 * of a pack's shared files is thousands of objects.
 * @returns each object, or undefined where it does not exist.
 */
function catFile(repoRoot: string, specs: readonly string[]): (GitObject | undefined)[] {
  if (specs.length === 0) return [];
  const out = execFileSync('git', ['cat-file', '--batch'], { cwd: repoRoot, input: `${specs.join('\n')}\n`, stdio: ['pipe', 'pipe', 'ignore'], maxBuffer: 1024 * 1024 * 1024 });
  const objects: (GitObject | undefined)[] = [];
  let at = 0;
  for (let i = 0; i < specs.length; i++) {
    const eol = out.indexOf(0x0a, at);
    const header = /^([0-9a-f]+) \w+ (\d+)$/.exec(out.toString('utf8', at, eol));
    at = eol + 1;
    if (!header) {
      objects.push(undefined); // "<spec> missing"
      continue;
    }
    const size = Number(header[2]);
    objects.push({ oid: header[1] ?? '', body: out.subarray(at, at + size) });
    at += size + 1;
  }
  return objects;
}

/** The names in a git tree object (entries: mode, space, name, NUL, the binary object id). */
function treeNames(tree: GitObject): string[] {
  const idBytes = tree.oid.length / 2;
  const names: string[] = [];
  for (let at = 0; at < tree.body.length; ) {
    const space = tree.body.indexOf(0x20, at);
    const nul = tree.body.indexOf(0, space);
    names.push(tree.body.toString('utf8', space + 1, nul));
    at = nul + 1 + idBytes;
  }
  return names.sort();
}

function packSharedFiles(packDir: string, list: (dir: string) => string[]): string[] {
  return [join(packDir, 'pack.yaml'), ...list(join(packDir, 'criteria')), ...list(join(packDir, 'valuesets'))];
}

/** The shared snapshot of a pack from its files' texts; undefined without a pack.yaml. */
function sharedSnapshot(files: readonly string[], text: (file: string) => { content: string; version: string | undefined } | undefined, label: string): Snapshot | undefined {
  const manifest = text(files[0] ?? '');
  if (manifest === undefined) return undefined;
  const parts = files.map((f) => `${f}\n${text(f)?.content ?? contentOf('').content}`);
  return { label, content: parts.join('\n'), version: manifest.version };
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
  const working = (file: string) => (existsSync(join(repoRoot, file)) ? contentOf(readFileSync(join(repoRoot, file), 'utf8')) : undefined);
  // Unchanged files keep their object id from commit to commit: each distinct text is parsed once.
  const parsed = new Map<string, { content: string; version: string | undefined }>();
  const parse = (object: GitObject | undefined) => {
    if (!object) return undefined;
    let c = parsed.get(object.oid);
    if (!c) parsed.set(object.oid, (c = contentOf(object.body.toString('utf8'))));
    return c;
  };
  for (const pack of readdirSync(abs).sort()) {
    const packDir = join(packsDir, pack);
    if (!existsSync(join(repoRoot, packDir, 'pack.yaml'))) continue;
    const ruleFiles = workingList(join(packDir, 'rules')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.tests.yaml'));
    const touched = commitsByFile(git, join(packDir, 'rules'));
    const history = ruleFiles.map((file) => ({ file, commits: touched.get(file) ?? [] }));
    const ruleObjects = catFile(repoRoot, history.flatMap(({ file, commits }) => commits.map((c) => `${c}:${file}`)));
    let next = 0;
    for (const { file, commits } of history) {
      const snapshots: Snapshot[] = [{ label: 'the working tree', ...contentOf(readFileSync(join(repoRoot, file), 'utf8')) }];
      for (const commit of commits) {
        const text = parse(ruleObjects[next++]);
        if (text !== undefined) snapshots.push({ label: `commit ${commit.slice(0, 10)}`, ...text });
      }
      problems.push(...compareSnapshots(`rule file ${file}`, snapshots));
    }
    const current = sharedSnapshot(packSharedFiles(packDir, workingList), working, 'the working tree');
    const snapshots: Snapshot[] = current ? [current] : [];
    const commits = commitsTouching(git, [join(packDir, 'pack.yaml'), join(packDir, 'criteria'), join(packDir, 'valuesets')]);
    const dirs = [join(packDir, 'criteria'), join(packDir, 'valuesets')];
    const trees = catFile(repoRoot, commits.flatMap((c) => dirs.map((d) => `${c}:${d}`)));
    const filesOf = commits.map((_, i) => packSharedFiles(packDir, (dir) => {
      const tree = trees[i * dirs.length + dirs.indexOf(dir)];
      return tree ? treeNames(tree).map((f) => join(dir, f)) : [];
    }));
    const blobs = catFile(repoRoot, commits.flatMap((c, i) => (filesOf[i] ?? []).map((f) => `${c}:${f}`)));
    next = 0;
    commits.forEach((commit, i) => {
      const files = filesOf[i] ?? [];
      const texts = new Map(files.map((f) => [f, parse(blobs[next++])]));
      const snap = sharedSnapshot(files, (f) => texts.get(f), `commit ${commit.slice(0, 10)}`);
      if (snap) snapshots.push(snap);
    });
    problems.push(...compareSnapshots(`pack ${packDir} (pack.yaml, criteria, value sets)`, snapshots));
  }
  return problems;
}
