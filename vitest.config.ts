import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    environment: 'node',
    // One temporary directory per run, removed at its end (test/support/temp-root.ts), and a real PostgreSQL server
    // (test/support/postgres-server.ts).
    globalSetup: ['test/support/temp-root.ts', 'test/support/postgres-server.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Spec-invariant oracle and fixtures are loaded per file; files run in parallel across the 2 cores.
    pool: 'forks',
    // --expose-gc lets the robustness tests compare heap use before and after thousands of bad requests.
    execArgv: ['--expose-gc'],
  },
});
