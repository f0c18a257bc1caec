/** The SQLite store's AuditRepository (src/ports.ts): the audit log as read back (rows are appended by SqliteConnection.appendAudit in each change's transaction). */
import type { AuditRecord, AuditRepository } from '../../../ports.js';
import type { SqliteConnection } from './connection.js';
import { auditRecordFromRow, type AuditTableRow } from '../rows.js';

export class SqliteAuditRepository implements AuditRepository {
  constructor(private readonly c: SqliteConnection) {}

  async auditLog(): Promise<AuditRecord[]> {
    await this.c.gate.idle();
    const rows = this.c.sql('SELECT * FROM audit ORDER BY seq').all() as AuditTableRow[];
    return rows.map((r) => auditRecordFromRow(r, r.prev_hash));
  }
}
