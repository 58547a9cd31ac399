import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { node, platformConfig, platformReady, received, nodeRedSuite, streetwatchNode } from '../../test/support/node-red.js';

const nodes = [streetwatchNode('platform'), streetwatchNode('alert')];
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };

describe('streetwatch-alert node', () => {
  const suite = nodeRedSuite();
  beforeAll(() => suite.sw.provision('nz-a1', IN_SCHOOL, 'noise'));

  const load = async (settings: Record<string, unknown> = {}): Promise<void> => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(
      nodes,
      [
        p.node,
        { id: 'a1', type: 'streetwatch-alert', platform: 'p1', ruleId: 'school-noise', grade: 'C', category: 'fire', ...settings },
        { id: 'c1', type: 'complete', scope: ['a1'], wires: [['done']] },
        { id: 'done', type: 'helper' },
        { id: 'c2', type: 'catch', scope: ['a1'], wires: [['errors']] },
        { id: 'errors', type: 'helper' },
      ],
      p.credentials,
    );
    await platformReady('p1');
  };

  it('raises an alert that becomes a ticket, and its resolution, done at the acknowledgment', async () => {
    await load();
    const done = received('done');
    const startsAt = Date.now() - 10 * 60_000;
    const reading = { deviceId: 'nz-a1', metric: 'noise', value: 68, ts: Date.now() - 1000, zoneIds: ['south-school'] };
    node('a1').receive({ payload: reading, threshold: { status: 'firing', startsAt, bound: 55 }, zone: { id: 'south-school' } });
    await waitFor(() => done[0], 'the acknowledgment');
    const { body } = await suite.sw.api('GET', '/api/tickets?subcenter=south');
    expect(body.tickets).toHaveLength(1);
    const ticket = body.tickets[0];
    expect(ticket).toMatchObject({ subcenterId: 'south', category: 'fire', department: 'fire-rescue', grade: 'C', zoneId: 'south-school', ruleId: 'school-noise', devices: ['nz-a1'], location: IN_SCHOOL });
    expect(ticket.alerts).toMatchObject([{ fingerprint: 'operator:flows/school-noise/nz-a1', status: 'firing', value: 68 }]);

    node('a1').receive({ payload: { ...reading, value: 48, ts: Date.now() }, threshold: { status: 'resolved', startsAt, bound: 55 }, zone: { id: 'south-school' } });
    await waitFor(() => done[1], 'the second acknowledgment');
    const { body: after } = await suite.sw.api('GET', `/api/tickets/${ticket.id}`);
    expect(after.alerts).toMatchObject([{ status: 'resolved', value: 48 }]);
  });

  it("ends a message the platform refuses with the platform's code, and one that breaks the contract before sending", async () => {
    await load();
    const errors = received('errors');
    node('a1').receive({ payload: { deviceId: 'ghost', metric: 'noise', value: 70 } });
    node('a1').receive({ payload: { deviceId: 'nz-a1', metric: 'noise', value: 70 }, alert: { zoneId: 'atlantis' } });
    node('a1').receive({ payload: { deviceId: 'nz-a1', metric: 'noise' } });
    await waitFor(() => errors.length >= 3 || undefined, 'three errors');
    expect(errors.map((m) => m.error.code).sort()).toEqual(['SW_ERR_DEVICE_UNKNOWN', 'SW_ERR_PAYLOAD_SCHEMA', 'SW_ERR_REFERENCE_UNKNOWN']);
    expect(errors.find((m) => m.error.code === 'SW_ERR_REFERENCE_UNKNOWN')!.error.message).toBe('SW_ERR_REFERENCE_UNKNOWN: zone "atlantis" is not in the city configuration');
    expect(errors.find((m) => m.error.code === 'SW_ERR_PAYLOAD_SCHEMA')!.error.message).toContain('value');
  });
});
