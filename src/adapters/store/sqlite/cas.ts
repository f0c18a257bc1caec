/** The SQLite store's CaRepository (src/ports.ts): CAs: the ca and ca_key rows (and a new CA's own certificate row). */
import { PkiError } from '../../../errors.js';
import type { AuditEvent, CaRecord, NewCa, NewCertificate, CaRepository } from '../../../ports.js';
import { toSec, type CaRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteCaRepository implements CaRepository {
  constructor(private readonly c: SqliteConnection) {}

  async getCa(name: string): Promise<CaRecord | undefined> {
    await this.c.gate.idle();
    const row = this.c.sql('SELECT * FROM ca WHERE name = ?').get(name) as CaRow | undefined;
    return row && this.c.ca(row);
  }

  async getCaById(id: number): Promise<CaRecord | undefined> {
    await this.c.gate.idle();
    const row = this.c.sql('SELECT * FROM ca WHERE id = ?').get(id) as CaRow | undefined;
    return row && this.c.ca(row);
  }

  async listCas(): Promise<CaRecord[]> {
    await this.c.gate.idle();
    return (this.c.sql('SELECT * FROM ca ORDER BY id').all() as CaRow[]).map((r) => this.c.ca(r));
  }

  async createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord> {
    await this.c.gate.idle();
    const run = this.c.db.transaction(() => {
      const id = this.c.insertCa(ca);
      if (certificate) {
        const issuerId = certificate.issuerId ?? id;
        if (!this.c.insertCertificate(issuerId, certificate.cert, at))
          throw new PkiError('STATE_SERIAL_COLLISION', `serial ${certificate.cert.serial} already exists for this issuer; retry`);
      }
      this.c.appendAudit(audit, actor, at);
      return id;
    });
    const id = run.immediate();
    return (await this.getCaById(id))!;
  }

  async retireCas(ids: number[], events: AuditEvent[], actor: string, at: Date): Promise<number[]> {
    await this.c.gate.idle();
    const run = this.c.db.transaction(() => {
      const changed: number[] = [];
      const retire = this.c.sql("UPDATE ca SET status = CASE WHEN status = 'revoked' THEN 'revoked' ELSE 'retired' END, retired_at = ? WHERE id = ? AND status IN ('active', 'revoked') AND retired_at IS NULL");
      ids.forEach((id, i) => {
        if (retire.run(toSec(at), id).changes !== 1) return;
        changed.push(id);
        this.c.appendAudit(events[i]!, actor, at);
      });
      return changed;
    });
    return run.immediate();
  }

  async activateCa(
    id: number,
    u: { certDer: Buffer; parentId: number | null; externalChainPem: string | null; serial: string; notBefore: Date; notAfter: Date; subjectDn: string },
    audit: AuditEvent,
    actor: string,
    at: Date,
  ): Promise<CaRecord> {
    await this.c.gate.idle();
    const run = this.c.db.transaction(() => {
      const row = this.c.sql('SELECT status FROM ca WHERE id = ?').get(id) as { status: string } | undefined;
      if (row?.status !== 'pending') throw new PkiError('STATE_CA_NOT_PENDING', 'the CA is not waiting for a certificate');
      this
        .c.sql('UPDATE ca SET status = ?, cert_der = ?, parent_id = ?, external_chain_pem = ?, serial = ?, not_before = ?, not_after = ?, subject = ? WHERE id = ?')
        .run('active', u.certDer, u.parentId, u.externalChainPem, u.serial, toSec(u.notBefore), toSec(u.notAfter), u.subjectDn, id);
      this.c.appendAudit(audit, actor, at);
    });
    run.immediate();
    return (await this.getCaById(id))!;
  }
}
