import { describe, expect, it } from 'vitest';
import type { SupervisionOrder } from '../schemas.js';
import { actOnOrder } from './supervision.js';

const order: SupervisionOrder = {
  id: 'SW-1-S1',
  ticketId: 'SW-1',
  subcenterId: 'linhe',
  issuedTo: 'district',
  reason: 'response_overdue',
  deadline: 10,
  status: 'issued',
  createdAt: 20,
  updatedAt: 20,
  timeline: [],
};

describe('supervision orders', () => {
  it('go issued → acknowledged → closed, with notes along the way', () => {
    const acked = actOnOrder(order, 'acknowledge', 'unit:district', 30, '已督办');
    expect(acked).toMatchObject({ status: 'acknowledged', updatedAt: 30, timeline: [{ at: 30, actor: 'unit:district', action: 'acknowledged', note: '已督办' }] });
    const noted = actOnOrder(acked, 'note', 'unit:linhe', 40, '已派人');
    expect(noted).toMatchObject({ status: 'acknowledged' });
    const closed = actOnOrder(noted, 'close', 'unit:district', 50);
    expect(closed.status).toBe('closed');
    expect(actOnOrder(order, 'close', 'admin', 30).status).toBe('closed');
  });

  it('refuses moves outside the table', () => {
    const closed = actOnOrder(order, 'close', 'admin', 30);
    for (const action of ['acknowledge', 'close', 'note'] as const) {
      expect(() => actOnOrder(closed, action, 'admin', 40, 'x')).toThrow(expect.objectContaining({ code: 'SW_ERR_SUPERVISION_TRANSITION', status: 409 }));
    }
    const acked = actOnOrder(order, 'acknowledge', 'admin', 30);
    expect(() => actOnOrder(acked, 'acknowledge', 'admin', 40)).toThrow(expect.objectContaining({ code: 'SW_ERR_SUPERVISION_TRANSITION' }));
  });
});
