import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/harness.js';
import { platformConfig, platformReady, received, nodeRedSuite, streetwatchNode } from '../../test/support/node-red.js';

const IN_TUNNEL = { lat: 23.145, lon: 113.315 };

describe('streetwatch-ticket-events node', () => {
  const suite = nodeRedSuite();

  it("sends a unit's ticket events, filtered by event type", async () => {
    const p = platformConfig(suite.sw.mqttUrl, suite.sw.platform.operatorToken!);
    await suite.helper.load(
      [streetwatchNode('platform'), streetwatchNode('ticket-events')],
      [
        p.node,
        { id: 'tk1', type: 'streetwatch-ticket-events', platform: 'p1', unit: 'north', wires: [['byNorth']] },
        { id: 'tk2', type: 'streetwatch-ticket-events', platform: 'p1', unit: 'south', wires: [['bySouth']] },
        { id: 'tk3', type: 'streetwatch-ticket-events', platform: 'p1', events: 'ticket.updated', wires: [['byUpdate']] },
        { id: 'byNorth', type: 'helper' },
        { id: 'bySouth', type: 'helper' },
        { id: 'byUpdate', type: 'helper' },
      ],
      p.credentials,
    );
    const [byNorth, bySouth, byUpdate] = [received('byNorth'), received('bySouth'), received('byUpdate')];
    await platformReady('p1');

    const wl = await suite.sw.connect('wl-t1', await suite.sw.provision('wl-t1', IN_TUNNEL, 'water_level'));
    await wl.publishAsync('v1/devices/wl-t1/telemetry', JSON.stringify({ values: { water_level: 0.8 } }), { qos: 1 });
    const created = await waitFor(() => byNorth[0], 'the created ticket');
    expect(created.topic).toBe('v1/operators/tickets/north');
    expect(created.payload).toMatchObject({ event: 'ticket.created', recipients: ['north', 'water-affairs'], ticket: { subcenterId: 'north', category: 'flooding', status: 'dispatched' } });

    expect((await suite.sw.api('POST', `/api/tickets/${created.payload.ticket.id}/ack`, { note: '已派网格员' })).status).toBe(200);
    const acked = await waitFor(() => byUpdate[0], 'the acknowledgment');
    expect(acked.payload).toMatchObject({ event: 'ticket.updated', ticket: { id: created.payload.ticket.id, status: 'acknowledged' } });
    await waitFor(() => byNorth.length >= 2 || undefined, 'both events of the north unit');
    expect(byNorth.map((m) => m.payload.event)).toEqual(['ticket.created', 'ticket.updated']);
    expect(bySouth).toEqual([]);
  });
});
