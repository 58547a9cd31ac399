import { afterEach, describe, expect, it } from 'vitest';
import { tool } from './tools.js';

describe('tools the tests drive', () => {
  const ci = process.env.CI;
  afterEach(() => {
    if (ci === undefined) delete process.env.CI;
    else process.env.CI = ci;
  });

  it('skips tests of a missing tool outside CI', () => {
    delete process.env.CI;
    expect(tool('no-such-command-for-streetwatch', 'apt-get install -y nothing').run).toBe(false);
  });

  it('runs them in CI, where they fail saying what to install', () => {
    process.env.CI = '1';
    const missing = tool('no-such-command-for-streetwatch', 'apt-get install -y nothing');
    expect(missing.run).toBe(true);
    expect(() => missing.require()).toThrow('no-such-command-for-streetwatch is not installed, and CI needs it for this test: apt-get install -y nothing');
  });

  it('finds a tool that is there', () => {
    const sh = tool('sh', 'apt-get install -y dash');
    expect(sh.run).toBe(true);
    expect(() => sh.require()).not.toThrow();
  });
});
