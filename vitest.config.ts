import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**', 'flows/node_modules/**', 'console/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real Kafka, InfluxDB and Redis for the adapter and integration suites: from the
    // environment, containers, or infra/local (test/support/services.ts).
    globalSetup: ['test/support/global-setup.ts'],
    // Integration tests bind real ports and real files; forks keep native modules isolated.
    pool: 'forks',
  },
});
