/**
 * HTTP ingest's batches: what a department system sends, cut into the raw publishes a device
 * would have sent (so that ingest decodes and judges them exactly as over MQTT), remembered by
 * batch id so that a batch sent twice is stored once, and answered record by record from the
 * reports ingest writes back (core/ingest-report.ts).
 *
 * Memory, per system: the last `kept` batch ids (their digest, state and answer), in the
 * key-value store of the deployment (SQLite or Redis), so that it holds across restarts and API
 * instances. An answer over `answerBytes` is kept as its counts only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { StreetWatchError, swError } from '../core/errors.js';
import { ingestReportKey, type IngestReport } from '../core/ingest-report.js';
import type { Bus, Clock, KeyValueStore } from '../core/ports.js';
import { DEVICE_ID_RE, MAX_TELEMETRY_BATCH, type RawPublish } from '../core/schemas.js';

/** Batch ids remembered per system: a retry comes within minutes; a system sending a batch a second is remembered for four. */
export const DEFAULT_BATCHES_KEPT = 256;
/** Largest answer kept for a replay; a bigger one is kept as its counts. */
export const DEFAULT_ANSWER_KEPT_BYTES = 64 * 1024;
/** How long a request waits for ingest's reports before answering 202 (ask again with the same batch). */
export const DEFAULT_REPORT_WAIT_MS = 10_000;
/** A batch claimed but not published after this long was left by a request that died: it may be published again. */
export const PUBLISH_STALL_MS = 30_000;

export type BatchKind = 'telemetry' | 'senml';

/** One record (telemetry) or pack (SenML) of a batch, as answered. */
export interface RecordResult {
  index: number;
  deviceId: string | null;
  /** Readings stored from it. */
  stored: number;
  /** Its refusals; `record` is the SenML record within a pack. */
  errors: { record?: number; code: string; message: string }[];
}

export interface BatchAnswer {
  batchId: string;
  /** Records (telemetry) or packs (SenML) in the batch. */
  records: number;
  /** Readings stored. */
  stored: number;
  /** Records or packs with at least one refusal. */
  refused: number;
  /** One per record or pack, in order; null when the answer was too big to keep for a replay. */
  results: RecordResult[] | null;
  /** True when this answer is the one given to an earlier request with the same batch. */
  replayed?: boolean;
}

/** A raw publish planned for a batch, and the records of the batch it carries. */
export interface PlannedRaw {
  raw: RawPublish;
  deviceId: string;
  /** The batch index of each object of the publish (telemetry), or of its pack (SenML). */
  indexes: number[];
}

export interface BatchPlan {
  raws: PlannedRaw[];
  /** Refusals decided before anything is published (a record for a device the system does not own). */
  early: { index: number; deviceId: string | null; error: StreetWatchError }[];
}

interface BatchRecord {
  digest: string;
  at: number;
  kind: BatchKind;
  records: number;
  state: 'publishing' | 'published' | 'done';
  raws: { ref: string; deviceId: string; indexes: number[] }[];
  early: { index: number; deviceId: string | null; code: string; message: string }[];
  answer?: BatchAnswer;
}

export interface BatchMemoryOptions {
  kv: KeyValueStore;
  bus: Bus;
  clock: Clock;
  kept?: number;
  answerBytes?: number;
  waitMs?: number;
}

export type BatchOutcome = { status: 200; answer: BatchAnswer } | { status: 202; pending: { batchId: string; status: 'pending'; message: string } };

/** The digest a batch id is bound to: the same id with another body is a conflict, not a retry. */
export function batchDigest(kind: BatchKind, items: unknown): string {
  return createHash('sha256').update(kind).update('\u0000').update(JSON.stringify(items)).digest('hex');
}

export class BatchMemory {
  private readonly kept: number;
  private readonly answerBytes: number;
  private readonly waitMs: number;

  constructor(private readonly opts: BatchMemoryOptions) {
    this.kept = opts.kept ?? DEFAULT_BATCHES_KEPT;
    this.answerBytes = opts.answerBytes ?? DEFAULT_ANSWER_KEPT_BYTES;
    this.waitMs = opts.waitMs ?? DEFAULT_REPORT_WAIT_MS;
  }

  /**
   * Sends a batch once: the first request with a batch id plans and publishes it and waits for
   * ingest's reports; a later one with the same id and body gets the same answer (or waits for
   * it), one with another body SW_ERR_BATCH_CONFLICT.
   */
  async send(system: string, batchId: string, kind: BatchKind, records: number, digest: string, plan: () => Promise<BatchPlan>): Promise<BatchOutcome> {
    const { kv, clock } = this.opts;
    const key = batchKey(system, batchId);
    const claim = async (expected: BatchRecord | undefined): Promise<BatchOutcome | undefined> => {
      const planned = await plan();
      const record: BatchRecord = {
        digest,
        at: clock.now(),
        kind,
        records,
        state: 'publishing',
        raws: planned.raws.map((p) => ({ ref: p.raw.id, deviceId: p.deviceId, indexes: p.indexes })),
        early: planned.early.map((e) => ({ index: e.index, deviceId: e.deviceId, code: e.error.code, message: e.error.message })),
      };
      if (!(await kv.compareAndSet(key, expected, record))) return undefined;
      if (expected === undefined) await this.remember(system, batchId);
      return this.publish(key, batchId, record, planned.raws);
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = (await kv.getMany<BatchRecord>([key])).get(key);
      if (!existing) {
        const sent = await claim(undefined);
        if (sent) return sent;
        // Another request with the same batch id got there first.
        continue;
      }
      if (existing.digest !== digest || existing.kind !== kind) throw swError('SW_ERR_BATCH_CONFLICT', batchId);
      if (existing.state === 'done') return { status: 200, answer: { ...existing.answer!, replayed: true } };
      if (existing.state === 'published') return this.collect(key, batchId, existing);
      if (clock.now() - existing.at < PUBLISH_STALL_MS) throw swError('SW_ERR_BATCH_PENDING', batchId);
      // The request that claimed it stopped before publishing anything: this one sends it.
      const sent = await claim(existing);
      if (sent) return sent;
    }
    throw swError('SW_ERR_BATCH_PENDING', batchId);
  }

  private async publish(key: string, batchId: string, record: BatchRecord, raws: readonly PlannedRaw[]): Promise<BatchOutcome> {
    if (raws.length > 0) await this.opts.bus.publish('sw.raw', raws.map((p) => ({ key: p.deviceId, value: p.raw })));
    const published: BatchRecord = { ...record, state: 'published' };
    await this.opts.kv.compareAndSet(key, record, published);
    return this.collect(key, batchId, published);
  }

  /** Waits for ingest's report of every publish of the batch, then answers and keeps the answer. */
  private async collect(key: string, batchId: string, record: BatchRecord): Promise<BatchOutcome> {
    const keys = record.raws.map((r) => ingestReportKey(r.ref));
    const deadline = Date.now() + this.waitMs;
    let reports = await this.opts.kv.getMany<IngestReport>(keys);
    for (let pause = 10; reports.size < keys.length && Date.now() < deadline; pause = Math.min(pause * 2, 200)) {
      await new Promise((r) => setTimeout(r, pause));
      reports = await this.opts.kv.getMany<IngestReport>(keys);
    }
    if (reports.size < keys.length) {
      return { status: 202, pending: { batchId, status: 'pending', message: 'the batch is accepted and not yet processed: send the same request again for its results' } };
    }
    const answer = assemble(batchId, record, reports);
    const kept = JSON.stringify(answer).length <= this.answerBytes ? answer : { ...answer, results: null };
    const done: BatchRecord = { ...record, state: 'done', raws: record.raws.map((r) => ({ ...r, indexes: [] })), early: [], answer: kept };
    if (await this.opts.kv.compareAndSet(key, record, done)) await this.opts.kv.setMany(new Map(keys.map((k) => [k, undefined])));
    return { status: 200, answer };
  }

  /** Adds the batch id to the system's list, forgetting the oldest beyond `kept` (and their reports). */
  private async remember(system: string, batchId: string): Promise<void> {
    const { kv } = this.opts;
    const ring = ringKey(system);
    for (let attempt = 0; attempt < 20; attempt++) {
      const current = (await kv.getMany<string[]>([ring])).get(ring);
      const next = [...(current ?? []).filter((id) => id !== batchId), batchId];
      const forgotten = next.splice(0, Math.max(0, next.length - this.kept));
      if (!(await kv.compareAndSet(ring, current, next))) continue;
      if (forgotten.length === 0) return;
      const keys = forgotten.map((id) => batchKey(system, id));
      const records = await kv.getMany<BatchRecord>(keys);
      const reports = [...records.values()].flatMap((r) => r.raws.map((x) => ingestReportKey(x.ref)));
      await kv.setMany(new Map([...keys, ...reports].map((k) => [k, undefined])));
      return;
    }
    throw swError('SW_ERR_UNAVAILABLE', 'the batch memory', 'too many concurrent batches of one system, retry');
  }
}

function batchKey(system: string, batchId: string): string {
  return `ingest:batch:${system}:${batchId}`;
}

function ringKey(system: string): string {
  return `ingest:batches:${system}`;
}

function assemble(batchId: string, record: BatchRecord, reports: ReadonlyMap<string, IngestReport>): BatchAnswer {
  const results: RecordResult[] = Array.from({ length: record.records }, (_, index) => ({ index, deviceId: null, stored: 0, errors: [] }));
  for (const e of record.early) {
    results[e.index]!.deviceId = e.deviceId;
    results[e.index]!.errors.push({ code: e.code, message: e.message });
  }
  for (const raw of record.raws) {
    const report = reports.get(ingestReportKey(raw.ref))!;
    for (const i of raw.indexes) results[i]!.deviceId = raw.deviceId;
    // Telemetry: each object of the publish is a record of the batch. SenML: the publish is one pack.
    const target = (n: number | undefined): number[] => (record.kind === 'senml' ? [raw.indexes[0]!] : n === undefined ? raw.indexes : [raw.indexes[n]!]);
    for (const [n, count] of report.stored) for (const i of target(n)) results[i]!.stored += count;
    for (const e of report.errors) {
      for (const i of target(e.record)) {
        results[i]!.errors.push(record.kind === 'senml' && e.record !== undefined ? { record: e.record, code: e.code, message: e.message } : { code: e.code, message: e.message });
      }
    }
  }
  return {
    batchId,
    records: record.records,
    stored: results.reduce((n, r) => n + r.stored, 0),
    refused: results.filter((r) => r.errors.length > 0).length,
    results,
  };
}

/** What planning needs to know of the devices: whether the system may send for them. */
export type Owns = (deviceId: string) => Promise<boolean>;

/**
 * Telemetry records `{deviceId, ts?, values, loc?}` cut into the publishes each device would
 * have sent: its objects in order, in arrays under the payload limit. A record that names no
 * device the system owns is refused here, with the same code whether the device exists or not.
 */
export async function planTelemetry(system: string, records: readonly unknown[], owns: Owns, limits: { maxPayloadBytes: number; receivedAt: number }): Promise<BatchPlan> {
  const early: BatchPlan['early'] = [];
  const byDevice = new Map<string, { index: number; text: string }[]>();
  for (const [index, record] of records.entries()) {
    const deviceId = typeof record === 'object' && record !== null && !Array.isArray(record) ? (record as { deviceId?: unknown }).deviceId : undefined;
    if (typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId)) {
      early.push({ index, deviceId: null, error: swError('SW_ERR_PAYLOAD_SCHEMA', `records[${index}].deviceId: a record names its device (^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$)`) });
      continue;
    }
    if (!(await owns(deviceId))) {
      early.push({ index, deviceId, error: swError('SW_ERR_FORBIDDEN', `send readings for device ${deviceId}`) });
      continue;
    }
    const { deviceId: _device, ...object } = record as Record<string, unknown>;
    byDevice.set(deviceId, [...(byDevice.get(deviceId) ?? []), { index, text: JSON.stringify(object) }]);
  }
  const raws: PlannedRaw[] = [];
  for (const [deviceId, objects] of byDevice) {
    let chunk: typeof objects = [];
    let bytes = 2;
    const flush = (): void => {
      if (chunk.length === 0) return;
      raws.push(plannedRaw(system, deviceId, 'telemetry', `[${chunk.map((o) => o.text).join(',')}]`, chunk.map((o) => o.index), limits.receivedAt));
      chunk = [];
      bytes = 2;
    };
    for (const o of objects) {
      if (chunk.length > 0 && (bytes + 1 + o.text.length > limits.maxPayloadBytes || chunk.length >= MAX_TELEMETRY_BATCH)) flush();
      chunk.push(o);
      bytes += o.text.length + 1;
    }
    flush();
  }
  return { raws, early };
}

/** SenML packs `{deviceId, pack}`: each is the publish its device would have sent to its senml topic. */
export async function planSenml(system: string, packs: readonly unknown[], owns: Owns, limits: { receivedAt: number }): Promise<BatchPlan> {
  const early: BatchPlan['early'] = [];
  const raws: PlannedRaw[] = [];
  for (const [index, item] of packs.entries()) {
    const entry = typeof item === 'object' && item !== null && !Array.isArray(item) ? (item as Record<string, unknown>) : undefined;
    const deviceId = entry?.deviceId;
    if (!entry || typeof deviceId !== 'string' || !DEVICE_ID_RE.test(deviceId) || !('pack' in entry) || Object.keys(entry).length !== 2) {
      early.push({ index, deviceId: typeof deviceId === 'string' ? deviceId : null, error: swError('SW_ERR_PAYLOAD_SCHEMA', `packs[${index}]: a pack is {"deviceId", "pack"}`) });
      continue;
    }
    if (!(await owns(deviceId))) {
      early.push({ index, deviceId, error: swError('SW_ERR_FORBIDDEN', `send readings for device ${deviceId}`) });
      continue;
    }
    raws.push(plannedRaw(system, deviceId, 'senml', JSON.stringify(entry.pack), [index], limits.receivedAt));
  }
  return { raws, early };
}

function plannedRaw(system: string, deviceId: string, kind: BatchKind, payload: string, indexes: number[], receivedAt: number): PlannedRaw {
  const id = randomUUID();
  return {
    deviceId,
    indexes,
    raw: { id, clientId: system, topic: `v1/devices/${deviceId}/${kind}`, payload: Buffer.from(payload), qos: 1, receivedAt, reportTo: ingestReportKey(id) },
  };
}
