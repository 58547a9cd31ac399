/**
 * A ticket's timeline, bounded, pure. Repeats roll up (a sensor firing 523 times is one entry
 * "523 times between t1 and t2", not 523), and past a cap of entries or bytes the oldest entries
 * after the opening ones fold into one `summarized` entry. Shared by every writer of a timeline
 * (alerting, the API, timers, supervision orders) and by retention, so the bound holds
 * whoever appends.
 */
import type { TimelineEntry } from '../schemas.js';

/** Entries a timeline keeps: the whole story of a normal ticket, a summary of a runaway one. */
export const MAX_TIMELINE_ENTRIES = 100;
/** Bytes of entries (UTF-8 of their fields) a timeline keeps: with the alert cap, a ticket stays under 100 KB. */
export const MAX_TIMELINE_BYTES = 40 * 1024;
/** Opening entries (created, graded, dispatched) that are never summarized: they say where the ticket came from. */
export const TIMELINE_HEAD = 3;

/** Sensor entries that repeat while a device fires and clears: they roll up. */
const REPEATING = new Set(['alert', 'alert_resolved']);
/** The entry that stands for entries folded away. */
export const SUMMARY_ACTION = 'summarized';

/** Rough bytes of an entry as stored: its strings in UTF-8 plus the JSON around them. */
export function entryBytes(e: TimelineEntry): number {
  return 96 + Buffer.byteLength(e.actor) + Buffer.byteLength(e.action) + (e.note === undefined ? 0 : Buffer.byteLength(e.note));
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

/** The note of a rolled-up entry: what it said last, and how often between when. */
function rolledNote(latest: string | undefined, count: number, since: number, at: number): string {
  const tally = `${count} times between ${iso(since)} and ${iso(at)}`;
  return latest ? `${latest.slice(0, 1_800)} (${tally})` : tally;
}

/** The note a rolled-up entry carried before the tally was added. */
function plainNote(e: TimelineEntry): string | undefined {
  if (e.count === undefined || e.note === undefined) return e.note;
  const cut = e.note.lastIndexOf(' (');
  return cut >= 0 ? e.note.slice(0, cut) : undefined;
}

/**
 * Appends entries. A sensor `alert` or `alert_resolved` entry whose actor and action match one in
 * the trailing run of sensor entries (no person or the system wrote since) replaces it, counted;
 * then the timeline is held to its caps.
 */
export function appendTimeline(timeline: readonly TimelineEntry[], ...entries: TimelineEntry[]): TimelineEntry[] {
  let out = [...timeline];
  for (const entry of entries) out = rollUp(out, entry);
  return capTimeline(out);
}

function rollUp(timeline: TimelineEntry[], entry: TimelineEntry): TimelineEntry[] {
  if (!REPEATING.has(entry.action) || !entry.actor.startsWith('sensor:')) return [...timeline, entry];
  for (let i = timeline.length - 1; i >= 0; i--) {
    const e = timeline[i]!;
    // The run: what sensors wrote since anyone else wrote (a flapping mark does not end it).
    if (!e.actor.startsWith('sensor:')) break;
    if (e.actor !== entry.actor || e.action !== entry.action) continue;
    const count = (e.count ?? 1) + 1;
    const since = e.since ?? e.at;
    const at = Math.max(e.at, entry.at);
    const merged: TimelineEntry = { at, actor: entry.actor, action: entry.action, note: rolledNote(entry.note ?? plainNote(e), count, since, at), count, since };
    // Moved to the end: the timeline stays in time order, the repeat is where it last happened.
    return [...timeline.slice(0, i), ...timeline.slice(i + 1), merged];
  }
  return [...timeline, entry];
}

/**
 * Holds a timeline to MAX_TIMELINE_ENTRIES and MAX_TIMELINE_BYTES: the oldest entries after the
 * opening ones fold into the summary entry that follows the head (one, whatever was folded).
 */
export function capTimeline(timeline: readonly TimelineEntry[], maxEntries = MAX_TIMELINE_ENTRIES, maxBytes = MAX_TIMELINE_BYTES): TimelineEntry[] {
  let bytes = 0;
  for (const e of timeline) bytes += entryBytes(e);
  if (timeline.length <= maxEntries && bytes <= maxBytes) return [...timeline];
  const head = timeline.slice(0, Math.min(TIMELINE_HEAD, timeline.length));
  let rest = timeline.slice(head.length);
  const prior = rest[0]?.action === SUMMARY_ACTION ? rest[0] : undefined;
  if (prior) {
    rest = rest.slice(1);
    bytes -= entryBytes(prior);
  }
  let folded = prior?.count ?? 0;
  let since = prior?.since ?? prior?.at ?? rest[0]?.at ?? 0;
  let until = prior?.at ?? since;
  const summaryBytes = 256;
  let i = 0;
  // Leave room for the summary entry, and always keep the latest entry.
  while (i < rest.length - 1 && (head.length + 1 + rest.length - i > maxEntries || bytes + summaryBytes > maxBytes)) {
    const e = rest[i]!;
    bytes -= entryBytes(e);
    folded += e.count ?? 1;
    since = Math.min(since, e.since ?? e.at);
    until = Math.max(until, e.at);
    i++;
  }
  const summary: TimelineEntry = {
    at: until,
    actor: 'system',
    action: SUMMARY_ACTION,
    note: `${folded} earlier entries between ${iso(since)} and ${iso(until)} are summarized (the timeline keeps ${maxEntries} entries)`,
    count: folded,
    since,
  };
  return [...head, summary, ...rest.slice(i)];
}
