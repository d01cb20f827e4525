/**
 * Loads the CDS service declarations (`cds-hooks/services.yaml`), checks them against their JSON Schema and
 * parses every prefetch template, so that a mistake stops the service at start-up with a message naming the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { describeSchemaErrors } from '../engine/schema-errors.js';
import { parseTemplate } from '../hooks/prefetch-template.js';
import type { ParsedTemplate } from '../hooks/prefetch-template.js';
import type { CdsServiceDescriptor, HookName } from '../hooks/types.js';
import { OPTIONS_EXTENSION } from './configuration-options.js';
import type { ConfigurationOption } from './configuration-options.js';

/** One declared prefetch key. */
export interface PrefetchKey {
  readonly key: string;
  readonly required: boolean;
  readonly parsed: ParsedTemplate;
}

/** One CDS service as loaded. */
export interface ServiceDefinition {
  readonly id: string;
  readonly hook: HookName;
  readonly title: string;
  readonly description: string;
  readonly usageRequirements?: string;
  readonly prefetch: readonly PrefetchKey[];
  /** The CRD configuration options it offers (one per card type it can return); set from the packs at load. */
  readonly configurationOptions?: readonly ConfigurationOption[];
}

interface RawService {
  id: string;
  hook: HookName;
  title: string;
  description: string;
  usageRequirements?: string;
  prefetch: Record<string, { query: string; required: boolean }>;
}

/** A rule-pack or service file that cannot be used; the message names the file and the place. */
export class DefinitionError extends Error {}

/**
 * Reads and checks the service definitions.
 * @param rulesDir - the `cds-hooks/` folder.
 * @returns the services, in file order.
 * @throws DefinitionError naming the file and what is wrong.
 */
export function loadServiceDefinitions(rulesDir: string): ServiceDefinition[] {
  const file = join(rulesDir, 'services.yaml');
  if (!existsSync(rulesDir)) throw new DefinitionError(`RULES_DIR ${rulesDir}: no such folder (it must hold services.yaml, schema/ and packs/)`);
  const schemaFile = join(rulesDir, 'schema', 'services.schema.json');
  let schema: object;
  try {
    schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as object;
  } catch (err) {
    throw new DefinitionError(`${schemaFile}: cannot be read as JSON: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DefinitionError(`${file}: ${(err as Error).message}`);
  }
  // Not checked against the meta-schema here (see schemaValidators in engine/load-pack.ts for why, and what still is).
  const validate = new Ajv2020({ allErrors: true, validateSchema: false }).compile<{ services: RawService[] }>(schema);
  if (!validate(raw)) {
    throw new DefinitionError(`${file}: does not match services.schema.json: ${describeSchemaErrors(validate.errors ?? [], schema)}`);
  }
  const seen = new Set<string>();
  return raw.services.map((s) => {
    if (seen.has(s.id)) throw new DefinitionError(`${file}: service id "${s.id}" is declared twice`);
    seen.add(s.id);
    const prefetch = Object.entries(s.prefetch).map(([key, p]) => {
      try {
        return { key, required: p.required, parsed: parseTemplate(p.query, s.hook) };
      } catch (err) {
        throw new DefinitionError(`${file}: service ${s.id}, prefetch ${key}: ${(err as Error).message}`);
      }
    });
    return {
      id: s.id,
      hook: s.hook,
      title: s.title,
      description: s.description,
      ...(s.usageRequirements ? { usageRequirements: s.usageRequirements } : {}),
      prefetch,
    };
  });
}

/**
 * The discovery entry of a service (https://cds-hooks.hl7.org/2.0/#discovery).
 * @param service - the loaded service.
 * @returns the descriptor as sent to clients.
 */
export function toDescriptor(service: ServiceDefinition): CdsServiceDescriptor {
  return {
    hook: service.hook,
    title: service.title,
    description: service.description,
    id: service.id,
    prefetch: Object.fromEntries(service.prefetch.map((p) => [p.key, p.parsed.template])),
    ...(service.usageRequirements ? { usageRequirements: service.usageRequirements } : {}),
    ...(service.configurationOptions?.length ? { extension: { [OPTIONS_EXTENSION]: service.configurationOptions } } : {}),
  };
}
