import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { platformConfig, platformReady, received, nodeRedSuite, streetwatchNode } from '../../test/support/node-red.js';

const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('streetwatch-camera-events node', () => {
  const suite = nodeRedSuite();

  it('sends the camera events, filtered by type and zone', async () => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(
      [streetwatchNode('platform'), streetwatchNode('camera-events')],
      [
        p.node,
        { id: 'cam1', type: 'streetwatch-camera-events', platform: 'p1', eventType: 'smoke', wires: [['bySmoke']] },
        { id: 'cam2', type: 'streetwatch-camera-events', platform: 'p1', zoneIds: 'south-school', wires: [['bySchool']] },
        { id: 'bySmoke', type: 'helper' },
        { id: 'bySchool', type: 'helper' },
      ],
      p.credentials,
    );
    const [bySmoke, bySchool] = [received('bySmoke'), received('bySchool')];
    await platformReady('p1');

    const gate = await suite.sw.connect('cam-c1', await suite.sw.provision('cam-c1', IN_SCHOOL, 'camera'));
    const tunnel = await suite.sw.connect('cam-c2', await suite.sw.provision('cam-c2', IN_TUNNEL, 'camera'));
    await gate.publishAsync('v1/devices/cam-c1/events', JSON.stringify({ type: 'crowd', count: 120, score: 0.9 }), { qos: 1 });
    await tunnel.publishAsync('v1/devices/cam-c2/events', JSON.stringify({ type: 'smoke', score: 0.8 }), { qos: 1 });
    await gate.publishAsync('v1/devices/cam-c1/events', JSON.stringify({ type: 'smoke', score: 0.7 }), { qos: 1 });

    await waitFor(() => bySmoke.length >= 2 && bySchool.length >= 2, 'the events');
    expect(bySmoke.map((m) => m.topic).sort()).toEqual(['v1/operators/events/smoke/cam-c1', 'v1/operators/events/smoke/cam-c2']);
    expect(bySchool.map((m) => m.payload.type)).toEqual(['crowd', 'smoke']);
    expect(bySchool[0]!.payload).toMatchObject({ deviceId: 'cam-c1', count: 120, score: 0.9, zoneIds: ['south-school'], subcenterId: 'south' });
  });
});
