/**
 * Where every bench writes: its own section of docs/benchmarks.md, between the markers `<!-- bench:NAME begin -->`
 * and `<!-- bench:NAME end -->`, replacing that section's earlier run and leaving the rest of the file (the
 * sessions' notes) as it is; appended when the file has no such section yet.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const REPORT = 'docs/benchmarks.md';

/**
 * Writes a bench's section.
 * @param name - the bench's name in the markers (engine, http, jwt, audit, stores).
 * @param lines - the section, without its markers.
 */
export function writeSection(name: string, lines: readonly string[]): void {
  const begin = `<!-- bench:${name} begin -->`;
  const end = `<!-- bench:${name} end -->`;
  const section = [begin, ...lines, end].join('\n');
  const report = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : "# Benchmarks\n\nNumbers measured on this project's own machine; each section says how it was produced.\n";
  const from = report.indexOf(begin);
  const to = report.indexOf(end);
  writeFileSync(REPORT, from >= 0 && to > from ? report.slice(0, from) + section + report.slice(to + end.length) : `${report.trimEnd()}\n\n${section}\n`);
  process.stdout.write(`wrote ${REPORT}\n`);
}
