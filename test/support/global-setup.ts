/**
 * vitest global setup: provisions Kafka, InfluxDB and Redis once for the whole run (see
 * services.ts) and hands their addresses to the test workers through `inject('services')`.
 */
import type { TestProject } from 'vitest/node';
import { SERVICE_VARIABLES, provisionServices, type ServiceEnv } from './services.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = await provisionServices();
  project.provide('services', services.env);
  // Suites get the services through inject(). The variables themselves must not reach the test
  // workers: a program a test starts with the workers' environment (a CLI under test) would
  // switch to the distributed adapters where the test expects the embedded ones.
  for (const variable of SERVICE_VARIABLES) delete process.env[variable];
  return services.stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceEnv | null;
  }
}
