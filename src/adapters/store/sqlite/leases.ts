/** The SQLite store's LeaseRepository (src/ports.ts): leases on trust anchors (compare-and-set in one IMMEDIATE transaction). */
import type { LeaseRecord, LeaseRepository } from '../../../ports.js';
import type { SqliteConnection } from './connection.js';

export class SqliteLeaseRepository implements LeaseRepository {
  constructor(private readonly c: SqliteConnection) {}

  async acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }> {
    await this.c.gate.idle();
    return this.c.db
      .transaction(() => {
        const cur = this.c.sql('SELECT * FROM anchor_lease WHERE anchor_name = ?').get(name) as { holder: string; acquired_at: number; expires_at: number } | undefined;
        if (cur && cur.holder !== holder && cur.expires_at > now.getTime())
          return { name, holder: cur.holder, acquiredAt: new Date(cur.acquired_at), expiresAt: new Date(cur.expires_at), acquired: false };
        const acquiredAt = cur && cur.holder === holder ? cur.acquired_at : now.getTime();
        this.c.sql(
          `INSERT INTO anchor_lease (anchor_name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (anchor_name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
        ).run(name, holder, acquiredAt, expiresAt.getTime());
        return { name, holder, acquiredAt: new Date(acquiredAt), expiresAt, acquired: true };
      })
      .immediate();
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.c.gate.idle();
    this.c.sql('DELETE FROM anchor_lease WHERE anchor_name = ? AND holder = ?').run(name, holder);
  }
}
