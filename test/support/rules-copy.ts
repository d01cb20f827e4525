/**
 * A copy of the shipped rules folder (cds-hooks/) under the run's temporary directory, for tests that edit rules or
 * thresholds and reload them, and small edits of its files.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The shipped intrathecal pack's version, as its pack.yaml says. */
export const PACK_VERSION = (parseYaml(readFileSync(join('cds-hooks', 'packs', 'intrathecal', 'pack.yaml'), 'utf8')) as { version: string }).version;

/**
 * Copies cds-hooks/ to a fresh folder.
 * @returns the copy's path (a RULES_DIR).
 */
export function copyRules(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'itcds-rules-')), 'cds-hooks');
  cpSync('cds-hooks', dir, { recursive: true });
  return dir;
}

/**
 * Replaces one text in a file of a rules folder; fails when the text is not there exactly once.
 * @param file - the file.
 * @param from - the text to replace.
 * @param to - its replacement.
 */
export function editFile(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.split(from).length !== 2) throw new Error(`${file}: "${from}" is not there exactly once`);
  writeFileSync(file, text.replace(from, to));
}
