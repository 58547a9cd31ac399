/**
 * Helpers for suites that run against the real Kafka, InfluxDB and Redis of this test run.
 */
import { inject } from 'vitest';
import type { ServiceEnv } from './services.js';

export * from './namespace.js';

/** The services of this run, or null when STREETWATCH_TEST_SERVICES=off. */
export function testServices(): ServiceEnv | null {
  return inject('services');
}
