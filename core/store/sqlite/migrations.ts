import type Database from 'better-sqlite3';
import { StreetWatchError } from '../../errors.js';

/**
 * One step of a database's layout, from the version before it to `version`. Steps run in order,
 * each in its own transaction with the version bump, so a crash leaves a database at a version
 * it really has. A new table, column or index is a new step at the end of the list, never an
 * edit of a released one.
 */
export interface Migration {
  version: number;
  /** What the step changes, for logs and the backup manifest. */
  name: string;
  up(db: Database.Database): void;
}

/** The version the last step of a list reaches: what this code writes. */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/**
 * Brings a database to the latest version of its list, with `PRAGMA user_version` as the record
 * of where it stands (0: a database created before versions existed, or a new file). A database
 * written by a newer StreetWatch is refused (SW_ERR_SCHEMA_NEWER) before anything is touched:
 * older code would not know what the newer steps changed. Returns the versions it went from and to.
 */
export function migrateDatabase(db: Database.Database, label: string, migrations: readonly Migration[]): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${label}: migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
  const latest = latestVersion(migrations);
  const version = (): number => db.pragma('user_version', { simple: true }) as number;
  const from = version();
  if (from > latest) throw new StreetWatchError('SW_ERR_SCHEMA_NEWER', [label, from, latest]);
  for (const m of migrations) {
    if (m.version <= from) continue;
    // IMMEDIATE: a second process opening the same file at the same time waits, then finds
    // the step done and skips it.
    db.transaction(() => {
      const now = version();
      if (now >= m.version) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return { from, to: Math.max(from, latest) };
}
