/**
 * What ingest knows of the devices it hears from: their provisioning (read from the registry,
 * trusted for a short while) and their trust state (trust.ts: last accepted reading, last trusted
 * position, metric names), kept in memory and saved to the registry.
 *
 * Bounds: at most `maxDevices` devices are held, least recently heard first out (a device
 * forgotten is read again from the registry, its saved trust state with it); a gateway's list of
 * the devices it speaks for holds at most `maxChildren`.
 *
 * Saving: new metric names are saved with the batch that accepted them (the limit must hold
 * across restarts). The latest reading time and position are saved at most every
 * `saveIntervalMs` per device, and whenever a device leaves memory or the stage stops. The
 * state in memory moves on only when its batch is stored and saved (`due`, then `commit`). After a
 * crash, or when another instance takes over a device's partition, the saved state can be up to
 * that interval behind: the time check then lets a device reach that much further back, never
 * less far, so no valid reading is refused for it. The registry keeps the state with the device
 * (one row per device, removed with it), and merges what it is given (times and positions only
 * move forward, names only grow), so instances saving in any order cannot move it back.
 */
import type { Clock, DeviceRegistry, DeviceTrustUpdate } from '../core/ports.js';
import type { DeviceRecord } from '../core/schemas.js';
import type { SenmlDevice, SenmlDirectory } from './senml.js';
import type { DeviceTrustState, TrustOutcome } from './trust.js';

/** What the registry is asked for: provisioning, a gateway's devices, and saving trust state. */
export type TrustRegistry = Pick<DeviceRegistry, 'get' | 'children' | 'saveTrust'>;

export interface IngestDevicesOptions {
  /** Devices held in memory at most. */
  maxDevices: number;
  /** How long a device's provisioning is trusted before it is read again (location, removal, mobile). */
  recordTtlMs: number;
  /** Trust state is saved at most this often per device (new metric names at once). */
  saveIntervalMs: number;
  /** Devices one gateway may speak for, at most. */
  maxChildren: number;
}

interface Entry {
  id: string;
  record: DeviceRecord | undefined;
  fetchedAt: number;
  trust: DeviceTrustState;
  /** Gateways: the devices provisioned to be spoken for by this one. */
  children: { records: DeviceRecord[]; fetchedAt: number } | undefined;
  unsaved: { metrics: boolean; progress: boolean };
  savedAt: number;
}

/** A device judged in a batch: its new trust state and what changed in it. */
export interface JudgedDevice {
  device: DeviceRecord;
  state: DeviceTrustState;
  changed: TrustOutcome['changed'];
}

const EMPTY: DeviceTrustState = { lastReadingAt: null, position: null, metrics: new Set() };

export class IngestDevices {
  private readonly entries = new Map<string, Entry>();
  /** Entries that left memory with unsaved state. */
  private readonly leaving: Entry[] = [];
  /** Entries in memory with unsaved state. */
  private readonly unsaved = new Set<Entry>();
  /**
   * Entries in memory, least recently saved first (a Set keeps insertion order): `due` reads only
   * the front whose interval has run out, instead of every unsaved entry, so its cost follows the
   * batch and not the fleet.
   */
  private readonly bySavedAt = new Set<Entry>();
  /**
   * Unsaved entries `due` must read wherever they stand: new metric names, or progress of an
   * entry out of `bySavedAt`. Both are saved with their batch, so this is normally empty.
   */
  private readonly overdue = new Set<Entry>();

  constructor(
    private readonly registry: TrustRegistry,
    private readonly clock: Clock,
    private readonly opts: IngestDevicesOptions,
  ) {}

  /**
   * Reads the devices (and, for `gateways`, the devices they speak for) that are not in memory
   * or whose provisioning is older than the TTL. Resolves with the devices, provisioned or not.
   */
  async load(ids: Iterable<string>, gateways: Iterable<string> = []): Promise<ReadonlyMap<string, DeviceRecord | undefined>> {
    const now = this.clock.now();
    const wanted = new Set(ids);
    const stale = [...wanted].filter((id) => {
      const e = this.entries.get(id);
      return !e || now - e.fetchedAt >= this.opts.recordTtlMs;
    });
    const fetched = await Promise.all(stale.map((id) => this.registry.get(id)));
    stale.forEach((id, i) => this.refresh(id, fetched[i], now));
    const staleGateways = [...new Set(gateways)].filter((id) => {
      const e = this.entries.get(id);
      return e?.record && (!e.children || now - e.children.fetchedAt >= this.opts.recordTtlMs);
    });
    const lists = await Promise.all(staleGateways.map((id) => this.registry.children(id, this.opts.maxChildren)));
    staleGateways.forEach((id, i) => {
      this.entries.get(id)!.children = { records: lists[i]!, fetchedAt: now };
      // The devices a gateway speaks for are heard through it: their state comes with the list.
      for (const child of lists[i]!) if (!wanted.has(child.id)) this.refresh(child.id, child, now);
    });
    return new Map([...wanted].map((id) => [id, this.entries.get(id)?.record]));
  }

  /** A loaded device, or undefined when it is not provisioned. */
  device(id: string): DeviceRecord | undefined {
    return this.entries.get(id)?.record;
  }

  /** The SenML view of a loaded device and of the devices it speaks for. */
  senmlDirectory(id: string): SenmlDirectory {
    const e = this.entries.get(id);
    const self: SenmlDevice = e?.record ? senmlDevice(e.record) : { id, name: null, map: [] };
    return { self, children: (e?.children?.records ?? []).map(senmlDevice) };
  }

  /** The trust state of a loaded device (a device spoken for by a gateway is loaded with the gateway's list). */
  trust(id: string): DeviceTrustState {
    return this.entries.get(id)?.trust ?? EMPTY;
  }

  /**
   * What to save with a batch that judged `batch`: the batch's new metric names always, reading
   * times and positions once per interval per device, and devices that left memory unsaved.
   * Nothing changes in memory until `commit`: a batch that fails is judged again from the same
   * state when it is redelivered.
   */
  due(batch: ReadonlyMap<string, JudgedDevice>): DeviceTrustUpdate[] {
    const now = this.clock.now();
    const out = new Map<string, DeviceTrustUpdate>();
    for (const e of this.leaving) out.set(e.id, update(e.id, e.trust));
    const candidates = new Set<Entry>(this.overdue);
    for (const e of this.bySavedAt) {
      if (now - e.savedAt < this.opts.saveIntervalMs) break;
      if (this.unsaved.has(e)) candidates.add(e);
    }
    for (const id of batch.keys()) {
      const e = this.entries.get(id);
      if (e) candidates.add(e);
    }
    for (const e of candidates) {
      const judged = batch.get(e.id);
      const metrics = e.unsaved.metrics || judged?.changed.metrics === true;
      const progress = e.unsaved.progress || judged?.changed.lastReadingAt === true || judged?.changed.position === true;
      if (metrics || (progress && now - e.savedAt >= this.opts.saveIntervalMs)) out.set(e.id, update(e.id, judged?.state ?? e.trust));
    }
    for (const [id, judged] of batch) if (!this.entries.has(id) && !out.has(id)) out.set(id, update(id, judged.state));
    return [...out.values()];
  }

  /** Takes the batch's trust state once the batch is stored, and marks what `due` gave as saved. */
  commit(batch: ReadonlyMap<string, JudgedDevice>, saved: readonly DeviceTrustUpdate[]): void {
    const now = this.clock.now();
    for (const { device, state, changed } of batch.values()) {
      const e = this.entries.get(device.id) ?? this.refresh(device.id, device, now);
      e.trust = state;
      if (changed.metrics) e.unsaved.metrics = true;
      if (changed.lastReadingAt || changed.position) e.unsaved.progress = true;
      if (e.unsaved.metrics || e.unsaved.progress) this.unsaved.add(e);
      if (e.unsaved.metrics || (e.unsaved.progress && !this.bySavedAt.has(e))) this.overdue.add(e);
    }
    const ids = new Set(saved.map((u) => u.id));
    for (let i = this.leaving.length - 1; i >= 0; i--) if (ids.has(this.leaving[i]!.id)) this.leaving.splice(i, 1);
    for (const id of ids) {
      const e = this.entries.get(id);
      if (!e) continue;
      e.unsaved = { metrics: false, progress: false };
      e.savedAt = now;
      this.unsaved.delete(e);
      this.overdue.delete(e);
      this.bySavedAt.delete(e);
      this.bySavedAt.add(e);
    }
    // Entries saved long ago with nothing unsaved leave the order; one that changes again is
    // then due at once and saved with its batch, which puts it back at the end.
    for (const e of this.bySavedAt) {
      if (now - e.savedAt < this.opts.saveIntervalMs) break;
      if (!this.unsaved.has(e)) this.bySavedAt.delete(e);
    }
  }

  /** Everything unsaved, for a clean stop. */
  takeAll(): DeviceTrustUpdate[] {
    const due = [...this.leaving.splice(0), ...this.unsaved];
    this.unsaved.clear();
    this.overdue.clear();
    for (const e of due) e.unsaved = { metrics: false, progress: false };
    return due.map((e) => update(e.id, e.trust));
  }

  /**
   * Forgets a deleted device at once (core/device-state.ts), its unsaved trust state with it:
   * the registry removed that state with the device.
   */
  forget(id: string): void {
    const e = this.entries.get(id);
    if (e) this.drop(e);
    this.entries.delete(id);
    for (let i = this.leaving.length - 1; i >= 0; i--) if (this.leaving[i]!.id === id) this.leaving.splice(i, 1);
  }

  /** The ids of the devices held. */
  ids(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Devices held (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private refresh(id: string, record: DeviceRecord | undefined, now: number): Entry {
    const old = this.entries.get(id);
    const saved = record ? savedTrust(record) : EMPTY;
    let entry: Entry;
    if (old?.record && record && old.record.createdAt === record.createdAt) {
      // The same device: its provisioning may have changed, what ingest trusts only moves on.
      entry = old;
      Object.assign(entry, { record, fetchedAt: now, trust: mergeTrust(old.trust, saved) });
    } else {
      // New, or removed and provisioned again: what was trusted of an old device does not carry over.
      if (old) this.drop(old);
      entry = { id, record, fetchedAt: now, trust: saved, children: undefined, unsaved: { metrics: false, progress: false }, savedAt: now };
      this.bySavedAt.add(entry);
    }
    // Re-inserted so that the Map's order is least recently refreshed first.
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.opts.maxDevices) {
      const [oldestId, oldest] = this.entries.entries().next().value as [string, Entry];
      this.entries.delete(oldestId);
      if (this.drop(oldest) && oldest.record) this.leaving.push(oldest);
    }
    return entry;
  }

  /** Drops an entry leaving memory from the bookkeeping; true when it had unsaved state. */
  private drop(e: Entry): boolean {
    this.bySavedAt.delete(e);
    this.overdue.delete(e);
    return this.unsaved.delete(e);
  }
}

function update(id: string, t: DeviceTrustState): DeviceTrustUpdate {
  return { id, lastReadingAt: t.lastReadingAt, position: t.position, metrics: [...t.metrics] };
}

export function senmlDevice(d: DeviceRecord): SenmlDevice {
  return { id: d.id, name: d.senml.name, map: d.senml.map };
}

function savedTrust(d: DeviceRecord): DeviceTrustState {
  return { lastReadingAt: d.lastReadingAt, position: d.position, metrics: new Set(d.metrics) };
}

/** Times and positions only move forward, names only grow. */
export function mergeTrust(a: DeviceTrustState, b: DeviceTrustState): DeviceTrustState {
  const lastReadingAt = a.lastReadingAt === null ? b.lastReadingAt : b.lastReadingAt === null ? a.lastReadingAt : Math.max(a.lastReadingAt, b.lastReadingAt);
  const position = !a.position ? b.position : !b.position ? a.position : b.position.ts > a.position.ts ? b.position : a.position;
  const metrics = [...b.metrics].every((m) => a.metrics.has(m)) ? a.metrics : new Set([...a.metrics, ...b.metrics]);
  return { lastReadingAt, position, metrics };
}
