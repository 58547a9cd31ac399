import type Database from 'better-sqlite3';
import type { IngestTokenRecord, IngestTokenStore } from '../../ports.js';

interface IngestTokenRow {
  id: string;
  device_id: string;
  token_hash: string;
  label: string;
  created_at: number;
  revoked_at: number | null;
}

export class SqliteIngestTokens implements IngestTokenStore {
  private readonly insert;
  private readonly byHash;
  private readonly all;
  private readonly ofDevice;
  private readonly revokeStmt;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO ingest_tokens (id, device_id, token_hash, label, created_at, revoked_at) VALUES (@id, @deviceId, @tokenHash, @label, @createdAt, @revokedAt)');
    this.byHash = db.prepare<[string], IngestTokenRow>('SELECT * FROM ingest_tokens WHERE token_hash = ?');
    this.all = db.prepare<[], IngestTokenRow>('SELECT * FROM ingest_tokens ORDER BY created_at, id');
    this.ofDevice = db.prepare<[string], IngestTokenRow>('SELECT * FROM ingest_tokens WHERE device_id = ? ORDER BY created_at, id');
    this.revokeStmt = db.prepare('UPDATE ingest_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  async add(t: IngestTokenRecord): Promise<void> {
    this.insert.run(t);
  }

  async findByHash(tokenHash: string): Promise<IngestTokenRecord | undefined> {
    const row = this.byHash.get(tokenHash);
    return row && toToken(row);
  }

  async list(deviceId?: string): Promise<IngestTokenRecord[]> {
    return (deviceId === undefined ? this.all.all() : this.ofDevice.all(deviceId)).map(toToken);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.revokeStmt.run(at, id).changes > 0;
  }
}

function toToken(r: IngestTokenRow): IngestTokenRecord {
  return { id: r.id, deviceId: r.device_id, tokenHash: r.token_hash, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at };
}
