import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../schemas.js';
import { MAX_TIMELINE_BYTES, MAX_TIMELINE_ENTRIES, SUMMARY_ACTION, appendTimeline } from './timeline.js';

const opening: TimelineEntry[] = [
  { at: 1, actor: 'sensor:wl-1', action: 'created', note: 'water_level 0.5 m' },
  { at: 1, actor: 'system', action: 'graded', note: 'C → B' },
  { at: 1, actor: 'system', action: 'dispatched', note: 'routed to linhe' },
];
const bytes = (t: readonly TimelineEntry[]): number => Buffer.byteLength(JSON.stringify(t));

describe('ticket timeline', () => {
  it('rolls a sensor firing and clearing over and over up into two counted entries', () => {
    let t = opening;
    for (let i = 0; i < 523; i++) {
      t = appendTimeline(t, { at: 1_000 + 2 * i, actor: 'sensor:wl-1', action: 'alert', note: 'water_level high' });
      t = appendTimeline(t, { at: 1_001 + 2 * i, actor: 'sensor:wl-1', action: 'alert_resolved', note: 'water_level normal' });
    }
    expect(t).toHaveLength(5);
    expect(t[3]).toMatchObject({ action: 'alert', count: 523, since: 1_000, at: 2_044 });
    expect(t[3]!.note).toBe('water_level high (523 times between 1970-01-01T00:00:01.000Z and 1970-01-01T00:00:02.044Z)');
    expect(t[4]).toMatchObject({ action: 'alert_resolved', count: 523, at: 2_045 });
  });

  it('does not roll repeats up across what people did in between', () => {
    let t = appendTimeline(opening, { at: 10, actor: 'sensor:wl-1', action: 'alert' });
    t = appendTimeline(t, { at: 11, actor: 'unit:linhe', action: 'feedback', note: '已到场' });
    t = appendTimeline(t, { at: 12, actor: 'sensor:wl-1', action: 'alert' });
    expect(t.slice(3).map((e) => [e.action, e.count])).toEqual([
      ['alert', undefined],
      ['feedback', undefined],
      ['alert', undefined],
    ]);
  });

  it('keeps 400 long feedback notes under its byte cap, the opening entries and the latest ones, with a summary of the rest', () => {
    let t = opening;
    for (let i = 0; i < 400; i++) t = appendTimeline(t, { at: 100 + i, actor: 'unit:linhe', action: 'feedback', note: `${i}:${'反'.repeat(1_990)}` });
    expect(bytes(t)).toBeLessThan(MAX_TIMELINE_BYTES + 4_096);
    expect(t.slice(0, 3)).toEqual(opening);
    expect(t[3]).toMatchObject({ action: SUMMARY_ACTION, actor: 'system', since: 100 });
    expect(t.at(-1)!.note!.startsWith('399:')).toBe(true);
    const kept = t.length - 4;
    expect(t[3]!.count).toBe(400 - kept);
    expect(t[3]!.at).toBeLessThan(t[4]!.at);
  });

  it('keeps at most its entry cap of short entries, the summary counting everything folded', () => {
    let t = opening;
    for (let i = 0; i < 1_000; i++) t = appendTimeline(t, { at: 100 + i, actor: 'admin', action: 'feedback', note: String(i) });
    expect(t).toHaveLength(MAX_TIMELINE_ENTRIES);
    expect(t[3]).toMatchObject({ action: SUMMARY_ACTION, count: 1_000 - (MAX_TIMELINE_ENTRIES - 4), since: 100 });
    expect(t.at(-1)).toMatchObject({ note: '999' });
  });
});
