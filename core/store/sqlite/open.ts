import Database from 'better-sqlite3';

/**
 * Opens a SQLite database the way StreetWatch uses it: WAL so readers never block the writer,
 * synchronous=NORMAL so a committed transaction survives a killed process (the WAL is in the
 * OS cache; only a power loss could drop the last commits), and a busy timeout for the rare
 * second process (backtests, the CLI) opening the same file.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}
