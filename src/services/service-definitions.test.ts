import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefinitionError, loadServiceDefinitions } from './service-definitions.js';

function packWith(edit: (yaml: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'itcds-pack-'));
  cpSync('cds-hooks', dir, { recursive: true });
  const file = join(dir, 'services.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return dir;
}

describe('loadServiceDefinitions', () => {
  it('loads the seven services with their prefetch keys', () => {
    const services = loadServiceDefinitions('cds-hooks');
    expect(services.map((s) => s.id)).toEqual(['intrathecal-order-sign', 'intrathecal-order-dispatch', 'intrathecal-appointment-book', 'intrathecal-order-select', 'intrathecal-encounter-start', 'intrathecal-encounter-discharge', 'intrathecal-patient-view']);
    expect(services[0]?.prefetch.filter((p) => p.required).map((p) => p.key)).toEqual(['patient', 'conditions', 'devices', 'medicationRequests']);
  });

  it.each([
    ['a schema violation', (y: string) => y.replace('hook: order-select', 'hook: medication-prescribe'), /services.yaml: does not match services.schema.json/],
    ['a bad prefetch token', (y: string) => y.replace('Device?patient={{context.patientId}}', 'Device?patient={{context.draftOrders}}'), /service intrathecal-order-sign, prefetch devices: prefetch token/],
    ['a duplicate service id', (y: string) => y.replace('id: intrathecal-order-select', 'id: intrathecal-order-sign'), /declared twice/],
    ['YAML that does not parse', (y: string) => `${y}\n  - id: [unclosed`, /services.yaml:/],
  ])('refuses %s, naming the file', (_name, edit, message) => {
    const dir = packWith(edit);
    expect(() => loadServiceDefinitions(dir)).toThrow(DefinitionError);
    expect(() => loadServiceDefinitions(dir)).toThrow(message);
  });

  it('refuses a RULES_DIR that does not exist, or whose schema is missing, naming it', () => {
    expect(() => loadServiceDefinitions('/nonexistent/rules')).toThrow('RULES_DIR /nonexistent/rules: no such folder');
    const dir = packWith((y) => y);
    rmSync(join(dir, 'schema'), { recursive: true });
    expect(() => loadServiceDefinitions(dir)).toThrow(new RegExp(`${join(dir, 'schema', 'services.schema.json')}: cannot be read as JSON`));
  });
});
