/**
 * `npm run flows`: Node-RED with the StreetWatch nodes, pointed at a running platform.
 */
import path from 'node:path';
import { StreetWatchError } from '../../core/errors.js';
import { loadFlowsConfig, type FlowsConfig } from './config.js';
import { startFlows, type FlowsRuntime } from './server.js';

function banner(config: FlowsConfig, flows: FlowsRuntime): string {
  const rel = (f: string): string => {
    const r = path.relative(process.cwd(), f);
    return r && !r.startsWith('..') ? r : f;
  };
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return [
    `StreetWatch flows · Node-RED ${flows.version}`,
    `  Editor    http://${host}:${flows.port}/ (user ${config.admin.username})`,
    `  Platform  ${config.platform.url} as operator ${config.platform.operator}`,
    `  Flows     ${rel(config.userDir)}${flows.seeded ? ' (example flows deployed)' : ''}`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  let config: FlowsConfig;
  let flows: FlowsRuntime;
  try {
    config = loadFlowsConfig(process.env);
    flows = await startFlows(config);
  } catch (err) {
    if (err instanceof StreetWatchError) {
      process.stderr.write(`streetwatch flows: ${err.code}: ${err.message}\n`);
      process.exit(1);
    }
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`streetwatch flows: ${(err as Error).message}: set STREETWATCH_FLOWS_PORT to a free port\n`);
      process.exit(1);
    }
    throw err;
  }
  process.stdout.write(banner(config, flows));
  const stop = (): void => {
    flows.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
