import type Database from 'better-sqlite3';
import type { ApiTokenRecord, ApiTokenStore } from '../../ports.js';

interface TokenRow {
  id: string;
  unit_id: string;
  token_hash: string;
  label: string;
  created_at: number;
  revoked_at: number | null;
  kind: ApiTokenRecord['kind'];
}

export class SqliteTokens implements ApiTokenStore {
  private readonly insert;
  private readonly byHash;
  private readonly all;
  private readonly ofUnit;
  private readonly revokeStmt;

  constructor(db: Database.Database) {
    this.insert = db.prepare('INSERT INTO api_tokens (id, unit_id, kind, token_hash, label, created_at, revoked_at) VALUES (@id, @unitId, @kind, @tokenHash, @label, @createdAt, @revokedAt)');
    this.byHash = db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE token_hash = ?');
    this.all = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id');
    this.ofUnit = db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE unit_id = ? ORDER BY created_at, id');
    this.revokeStmt = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  }

  async add(t: ApiTokenRecord): Promise<void> {
    this.insert.run(t);
  }

  async findByHash(tokenHash: string): Promise<ApiTokenRecord | undefined> {
    const row = this.byHash.get(tokenHash);
    return row && toToken(row);
  }

  async list(unitId?: string): Promise<ApiTokenRecord[]> {
    return (unitId === undefined ? this.all.all() : this.ofUnit.all(unitId)).map(toToken);
  }

  async revoke(id: string, at: number): Promise<boolean> {
    return this.revokeStmt.run(at, id).changes > 0;
  }
}

function toToken(r: TokenRow): ApiTokenRecord {
  return { id: r.id, unitId: r.unit_id, kind: r.kind, tokenHash: r.token_hash, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at };
}
