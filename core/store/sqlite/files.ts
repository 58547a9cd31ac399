import fs from 'node:fs';
import path from 'node:path';

const HEADER = Buffer.from('SQLite format 3\u0000', 'latin1');

/** Whether a file is a SQLite database (by its header), whatever its name. */
export function isSqliteDatabase(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(HEADER.length);
    return fs.readSync(fd, head, 0, head.length, 0) === head.length && head.equals(HEADER);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The SQLite databases of a data directory, by file name, whatever wrote them (the stores, the
 * embedded bus...): backups, restores and the size gauges cover each of them without a list.
 */
export function listDatabases(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => !/-(wal|shm|journal)$/.test(n) && fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.isFile() && isSqliteDatabase(path.join(dir, n)))
    .sort();
}

/** Bytes a database takes on disk: its file and its write-ahead log. */
export function databaseBytes(file: string): number {
  return [file, `${file}-wal`].reduce((sum, f) => sum + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
}
