import Database from 'better-sqlite3';

/**
 * Page cache of a database that takes the pipeline's writes (the readings with the embedded
 * bus's log), in KiB. Its writes land at the right edge of time-ordered keys, so this is about
 * the recent pages of each table and index.
 */
export const WRITER_PAGE_CACHE_KIB = 16 * 1024;
/**
 * Page cache of every other database (the state, the index by device attached to the readings'
 * connection), in KiB. SQLite keeps a page it read until the cache is full, so a cache grows
 * with its file up to this bound: the state grows for weeks, and each cache holds the pages it
 * last touched rather than the whole file.
 */
export const PAGE_CACHE_KIB = 2 * 1024;

/**
 * Opens a SQLite database the way StreetWatch uses it: WAL so readers never block the writer,
 * synchronous=NORMAL so a committed transaction survives a killed process (the WAL is in the
 * OS cache; only a power loss could drop the last commits), a busy timeout for the rare
 * second process (backtests, the CLI) opening the same file, and a bounded page cache (the
 * OS caches the file as well).
 */
export function openDatabase(file: string, cacheKiB = PAGE_CACHE_KIB): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-cacheKiB}`);
  return db;
}
