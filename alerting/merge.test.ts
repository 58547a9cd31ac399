import { describe, expect, it } from 'vitest';
import { MergePolicy } from '../core/city.js';
import { distanceMetres, nearbyTicket } from './merge.js';
import { ticketFromAlert } from '../core/tickets/lifecycle.js';
import { SlaFile } from '../core/city.js';
import type { Alert } from '../core/schemas.js';

const sla = SlaFile.parse({ grades: Object.fromEntries(['A', 'B', 'C', 'D'].map((g) => [g, { respondWithin: '1h', resolveWithin: '4h', remindBefore: '10m' }])) });
const policy = MergePolicy.parse({ window: '30m', radius: 200 });
const min = 60_000;

function alert(over: Partial<Alert>): Alert {
  return {
    id: 'x',
    fingerprint: 'smoke/s-1',
    status: 'firing',
    ruleId: 'smoke',
    deviceId: 's-1',
    metric: 'smoke',
    value: 20,
    grade: 'B',
    category: 'fire',
    department: 'fire-rescue',
    loc: { lat: 23.13, lon: 113.32 },
    ts: 10 * min,
    startsAt: 10 * min,
    summary: 's',
    ...over,
  };
}

const ticket = (id: string, a: Alert) => ticketFromAlert(a, { id, now: a.ts, route: { subcenterId: 'linhe', fallback: false }, department: 'fire-rescue', sla, zoneRisk: undefined, title: 't' });

describe('alert storms outside zones', () => {
  it('measures street-scale distances', () => {
    // 0.001° of latitude is about 111 m.
    expect(distanceMetres({ lat: 23.13, lon: 113.32 }, { lat: 23.131, lon: 113.32 })).toBeCloseTo(111.2, 0);
  });

  it('merges a camera alert into the nearest sensor ticket of the same category within radius and window', () => {
    const near = ticket('T-near', alert({ loc: { lat: 23.1305, lon: 113.32 } }));
    const nearer = ticket('T-nearer', alert({ loc: { lat: 23.1301, lon: 113.32 } }));
    const cam = alert({ deviceId: 'cam-9', ruleId: 'camera-fire', fingerprint: 'camera-fire/cam-9', ts: 20 * min });
    expect(nearbyTicket([near, nearer], cam, policy)?.id).toBe('T-nearer');
  });

  it('keeps apart what is far, late, of another category, zoned or closed', () => {
    const t = ticket('T-1', alert({}));
    expect(nearbyTicket([t], alert({ loc: { lat: 23.133, lon: 113.32 } }), policy)).toBeUndefined();
    expect(nearbyTicket([t], alert({ ts: 41 * min }), policy)).toBeUndefined();
    expect(nearbyTicket([t], alert({ category: 'gas-leak' }), policy)).toBeUndefined();
    expect(nearbyTicket([t], alert({ zoneId: 'z' }), policy)).toBeUndefined();
    expect(nearbyTicket([{ ...t, status: 'closed' }], alert({}), policy)).toBeUndefined();
    expect(nearbyTicket([{ ...t, zoneId: 'z' }], alert({}), policy)).toBeUndefined();
    expect(nearbyTicket([t], alert({ ts: 40 * min }), policy)?.id).toBe('T-1');
  });
});
