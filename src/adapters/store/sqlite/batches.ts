/** The SQLite store's BatchRepository (src/ports.ts): `pki issue --batch` runs and their items. */
import type { BatchItemRecord, BatchRecord, BatchRepository } from '../../../ports.js';
import { fromSec, toSec } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteBatchRepository implements BatchRepository {
  constructor(private readonly c: SqliteConnection) {}

  async startBatch(issuerId: number, csrDir: string, outDir: string, total: number, at: Date): Promise<number> {
    await this.c.gate.idle();
    const info = this.c.sql('INSERT INTO issue_batch (issuer_id, csr_dir, out_dir, total, started_at) VALUES (?, ?, ?, ?, ?)').run(issuerId, csrDir, outDir, total, toSec(at));
    return Number(info.lastInsertRowid);
  }

  async finishBatch(id: number, at: Date): Promise<void> {
    await this.c.gate.idle();
    this.c.sql('UPDATE issue_batch SET finished_at = ? WHERE id = ?').run(toSec(at), id);
  }

  async latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined> {
    await this.c.gate.idle();
    const row = this.c.sql('SELECT * FROM issue_batch WHERE issuer_id = ? AND csr_dir = ? AND out_dir = ? ORDER BY id DESC LIMIT 1').get(issuerId, csrDir, outDir) as
      | { id: number; issuer_id: number; csr_dir: string; out_dir: string; total: number; started_at: number; finished_at: number | null }
      | undefined;
    if (!row) return undefined;
    return {
      id: row.id,
      issuerId: row.issuer_id,
      csrDir: row.csr_dir,
      outDir: row.out_dir,
      total: row.total,
      startedAt: fromSec(row.started_at),
      finishedAt: row.finished_at === null ? null : fromSec(row.finished_at),
    };
  }

  async batchItems(batchId: number): Promise<BatchItemRecord[]> {
    await this.c.gate.idle();
    const rows = this.c.sql(
      'SELECT i.file, i.csr_sha256, i.serial, c.der FROM issue_batch_item i JOIN certificate c ON c.issuer_id = i.issuer_id AND c.serial = i.serial WHERE i.batch_id = ? ORDER BY i.file',
    ).all(batchId) as Array<{ file: string; csr_sha256: string; serial: string; der: Buffer }>;
    return rows.map((r) => ({ file: r.file, csrSha256: r.csr_sha256, serial: r.serial, der: r.der }));
  }
}
