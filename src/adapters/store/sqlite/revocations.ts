/** The SQLite store's RevocationRepository (src/ports.ts): revocations (permanent rows, each with its CRL entry encoded ahead) and the CA's revocation epoch. */
import { PkiError, throwIfAny } from '../../../errors.js';
import type { CertificateRecord, NewRevocation, RevocationRepository } from '../../../ports.js';
import { CERT_SELECT, certFromRow, toSec, type CertRow , revocationRefusal } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteRevocationRepository implements RevocationRepository {
  constructor(private readonly c: SqliteConnection) {}

  async revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe: (i: number) => string = () => ''): Promise<CertificateRecord[]> {
    await this.c.gate.idle();
    const find = this.c.sql(`${CERT_SELECT} WHERE c.issuer_id = ? AND c.serial = ?`);
    const insert = this.c.sql(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const run = this.c.db.transaction(() => {
      const problems: PkiError[] = [];
      const seen = new Set<string>();
      const rows = items.map((item, i) => {
        const where = describe(i) ? `${describe(i)}: ` : '';
        const cert = find.get(issuerId, item.serial) as CertRow | undefined;
        const refusal = revocationRefusal(where, item.serial, cert !== undefined, cert && cert.reason !== null ? { revokedAt: cert.revoked_at!, reason: cert.reason } : undefined, seen);
        if (refusal) problems.push(refusal);
        return cert;
      });
      throwIfAny(problems, `${problems.length} of ${items.length} revocations refused; nothing was revoked`);
      items.forEach((item, i) => {
        insert.run(
          issuerId,
          item.serial,
          item.reason,
          toSec(item.revokedAt),
          item.invalidityDate && toSec(item.invalidityDate),
          rows[i]!.not_after,
          item.entryDer,
          item.entryDerNoReason,
          toSec(at),
        );
        this.c.appendAudit(
          { action: 'certificate.revoke', target: item.serial, details: { issuerId, reason: item.reason, invalidityDate: item.invalidityDate?.toISOString() ?? null } },
          actor,
          at,
        );
      });
      this.c.sql('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(items.length, issuerId);
      // A revoked CA certificate revokes the CA: it never issues again (same transaction as the revocation).
      const revokedCa = this.c.sql("UPDATE ca SET status = 'revoked' WHERE status IN ('active', 'retired') AND serial = ? AND (parent_id = ? OR (parent_id IS NULL AND id = ?)) RETURNING name");
      items.forEach((item) => {
        for (const row of revokedCa.all(item.serial, issuerId, issuerId) as Array<{ name: string }>)
          this.c.appendAudit({ action: 'ca.revoked', target: row.name, details: { issuerId, serial: item.serial, reason: item.reason } }, actor, at);
      });
      return items.map((item) => find.get(issuerId, item.serial) as CertRow);
    });
    return run.immediate().map(certFromRow);
  }

  async revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    await this.c.gate.idle();
    return this.c.sql('SELECT issuer_id AS issuerId, serial FROM revocation').all() as Array<{ issuerId: number; serial: string }>;
  }
}
