import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { node, platformConfig, platformReady, nodeRedSuite, startHelper, streetwatchNode } from '../../test/support/node-red.js';

const nodes = [streetwatchNode('platform'), streetwatchNode('readings')];

describe('streetwatch-platform config node', () => {
  const suite = nodeRedSuite();

  const user = { id: 'r1', type: 'streetwatch-readings', platform: 'p1', wires: [] };
  type Platform = ReturnType<typeof node> & { connectionStatus(): string };

  it('connects as an operator once a node uses it, receives the city and serves its outline to the editor', async () => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(nodes, [p.node, user], p.credentials);
    await platformReady('p1');
    const res = await suite.helper.request().get('/streetwatch-platform/p1/city');
    expect(res.status).toBe(200);
    const outline = res.body as { zones: unknown[]; subcenters: { id: string }[]; categories: { id: string }[] };
    expect(outline.zones).toContainEqual({ id: 'south-school', name: '南小学', kind: 'school', risk: 'medium', tags: ['school'] });
    expect(outline.subcenters.map((s) => s.id)).toEqual(['north', 'south', 'test-district']);
    expect(outline.categories.map((c) => c.id)).toEqual(['flooding', 'fire']);
    expect(JSON.stringify(outline)).not.toContain('coordinates');
  });

  it('shows "refused" on its nodes when the platform rejects the token', async () => {
    const p = platformConfig(suite.sw.mqttUrl, 'swo_not-the-operator-token');
    await suite.helper.load(nodes, [p.node, user], p.credentials);
    await waitFor(() => (node('p1') as Platform).connectionStatus() === 'refused', 'the refusal');
    const statuses = (): (string | undefined)[] => (node('r1').status as unknown as { args: [{ text?: string }][] }).args.map(([s]) => s.text);
    await waitFor(() => statuses().some((t) => t?.startsWith('refused')), 'the refused status on the node');
    expect(statuses()[0]).toBe('connecting');
  });

  it('takes the broker URL, operator and token from the runtime settings when its own are empty', async () => {
    await suite.helper.unload();
    await suite.helper.stopServer();
    suite.helper = await startHelper({ streetwatchPlatform: { url: suite.sw.mqttUrl, operator: 'ops', token: suite.sw.platform.operatorToken } });
    await suite.helper.load(nodes, [{ id: 'p1', type: 'streetwatch-platform' }, user]);
    await platformReady('p1');
    expect((node('p1') as Platform & { operator: string }).operator).toBe('ops');
  });
});
