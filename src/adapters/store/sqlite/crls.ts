/** The SQLite store's CrlRepository (src/ports.ts): CRLs, their DER in chunks, and reserved CRL numbers; the awaited CRL transaction. */
import { PkiError } from '../../../errors.js';
import type { CrlRecord, CrlTransaction, CrlRepository } from '../../../ports.js';
import { crlFromRow, fromSec, toSec, type CrlRow } from '../rows.js';
import type { SqliteConnection } from './connection.js';

export class SqliteCrlRepository implements CrlRepository {
  constructor(private readonly c: SqliteConnection) {}

  /**
   * BEGIN IMMEDIATE (the write lock: other processes queue on the busy timeout) ... COMMIT around the awaited `fn`,
   * alone on this connection (see gate.ts).
   */
  async withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T> {
    const crlRow = (r: CrlRow | undefined): CrlRecord | undefined => r && crlFromRow(r);
    const tx: CrlTransaction = {
      lastCrl: async () => crlRow(this.c.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined),
      crlDer: async (crlNumber) => this.crlDerSync(issuerId, crlNumber),
      crlChunks: (crlNumber) => {
        // One chunk per statement (no open iterator: the caller queries the store between chunks).
        const chunk = this.c.sql('SELECT data FROM crl_chunk WHERE issuer_id = ? AND crl_number = ? AND seq = ?').pluck();
        return (function* () {
          for (let seq = 0; ; seq++) {
            const data = chunk.get(issuerId, crlNumber, seq) as Buffer | undefined;
            if (!data) return;
            yield data;
          }
        })();
      },
      revocationEpoch: async () => (this.c.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
      revocationCount: async () => (this.c.sql('SELECT revocation_count FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
      entryBlocks: (thisUpdate, withReasons) => {
        // Concatenated inside SQLite, one block per first serial octet (256 primary-key range scans): fetching 1M
        // rows one by one costs ~2 us each in the driver; grouping by an expression would sort them all. Rows come in
        // index (serial) order; nothing depends on it for correctness (see app/crl/merge.ts), only the merge's speed.
        const col = withReasons ? 'entry_der' : 'COALESCE(entry_der_no_reason, entry_der)';
        const block = this.c.sql(
          `SELECT CAST(group_concat(der, '') AS BLOB) FROM
             (SELECT ${col} AS der FROM revocation WHERE issuer_id = ? AND serial >= ? AND serial < ? AND cert_not_after > ? ORDER BY serial)`,
        ).pluck();
        const scope = toSec(thisUpdate);
        const hex = (i: number) => i.toString(16).padStart(2, '0');
        return (async function* () {
          for (let i = 0; i < 256; i++) {
            const b = block.get(issuerId, hex(i), i === 255 ? 'g' : hex(i + 1), scope) as Buffer | null;
            if (b) yield b;
          }
        })();
      },
      revocationStatus: async (serial) => {
        const row = this.c.sql(
          'SELECT c.not_after AS notAfter, r.serial IS NOT NULL AS revoked FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE c.issuer_id = ? AND c.serial = ?',
        ).get(issuerId, serial) as { notAfter: number; revoked: number } | undefined;
        return row ? { revoked: row.revoked === 1, notAfter: fromSec(row.notAfter) } : { revoked: false };
      },
      lastReservedCrlNumber: async () => (this.c.sql('SELECT MAX(crl_number) FROM crl_reservation WHERE issuer_id = ?').pluck().get(issuerId) as number | null) ?? undefined,
      reserveCrlNumber: async (crlNumber, at) => {
        const recorded = this.c.sql('SELECT MAX(crl_number) FROM crl WHERE issuer_id = ?').pluck().get(issuerId) as number | null;
        if (recorded !== null && crlNumber <= recorded) throw new PkiError('INTERNAL_STORE', `CRL number ${crlNumber} of CA id ${issuerId} is not above its recorded CRL #${recorded}`, { details: { caId: issuerId, crlNumber } });
        this.c.sql('INSERT INTO crl_reservation (issuer_id, crl_number, reserved_at) VALUES (?, ?, ?)').run(issuerId, crlNumber, toSec(at));
      },
      insertCrl: async (crl, chunks, actor, at) => {
        this.c.sql(
          `INSERT INTO crl (issuer_id, crl_number, this_update, next_update, entries, pruned, reasons, der_size, pem_size, sha256, revocation_epoch, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(issuerId, crl.crlNumber, toSec(crl.thisUpdate), toSec(crl.nextUpdate), crl.entries, crl.pruned, crl.reasons ? 1 : 0, crl.derSize, crl.pemSize, crl.sha256, crl.revocationEpoch, toSec(crl.createdAt));
        const chunk = this.c.sql('INSERT INTO crl_chunk (issuer_id, crl_number, seq, data) VALUES (?, ?, ?, ?)');
        let seq = 0;
        for await (const c of chunks) chunk.run(issuerId, crl.crlNumber, seq++, c);
        // Reservations up to this number are covered by the CRL now recorded (the next number is above it): only
        // those above it (a run still signing, or one that died) stay.
        this.c.sql('DELETE FROM crl_reservation WHERE issuer_id = ? AND crl_number <= ?').run(issuerId, crl.crlNumber);
        this.c.appendAudit(
          { action: 'crl.generate', target: String(crl.crlNumber), details: { issuerId, entries: crl.entries, pruned: crl.pruned, nextUpdate: crl.nextUpdate.toISOString(), sha256: crl.sha256 } },
          actor,
          at,
        );
      },
    };
    return this.c.immediate(() => fn(tx));
  }

  async crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }> {
    await this.c.gate.idle();
    const read = this.c.db.transaction(() => {
      const row = this.c.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined;
      const epoch = (this.c.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0;
      return { last: row && crlFromRow(row), epoch };
    });
    return read.deferred();
  }

  async listCrls(issuerId: number): Promise<CrlRecord[]> {
    await this.c.gate.idle();
    return (this.c.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number').all(issuerId) as CrlRow[]).map(crlFromRow);
  }

  async crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
    await this.c.gate.idle();
    return this.crlDerSync(issuerId, crlNumber);
  }

  /** A stored CRL's DER, copied chunk by chunk into one buffer of the recorded size (no second copy in memory). */
  private crlDerSync(issuerId: number, crlNumber: number): Buffer | undefined {
    const size = this.c.sql('SELECT der_size FROM crl WHERE issuer_id = ? AND crl_number = ?').pluck().get(issuerId, crlNumber) as number | undefined;
    if (size === undefined) return undefined;
    const out = Buffer.allocUnsafe(size);
    let off = 0;
    for (const chunk of this.c.sql('SELECT data FROM crl_chunk WHERE issuer_id = ? AND crl_number = ? ORDER BY seq').pluck().iterate(issuerId, crlNumber) as Iterable<Buffer>) {
      if (off + chunk.length > size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has more bytes than recorded`);
      chunk.copy(out, off);
      off += chunk.length;
    }
    if (off !== size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has ${off} of its ${size} bytes`);
    return out;
  }
}
