/**
 * `npx streetwatch backup <dir>` and `npx streetwatch restore <dir>`: the embedded stores of a
 * data directory, copied while StreetWatch runs and brought back.
 *
 * Backup copies every SQLite database of the data directory (whatever wrote it: the stores, the
 * embedded bus) with SQLite's online backup API, each in one step: a consistent snapshot of each
 * database as of the moment that step read it, taken under a read transaction that never blocks
 * the platform's writer (WAL). The other files (the admin and operator tokens) are copied as
 * they are. A manifest records each database's schema version and row counts, and each copy is
 * checked (quick_check) before the backup counts as taken.
 *
 * Restore checks the backup the same way, refuses a data directory that a running StreetWatch
 * holds (core/data-dir-lock.ts) or that already has databases (unless forced), refuses a
 * database newer than this code knows, and replaces each database with its copy (its stale
 * write-ahead log removed first).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { BUS_DATABASE_FILE } from '../core/bus/sqlite-log.js';
import { isRunningMarker, runningProcesses } from '../core/data-dir-lock.js';
import { StreetWatchError } from '../core/errors.js';
import { isSqliteDatabase, listDatabases } from '../core/store/sqlite/files.js';
import { latestVersion } from '../core/store/sqlite/migrations.js';
import { STATE_DATABASE, STATE_MIGRATIONS } from '../core/store/sqlite/schema.js';
import { DEVICE_INDEX_FILE } from '../core/store/sqlite/device-index.js';
import { SERIES_DATABASE, SERIES_MIGRATIONS } from '../core/store/sqlite/series.js';

export const MANIFEST = 'manifest.json';
/** Version of the manifest's format. */
const FORMAT = 1;

/** The schema versions this code knows, by database file name (others are not checked). */
const KNOWN_VERSIONS: Readonly<Record<string, number>> = {
  [STATE_DATABASE]: latestVersion(STATE_MIGRATIONS),
  [SERIES_DATABASE]: latestVersion(SERIES_MIGRATIONS),
};

export interface BackupManifest {
  format: number;
  /** When the backup started (epoch ms). */
  takenAt: number;
  /** The StreetWatch version that took it. */
  version: string;
  /** The data directory it was taken from. */
  source: string;
  databases: { name: string; bytes: number; schemaVersion: number; rows: Record<string, number> }[];
  /** Other files of the data directory, copied as they were. */
  files: string[];
}

/** Files of a data directory that are neither databases, their logs, nor run markers. */
function plainFiles(dir: string, databases: readonly string[]): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !databases.includes(n) && !/-(wal|shm|journal)$/.test(n) && !isRunningMarker(n) && n !== MANIFEST && fs.statSync(path.join(dir, n)).isFile() && !isSqliteDatabase(path.join(dir, n)))
    .sort();
}

function describe(file: string): { schemaVersion: number; rows: Record<string, number>; ok: string } {
  const db = new Database(file, { fileMustExist: true });
  try {
    const ok = (db.pragma('quick_check', { simple: true }) as string) ?? '';
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all();
    const rows: Record<string, number> = {};
    for (const { name } of tables) rows[name] = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${name.replaceAll('"', '""')}"`).get()!.n;
    return { schemaVersion, rows, ok };
  } finally {
    db.close();
  }
}

/**
 * The order databases are copied in, each a moment after the one before. The index by device
 * before the readings it indexes (it never points past them); the readings' database, which
 * holds the embedded bus's log and its consumers' positions, before the state the consumers
 * write (a restore then replays a little of the log into a state that may have seen it, which
 * every stage absorbs, rather than skip records whose effects the state lacks). Others between.
 */
function copyOrder(names: readonly string[]): string[] {
  const rank = (n: string): number => (n === DEVICE_INDEX_FILE ? 0 : n === SERIES_DATABASE || n === BUS_DATABASE_FILE ? 1 : n === STATE_DATABASE ? 3 : 2);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Takes a backup of `dataDir` into `target` (a new or empty directory); resolves with its manifest. */
export async function backupDataDir(dataDir: string, target: string, version: string): Promise<BackupManifest> {
  const databases = copyOrder(listDatabases(dataDir));
  if (databases.length === 0) throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [dataDir, 'holds no StreetWatch database (is STREETWATCH_DATA_DIR right?)']);
  if (fs.existsSync(target) && fs.readdirSync(target).length > 0) throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [target, 'exists and is not empty: back up into a new directory']);
  fs.mkdirSync(target, { recursive: true });
  const takenAt = Date.now();
  const manifest: BackupManifest = { format: FORMAT, takenAt, version, source: path.resolve(dataDir), databases: [], files: [] };
  for (const name of databases) {
    const source = new Database(path.join(dataDir, name), { fileMustExist: true });
    try {
      source.pragma('busy_timeout = 5000');
      // All pages in one step: the copy is the database as one read transaction saw it. (Done in
      // several steps, each write of the platform in between would restart the copy.)
      await source.backup(path.join(target, name), { progress: ({ totalPages }) => Math.max(totalPages, 1) });
    } finally {
      source.close();
    }
    const { schemaVersion, rows, ok } = describe(path.join(target, name));
    if (ok !== 'ok') throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [path.join(target, name), `the copy fails its check: ${ok}`]);
    manifest.databases.push({ name, bytes: fs.statSync(path.join(target, name)).size, schemaVersion, rows });
  }
  for (const name of plainFiles(dataDir, databases)) {
    fs.copyFileSync(path.join(dataDir, name), path.join(target, name));
    fs.chmodSync(path.join(target, name), fs.statSync(path.join(dataDir, name)).mode & 0o777);
    manifest.files.push(name);
  }
  fs.writeFileSync(path.join(target, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads and checks a backup: its manifest, and each database present and sound. */
export function readBackup(dir: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [dir, `no readable ${MANIFEST}: not a StreetWatch backup`], { cause: err });
  }
  if (manifest.format !== FORMAT || !Array.isArray(manifest.databases)) throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [dir, `${MANIFEST} is not of a format this StreetWatch reads`]);
  for (const d of manifest.databases) {
    const file = path.join(dir, d.name);
    if (path.basename(d.name) !== d.name || !isSqliteDatabase(file)) throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [dir, `${d.name} is missing or not a database`]);
    const { ok, schemaVersion } = describe(file);
    if (ok !== 'ok') throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [file, `fails its check: ${ok}`]);
    const known = KNOWN_VERSIONS[d.name];
    if (known !== undefined && schemaVersion > known) throw new StreetWatchError('SW_ERR_SCHEMA_NEWER', [`${d.name} in the backup`, schemaVersion, known]);
  }
  for (const f of manifest.files) {
    if (path.basename(f) !== f || !fs.existsSync(path.join(dir, f))) throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [dir, `${f} is missing`]);
  }
  return manifest;
}

/**
 * Restores a backup into `dataDir`: refused while a StreetWatch runs on it, or when it already
 * has databases unless `force`. Resolves with the backup's manifest.
 */
export function restoreDataDir(backupDir: string, dataDir: string, opts: { force?: boolean } = {}): BackupManifest {
  const manifest = readBackup(backupDir);
  const running = runningProcesses(dataDir);
  if (running.length > 0) throw new StreetWatchError('SW_ERR_DATA_DIR_IN_USE', [dataDir, running.map((p) => `${p.pid} on ${p.hostname}`).join(', ')]);
  const existing = listDatabases(dataDir);
  if (existing.length > 0 && !opts.force) {
    throw new StreetWatchError('SW_ERR_BACKUP_INVALID', [backupDir, `${dataDir} already holds ${existing.join(', ')}: restore into an empty directory, or pass --force to replace them`]);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  // Databases of the directory that the backup does not have would not match the restored ones.
  for (const name of existing) if (!manifest.databases.some((d) => d.name === name)) removeDatabase(path.join(dataDir, name));
  for (const d of manifest.databases) {
    const target = path.join(dataDir, d.name);
    const staging = `${target}.restoring`;
    fs.copyFileSync(path.join(backupDir, d.name), staging);
    const fd = fs.openSync(staging, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // The old database's log must not be replayed into its replacement.
    removeDatabase(target);
    fs.renameSync(staging, target);
  }
  for (const f of manifest.files) {
    fs.copyFileSync(path.join(backupDir, f), path.join(dataDir, f));
    fs.chmodSync(path.join(dataDir, f), fs.statSync(path.join(backupDir, f)).mode & 0o777);
  }
  return manifest;
}

function removeDatabase(file: string): void {
  for (const f of [`${file}-wal`, `${file}-shm`, `${file}-journal`, file]) fs.rmSync(f, { force: true });
}

/** What a backup holds, for people: each database with its size, schema version and rows per table. */
export function describeBackup(m: BackupManifest): string {
  const mib = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MiB`;
  const lines = m.databases.map((d) => `  ${d.name} (schema ${d.schemaVersion}, ${mib(d.bytes)}): ${Object.entries(d.rows).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  if (m.files.length > 0) lines.push(`  files: ${m.files.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
