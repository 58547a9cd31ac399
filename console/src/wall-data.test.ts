import { describe, expect, it } from 'vitest';
import { dayCounts, latestAlerts, startOfDay } from './wall-data.js';
import { T0, moved, ticket } from './test-tickets.js';

const HOUR = 3_600_000;

describe('the wall\'s figures', () => {
  it('counts the day: open by grade, overdue, opened and closed since midnight', () => {
    const now = T0 + 5 * HOUR;
    const day = startOfDay(now);
    const tickets = [
      ticket({ id: 'a', grade: 'A', createdAt: day + HOUR, respondBy: now + HOUR }),
      ticket({ id: 'b', grade: 'B', createdAt: day - 2 * HOUR, respondBy: now - HOUR }),
      moved(ticket({ id: 'c', grade: 'C', createdAt: day + 2 * HOUR }), 'closed', day + 3 * HOUR),
      moved(ticket({ id: 'd', grade: 'D', createdAt: day - 30 * HOUR }), 'closed', day - 20 * HOUR),
    ];
    expect(dayCounts(tickets, now)).toEqual({ open: 2, overdue: 1, newToday: 2, closedToday: 1, byGrade: { A: 1, B: 1, C: 0, D: 0 } });
  });

  it('takes the day from local midnight', () => {
    const now = new Date(2026, 5, 1, 9, 30).getTime();
    expect(startOfDay(now)).toBe(new Date(2026, 5, 1).getTime());
  });

  it('lists the latest alerts across tickets, newest first, at most n', () => {
    const alert = (fp: string, lastSeen: number) => ({ id: fp, fingerprint: fp, deviceId: fp, ruleId: 'r', metric: 'water_level', value: 1, status: 'firing' as const, firstSeen: lastSeen, lastSeen });
    const tickets = [ticket({ id: 'x', alerts: [alert('1', 10), alert('3', 30)] }), ticket({ id: 'y', grade: 'A', alerts: [alert('2', 20), alert('4', 40)] })];
    expect(latestAlerts(tickets, 3).map((l) => `${l.ticketId}/${l.alert.fingerprint}/${l.grade}`)).toEqual(['y/4/A', 'x/3/B', 'y/2/A']);
  });
});
