/**
 * Recordings of what devices publish, and the files replay reads.
 *
 * A recording is JSON lines: a header, one line per device (so replay can provision it where it
 * was), then one line per publish with its simulated time, topic and payload, in time order.
 * Replay also reads CSV `ts,deviceId,metric,value` (epoch ms or RFC 3339; rows of one device
 * and one time become one telemetry publish); CSV devices must already be provisioned.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { z } from 'zod';
import { StreetWatchError } from '../core/errors.js';
import { DeviceId, Location, METRIC_RE, MetricName, Timestamp } from '../core/schemas.js';
import { parseDeviceTopic } from '../core/topics.js';
import { describeZodError } from '../core/zod-issues.js';

export const RECORDING_FORMAT = 'streetwatch-recording';
export const RECORDING_VERSION = 1;
/** Longest line read: a publish can carry at most a maximal device payload, JSON-escaped. */
export const MAX_RECORDING_LINE = 1024 * 1024;

export const RecordingHeader = z.strictObject({
  type: z.literal('header'),
  format: z.literal(RECORDING_FORMAT),
  version: z.literal(RECORDING_VERSION),
  scenario: z.string().max(128).optional(),
  seed: z.number().int().optional(),
  /** Simulated epoch ms the recorded run started at. */
  start: z.number().int().nonnegative(),
  createdAt: z.string().max(40),
});
export type RecordingHeader = z.infer<typeof RecordingHeader>;

export const RecordedDevice = z.strictObject({
  type: z.literal('device'),
  id: DeviceId,
  kind: z.string().regex(METRIC_RE),
  location: Location,
});
export type RecordedDevice = z.infer<typeof RecordedDevice>;

export const RecordedPublish = z.strictObject({
  type: z.literal('publish'),
  /** Simulated epoch ms the device published at. */
  t: z.number().int().nonnegative(),
  deviceId: DeviceId,
  topic: z.string().min(1).max(1024),
  payload: z.string().max(MAX_RECORDING_LINE),
});
export type RecordedPublish = z.infer<typeof RecordedPublish>;

const RecordingLine = z.discriminatedUnion('type', [RecordingHeader, RecordedDevice, RecordedPublish]);
export type RecordingLine = z.infer<typeof RecordingLine>;

/** Appends a recording as the simulator publishes. */
export class RecordingWriter {
  private readonly out: fs.WriteStream;

  private constructor(file: string) {
    this.out = fs.createWriteStream(file, { flags: 'w' });
  }

  static async open(file: string, header: Omit<RecordingHeader, 'type' | 'format' | 'version'>, devices: readonly Omit<RecordedDevice, 'type'>[]): Promise<RecordingWriter> {
    const w = new RecordingWriter(file);
    await new Promise<void>((resolve, reject) => {
      w.out.once('open', () => resolve());
      w.out.once('error', reject);
    });
    w.line({ type: 'header', format: RECORDING_FORMAT, version: RECORDING_VERSION, ...header });
    for (const d of devices) w.line({ type: 'device', id: d.id, kind: d.kind, location: d.location });
    return w;
  }

  publish(p: Omit<RecordedPublish, 'type'>): void {
    this.line({ type: 'publish', t: p.t, deviceId: p.deviceId, topic: p.topic, payload: p.payload });
  }

  /** True when the file has room for more without buffering in memory. */
  get ready(): boolean {
    return !this.out.writableNeedDrain;
  }

  async drained(): Promise<void> {
    if (this.out.writableNeedDrain) await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }

  private line(value: RecordingLine): void {
    this.out.write(`${JSON.stringify(value)}\n`);
  }
}

/** What replay reads, whatever the file format. */
export type ReplayItem = { type: 'device'; device: RecordedDevice } | { type: 'publish'; publish: RecordedPublish };

function inputError(file: string, line: number, message: string): StreetWatchError {
  return new StreetWatchError('SW_ERR_INPUT_FILE', [`${file}:${line}`, message]);
}

/** The items of a JSON-lines recording, validated line by line. */
export async function* readJsonLines(file: string): AsyncGenerator<ReplayItem> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (text.trim() === '') continue;
    if (text.length > MAX_RECORDING_LINE) throw inputError(file, n, `line longer than ${MAX_RECORDING_LINE} characters`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw inputError(file, n, `not JSON: ${(err as Error).message.slice(0, 200)}`);
    }
    const parsed = RecordingLine.safeParse(json);
    if (!parsed.success) throw inputError(file, n, describeZodError(parsed.error));
    const item = parsed.data;
    if (item.type === 'header') continue;
    if (item.type === 'device') {
      yield { type: 'device', device: item };
      continue;
    }
    if (parseDeviceTopic(item.topic)?.deviceId !== item.deviceId) throw inputError(file, n, `topic ${item.topic} is not under v1/devices/${item.deviceId}/`);
    yield { type: 'publish', publish: item };
  }
}

export const CSV_COLUMNS = ['ts', 'deviceId', 'metric', 'value'] as const;

const CsvRow = z.strictObject({
  ts: z
    .string()
    .max(40)
    .transform((s, ctx) => {
      if (/^\d+$/.test(s)) return Number(s);
      const parsed = Timestamp.safeParse(s);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `"${s}" is neither epoch milliseconds nor an RFC 3339 time with an offset` });
      return z.NEVER;
    }),
  deviceId: DeviceId,
  metric: MetricName,
  value: z
    .string()
    .max(64)
    .transform((s, ctx) => {
      if (s === 'true' || s === 'false') return s === 'true';
      const n = Number(s);
      if (s !== '' && Number.isFinite(n)) return n;
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a number, true or false` });
      return z.NEVER;
    }),
});

/**
 * The publishes of a CSV file: consecutive rows of the same device and time become one
 * telemetry publish, as the device would have sent them.
 */
export async function* readCsv(file: string): AsyncGenerator<ReplayItem> {
  const parser = fs.createReadStream(file).pipe(
    parseCsv({ columns: true, bom: true, trim: true, skip_empty_lines: true, comment: '#', info: true, max_record_size: 4096 }),
  );
  // A Map: metric names come from the file, and "constructor" is a valid one.
  let group: { deviceId: string; ts: number; values: Map<string, number | boolean> } | undefined;
  const flush = (): ReplayItem | undefined => {
    if (!group) return undefined;
    const { deviceId, ts, values } = group;
    group = undefined;
    return { type: 'publish', publish: { type: 'publish', t: ts, deviceId, topic: `v1/devices/${deviceId}/telemetry`, payload: JSON.stringify({ ts, values: Object.fromEntries(values) }) } };
  };
  let checkedHeader = false;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (!checkedHeader) {
        const header = Object.keys(record);
        if (header.length !== CSV_COLUMNS.length || !CSV_COLUMNS.every((c) => header.includes(c))) {
          throw inputError(file, 1, `the header must name the columns ${CSV_COLUMNS.join(',')}, got ${header.join(',')}`);
        }
        checkedHeader = true;
      }
      const row = CsvRow.safeParse(record);
      if (!row.success) throw inputError(file, info.lines, describeZodError(row.error));
      const { deviceId, ts, metric, value } = row.data;
      if (group && (group.deviceId !== deviceId || group.ts !== ts || group.values.has(metric))) {
        const item = flush();
        if (item) yield item;
      }
      group ??= { deviceId, ts, values: new Map() };
      group.values.set(metric, value);
    }
  } catch (err) {
    if (err instanceof StreetWatchError) throw err;
    throw new StreetWatchError('SW_ERR_INPUT_FILE', [file, (err as Error).message], { cause: err });
  }
  const last = flush();
  if (last) yield last;
}

/** A recording (`.jsonl`) or a CSV file (`.csv`), by its extension. */
export function readReplayFile(file: string): AsyncGenerator<ReplayItem> {
  return file.toLowerCase().endsWith('.csv') ? readCsv(file) : readJsonLines(file);
}

export interface ReplayPlan {
  /** Every device that publishes, with where to provision it when the file says. */
  devices: Map<string, RecordedDevice | undefined>;
  publishes: number;
  first: number;
  last: number;
}

/** A first pass over the file: the devices, the number of publishes and the time they span. */
export async function planReplay(file: string): Promise<ReplayPlan> {
  const plan: ReplayPlan = { devices: new Map(), publishes: 0, first: Infinity, last: -Infinity };
  for await (const item of readReplayFile(file)) {
    if (item.type === 'device') {
      plan.devices.set(item.device.id, item.device);
      continue;
    }
    const { deviceId, t } = item.publish;
    if (!plan.devices.has(deviceId)) plan.devices.set(deviceId, undefined);
    plan.publishes++;
    plan.first = Math.min(plan.first, t);
    plan.last = Math.max(plan.last, t);
  }
  return plan;
}
