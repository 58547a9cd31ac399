/**
 * What the stores hold and how much room is left, for /metrics, /readyz and the console: the
 * size of each embedded database, rows and the oldest time per resolution of the time series,
 * the free disk space of the data directory, and what each retention task did last.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RetentionConfig } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { Resolution, SeriesStats, SeriesStore } from '../ports.js';
import { databaseBytes, listDatabases } from '../store/sqlite/files.js';
import type { Maintenance, RetentionTask, TaskRun } from './maintenance.js';

export interface DiskState {
  path: string;
  freeBytes: number;
  totalBytes: number;
  /** The threshold under which /readyz warns. */
  warnBelowBytes: number;
  low: boolean;
}

export interface StorageSnapshot {
  /** Wall-clock time it was taken. */
  takenAt: number;
  /** Each SQLite database of the data directory and its size (file and log); empty when none. */
  databases: { name: string; bytes: number }[];
  /** The time series, when this process uses them. */
  series: SeriesStats | null;
  disk: DiskState | null;
  /** What each retention task did last, in whichever process ran it. */
  tasks: TaskRun[];
  retention: Pick<RetentionConfig, 'rawMs' | 'fiveMinuteMs' | 'hourMs' | 'outboxMs' | 'silentMs'>;
}

const RESOLUTIONS: readonly Resolution[] = ['raw', '5m', '1h'];

export class StorageMonitor {
  private latest: StorageSnapshot | undefined;
  private disk: DiskState | null = null;

  constructor(
    private readonly o: {
      /** The time series, when this process uses them. */
      series: SeriesStore | undefined;
      /** The data directory: its databases are measured, and its file system's free space. */
      dataDir: string;
      retention: RetentionConfig;
      metrics: Metrics;
      maintenance: () => Maintenance | undefined;
    },
  ) {}

  /** Measures everything again and updates the gauges. */
  async refresh(): Promise<StorageSnapshot> {
    const databases = listDatabases(this.o.dataDir).map((name) => ({ name, bytes: databaseBytes(path.join(this.o.dataDir, name)) }));
    const series = this.o.series ? await this.o.series.stats() : null;
    await this.refreshDisk();
    const tasks = (await this.o.maintenance()?.lastRuns()) ?? [];
    const { rawMs, fiveMinuteMs, hourMs, outboxMs, silentMs } = this.o.retention;
    const m = this.o.metrics;
    m.storeBytes.reset();
    for (const d of databases) m.storeBytes.set({ file: d.name }, d.bytes);
    for (const res of series ? RESOLUTIONS : []) {
      const rows = series!.rows[res];
      if (rows !== null) m.seriesRows.set({ resolution: res }, rows);
      const oldest = series!.oldest[res];
      if (oldest !== null) m.seriesOldest.set({ resolution: res }, oldest / 1000);
      else m.seriesOldest.remove({ resolution: res });
    }
    this.latest = { takenAt: Date.now(), databases, series, disk: this.disk, tasks, retention: { rawMs, fiveMinuteMs, hourMs, outboxMs, silentMs } };
    return this.latest;
  }

  /** The last snapshot (taken now if there is none yet). */
  async snapshot(): Promise<StorageSnapshot> {
    return this.latest ?? this.refresh();
  }

  /** Free space of the data directory's file system, now. */
  async refreshDisk(): Promise<DiskState | null> {
    try {
      const fsStat = await fs.promises.statfs(this.o.dataDir);
      const freeBytes = fsStat.bavail * fsStat.bsize;
      const warnBelowBytes = this.o.retention.diskWarnBytes;
      this.disk = { path: this.o.dataDir, freeBytes, totalBytes: fsStat.blocks * fsStat.bsize, warnBelowBytes, low: freeBytes < warnBelowBytes };
      this.o.metrics.diskFree.set(freeBytes);
    } catch {
      this.disk = null;
    }
    return this.disk;
  }

  /** What /readyz warns about (it stays ready: a full disk is coming, not here). */
  warnings(): string[] {
    const d = this.disk;
    if (!d?.low) return [];
    return [`free disk space at ${d.path} is ${gib(d.freeBytes)}, under the ${gib(d.warnBelowBytes)} of STREETWATCH_DISK_WARN: add space or shorten the retention (docs/OPERATIONS.md)`];
  }

  /** Measuring as a retention task of this process, after the others in each run. */
  task(): RetentionTask {
    return {
      name: 'storage-stats',
      shared: false,
      once: true,
      step: async () => {
        await this.refresh();
        return 0;
      },
    };
  }
}

const gib = (n: number): string => `${(n / 1024 ** 3).toFixed(1)} GiB`;
