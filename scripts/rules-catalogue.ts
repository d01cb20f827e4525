/**
 * `npm run rules:catalogue [-- --check]`: writes docs/rule-catalogue.md, the rule catalogue a clinical governance
 * committee reviews (src/rule-docs/catalogue.ts), from cds-hooks/packs. With `--check`, writes nothing and exits 1
 * when the file does not say what the rules say.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueIsCurrent, catalogueOf } from '../src/rule-docs/catalogue.js';

const PACKS = join('cds-hooks', 'packs');
const SCHEMA = join('cds-hooks', 'schema');
const FILE = join('docs', 'rule-catalogue.md');

if (process.argv.includes('--check')) {
  const current = catalogueIsCurrent(FILE, PACKS, SCHEMA);
  process.stdout.write(current ? `${FILE} is current\n` : `${FILE} does not say what the rules say: run npm run rules:catalogue\n`);
  process.exitCode = current ? 0 : 1;
} else {
  writeFileSync(FILE, catalogueOf(PACKS, SCHEMA));
  process.stdout.write(`wrote ${FILE}\n`);
}
