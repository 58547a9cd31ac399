/**
 * Node-RED embedded: the runtime and its editor in this process, with the StreetWatch nodes
 * preloaded from flows/, the example flows deployed on first start, and the editor behind the
 * admin credentials of the configuration. Node-RED is a singleton: one per process.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import RED from 'node-red';
import { buildLibrary, FLOWS_DIR } from '../build.js';
import { ADMIN_HASH_ROUNDS, type FlowsConfig } from './config.js';

export const FLOWS_FILE = 'flows.json';
/** The installed Node-RED's version (the runtime's own adds "-git" inside a git checkout). */
export const NODE_RED_VERSION = (createRequire(import.meta.url)('node-red/package.json') as { version: string }).version;
export const EXAMPLES_DIR = path.join(FLOWS_DIR, 'examples');

export interface FlowsRuntime {
  readonly port: number;
  readonly version: string;
  /** True when this start deployed the example flows (a user dir without flows). */
  readonly seeded: boolean;
  readonly red: typeof RED;
  stop(): Promise<void>;
}

/**
 * Every example flow in one flows file, each on its own tab. The examples share their
 * platform config node, which is kept once.
 */
export function exampleFlows(dir = EXAMPLES_DIR): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    for (const n of JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>[]) {
      if (seen.has(n.id as string)) continue;
      seen.add(n.id as string);
      out.push(n);
    }
  }
  return out;
}

const NODE_RED_LOG_LEVELS = { fatal: 'fatal', error: 'error', warn: 'warn', info: 'info', debug: 'debug', trace: 'trace', silent: 'off' } as const;

export async function startFlows(config: FlowsConfig): Promise<FlowsRuntime> {
  await buildLibrary();
  fs.mkdirSync(config.userDir, { recursive: true });
  const flowsFile = path.join(config.userDir, FLOWS_FILE);
  // First start only: after that the flows are the operators', edited in the editor.
  const seeded = !fs.existsSync(flowsFile);
  if (seeded) fs.writeFileSync(flowsFile, `${JSON.stringify(exampleFlows(), null, 2)}\n`);

  const settings: Record<string, unknown> = {
    userDir: config.userDir,
    flowFile: FLOWS_FILE,
    flowFilePretty: true,
    // The package directory is a Node-RED module: its nodes and examples load as they would from the palette.
    nodesDir: [FLOWS_DIR],
    uiHost: config.host,
    uiPort: config.port,
    httpAdminRoot: '/',
    httpNodeRoot: '/',
    adminAuth: {
      type: 'credentials',
      users: [{ username: config.admin.username, password: bcrypt.hashSync(config.admin.password, ADMIN_HASH_ROUNDS), permissions: '*' }],
    },
    // Threshold state and flow context survive a restart.
    contextStorage: { default: { module: 'localfilesystem' } },
    logging: { console: { level: NODE_RED_LOG_LEVELS[config.logLevel], metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false, page: { title: 'StreetWatch flows' }, header: { title: 'StreetWatch flows' } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    // Read by the StreetWatch platform config node for any field a flow leaves empty.
    streetwatchPlatform: { ...config.platform },
  };
  if (config.credentialSecret) settings.credentialSecret = config.credentialSecret;

  // The admin API and editor first, then HTTP-in nodes, then 404: no express app of our own is needed.
  const server = http.createServer((req, res) => {
    RED.httpAdmin(req, res, () =>
      RED.httpNode(req, res, () => {
        res.statusCode = 404;
        res.end();
      }),
    );
  });
  RED.init(server, settings);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await RED.start();
  } catch (err) {
    server.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  return {
    port,
    version: NODE_RED_VERSION,
    seeded,
    red: RED,
    stop: () =>
      (stopping ??= (async () => {
        await RED.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}
