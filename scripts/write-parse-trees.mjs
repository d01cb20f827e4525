// Writes the parse trees of the shipped rule packs' expressions next to the compiled engine, where the built service
// reads them at start instead of parsing every expression again (src/engine/parse-tree.ts). Run by `npm run build`
// after the compiler. Packs deployed from another RULES_DIR are parsed at start as usual.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Trees of an earlier build are removed first, so loading the packs here parses them afresh.
rmSync('dist/engine/parse-trees.json', { force: true });
const { PREPARED_TREES_FILE, prepareTrees } = await import('../dist/engine/parse-tree.js');
const { expressionsOf, loadRulePacks } = await import('../dist/engine/rule-packs.js');
const packs = loadRulePacks(join('cds-hooks', 'packs'), join('cds-hooks', 'schema'));
const texts = new Set(packs.flatMap((p) => expressionsOf(p).map(([, e]) => e.text)));
writeFileSync(PREPARED_TREES_FILE, JSON.stringify(prepareTrees(texts)));
process.stdout.write(`parse trees of ${texts.size} expressions written to ${PREPARED_TREES_FILE.pathname}\n`);
