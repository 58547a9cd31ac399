/**
 * The examples of docs/DEVICE-PROTOCOL.md, run as written against a real StreetWatch. The
 * MQTT.js one always runs; mosquitto_pub runs where it is installed and in CI (where it must
 * be: `apt install mosquitto-clients`); Paho where it is installed (`pip install
 * "paho-mqtt>=2"`; SW_TEST_PYTHON names the Python to use).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../core/config.js';
import { DEVICE_PROTOCOL_DOC } from '../../schemas/doc-tables.js';
import { startTestPlatform, waitFor, type TestPlatform } from '../support/harness.js';
import { mosquittoClients } from '../support/tools.js';

const run = promisify(execFile);
const doc = fs.readFileSync(DEVICE_PROTOCOL_DOC, 'utf8');
const SITE = { lat: 23.145, lon: 113.315 };

function example(marker: string, lang: string): string {
  const m = new RegExp(`<!-- example:${marker} -->\\n\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`no ${lang} example marked ${marker} in the device protocol`);
  return m[1]!;
}

function available(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const python = process.env.SW_TEST_PYTHON ?? 'python3';
const hasPaho = available(python, ['-c', 'import paho.mqtt.client']);

describe('device protocol examples', () => {
  let sw: TestPlatform;
  beforeAll(async () => {
    sw = await startTestPlatform();
  });
  afterAll(async () => {
    await sw?.stop();
  });

  const env = (id: string, secret: string): NodeJS.ProcessEnv => {
    const { port } = new URL(sw.mqttUrl);
    return { ...process.env, MQTT_URL: sw.mqttUrl, MQTT_HOST: '127.0.0.1', MQTT_PORT: port, DEVICE_ID: id, DEVICE_SECRET: secret };
  };
  const stored = async (id: string) => {
    await sw.settled();
    return (await sw.platform.series.query({ deviceId: id, from: 0, to: Date.now() + 60_000 })).map((r) => [r.metric, r.value]);
  };
  const status = async (id: string) => (await sw.api('GET', `/api/devices/${id}`)).body.status as string;

  it('MQTT.js', async () => {
    const secret = await sw.provision('ex-js', SITE, 'water_level');
    // Inside node_modules, so `import 'mqtt'` resolves to the repository's copy.
    const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'streetwatch-doc-examples');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'device.mjs');
    fs.writeFileSync(file, example('mqttjs', 'js'));
    const { stdout } = await run(process.execPath, [file], { env: env('ex-js', secret), timeout: 20_000 });
    expect(stdout).toMatch(/^refused \([0-9a-f-]{36}\): SW_ERR_METRIC_RANGE: metric water_level: value 999/m);
    expect((await stored('ex-js')).sort()).toEqual([
      ['battery_v', 3.61],
      ['temperature', 26.5],
      ['temperature', 26.8],
      ['water_level', 0.42],
    ]);
    await waitFor(async () => (await status('ex-js')) === 'offline' || undefined, 'offline');
  });

  it.runIf(hasPaho)('Paho (Python)', async () => {
    const secret = await sw.provision('ex-py', SITE, 'gas');
    const { stdout } = await run(python, ['-c', example('paho', 'python')], { env: env('ex-py', secret), timeout: 20_000 });
    expect(stdout).toMatch(/^refused \([0-9a-f-]{36}\): SW_ERR_PAYLOAD_SCHEMA: .*values\.gas_lel/m);
    expect((await stored('ex-py')).sort()).toEqual([
      ['co', 4],
      ['gas_lel', 3.2],
    ]);
    await waitFor(async () => (await status('ex-py')) === 'offline' || undefined, 'offline');
  });

  it.runIf(mosquittoClients.run)('mosquitto_pub', async () => {
    mosquittoClients.require();
    const secret = await sw.provision('ex-sh', SITE, 'water_level');
    const block = /### mosquitto_pub[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)![1]!;
    const script = block.replaceAll('-h localhost -p 1883', `-h 127.0.0.1 -p ${new URL(sw.mqttUrl).port}`);
    await run('sh', ['-ec', script], { env: env('ex-sh', secret), timeout: 20_000 });
    expect((await stored('ex-sh')).sort()).toEqual([
      ['battery_v', 3.61],
      ['rainfall', 12.5],
      ['water_level', 0.42],
    ]);
  });
});
