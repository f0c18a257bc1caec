/** The SQLite store's RotationRepository (src/ports.ts): CA rotations and their phases (compare-and-set). */
import { PkiError } from '../../../errors.js';
import type { AuditEvent, RotationPhase, RotationRecord, RotationRepository } from '../../../ports.js';
import { rotationFromRow, toSec, type RotationRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteRotationRepository implements RotationRepository {
  constructor(private readonly c: SqliteConnection) {}

  async openRotation(anchorName: string): Promise<RotationRecord | undefined> {
    await this.c.gate.idle();
    const r = this.c.sql("SELECT * FROM rotation WHERE anchor_name = ? AND phase NOT IN ('finished', 'aborted')").get(anchorName) as RotationRow | undefined;
    return r && rotationFromRow(r);
  }

  async listRotations(anchorName?: string): Promise<RotationRecord[]> {
    await this.c.gate.idle();
    const rows = (anchorName === undefined ? this.c.sql('SELECT * FROM rotation ORDER BY id').all() : this.c.sql('SELECT * FROM rotation WHERE anchor_name = ? ORDER BY id').all(anchorName)) as RotationRow[];
    return rows.map(rotationFromRow);
  }

  async createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    await this.c.gate.idle();
    return this.c.db
      .transaction(() => {
        const open = this.c.sql("SELECT id FROM rotation WHERE anchor_name = ? AND phase NOT IN ('finished', 'aborted')").get(r.anchorName);
        if (open) throw new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${r.anchorName} already has a rotation in progress`, { details: { anchor: r.anchorName } });
        const id = this.c.sql(
          `INSERT INTO rotation (anchor_name, old_ca_id, new_ca_id, anchor_change, bundle_before, phase, started_at, updated_at) VALUES (?, ?, ?, ?, ?, 'starting', ?, ?)`,
        ).run(r.anchorName, r.oldCaId, r.newCaId, r.anchorChange ? 1 : 0, JSON.stringify(r.bundleBefore), toSec(r.startedAt), toSec(at)).lastInsertRowid;
        this.c.appendAudit(audit, actor, at);
        return rotationFromRow(this.c.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow);
      })
      .immediate();
  }

  async setRotationPhase(id: number, from: RotationPhase[], to: RotationPhase, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    await this.c.gate.idle();
    return this.c.db
      .transaction(() => {
        const row = this.c.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow | undefined;
        if (!row || !from.includes(row.phase))
          throw new PkiError('STATE_ROTATION_PHASE', `rotation ${id} is ${row?.phase ?? 'unknown'}; this step needs it ${from.join(' or ')}`, { details: { rotation: id, phase: row?.phase ?? null } });
        const t = toSec(at);
        this.c.sql(
          `UPDATE rotation SET phase = ?, updated_at = ?, switched_at = CASE WHEN ? = 'switched' THEN ? ELSE switched_at END,
             ended_at = CASE WHEN ? IN ('finished', 'aborted') THEN ? ELSE ended_at END WHERE id = ?`,
        ).run(to, t, to, t, to, t, id);
        this.c.appendAudit(audit, actor, at);
        return rotationFromRow(this.c.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow);
      })
      .immediate();
  }
}
