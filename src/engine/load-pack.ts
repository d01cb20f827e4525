/**
 * Reads a rule pack folder and checks every file against its JSON Schema. Compilation and the cross-checks
 * (names, expressions, value sets, sources) happen in compile-pack.ts. A problem stops the service at start-up
 * with a message naming the file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ValueSet } from '@medplum/fhirtypes';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { DefinitionError } from '../services/service-definitions.js';
import { describeSchemaErrors } from './schema-errors.js';
import type { AppView, CardTemplate, Confidence, CoverageTemplate } from './pack-types.js';
import type { HookName } from '../hooks/types.js';

/** pack.yaml as written. */
export interface RawPack {
  id: string;
  version: string;
  title: string;
  description: string;
  sources: Record<string, { title: string; url?: string; date?: string; confidence: Confidence; note?: string }>;
  thresholds?: Record<string, { value: number; unit: string; description: string; source: string; confidence: Confidence; maximum?: number }>;
  app?: AppView;
}

/** One criterion as written. */
export interface RawCriterion {
  description: string;
  kind?: 'boolean' | 'value';
  expression?: string;
  evidence?: string;
  forOrder?: string;
}

/** A rule file as written. */
export interface RawRule {
  id: string;
  version: string;
  title: string;
  description?: string;
  hooks: HookName[];
  scope: 'order' | 'patient';
  orders?: string;
  when: string;
  card?: CardTemplate;
  /** Its sources may be left out when the rule has a card: the card's are then the conclusion's. */
  coverage?: Omit<CoverageTemplate, 'sources'> & { sources?: readonly string[] };
}

/** The files of a pack, read and schema-checked. */
export interface PackFiles {
  readonly dir: string;
  readonly pack: RawPack;
  readonly criteria: { name: string; raw: RawCriterion; file: string }[];
  readonly valueSets: { resource: ValueSet; file: string }[];
  readonly rules: { raw: RawRule; file: string; testsFile: string }[];
}

type Validators = Record<'pack' | 'criteria' | 'rule' | 'tests', ValidateFunction>;
const validators = new Map<string, Validators>();

/**
 * The schema validators, compiled once.
 * @param schemaDir - cds-hooks/schema.
 * @returns validators for pack.yaml, criteria files, rule files and rule test files.
 */
export function schemaValidators(schemaDir: string): Validators {
  const known = validators.get(schemaDir);
  if (known) return known;
  // Not checked against the JSON Schema meta-schema here (that took a tenth of start-up). test/rules/schemas.test.ts
  // checks the shipped schemas against it; a RULES_DIR elsewhere brings its own copy, and a keyword with a value of
  // the wrong type there (`required: "id"`, `type: "strin"`) still makes compiling fail, so start-up stops.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, validateSchema: false });
  addFormats.default(ajv);
  const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as object);
  const compiled = { pack: load('pack.schema.json'), criteria: load('criteria.schema.json'), rule: load('rule.schema.json'), tests: load('rule-tests.schema.json') };
  validators.set(schemaDir, compiled);
  return compiled;
}

/**
 * Reads a YAML or JSON file and checks it against a schema.
 * @param file - path.
 * @param validate - the schema validator.
 * @returns the parsed content.
 * @throws DefinitionError naming the file and each schema violation.
 */
export function readChecked<T>(file: string, validate: ValidateFunction): T {
  let content: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    content = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new DefinitionError(`${file}: cannot be read: ${(err as Error).message}`);
  }
  if (!validate(content)) {
    throw new DefinitionError(`${file}: does not match its schema: ${describeSchemaErrors(validate.errors ?? [], validate.schema)}`);
  }
  return content as T;
}

/**
 * The files of a pack's subfolder that end in `suffix`. Any other file there, but notes (`.md`) and hidden files,
 * stops the start: a rule saved as `.yml`, or a value set as `.yaml`, would otherwise be passed over in silence, and
 * a rule that is not loaded gives no card.
 */
function filesIn(dir: string, suffix: string, what: string): string[] {
  if (!existsSync(dir)) return [];
  const names = readdirSync(dir).filter((f) => !f.startsWith('.') && !f.endsWith('.md')).sort();
  const stray = names.find((f) => !f.endsWith(suffix));
  if (stray !== undefined) throw new DefinitionError(`${join(dir, stray)}: not read: ${what} end in ${suffix} (rename it, or move it out of the folder)`);
  return names.map((f) => join(dir, f));
}

/**
 * Reads every file of a pack folder.
 * @param dir - the pack folder (holding pack.yaml).
 * @param schemaDir - cds-hooks/schema.
 * @returns the files, schema-checked.
 * @throws DefinitionError naming the file.
 */
export function readPackFiles(dir: string, schemaDir: string): PackFiles {
  const v = schemaValidators(schemaDir);
  const pack = readChecked<RawPack>(join(dir, 'pack.yaml'), v.pack);
  const criteria: PackFiles['criteria'] = [];
  const seen = new Map<string, string>();
  for (const file of filesIn(join(dir, 'criteria'), '.yaml', 'criteria files')) {
    const content = readChecked<{ criteria: Record<string, RawCriterion> }>(file, v.criteria);
    for (const [name, raw] of Object.entries(content.criteria)) {
      const earlier = seen.get(name);
      if (earlier) throw new DefinitionError(`${file}: criterion ${name} is already defined in ${earlier}`);
      seen.set(name, file);
      criteria.push({ name, raw, file });
    }
  }
  const valueSets = filesIn(join(dir, 'valuesets'), '.json', 'value sets').map((file) => {
    try {
      return { resource: JSON.parse(readFileSync(file, 'utf8')) as ValueSet, file };
    } catch (err) {
      throw new DefinitionError(`${file}: cannot be read: ${(err as Error).message}`);
    }
  });
  const ruleFiles = filesIn(join(dir, 'rules'), '.yaml', 'rules and their tests (.tests.yaml)');
  const orphan = ruleFiles.find((f) => f.endsWith('.tests.yaml') && !ruleFiles.includes(f.replace(/\.tests\.yaml$/, '.yaml')));
  if (orphan !== undefined) throw new DefinitionError(`${orphan}: test cases of a rule that is not there (${basename(orphan.replace(/\.tests\.yaml$/, '.yaml'))}: renamed or removed?)`);
  const rules = ruleFiles
    .filter((f) => !f.endsWith('.tests.yaml'))
    .map((file) => ({ raw: readChecked<RawRule>(file, v.rule), file, testsFile: file.replace(/\.yaml$/, '.tests.yaml') }));
  return { dir, pack, criteria, valueSets, rules };
}
