/**
 * Node tests run the nodes exactly as Node-RED loads them: the CommonJS files in flows/nodes,
 * requiring the library built from flows/src, inside node-red-node-test-helper's runtime.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import helper, { type FlowNode, type NodeModule } from 'node-red-node-test-helper';
import { FLOWS_DIR, buildLibrary } from '../../flows/build.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startTestPlatform, waitFor, type TestPlatform } from './harness.js';

const require = createRequire(import.meta.url);
let built: Promise<unknown> | undefined;

/** The nodes' library, built once per test process. */
export function ensureLibrary(): Promise<unknown> {
  return (built ??= buildLibrary());
}

/** A node module from flows/nodes, e.g. `streetwatchNode('threshold')`. */
export function streetwatchNode(name: string): NodeModule {
  return require(path.join(FLOWS_DIR, 'nodes', `${name}.cjs`)) as NodeModule;
}

export async function startHelper(settings: Record<string, unknown> = {}): Promise<typeof helper> {
  await ensureLibrary();
  helper.init(require.resolve('node-red'), settings);
  await helper.startServer();
  return helper;
}

/**
 * A suite's platform and Node-RED runtime: both started before its tests, the flow unloaded
 * after each test, both stopped after the suite. Read the fields inside tests and hooks.
 */
export function nodeRedSuite(): { sw: TestPlatform; helper: typeof helper } {
  const suite = {} as { sw: TestPlatform; helper: typeof helper };
  beforeAll(async () => {
    suite.sw = await startTestPlatform();
    suite.helper = await startHelper();
  });
  afterEach(() => suite.helper?.unload());
  afterAll(async () => {
    await suite.helper?.stopServer();
    await suite.sw?.stop();
  });
  return suite;
}

export function node(id: string): FlowNode {
  const n = helper.getNode(id);
  if (!n) throw new Error(`no node ${id} in the flow`);
  return n;
}

/** Messages a helper node receives from now on. */
export function received(id: string): Record<string, any>[] {
  const got: Record<string, any>[] = [];
  node(id).on('input', (msg: Record<string, any>) => got.push(msg));
  return got;
}

/** Waits until the platform config node is connected and has the city: its subscriptions are then all in place. */
export async function platformReady(id: string): Promise<void> {
  const p = node(id) as FlowNode & { connectionStatus(): string; outline(): unknown };
  await waitFor(() => p.connectionStatus() === 'connected' && p.outline() !== undefined, `platform node ${id} connected with the city`);
}

/** The platform config node and its credentials, pointed at a test platform. */
export function platformConfig(mqttUrl: string, token: string, id = 'p1'): { node: Record<string, unknown>; credentials: Record<string, Record<string, string>> } {
  return { node: { id, type: 'streetwatch-platform', url: mqttUrl, operator: 'flows' }, credentials: { [id]: { token } } };
}
