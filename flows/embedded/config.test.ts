import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/harness.js';
import { loadFlowsConfig } from './config.js';

const base = { STREETWATCH_FLOWS_PASSWORD: 'correct-horse', STREETWATCH_OPERATOR_TOKEN: 'swo_0123456789abcdef' };

describe('loadFlowsConfig', () => {
  it('points at the local platform on the defaults, with the data dir beside it', () => {
    const c = loadFlowsConfig(base);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 1880,
      userDir: path.resolve('data/node-red'),
      admin: { username: 'admin', password: 'correct-horse' },
      credentialSecret: undefined,
      platform: { url: 'mqtt://localhost:1883', operator: 'flows', token: 'swo_0123456789abcdef' },
    });
  });

  it('reads the operator token the platform generated in its data dir', () => {
    const dir = tempDir('flows-config');
    fs.writeFileSync(path.join(dir, 'operator-token'), 'swo_generated-by-the-platform\n');
    const c = loadFlowsConfig({ STREETWATCH_FLOWS_PASSWORD: 'correct-horse', STREETWATCH_DATA_DIR: dir });
    expect(c.platform.token).toBe('swo_generated-by-the-platform');
    expect(c.userDir).toBe(path.join(dir, 'node-red'));
  });

  it.each([
    [{ STREETWATCH_OPERATOR_TOKEN: base.STREETWATCH_OPERATOR_TOKEN }, 'STREETWATCH_FLOWS_PASSWORD: is required'],
    [{ ...base, STREETWATCH_FLOWS_PASSWORD: 'short' }, 'STREETWATCH_FLOWS_PASSWORD: must be at least 8 characters (value hidden)'],
    [{ ...base, STREETWATCH_MQTT_URL: 'http://localhost:1883' }, 'STREETWATCH_MQTT_URL: must be an mqtt://'],
    [{ ...base, STREETWATCH_OPERATOR_NAME: 'ops team' }, 'STREETWATCH_OPERATOR_NAME'],
    [{ ...base, STREETWATCH_FLOWS_PORT: '99999' }, 'STREETWATCH_FLOWS_PORT'],
    [{ STREETWATCH_FLOWS_PASSWORD: 'correct-horse', STREETWATCH_DATA_DIR: '/nonexistent-sw' }, 'STREETWATCH_OPERATOR_TOKEN: is not set and /nonexistent-sw/operator-token does not exist'],
  ])('names the variable that is wrong or missing: %j', (env, message) => {
    expect(() => loadFlowsConfig(env)).toThrow(expect.objectContaining({ code: 'SW_ERR_CONFIG_ENV', message: expect.stringContaining(message) }));
  });

  it('never echoes a secret', () => {
    expect(() => loadFlowsConfig({ ...base, STREETWATCH_OPERATOR_TOKEN: 'has spaces in it, so no' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('has spaces') }));
  });
});
