import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { node, platformConfig, received, nodeRedSuite, streetwatchNode } from '../../test/support/node-red.js';

const nodes = [streetwatchNode('platform'), streetwatchNode('geofence')];
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };
const NOWHERE = { lat: 39.9, lon: 116.4 };

describe('streetwatch-geofence node', () => {
  const suite = nodeRedSuite();

  const load = async (settings: Record<string, unknown>): Promise<void> => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(
      nodes,
      [
        p.node,
        { id: 'g1', type: 'streetwatch-geofence', platform: 'p1', wires: [['inside'], ['outside']], ...settings },
        { id: 'inside', type: 'helper' },
        { id: 'outside', type: 'helper' },
        { id: 'c1', type: 'catch', scope: ['g1'], wires: [['errors']] },
        { id: 'errors', type: 'helper' },
      ],
      p.credentials,
    );
  };

  it('tags messages with their zone and sub-center, and splits them by the zone selector', async () => {
    await load({ zoneKind: 'school' });
    const [inside, outside] = [received('inside'), received('outside')];
    // Sent before the city has arrived: they wait for it, in order.
    node('g1').receive({ topic: 'a', payload: { loc: IN_SCHOOL } });
    node('g1').receive({ topic: 'b', payload: { loc: IN_TUNNEL } });
    node('g1').receive({ topic: 'c', payload: { loc: NOWHERE } });
    await waitFor(() => inside.length + outside.length >= 3 || undefined, 'three messages');
    expect(inside.map((m) => [m.topic, m.zone, m.subcenter, m.zoneIds])).toEqual([
      ['a', { id: 'south-school', name: '南小学', kind: 'school', risk: 'medium', tags: ['school'] }, { id: 'south', name: '南街道' }, ['south-school']],
    ]);
    expect(outside.map((m) => [m.topic, m.zone, m.subcenter?.id ?? null, m.zoneIds])).toEqual([
      ['b', null, 'north', ['north-tunnel']],
      ['c', null, null, []],
    ]);
  });

  it('reads the location from the property it is told, and reports a message without one', async () => {
    await load({ location: 'position' });
    const [inside, errors] = [received('inside'), received('errors')];
    node('g1').receive({ position: IN_TUNNEL });
    node('g1').receive({ payload: { loc: IN_TUNNEL } });
    await waitFor(() => inside.length >= 1 && errors.length >= 1, 'a tag and an error');
    expect(inside[0]!.zone.id).toBe('north-tunnel');
    expect(errors[0]!.error).toMatchObject({ code: 'SW_ERR_PAYLOAD_SCHEMA', message: 'SW_ERR_PAYLOAD_SCHEMA: msg.position is not a location {lat, lon}' });
  });
});
