/**
 * The distributed time-series store on InfluxDB: 2.x, or 1.8 through its v2 API (token
 * `user:password`, bucket `database/retention-policy`, org ignored). Points are built with the
 * client's `Point` and written with its `WriteApi`; queries are Flux through its `QueryApi`.
 * The schema is documented in docs/influxdb-schema.md.
 *
 * Durability: `write` resolves only after InfluxDB answered 204 for every point. The client's
 * own retry buffer is off (maxRetries 0): it would resend in the background after the caller
 * was told the write failed, and it lives in memory only. A failed write rejects with a
 * retriable error and the bus hands the batch again; a point written twice is the same point.
 */
import { HttpError, InfluxDB, Point, flux, fluxExpression, fluxInteger, fluxString, setLogger, type QueryApi, type WriteOptions } from '@influxdata/influxdb-client';
import { errorMessage, unavailable } from '../../connect-retry.js';
import { StreetWatchError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Resolution, RollupPoint, RollupResolution, SeriesQuery, SeriesStats, SeriesStore } from '../../ports.js';
import type { Reading } from '../../schemas.js';
import { InfluxDeleter } from './delete.js';
import { DEFAULT_ROLLUP_LAG_MS, InfluxRollups, MAX_FLUX_MS, fluxTime } from './rollups.js';

/** The measurement readings are written to (after the namespace). */
export const DEFAULT_MEASUREMENT = 'reading';
/** Points per write request: large requests are what InfluxDB ingests fastest. */
export const DEFAULT_WRITE_BATCH = 5_000;
/** One HTTP request to InfluxDB, write or query. */
export const DEFAULT_INFLUX_TIMEOUT_MS = 10_000;
/** How often the server is pinged while no request told whether it answers, for readiness. */
export const DEFAULT_INFLUX_HEALTH_MS = 5_000;
/** Rows a query returns when it asks for no limit (as the embedded store). */
export const DEFAULT_QUERY_LIMIT = 100_000;
/** Raw readings kept when the options give no retention (as the configuration's default). */
export const DEFAULT_RAW_RETENTION_MS = 30 * 86_400_000;
/** The longest period one prune step deletes (then halved until it holds few enough points). */
export const PRUNE_SLICE_MS = 86_400_000;

/** Tag and field names of a reading point. */
export const SCHEMA = {
  tags: { device: 'device', metric: 'metric', zones: 'zones', subcenter: 'subcenter' },
  fields: { value: 'value', unit: 'unit', lat: 'lat', lon: 'lon', receivedAt: 'received_at', ref: 'ref' },
} as const;

export interface InfluxSeriesOptions {
  url: string;
  /** 2.x: an API token with write and read on the bucket; 1.8: `user:password`. */
  token: string;
  /** 2.x: the organization; 1.8 ignores it. */
  org: string;
  /** 2.x: the bucket; 1.8: `database/retention-policy`. */
  bucket: string;
  /**
   * Where the roll-ups go, when not beside the readings: then the readings' bucket keeps them
   * for its own retention (InfluxDB drops whole shards), and StreetWatch prunes only the
   * roll-ups. Default: `bucket`.
   */
  rollupBucket?: string;
  /** Measurement name. Default `${namespace}${DEFAULT_MEASUREMENT}`. */
  measurement?: string;
  /** Prefix of the default measurement. Default ''. */
  namespace?: string;
  /** Points per write request. Default DEFAULT_WRITE_BATCH. */
  writeBatch?: number;
  /** Default DEFAULT_INFLUX_TIMEOUT_MS. */
  timeoutMs?: number;
  /**
   * How long raw readings are kept (STREETWATCH_RETENTION_RAW): a late reading within it folds
   * its steps again from the readings, an older one is merged into them. Default DEFAULT_RAW_RETENTION_MS.
   */
  rawRetentionMs?: number;
  /** How long after a 5-minute step ends it is folded. Default DEFAULT_ROLLUP_LAG_MS. */
  rollupLagMs?: number;
  logger: Logger;
}

interface Row {
  _time: string;
  device: string;
  metric: string;
  zones?: string | null;
  subcenter?: string | null;
  value: number;
  unit?: string | null;
  lat?: number | null;
  lon?: number | null;
  received_at?: number | null;
  ref?: string | null;
}

export class InfluxSeriesStore implements SeriesStore {
  /** The URL and bucket, for logs and errors. */
  readonly target: string;
  readonly measurement: string;
  private readonly influx: InfluxDB;
  private readonly queryApi: QueryApi;
  private readonly writeOptions: Partial<WriteOptions>;
  private readonly log: Logger;
  private connected = false;
  private closed = false;
  /** Whether the last request (write, query or ping) got an answer. */
  private answering = false;
  private lastOutcomeAt = 0;
  private health: NodeJS.Timeout | undefined;
  private readonly rollups: InfluxRollups;
  private readonly deleter: InfluxDeleter;

  constructor(private readonly opts: InfluxSeriesOptions) {
    this.target = `${opts.url} (bucket ${opts.bucket})`;
    this.measurement = opts.measurement ?? `${opts.namespace ?? ''}${DEFAULT_MEASUREMENT}`;
    this.log = opts.logger.child({ component: 'influxdb' });
    // The client logs failed writes to the console; ours are reported by whoever called write().
    setLogger({ error: (message, err) => this.log.debug({ err }, message), warn: (message, err) => this.log.debug({ err }, message) });
    this.influx = new InfluxDB({ url: opts.url, token: opts.token, timeout: opts.timeoutMs ?? DEFAULT_INFLUX_TIMEOUT_MS });
    this.queryApi = this.influx.getQueryApi(opts.org);
    const batch = opts.writeBatch ?? DEFAULT_WRITE_BATCH;
    this.writeOptions = {
      // Sized so that the client never sends on its own: only close() sends, and reports.
      batchSize: batch + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: batch + 1,
    };
    this.rollups = new InfluxRollups({
      bucket: opts.bucket,
      rollupBucket: opts.rollupBucket ?? opts.bucket,
      raw: this.measurement,
      query: this.queryApi,
      write: (points) => this.writePoints(points, opts.rollupBucket ?? opts.bucket),
      readings: (q) => this.query(q),
      rows: (query) => this.rows(query),
      lagMs: opts.rollupLagMs ?? DEFAULT_ROLLUP_LAG_MS,
      rawRetentionMs: opts.rawRetentionMs ?? DEFAULT_RAW_RETENTION_MS,
    });
    this.deleter = new InfluxDeleter({ url: opts.url, token: opts.token, org: opts.org, timeoutMs: opts.timeoutMs ?? DEFAULT_INFLUX_TIMEOUT_MS });
  }

  /** Checks that the bucket answers a query with these credentials. */
  async connect(): Promise<void> {
    try {
      for (const bucket of new Set([this.opts.bucket, this.opts.rollupBucket ?? this.opts.bucket])) {
        await this.queryApi.collectRows(flux`from(bucket: ${bucket}) |> range(start: -1m) |> limit(n: 1)`);
      }
      this.connected = true;
      this.outcome(true);
    } catch (err) {
      throw this.failure(err, 'query');
    }
    // Readiness follows the server: a stage whose writes fail is not ready, and a process that
    // writes nothing (the API) learns of an outage from the ping.
    this.health ??= setInterval(() => void this.ping(), DEFAULT_INFLUX_HEALTH_MS);
    this.health.unref();
  }

  /** False while InfluxDB does not answer: the last write, query or ping failed to reach it. */
  isConnected(): boolean {
    return this.connected && !this.closed && this.answering;
  }

  private outcome(answered: boolean): void {
    this.answering = answered;
    this.lastOutcomeAt = Date.now();
  }

  private async ping(): Promise<void> {
    if (this.closed || Date.now() - this.lastOutcomeAt < DEFAULT_INFLUX_HEALTH_MS) return;
    try {
      const res = await fetch(new URL('/ping', this.opts.url), { signal: AbortSignal.timeout(this.opts.timeoutMs ?? DEFAULT_INFLUX_TIMEOUT_MS) });
      await res.body?.cancel();
      this.outcome(res.status < 500);
    } catch {
      this.outcome(false);
    }
  }

  async write(readings: readonly Reading[]): Promise<void> {
    if (readings.length === 0) return;
    // Readings of steps already folded fold them again (rare: a device that buffered offline).
    const late = await this.rollups.lateReadings(readings).catch((err: unknown) => Promise.reject(this.failure(err, 'query')));
    await this.writePoints(readings.map((r) => this.toPoint(r)), this.opts.bucket);
    if (late) await this.rollups.foldLate(late).catch((err: unknown) => Promise.reject(this.failure(err, 'write')));
  }

  private async writePoints(points: readonly Point[], bucket: string): Promise<void> {
    if (this.closed) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['time-series store', 'closed']);
    const batch = this.opts.writeBatch ?? DEFAULT_WRITE_BATCH;
    for (let i = 0; i < points.length; i += batch) {
      // A WriteApi per request: its buffer holds exactly these points, so its outcome is theirs.
      const api = this.influx.getWriteApi(this.opts.org, bucket, 'ms', this.writeOptions);
      api.writePoints(points.slice(i, i + batch));
      try {
        await api.close();
        this.outcome(true);
      } catch (err) {
        if (isRetentionDrop(err)) {
          // Points older than the bucket's retention are dropped by policy and the rest are
          // written: retrying cannot change that, so the batch counts as written.
          this.log.warn({ err: errorMessage(err) }, 'InfluxDB dropped points older than the bucket retention');
          continue;
        }
        throw this.failure(err, 'write');
      }
    }
  }

  private async rows<T>(query: ReturnType<typeof flux>): Promise<T[]> {
    try {
      const rows = await this.queryApi.collectRows<T>(query);
      this.outcome(true);
      return rows;
    } catch (err) {
      throw this.failure(err, 'query');
    }
  }

  async queryRollups(resolution: RollupResolution, q: SeriesQuery): Promise<RollupPoint[]> {
    return this.rollups.query(resolution, q, q.limit ?? DEFAULT_QUERY_LIMIT);
  }

  async rollUp(now: number, maxReadings: number): Promise<number> {
    return this.rollups.foldStep(now, maxReadings);
  }

  /**
   * From the oldest point on, a period holding at most about `maxRows` points (found by halving a
   * day): InfluxDB deletes by time, not by count.
   */
  async prune(resolution: Resolution, before: number, maxRows: number): Promise<number> {
    // Readings in a bucket of their own are kept for that bucket's retention: InfluxDB drops
    // whole shards, far cheaper than deleting points.
    if (resolution === 'raw' && this.opts.rollupBucket !== undefined && this.opts.rollupBucket !== this.opts.bucket) return 0;
    const measurement = resolution === 'raw' ? this.measurement : this.rollups.measurements[resolution];
    const field = resolution === 'raw' ? SCHEMA.fields.value : 'count';
    const bucket = resolution === 'raw' ? this.opts.bucket : (this.opts.rollupBucket ?? this.opts.bucket);
    // Readings only once they are folded.
    const until = resolution === 'raw' ? Math.min(before, (await this.rollups.foldedUntil()) ?? 0) : before;
    const oldest = await this.rollups.firstTime(measurement, field, 0, until);
    if (oldest === undefined) return 0;
    let to = Math.min(until, oldest + PRUNE_SLICE_MS);
    let count: number;
    for (;;) {
      const rows = await this.rows<{ _value: number }>(flux`from(bucket: ${bucket})
  |> range(start: ${fluxTime(oldest)}, stop: ${fluxTime(to)})
  |> filter(fn: (r) => r._measurement == ${measurement} and r._field == ${field} and r._time < ${fluxTime(to)})
  |> group()
  |> count()`);
      count = rows[0]?._value ?? 0;
      if (count <= maxRows || to - oldest <= 1_000) break;
      to = oldest + Math.floor((to - oldest) / 2);
    }
    try {
      await this.deleter.delete(measurement, oldest, to, bucket);
    } catch (err) {
      throw this.failure(err, 'write');
    }
    return Math.max(1, count);
  }

  /** Row counts would read every point: only the oldest time of each resolution. */
  async stats(): Promise<SeriesStats> {
    const oldest = {
      raw: (await this.rollups.firstTime(this.measurement, SCHEMA.fields.value)) ?? null,
      '5m': (await this.rollups.firstTime(this.rollups.measurements['5m'], 'count')) ?? null,
      '1h': (await this.rollups.firstTime(this.rollups.measurements['1h'], 'count')) ?? null,
    };
    return { rows: { raw: null, '5m': null, '1h': null }, oldest, files: [] };
  }

  async query(q: SeriesQuery): Promise<Reading[]> {
    const from = Math.max(0, q.from);
    const to = Math.min(MAX_FLUX_MS, q.to);
    if (!(from < to)) return [];
    const limit = q.limit ?? DEFAULT_QUERY_LIMIT;
    // InfluxDB 1.8's Flux lets a point at `stop` through: [from, to) is enforced here too.
    const filters = [flux`r._measurement == ${this.measurement}`, flux`r._time < ${fluxTime(to)}`];
    if (q.deviceId !== undefined) filters.push(flux`r.device == ${fluxString(q.deviceId)}`);
    if (q.metric !== undefined) filters.push(flux`r.metric == ${fluxString(q.metric)}`);
    const query = flux`from(bucket: ${this.opts.bucket})
  |> range(start: ${fluxTime(from)}, stop: ${fluxTime(to)})
  |> filter(fn: (r) => ${fluxExpression(filters.map((f) => `(${f.toString()})`).join(' and '))})
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> group()
  |> sort(columns: ["_time", "device", "metric"])
  |> limit(n: ${fluxInteger(limit)})`;
    const rows = await this.rows<Row>(query);
    const out: Reading[] = [];
    let prev: Reading | undefined;
    for (const row of rows) {
      const r = toReading(row);
      // The same (device, metric, ts) in two series (its zones changed between two writes of
      // one reading, after a city reload): the contract keeps one.
      if (prev && prev.ts === r.ts && prev.deviceId === r.deviceId && prev.metric === r.metric) continue;
      out.push(r);
      prev = r;
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.health);
  }

  private toPoint(r: Reading): Point {
    const { tags, fields } = SCHEMA;
    const p = new Point(this.measurement).tag(tags.device, r.deviceId).tag(tags.metric, r.metric);
    // Zones are one tag holding the sorted, comma-separated ids: a device sits in a fixed set
    // of zones, so this adds no series, and `=~ /(^|,)id(,|$)/` selects a zone.
    if (r.zoneIds.length > 0) p.tag(tags.zones, r.zoneIds.join(','));
    if (r.subcenterId !== undefined) p.tag(tags.subcenter, r.subcenterId);
    p.floatField(fields.value, r.value).intField(fields.receivedAt, r.receivedAt).stringField(fields.ref, r.ref);
    if (r.unit !== undefined) p.stringField(fields.unit, r.unit);
    if (r.loc) p.floatField(fields.lat, r.loc.lat).floatField(fields.lon, r.loc.lon);
    return p.timestamp(r.ts);
  }

  private failure(err: unknown, what: 'write' | 'query'): StreetWatchError {
    const service = `InfluxDB at ${this.target}`;
    if (err instanceof HttpError && err.statusCode >= 400 && err.statusCode < 500 && ![401, 403, 404, 408, 429].includes(err.statusCode)) {
      // The request itself is wrong (a field type conflict, a bad query): no retry can help.
      this.outcome(true);
      return new StreetWatchError('SW_ERR_INTERNAL', [`InfluxDB refused the ${what} (HTTP ${err.statusCode}): ${errorMessage(err)}`], { cause: err });
    }
    this.outcome(false);
    return unavailable(service, err);
  }
}

function isRetentionDrop(err: unknown): boolean {
  return err instanceof HttpError && err.statusCode === 422 && /retention/i.test(`${err.body ?? ''} ${err.message}`);
}

function toReading(row: Row): Reading {
  const r: Reading = {
    deviceId: row.device,
    metric: row.metric,
    value: row.value,
    ts: Date.parse(row._time),
    receivedAt: row.received_at ?? Date.parse(row._time),
    zoneIds: row.zones ? row.zones.split(',') : [],
    ref: row.ref ?? '',
  };
  if (row.unit) r.unit = row.unit;
  if (isNumber(row.lat) && isNumber(row.lon)) r.loc = { lat: row.lat, lon: row.lon };
  if (row.subcenter) r.subcenterId = row.subcenter;
  return r;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
