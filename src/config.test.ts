import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has safe development defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ mode: 'development', port: 3000, host: '127.0.0.1', publicBaseUrl: 'http://localhost:3000', prefetchDeadlineMs: 3000, maxBodyBytes: 5 * 1024 * 1024, embeddedFhir: true });
  });

  it('needs PUBLIC_BASE_URL in production and switches the embedded FHIR server off', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/PUBLIC_BASE_URL is required/);
    const config = loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://cds.example.org/' });
    expect(config).toMatchObject({ mode: 'production', publicBaseUrl: 'https://cds.example.org', embeddedFhir: false, host: '0.0.0.0' });
    expect(loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://cds.example.org', EMBEDDED_FHIR: 'true' }).embeddedFhir).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PREFETCH_DEADLINE_MS: '0' }, 'PREFETCH_DEADLINE_MS'],
    [{ MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES'],
    [{ EMBEDDED_FHIR: 'maybe' }, 'EMBEDDED_FHIR'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
