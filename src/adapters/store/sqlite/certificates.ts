/** The SQLite store's CertificateRepository (src/ports.ts): issued certificates (one row per issuer and serial), with their revocation joined on read. */
import type { CertificateFilter, CertificateRecord, LeafSummary, NewCertificate, CertificateRepository } from '../../../ports.js';
import { CERT_SELECT, certFromRow, fromSec, toSec, type CertRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteCertificateRepository implements CertificateRepository {
  constructor(private readonly c: SqliteConnection) {}

  async recordIssued(issuerId: number, certs: NewCertificate[], actor: string, at: Date): Promise<{ collisions: number[] }> {
    await this.c.gate.idle();
    const run = this.c.db.transaction(() => {
      const collisions: number[] = [];
      certs.forEach((c, i) => {
        if (!this.c.insertCertificate(issuerId, c, at)) {
          collisions.push(i);
          return;
        }
        if (c.batchItem)
          this.c.sql('INSERT INTO issue_batch_item (batch_id, file, csr_sha256, issuer_id, serial) VALUES (?, ?, ?, ?, ?)').run(
            c.batchItem.batchId,
            c.batchItem.file,
            c.batchItem.csrSha256,
            issuerId,
            c.serial,
          );
        this.c.appendAudit(
          { action: 'certificate.issue', target: c.serial, details: { issuerId, subject: c.subjectDn, sans: c.sans, notAfter: c.notAfter.toISOString(), profile: c.profile, source: c.source } },
          actor,
          at,
        );
      });
      return collisions;
    });
    return { collisions: run.immediate() };
  }

  async getCertificates(serial: string, issuerId?: number): Promise<CertificateRecord[]> {
    await this.c.gate.idle();
    const rows =
      issuerId === undefined
        ? (this.c.sql(`${CERT_SELECT} WHERE c.serial = ? ORDER BY c.id`).all(serial) as CertRow[])
        : (this.c.sql(`${CERT_SELECT} WHERE c.serial = ? AND c.issuer_id = ?`).all(serial, issuerId) as CertRow[]);
    return rows.map(certFromRow);
  }

  async findCertificates(f: CertificateFilter): Promise<CertificateRecord[]> {
    await this.c.gate.idle();
    const where: string[] = [];
    const args: unknown[] = [];
    const now = toSec(f.now);
    if (f.issuerId !== undefined) {
      where.push('c.issuer_id = ?');
      args.push(f.issuerId);
    }
    if (f.status === 'revoked') where.push('r.serial IS NOT NULL');
    if (f.status === 'valid') {
      where.push('r.serial IS NULL AND c.not_after > ?');
      args.push(now);
    }
    if (f.status === 'expired') {
      where.push('r.serial IS NULL AND c.not_after <= ?');
      args.push(now);
    }
    if (f.expiringWithinSeconds !== undefined) {
      where.push('r.serial IS NULL AND c.not_after > ? AND c.not_after <= ?');
      args.push(now, now + f.expiringWithinSeconds);
    }
    const sql = `${CERT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.not_after, c.id${f.limit ? ' LIMIT ?' : ''}`;
    if (f.limit) args.push(f.limit);
    return (this.c.sql(sql).all(...args) as CertRow[]).map(certFromRow);
  }

  async certificateKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    await this.c.gate.idle();
    return this.c.sql('SELECT issuer_id AS issuerId, serial FROM certificate').all() as Array<{ issuerId: number; serial: string }>;
  }

  async leafSummary(issuerIds: number[], now: Date, opts: { revoked: boolean; sample: number; expiringBy?: Date }): Promise<LeafSummary> {
    await this.c.gate.idle();
    if (!issuerIds.length) return { count: 0, latestNotAfter: null, sample: [] };
    const where = `c.issuer_id IN (${issuerIds.map(() => '?').join(', ')}) AND c.is_ca = 0 AND c.not_after > ? AND r.serial IS ${opts.revoked ? 'NOT NULL' : 'NULL'}${opts.expiringBy ? ' AND c.not_after <= ?' : ''}`;
    const args = [...issuerIds, toSec(now), ...(opts.expiringBy ? [toSec(opts.expiringBy)] : [])];
    const agg = this.c.db
      .prepare(`SELECT COUNT(*) AS n, MAX(c.not_after) AS latest FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE ${where}`)
      .get(...args) as { n: number; latest: number | null };
    const sample = (this.c.db.prepare(`${CERT_SELECT} WHERE ${where} ORDER BY c.not_after DESC, c.id LIMIT ?`).all(...args, opts.sample) as CertRow[]).map(certFromRow);
    return { count: agg.n, latestNotAfter: agg.latest === null ? null : fromSec(agg.latest), sample };
  }
}
