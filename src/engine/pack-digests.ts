/**
 * What a version stands for: a digest of a rule's content, and of a pack's shared content (pack.yaml, criteria,
 * value sets), each without its version. Comments and formatting do not count (the parsed files are digested), as in
 * rule-versions.ts. Reloading the rules compares them: a change that kept its version is refused, since the cards and
 * the audit log name the rules that answered by version.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../fhir/json.js';
import type { PackFiles, RawRule } from './load-pack.js';

function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function withoutVersion(value: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value };
  delete copy['version'];
  return copy;
}

/**
 * The digest of a rule file's content without its version.
 * @param raw - the rule as written.
 * @returns a hex digest.
 */
export function ruleDigest(raw: RawRule): string {
  return digest(withoutVersion(raw));
}

/**
 * The digest of a pack's shared content without its version: pack.yaml, its criteria by name and its value sets by
 * URL (moving a criterion to another file changes nothing).
 * @param files - the pack's files, as read.
 * @returns a hex digest.
 */
export function sharedDigest(files: PackFiles): string {
  const pack = withoutVersion(files.pack);
  const criteria = Object.fromEntries(files.criteria.map((c) => [c.name, c.raw]));
  const valueSets = Object.fromEntries(files.valueSets.map((v) => [v.resource.url ?? v.file, v.resource]));
  return digest({ pack, criteria, valueSets });
}
