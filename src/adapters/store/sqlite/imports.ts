/** The SQLite store's ImportRepository (src/ports.ts): CAs imported from another tool with their history, in one transaction. */
import type { AuditEvent, CaHistory, CaRecord, ImportedEntry, NewCa, NewCaHistory, ImportRepository } from '../../../ports.js';
import { caHistoryFromRow, ImportTally, toSec, type CaHistoryRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';
import type { SqliteCaRepository } from './cas.js';

export class SqliteImportRepository implements ImportRepository {
  constructor(
    private readonly c: SqliteConnection,
    private readonly cas: SqliteCaRepository,
  ) {}

  async importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry> | AsyncIterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }> {
    const insertRevocation = this.c.sql(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Imported serials arrive in no particular order: a larger page cache keeps the random index inserts of a
    // million-line history in memory (64 MiB, this connection only, restored afterwards).
    const cacheSize = this.c.db.pragma('cache_size', { simple: true }) as number;
    this.c.db.pragma('cache_size = -65536');
    const run = async (): Promise<number> => {
      const id = this.c.insertCa(ca);
      const tally = new ImportTally();
      const add = (e: ImportedEntry): void => {
        tally.count(e);
        if (!this.c.insertCertificate(id, e.cert, at)) throw ImportTally.duplicate(e);
        const r = e.revocation;
        if (r) insertRevocation.run(id, r.serial, r.reason, toSec(r.revokedAt), r.invalidityDate && toSec(r.invalidityDate), toSec(e.cert.notAfter), r.entryDer, r.entryDerNoReason, toSec(at));
      };
      // A synchronous source is read without a microtask per entry (a million-line index).
      if (Symbol.iterator in entries) for (const e of entries as Iterable<ImportedEntry>) add(e);
      else for await (const e of entries) add(e);
      if (tally.revocations) this.c.sql('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(tally.revocations, id);
      this.c.sql(
        'INSERT INTO ca_history (ca_id, tool, next_crl_number, crl_number_source, certificates, known_serials, revocations, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(id, history.tool, history.nextCrlNumber, history.crlNumberSource, tally.certificates, tally.knownSerials, tally.revocations, toSec(at));
      this.c.appendAudit(tally.auditEvent(audit, history), actor, at);
      return id;
    };
    let id: number;
    try {
      id = await this.c.immediate(run);
    } finally {
      this.c.db.pragma(`cache_size = ${cacheSize}`);
    }
    return { ca: (await this.cas.getCaById(id))!, history: (await this.caHistory(id))! };
  }

  async caHistory(caId: number): Promise<CaHistory | undefined> {
    await this.c.gate.idle();
    const r = this.c.sql('SELECT * FROM ca_history WHERE ca_id = ?').get(caId) as
      | CaHistoryRow
      | undefined;
    return r && caHistoryFromRow(r);
  }
}
