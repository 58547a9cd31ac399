import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { node, platformConfig, platformReady, received, nodeRedSuite, streetwatchNode } from '../../test/support/node-red.js';

const nodes = [streetwatchNode('platform'), streetwatchNode('readings')];
const IN_SCHOOL = { lat: 23.115, lon: 113.315 };
const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('streetwatch-readings node', () => {
  const suite = nodeRedSuite();

  it('sends the readings devices publish, filtered by metric, device and zone', async () => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(
      nodes,
      [
        p.node,
        { id: 'byMetric', type: 'streetwatch-readings', platform: 'p1', metric: 'noise', wires: [['metric']] },
        { id: 'byDevice', type: 'streetwatch-readings', platform: 'p1', device: 'wl-r1', wires: [['device']] },
        { id: 'bySchool', type: 'streetwatch-readings', platform: 'p1', zoneKind: 'school', wires: [['school']] },
        { id: 'metric', type: 'helper' },
        { id: 'device', type: 'helper' },
        { id: 'school', type: 'helper' },
      ],
      p.credentials,
    );
    const [metric, device, school] = [received('metric'), received('device'), received('school')];
    await platformReady('p1');

    const nz = await suite.sw.connect('nz-r1', await suite.sw.provision('nz-r1', IN_SCHOOL, 'noise'));
    const wl = await suite.sw.connect('wl-r1', await suite.sw.provision('wl-r1', IN_TUNNEL, 'water_level'));
    // A minute ago: readings more than a week old are refused (STREETWATCH_MAX_READING_AGE).
    const t0 = Date.now() - 60_000;
    await wl.publishAsync('v1/devices/wl-r1/telemetry', JSON.stringify({ ts: t0, values: { water_level: 0.12, battery_v: 3.6 } }), { qos: 1 });
    await nz.publishAsync('v1/devices/nz-r1/telemetry', JSON.stringify({ ts: t0 + 1000, values: { noise: 62 } }), { qos: 1 });

    await waitFor(() => metric.length >= 1 && device.length >= 2 && school.length >= 1, 'the readings');
    expect(metric.map((m) => m.topic)).toEqual(['v1/operators/readings/noise/nz-r1']);
    expect(metric[0]!.payload).toMatchObject({ deviceId: 'nz-r1', metric: 'noise', value: 62, unit: 'dBA', ts: t0 + 1000, loc: IN_SCHOOL, zoneIds: ['south-school'], subcenterId: 'south' });
    expect(device.map((m) => m.payload.metric).sort()).toEqual(['battery_v', 'water_level']);
    expect(school.map((m) => m.payload.deviceId)).toEqual(['nz-r1']);
  });

  it('reports a filter that cannot be a topic level', async () => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(nodes, [p.node, { id: 'bad', type: 'streetwatch-readings', platform: 'p1', metric: 'noise/#', wires: [] }], p.credentials);
    const status = node('bad').status as unknown as { args: [{ text?: string }][] };
    expect(status.args.at(-1)![0].text).toContain('metric "noise/#" must match');
  });
});
