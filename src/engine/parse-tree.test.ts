/**
 * Parse trees prepared at build time stand in for parsing at start-up, so a tree read back must be exactly the one
 * fhirpath.js gives for the same text, for every expression of the shipped pack; and a file that is not usable
 * (another fhirpath.js version, malformed, missing) must be ignored rather than trusted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fhirpath from 'fhirpath';
import { afterAll, describe, expect, it } from 'vitest';
import { FHIRPATH_VERSION, prepareTrees, readPreparedTrees, treeSource } from './parse-tree.js';
import type { AstNode } from './parse-tree.js';
import { expressionsOf, loadRulePacks } from './rule-packs.js';

const dir = mkdtempSync(join(tmpdir(), 'parse-trees-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('prepared parse trees', () => {
  it('read back as the very trees fhirpath.js parses, for every expression of the shipped pack', () => {
    const packs = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema');
    const texts = [...new Set(packs.flatMap((p) => expressionsOf(p).map(([, e]) => e.text)))];
    expect(texts.length).toBeGreaterThan(100);
    const file = join(dir, 'trees.json');
    writeFileSync(file, JSON.stringify(prepareTrees(texts)));
    const trees = readPreparedTrees(file);
    expect(trees?.size).toBe(texts.length);
    for (const text of texts) expect(trees?.get(text), text).toEqual(fhirpath.parse(text));
  });

  it('are ignored when written by another fhirpath.js version, malformed, of another shape (to any depth) or missing', () => {
    const write = (name: string, content: string): string => {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    };
    const tree = { type: 'EntireExpression', text: '%a' };
    expect(readPreparedTrees(write('ok.json', JSON.stringify({ fhirpath: FHIRPATH_VERSION, trees: { '%a': tree } })))?.get('%a')).toEqual(tree);
    expect(readPreparedTrees(write('old.json', JSON.stringify({ fhirpath: '0.0.1', trees: { '%a': tree } })))).toBeUndefined();
    expect(readPreparedTrees(write('bad.json', '{"fhirpath": '))).toBeUndefined();
    expect(readPreparedTrees(write('shape.json', JSON.stringify({ fhirpath: FHIRPATH_VERSION, trees: null })))).toBeUndefined();
    expect(readPreparedTrees(write('null.json', 'null'))).toBeUndefined();
    const damaged = { type: 'EntireExpression', children: [{ type: 'TermExpression', children: [{ text: '%a' }] }] };
    expect(readPreparedTrees(write('damaged.json', JSON.stringify({ fhirpath: FHIRPATH_VERSION, trees: { '%a': tree, '%b': damaged } })))).toBeUndefined();
    expect(readPreparedTrees(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('stand in for parsing, once per text, and every other text is parsed', () => {
    // A tree fhirpath.js would never give for this text shows which one was used.
    const marked: AstNode = { type: 'EntireExpression', text: 'prepared' };
    const parse = treeSource(new Map([['%a', marked]]));
    expect(parse('%a')).toBe(marked);
    expect(parse('%a')).toEqual(fhirpath.parse('%a'));
    expect(parse('%b.exists()')).toEqual(fhirpath.parse('%b.exists()'));
    expect(treeSource(undefined)('%a')).toEqual(fhirpath.parse('%a'));
    expect(() => parse('%a and (')).toThrow();
  });
});
