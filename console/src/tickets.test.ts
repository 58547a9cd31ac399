import { describe, expect, it } from 'vitest';
import { moved, T0, ticket } from './test-tickets.js';
import { availableActions, DEFAULT_FILTER, deadlineState, inboxOrder, isOverdue, matches, responseState, resolutionState } from './tickets.js';

const MIN = 60_000;

describe('deadlines', () => {
  it('runs, is met, or is missed and by how much', () => {
    expect(deadlineState(T0 + 10 * MIN, null, T0)).toEqual({ kind: 'running', left: 10 * MIN });
    expect(deadlineState(T0 + 10 * MIN, T0 + 5 * MIN, T0 + 20 * MIN)).toEqual({ kind: 'met', at: T0 + 5 * MIN });
    expect(deadlineState(T0 + 10 * MIN, null, T0 + 13 * MIN)).toEqual({ kind: 'missed', by: 3 * MIN });
    expect(deadlineState(T0 + 10 * MIN, T0 + 12 * MIN, T0 + 20 * MIN)).toEqual({ kind: 'missed', by: 2 * MIN, met: T0 + 12 * MIN });
  });

  it('counts the response the server recorded', () => {
    const acked = moved(ticket(), 'acknowledged', T0 + 10 * MIN);
    expect(responseState(acked, T0 + 60 * MIN)).toEqual({ kind: 'met', at: T0 + 10 * MIN });
    const started = moved(ticket(), 'in_progress', T0 + 40 * MIN);
    expect(responseState(started, T0 + 60 * MIN)).toMatchObject({ kind: 'missed', by: 10 * MIN });
  });

  it('meets the resolution deadline only once resolved', () => {
    const resolved = moved(moved(ticket(), 'acknowledged', T0 + MIN), 'resolved', T0 + 60 * MIN);
    expect(resolutionState(resolved, T0 + 24 * 60 * MIN)).toEqual({ kind: 'met', at: T0 + 60 * MIN });
    expect(resolutionState(ticket(), T0 + 13 * 60 * MIN)).toMatchObject({ kind: 'missed' });
  });
});

describe('overdue', () => {
  it('turns red when a deadline passes unanswered, and stays red once the server flagged it', () => {
    expect(isOverdue(ticket(), T0 + 29 * MIN)).toBe(false);
    expect(isOverdue(ticket(), T0 + 31 * MIN)).toBe(true);
    expect(isOverdue(moved(ticket(), 'acknowledged', T0 + 5 * MIN), T0 + 31 * MIN)).toBe(false);
    expect(isOverdue(moved({ ...ticket(), red: true }, 'acknowledged', T0 + 40 * MIN), T0 + 41 * MIN)).toBe(true);
  });

  it('leaves closed tickets alone', () => {
    const closed = moved(moved(ticket(), 'resolved', T0 + 13 * 60 * MIN), 'closed', T0 + 14 * 60 * MIN);
    expect(isOverdue(closed, T0 + 15 * 60 * MIN)).toBe(false);
  });
});

describe('actions offered', () => {
  it('follows the lifecycle', () => {
    expect(availableActions(ticket())).toEqual(['ack', 'start', 'resolve', 'feedback', 'reassign']);
    expect(availableActions(moved(ticket(), 'acknowledged', T0))).toEqual(['start', 'resolve', 'feedback', 'reassign']);
    expect(availableActions(moved(ticket(), 'resolved', T0))).toEqual(['close', 'feedback']);
    expect(availableActions(moved(moved(ticket(), 'resolved', T0), 'closed', T0))).toEqual([]);
  });
});

describe('inbox', () => {
  const now = T0 + 40 * MIN;
  const overdueB = ticket({ id: 'late' });
  const freshA = ticket({ id: 'a', grade: 'A', createdAt: now - MIN, respondBy: now + 14 * MIN, resolveBy: now + 4 * 60 * MIN });
  const freshC = ticket({ id: 'c', grade: 'C', createdAt: now - MIN, respondBy: now + 60 * MIN, resolveBy: now + 24 * 60 * MIN, subcenterId: 'south' });

  it('puts overdue first, then by grade, then newest', () => {
    expect([freshC, freshA, overdueB].sort(inboxOrder(now)).map((t) => t.id)).toEqual(['late', 'a', 'c']);
  });

  it('filters by status, grade, sub-center, overdue and text', () => {
    const closed = moved(moved(ticket({ id: 'done' }), 'resolved', T0), 'closed', T0);
    const all = [overdueB, freshA, freshC, closed];
    const pick = (f: Partial<typeof DEFAULT_FILTER>) => all.filter((t) => matches(t, { ...DEFAULT_FILTER, ...f }, now)).map((t) => t.id);
    expect(pick({})).toEqual(['late', 'a', 'c']);
    expect(pick({ status: 'all' })).toEqual(['late', 'a', 'c', 'done']);
    expect(pick({ status: 'closed' })).toEqual(['done']);
    expect(pick({ grade: 'A' })).toEqual(['a']);
    expect(pick({ subcenterId: 'south' })).toEqual(['c']);
    expect(pick({ overdueOnly: true })).toEqual(['late']);
    expect(pick({ text: 'WL-1', grade: 'C' })).toEqual(['c']);
  });
});
