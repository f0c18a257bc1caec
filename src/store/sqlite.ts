/**
 * The SQLite store (better-sqlite3): WAL journal, synchronous=FULL, one IMMEDIATE transaction per state change,
 * busy timeout so that concurrent `pki` processes queue instead of failing.
 */
import Database from 'better-sqlite3';
import { dirname, join, resolve } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { SerialSetDigest, nextAuditRow, type AuditHead } from '../domain/audit.js';
import type {
  AnchorRecord,
  BatchItemRecord,
  BatchRecord,
  LeaseRecord,
  TargetRecord,
  AuditEvent,
  AuditRecord,
  CaHistory,
  CaRecord,
  CertificateFilter,
  CertificateRecord,
  CrlRecord,
  CrlTransaction,
  ImportedEntry,
  LeafSummary,
  NewCa,
  NewCaHistory,
  NewCertificate,
  NewRevocation,
  PublishedCrl,
  RotationPhase,
  RotationRecord,
  Store,
} from '../ports.js';
import { MIGRATIONS, storedKeyPath, type MigrationContext } from './migrations.js';
import { ConnectionGate } from './gate.js';
import { COPY_TABLES } from './tables.js';
import { AnchorRow, CERT_SELECT, CaRow, CertRow, CrlRow, PublishedCrlRow, RotationRow, TargetRow, anchorFromRow, caFromRow, certFromRow, crlFromRow, fromSec, publishedFromRow, rotationFromRow, targetFromRow, toSec } from './rows.js';


export interface StoreOpenOptions {
  /** The PKI directory (default: the directory holding the database file). */
  baseDir?: string;
  /** This PKI's key directory (default: baseDir/keys); migration 3 uses it to find keys copied with the directory. */
  keysDir?: string;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly insertCert: Database.Statement;
  private readonly insertAudit: Database.Statement;
  private readonly lastAudit: Database.Statement;
  private readonly statements = new Map<string, Database.Statement>();
  /** Keeps other calls off the connection while an awaited transaction is open. */
  private readonly gate = new ConnectionGate();

  /** A prepared statement, prepared once per store (preparing costs more than running most of these). */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** The PKI directory: relative key paths are resolved against it. */
  private readonly migration: MigrationContext;

  private constructor(readonly path: string, readOnlyCheck: boolean, opts: StoreOpenOptions) {
    const baseDir = resolve(opts.baseDir ?? dirname(resolve(path)));
    this.migration = { baseDir, keysDir: resolve(opts.keysDir ?? join(baseDir, 'keys')) };
    try {
      this.db = new Database(path, { fileMustExist: readOnlyCheck });
      this.db.pragma('busy_timeout = 30000');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
    } catch (e) {
      throw new PkiError('IO_STORE_OPEN_FAILED', `cannot open the store ${path}: ${(e as Error).message}`, { details: { file: path }, cause: e });
    }
    this.migrate();
    this.insertCert = this.db.prepare(
      `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (issuer_id, serial) DO NOTHING`,
    );
    this.insertAudit = this.db.prepare('INSERT INTO audit (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.lastAudit = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
  }

  /**
   * Opens (creating when `create`) the store at `path` and applies pending migrations. `baseDir` is the PKI
   * directory (default: the store's directory), against which stored key paths are resolved.
   */
  static open(path: string, create = false, opts: StoreOpenOptions = {}): SqliteStore {
    return new SqliteStore(path, !create, opts);
  }

  private ca(row: CaRow): CaRecord {
    return caFromRow(row, this.migration.baseDir);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    const currentVersion = () => (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migration').get() as { v: number }).v;
    // A migration that rebuilds a referenced table needs foreign keys off, which cannot change inside a transaction.
    const rebuilds = MIGRATIONS.some((m) => m.rebuildsTables && m.version > currentVersion());
    if (rebuilds) this.db.pragma('foreign_keys = OFF');
    try {
      const apply = this.db.transaction(() => {
        const current = currentVersion();
        for (const m of MIGRATIONS) {
          if (m.version <= current) continue;
          // Rows whose references do not resolve: a rebuild must not add any (a store damaged before keeps its own).
          const violations = () => (this.db.pragma('foreign_key_check') as unknown[]).length;
          const before = m.rebuildsTables ? violations() : 0;
          this.db.exec(m.sql);
          m.run?.(this.db, this.migration);
          if (m.rebuildsTables && violations() > before)
            throw new PkiError('STATE_STORE_CORRUPT', `store ${this.path}: migration ${m.version} would leave rows whose references do not resolve; nothing was changed`, { details: { file: this.path } });
          this.db.prepare('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Math.floor(Date.now() / 1000));
        }
        const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
        if (current > latest)
          throw new PkiError('STATE_STORE_TOO_NEW', `store ${this.path} has schema version ${current}; this pki knows up to ${latest}`, { hint: 'upgrade pki' });
      });
      apply.immediate();
    } finally {
      if (rebuilds) this.db.pragma('foreign_keys = ON');
    }
  }

  /** Appends the event to the audit chain (domain/audit.ts) inside the caller's IMMEDIATE transaction (the write lock holds the head). */
  private appendAudit(event: AuditEvent, actor: string, at: Date): void {
    const row = nextAuditRow(this.lastAudit.get() as AuditHead | undefined, event, actor, at);
    this.insertAudit.run(row.seq, row.at, row.actor, row.action, row.target, row.details, row.prevHash, row.hash);
  }

  private insertCertificate(issuerId: number, c: NewCertificate, at: Date): boolean {
    const info = this.insertCert.run(
      issuerId,
      c.serial,
      c.subjectDn,
      JSON.stringify(c.sans),
      toSec(c.notBefore),
      toSec(c.notAfter),
      c.profile,
      c.isCa ? 1 : 0,
      c.der,
      c.requestedBy,
      c.source,
      toSec(at),
    );
    return info.changes === 1;
  }

  async getCa(name: string): Promise<CaRecord | undefined> {
    await this.gate.idle();
    const row = this.sql('SELECT * FROM ca WHERE name = ?').get(name) as CaRow | undefined;
    return row && this.ca(row);
  }

  async getCaById(id: number): Promise<CaRecord | undefined> {
    await this.gate.idle();
    const row = this.sql('SELECT * FROM ca WHERE id = ?').get(id) as CaRow | undefined;
    return row && this.ca(row);
  }

  async listCas(): Promise<CaRecord[]> {
    await this.gate.idle();
    return (this.sql('SELECT * FROM ca ORDER BY id').all() as CaRow[]).map((r) => this.ca(r));
  }

  /** Inserts a CA row (inside the caller's transaction); the key path is stored relative to the PKI directory. */
  private insertCa(ca: NewCa): number {
    if (this.sql('SELECT 1 FROM ca WHERE name = ?').get(ca.name))
      throw new PkiError('STATE_CA_EXISTS', `a CA named "${ca.name}" already exists`, { details: { ca: ca.name } });
    const info = this.sql(
      `INSERT INTO ca (name, parent_id, status, subject, cert_der, csr_der, external_chain_pem, key_path, key_type, key_encrypted, serial, not_before, not_after, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      ca.name,
      ca.parentId,
      ca.status,
      ca.subjectDn,
      ca.certDer,
      ca.csrDer,
      ca.externalChainPem,
      storedKeyPath(this.migration.baseDir, ca.keyPath),
      ca.keyType,
      ca.keyEncrypted ? 1 : 0,
      ca.serial,
      ca.notBefore && toSec(ca.notBefore),
      ca.notAfter && toSec(ca.notAfter),
      toSec(ca.createdAt),
    );
    const id = Number(info.lastInsertRowid);
    if (ca.keyPem) this.sql('INSERT INTO ca_key (ca_id, pem) VALUES (?, ?)').run(id, ca.keyPem);
    return id;
  }

  async *dumpTable(table: string): AsyncGenerator<Record<string, unknown>> {
    const t = COPY_TABLES.find((x) => x.name === table);
    if (!t) throw new PkiError('INTERNAL_UNKNOWN_TABLE', `no table ${table} to copy`);
    await this.gate.idle();
    // Its own statement (not the shared cache): two dumps of one table may be open at once.
    for (const row of this.db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.key.join(', ')}`).iterate() as Iterable<Record<string, unknown>>) yield row;
  }

  async caKey(name: string): Promise<Buffer | undefined> {
    await this.gate.idle();
    return this.sql('SELECT k.pem FROM ca_key k JOIN ca ON ca.id = k.ca_id WHERE ca.name = ?').pluck().get(name) as Buffer | undefined;
  }

  async createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord> {
    await this.gate.idle();
    const run = this.db.transaction(() => {
      const id = this.insertCa(ca);
      if (certificate) {
        const issuerId = certificate.issuerId ?? id;
        if (!this.insertCertificate(issuerId, certificate.cert, at))
          throw new PkiError('STATE_SERIAL_COLLISION', `serial ${certificate.cert.serial} already exists for this issuer; retry`);
      }
      this.appendAudit(audit, actor, at);
      return id;
    });
    const id = run.immediate();
    return (await this.getCaById(id))!;
  }

  async retireCas(ids: number[], events: AuditEvent[], actor: string, at: Date): Promise<number[]> {
    await this.gate.idle();
    const run = this.db.transaction(() => {
      const changed: number[] = [];
      const retire = this.sql("UPDATE ca SET status = CASE WHEN status = 'revoked' THEN 'revoked' ELSE 'retired' END, retired_at = ? WHERE id = ? AND status IN ('active', 'revoked') AND retired_at IS NULL");
      ids.forEach((id, i) => {
        if (retire.run(toSec(at), id).changes !== 1) return;
        changed.push(id);
        this.appendAudit(events[i]!, actor, at);
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
    await this.gate.idle();
    const run = this.db.transaction(() => {
      const row = this.sql('SELECT status FROM ca WHERE id = ?').get(id) as { status: string } | undefined;
      if (row?.status !== 'pending') throw new PkiError('STATE_CA_NOT_PENDING', 'the CA is not waiting for a certificate');
      this
        .sql('UPDATE ca SET status = ?, cert_der = ?, parent_id = ?, external_chain_pem = ?, serial = ?, not_before = ?, not_after = ?, subject = ? WHERE id = ?')
        .run('active', u.certDer, u.parentId, u.externalChainPem, u.serial, toSec(u.notBefore), toSec(u.notAfter), u.subjectDn, id);
      this.appendAudit(audit, actor, at);
    });
    run.immediate();
    return (await this.getCaById(id))!;
  }

  async recordIssued(issuerId: number, certs: NewCertificate[], actor: string, at: Date): Promise<{ collisions: number[] }> {
    await this.gate.idle();
    const run = this.db.transaction(() => {
      const collisions: number[] = [];
      certs.forEach((c, i) => {
        if (!this.insertCertificate(issuerId, c, at)) {
          collisions.push(i);
          return;
        }
        if (c.batchItem)
          this.sql('INSERT INTO issue_batch_item (batch_id, file, csr_sha256, issuer_id, serial) VALUES (?, ?, ?, ?, ?)').run(
            c.batchItem.batchId,
            c.batchItem.file,
            c.batchItem.csrSha256,
            issuerId,
            c.serial,
          );
        this.appendAudit(
          { action: 'certificate.issue', target: c.serial, details: { issuerId, subject: c.subjectDn, sans: c.sans, notAfter: c.notAfter.toISOString(), profile: c.profile, source: c.source } },
          actor,
          at,
        );
      });
      return collisions;
    });
    return { collisions: run.immediate() };
  }

  async startBatch(issuerId: number, csrDir: string, outDir: string, total: number, at: Date): Promise<number> {
    await this.gate.idle();
    const info = this.sql('INSERT INTO issue_batch (issuer_id, csr_dir, out_dir, total, started_at) VALUES (?, ?, ?, ?, ?)').run(issuerId, csrDir, outDir, total, toSec(at));
    return Number(info.lastInsertRowid);
  }

  async finishBatch(id: number, at: Date): Promise<void> {
    await this.gate.idle();
    this.sql('UPDATE issue_batch SET finished_at = ? WHERE id = ?').run(toSec(at), id);
  }

  async latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined> {
    await this.gate.idle();
    const row = this.sql('SELECT * FROM issue_batch WHERE issuer_id = ? AND csr_dir = ? AND out_dir = ? ORDER BY id DESC LIMIT 1').get(issuerId, csrDir, outDir) as
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
    await this.gate.idle();
    const rows = this.sql(
      'SELECT i.file, i.csr_sha256, i.serial, c.der FROM issue_batch_item i JOIN certificate c ON c.issuer_id = i.issuer_id AND c.serial = i.serial WHERE i.batch_id = ? ORDER BY i.file',
    ).all(batchId) as Array<{ file: string; csr_sha256: string; serial: string; der: Buffer }>;
    return rows.map((r) => ({ file: r.file, csrSha256: r.csr_sha256, serial: r.serial, der: r.der }));
  }

  async revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe: (i: number) => string = () => ''): Promise<CertificateRecord[]> {
    await this.gate.idle();
    const find = this.sql(`${CERT_SELECT} WHERE c.issuer_id = ? AND c.serial = ?`);
    const insert = this.sql(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const run = this.db.transaction(() => {
      const problems: PkiError[] = [];
      const seen = new Set<string>();
      const rows = items.map((item, i) => {
        const where = describe(i) ? `${describe(i)}: ` : '';
        const cert = find.get(issuerId, item.serial) as CertRow | undefined;
        if (!cert) problems.push(new PkiError('NOT_FOUND_SERIAL', `${where}no certificate with serial ${item.serial} was issued by this CA`, { details: { serial: item.serial } }));
        else if (cert.reason !== null)
          problems.push(
            new PkiError('STATE_ALREADY_REVOKED', `${where}certificate ${item.serial} was already revoked at ${fromSec(cert.revoked_at!).toISOString()}`, {
              details: { serial: item.serial, revokedAt: fromSec(cert.revoked_at!).toISOString(), reason: cert.reason },
            }),
          );
        else if (seen.has(item.serial)) problems.push(new PkiError('USAGE_DUPLICATE_SERIAL', `${where}serial ${item.serial} is listed twice`, { details: { serial: item.serial } }));
        seen.add(item.serial);
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
        this.appendAudit(
          { action: 'certificate.revoke', target: item.serial, details: { issuerId, reason: item.reason, invalidityDate: item.invalidityDate?.toISOString() ?? null } },
          actor,
          at,
        );
      });
      this.sql('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(items.length, issuerId);
      // A revoked CA certificate revokes the CA: it never issues again (same transaction as the revocation).
      const revokedCa = this.sql("UPDATE ca SET status = 'revoked' WHERE status IN ('active', 'retired') AND serial = ? AND (parent_id = ? OR (parent_id IS NULL AND id = ?)) RETURNING name");
      items.forEach((item) => {
        for (const row of revokedCa.all(item.serial, issuerId, issuerId) as Array<{ name: string }>)
          this.appendAudit({ action: 'ca.revoked', target: row.name, details: { issuerId, serial: item.serial, reason: item.reason } }, actor, at);
      });
      return items.map((item) => find.get(issuerId, item.serial) as CertRow);
    });
    return run.immediate().map(certFromRow);
  }

  /**
   * BEGIN IMMEDIATE (the write lock: other processes queue on the busy timeout) ... COMMIT around the awaited `fn`,
   * alone on this connection (see gate.ts).
   */
  async withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T> {
    const crlRow = (r: CrlRow | undefined): CrlRecord | undefined => r && crlFromRow(r);
    const tx: CrlTransaction = {
      lastCrl: async () => crlRow(this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined),
      crlDer: async (crlNumber) => this.crlDerSync(issuerId, crlNumber),
      crlChunks: (crlNumber) => {
        // One chunk per statement (no open iterator: the caller queries the store between chunks).
        const chunk = this.sql('SELECT data FROM crl_chunk WHERE issuer_id = ? AND crl_number = ? AND seq = ?').pluck();
        return (function* () {
          for (let seq = 0; ; seq++) {
            const data = chunk.get(issuerId, crlNumber, seq) as Buffer | undefined;
            if (!data) return;
            yield data;
          }
        })();
      },
      revocationEpoch: async () => (this.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
      revocationCount: async () => (this.sql('SELECT revocation_count FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
      entryBlocks: (thisUpdate, withReasons) => {
        // Concatenated inside SQLite, one block per first serial octet (256 primary-key range scans): fetching 1M
        // rows one by one costs ~2 us each in the driver; grouping by an expression would sort them all. Rows come in
        // index (serial) order; nothing depends on it for correctness (see app/crl.ts), only the merge's speed.
        const col = withReasons ? 'entry_der' : 'COALESCE(entry_der_no_reason, entry_der)';
        const block = this.sql(
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
        const row = this.sql(
          'SELECT c.not_after AS notAfter, r.serial IS NOT NULL AS revoked FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE c.issuer_id = ? AND c.serial = ?',
        ).get(issuerId, serial) as { notAfter: number; revoked: number } | undefined;
        return row ? { revoked: row.revoked === 1, notAfter: fromSec(row.notAfter) } : { revoked: false };
      },
      lastReservedCrlNumber: async () => (this.sql('SELECT MAX(crl_number) FROM crl_reservation WHERE issuer_id = ?').pluck().get(issuerId) as number | null) ?? undefined,
      reserveCrlNumber: async (crlNumber, at) => {
        this.sql('INSERT INTO crl_reservation (issuer_id, crl_number, reserved_at) VALUES (?, ?, ?)').run(issuerId, crlNumber, toSec(at));
      },
      insertCrl: async (crl, chunks, actor, at) => {
        this.sql(
          `INSERT INTO crl (issuer_id, crl_number, this_update, next_update, entries, pruned, reasons, der_size, pem_size, sha256, revocation_epoch, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(issuerId, crl.crlNumber, toSec(crl.thisUpdate), toSec(crl.nextUpdate), crl.entries, crl.pruned, crl.reasons ? 1 : 0, crl.derSize, crl.pemSize, crl.sha256, crl.revocationEpoch, toSec(crl.createdAt));
        const chunk = this.sql('INSERT INTO crl_chunk (issuer_id, crl_number, seq, data) VALUES (?, ?, ?, ?)');
        let seq = 0;
        for await (const c of chunks) chunk.run(issuerId, crl.crlNumber, seq++, c);
        this.appendAudit(
          { action: 'crl.generate', target: String(crl.crlNumber), details: { issuerId, entries: crl.entries, pruned: crl.pruned, nextUpdate: crl.nextUpdate.toISOString(), sha256: crl.sha256 } },
          actor,
          at,
        );
      },
    };
    return this.immediate(() => fn(tx));
  }

  /** BEGIN IMMEDIATE, the awaited body, COMMIT (ROLLBACK when it throws), alone on the connection. */
  private immediate<T>(body: () => Promise<T>): Promise<T> {
    return this.gate.exclusive(async () => {
      this.sql('BEGIN IMMEDIATE').run();
      try {
        const result = await body();
        this.sql('COMMIT').run();
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.sql('ROLLBACK').run();
        throw e;
      }
    });
  }

  async crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }> {
    await this.gate.idle();
    const read = this.db.transaction(() => {
      const row = this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined;
      const epoch = (this.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0;
      return { last: row && crlFromRow(row), epoch };
    });
    return read.deferred();
  }

  async listCrls(issuerId: number): Promise<CrlRecord[]> {
    await this.gate.idle();
    return (this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number').all(issuerId) as CrlRow[]).map(crlFromRow);
  }

  async crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
    await this.gate.idle();
    return this.crlDerSync(issuerId, crlNumber);
  }

  /** A stored CRL's DER, copied chunk by chunk into one buffer of the recorded size (no second copy in memory). */
  private crlDerSync(issuerId: number, crlNumber: number): Buffer | undefined {
    const size = this.sql('SELECT der_size FROM crl WHERE issuer_id = ? AND crl_number = ?').pluck().get(issuerId, crlNumber) as number | undefined;
    if (size === undefined) return undefined;
    const out = Buffer.allocUnsafe(size);
    let off = 0;
    for (const chunk of this.sql('SELECT data FROM crl_chunk WHERE issuer_id = ? AND crl_number = ? ORDER BY seq').pluck().iterate(issuerId, crlNumber) as Iterable<Buffer>) {
      if (off + chunk.length > size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has more bytes than recorded`);
      chunk.copy(out, off);
      off += chunk.length;
    }
    if (off !== size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has ${off} of its ${size} bytes`);
    return out;
  }

  async getCertificates(serial: string, issuerId?: number): Promise<CertificateRecord[]> {
    await this.gate.idle();
    const rows =
      issuerId === undefined
        ? (this.sql(`${CERT_SELECT} WHERE c.serial = ? ORDER BY c.id`).all(serial) as CertRow[])
        : (this.sql(`${CERT_SELECT} WHERE c.serial = ? AND c.issuer_id = ?`).all(serial, issuerId) as CertRow[]);
    return rows.map(certFromRow);
  }

  async findCertificates(f: CertificateFilter): Promise<CertificateRecord[]> {
    await this.gate.idle();
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
    return (this.sql(sql).all(...args) as CertRow[]).map(certFromRow);
  }

  async auditLog(): Promise<AuditRecord[]> {
    await this.gate.idle();
    const rows = this.sql('SELECT * FROM audit ORDER BY seq').all() as Array<{
      seq: number;
      at: string;
      actor: string;
      action: string;
      target: string;
      details: string;
      prev_hash: string;
      hash: string;
    }>;
    return rows.map((r) => {
      let details: Record<string, unknown>;
      try {
        details = JSON.parse(r.details) as Record<string, unknown>;
      } catch {
        details = { unparseable: r.details };
      }
      return { seq: r.seq, at: new Date(r.at), atText: r.at, actor: r.actor, action: r.action, target: r.target, details, detailsText: r.details, prevHash: r.prev_hash, hash: r.hash };
    });
  }

  async certificateKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    await this.gate.idle();
    return this.sql('SELECT issuer_id AS issuerId, serial FROM certificate').all() as Array<{ issuerId: number; serial: string }>;
  }

  async revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    await this.gate.idle();
    return this.sql('SELECT issuer_id AS issuerId, serial FROM revocation').all() as Array<{ issuerId: number; serial: string }>;
  }

  /**
   * A consistent copy of the database in `file` through SQLite's online backup API: other processes keep reading
   * and writing meanwhile (a write from another connection restarts the copy, so it always holds one committed state).
   */
  async backupTo(file: string): Promise<void> {
    await this.gate.idle();
    // The whole database in one step: one read snapshot, so concurrent writers cannot make the copy restart forever.
    await this.db.backup(file, { progress: () => 1 << 30 });
  }

  async getAnchor(name: string): Promise<AnchorRecord | undefined> {
    await this.gate.idle();
    const r = this.sql('SELECT * FROM anchor WHERE name = ?').get(name) as AnchorRow | undefined;
    return r && anchorFromRow(r);
  }

  async listAnchors(): Promise<AnchorRecord[]> {
    await this.gate.idle();
    return (this.sql('SELECT * FROM anchor ORDER BY name').all() as AnchorRow[]).map(anchorFromRow);
  }

  async saveAnchor(a: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.gate.idle();
    this.db.transaction(() => {
      this.sql(
        `INSERT INTO anchor (name, arn, trust_anchor_id, region, ca_names, bundle_sha256, updated_at, target, anchor_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, trust_anchor_id = excluded.trust_anchor_id, region = excluded.region,
           ca_names = excluded.ca_names, bundle_sha256 = excluded.bundle_sha256, updated_at = excluded.updated_at,
           target = excluded.target, anchor_name = excluded.anchor_name`,
      ).run(a.name, a.arn, a.trustAnchorId, a.region, JSON.stringify(a.caNames), a.bundleSha256, toSec(a.updatedAt), a.target ?? '', a.anchorName ?? a.name);
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async getPublishedCrl(anchorName: string, issuerId: number): Promise<PublishedCrl | undefined> {
    await this.gate.idle();
    const r = this.sql('SELECT * FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').get(anchorName, issuerId) as PublishedCrlRow | undefined;
    return r && publishedFromRow(r);
  }

  async listPublishedCrls(anchorName: string): Promise<PublishedCrl[]> {
    await this.gate.idle();
    return (this.sql('SELECT * FROM published_crl WHERE anchor_name = ? ORDER BY issuer_id').all(anchorName) as PublishedCrlRow[]).map(publishedFromRow);
  }

  async savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.gate.idle();
    this.db.transaction(() => {
      this.sql(
        `INSERT INTO published_crl (anchor_name, issuer_id, crl_id, crl_arn, crl_number, sha256, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (anchor_name, issuer_id) DO UPDATE SET crl_id = excluded.crl_id, crl_arn = excluded.crl_arn, crl_number = excluded.crl_number,
           sha256 = excluded.sha256, published_at = excluded.published_at`,
      ).run(p.anchorName, p.issuerId, p.crlId, p.crlArn, p.crlNumber, p.sha256, toSec(p.publishedAt));
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async deletePublishedCrl(anchorName: string, issuerId: number, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.gate.idle();
    this.db.transaction(() => {
      this.sql('DELETE FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').run(anchorName, issuerId);
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }> {
    await this.gate.idle();
    return this.db
      .transaction(() => {
        const cur = this.sql('SELECT * FROM anchor_lease WHERE anchor_name = ?').get(name) as { holder: string; acquired_at: number; expires_at: number } | undefined;
        if (cur && cur.holder !== holder && cur.expires_at > now.getTime())
          return { name, holder: cur.holder, acquiredAt: new Date(cur.acquired_at), expiresAt: new Date(cur.expires_at), acquired: false };
        const acquiredAt = cur && cur.holder === holder ? cur.acquired_at : now.getTime();
        this.sql(
          `INSERT INTO anchor_lease (anchor_name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (anchor_name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
        ).run(name, holder, acquiredAt, expiresAt.getTime());
        return { name, holder, acquiredAt: new Date(acquiredAt), expiresAt, acquired: true };
      })
      .immediate();
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.gate.idle();
    this.sql('DELETE FROM anchor_lease WHERE anchor_name = ? AND holder = ?').run(name, holder);
  }

  async listTargets(): Promise<TargetRecord[]> {
    await this.gate.idle();
    return (this.sql('SELECT * FROM target ORDER BY name').all() as TargetRow[]).map(targetFromRow);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    await this.gate.idle();
    const r = this.sql('SELECT * FROM target WHERE name = ?').get(name) as TargetRow | undefined;
    return r && targetFromRow(r);
  }

  async addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.gate.idle();
    this.db.transaction(() => {
      if (this.sql('SELECT name FROM target WHERE name = ?').get(t.name)) throw new PkiError('USAGE_TARGET_EXISTS', `target ${t.name} already exists`, { hint: `pki target remove ${t.name} first to change it` });
      this.sql('INSERT INTO target (name, region, account, aws_profile, role_arn, endpoint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(t.name, t.region, t.account, t.awsProfile, t.roleArn, t.endpoint, toSec(t.createdAt));
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.gate.idle();
    this.db.transaction(() => {
      this.sql('DELETE FROM target WHERE name = ?').run(name);
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async openRotation(anchorName: string): Promise<RotationRecord | undefined> {
    await this.gate.idle();
    const r = this.sql("SELECT * FROM rotation WHERE anchor_name = ? AND phase NOT IN ('finished', 'aborted')").get(anchorName) as RotationRow | undefined;
    return r && rotationFromRow(r);
  }

  async listRotations(anchorName?: string): Promise<RotationRecord[]> {
    await this.gate.idle();
    const rows = (anchorName === undefined ? this.sql('SELECT * FROM rotation ORDER BY id').all() : this.sql('SELECT * FROM rotation WHERE anchor_name = ? ORDER BY id').all(anchorName)) as RotationRow[];
    return rows.map(rotationFromRow);
  }

  async createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    await this.gate.idle();
    return this.db
      .transaction(() => {
        const open = this.sql("SELECT id FROM rotation WHERE anchor_name = ? AND phase NOT IN ('finished', 'aborted')").get(r.anchorName);
        if (open) throw new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${r.anchorName} already has a rotation in progress`, { details: { anchor: r.anchorName } });
        const id = this.sql(
          `INSERT INTO rotation (anchor_name, old_ca_id, new_ca_id, anchor_change, bundle_before, phase, started_at, updated_at) VALUES (?, ?, ?, ?, ?, 'starting', ?, ?)`,
        ).run(r.anchorName, r.oldCaId, r.newCaId, r.anchorChange ? 1 : 0, JSON.stringify(r.bundleBefore), toSec(r.startedAt), toSec(at)).lastInsertRowid;
        this.appendAudit(audit, actor, at);
        return rotationFromRow(this.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow);
      })
      .immediate();
  }

  async setRotationPhase(id: number, from: RotationPhase[], to: RotationPhase, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    await this.gate.idle();
    return this.db
      .transaction(() => {
        const row = this.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow | undefined;
        if (!row || !from.includes(row.phase))
          throw new PkiError('STATE_ROTATION_PHASE', `rotation ${id} is ${row?.phase ?? 'unknown'}; this step needs it ${from.join(' or ')}`, { details: { rotation: id, phase: row?.phase ?? null } });
        const t = toSec(at);
        this.sql(
          `UPDATE rotation SET phase = ?, updated_at = ?, switched_at = CASE WHEN ? = 'switched' THEN ? ELSE switched_at END,
             ended_at = CASE WHEN ? IN ('finished', 'aborted') THEN ? ELSE ended_at END WHERE id = ?`,
        ).run(to, t, to, t, to, t, id);
        this.appendAudit(audit, actor, at);
        return rotationFromRow(this.sql('SELECT * FROM rotation WHERE id = ?').get(id) as RotationRow);
      })
      .immediate();
  }

  async leafSummary(issuerIds: number[], now: Date, opts: { revoked: boolean; sample: number; expiringBy?: Date }): Promise<LeafSummary> {
    await this.gate.idle();
    if (!issuerIds.length) return { count: 0, latestNotAfter: null, sample: [] };
    const where = `c.issuer_id IN (${issuerIds.map(() => '?').join(', ')}) AND c.is_ca = 0 AND c.not_after > ? AND r.serial IS ${opts.revoked ? 'NOT NULL' : 'NULL'}${opts.expiringBy ? ' AND c.not_after <= ?' : ''}`;
    const args = [...issuerIds, toSec(now), ...(opts.expiringBy ? [toSec(opts.expiringBy)] : [])];
    const agg = this.db
      .prepare(`SELECT COUNT(*) AS n, MAX(c.not_after) AS latest FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE ${where}`)
      .get(...args) as { n: number; latest: number | null };
    const sample = (this.db.prepare(`${CERT_SELECT} WHERE ${where} ORDER BY c.not_after DESC, c.id LIMIT ?`).all(...args, opts.sample) as CertRow[]).map(certFromRow);
    return { count: agg.n, latestNotAfter: agg.latest === null ? null : fromSec(agg.latest), sample };
  }

  async importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry> | AsyncIterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }> {
    const insertRevocation = this.sql(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Imported serials arrive in no particular order: a larger page cache keeps the random index inserts of a
    // million-line history in memory (64 MiB, this connection only, restored afterwards).
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -65536');
    const run = async (): Promise<number> => {
      const id = this.insertCa(ca);
      let certificates = 0;
      let knownSerials = 0;
      let revocations = 0;
      // Digests of what is recorded, kept in the audit event: pki audit verify checks the rows against them.
      const serialDigest = new SerialSetDigest();
      const revocationDigest = new SerialSetDigest();
      const add = (e: ImportedEntry): void => {
        serialDigest.add(e.cert.serial);
        if (e.revocation) revocationDigest.add(e.revocation.serial);
        if (!this.insertCertificate(id, e.cert, at))
          throw new PkiError('USAGE_DUPLICATE_SERIAL', `${e.where}: serial ${e.cert.serial} is listed twice; nothing was imported`, { details: { serial: e.cert.serial, where: e.where } });
        if (e.cert.der.length) certificates++;
        else knownSerials++;
        const r = e.revocation;
        if (r) {
          insertRevocation.run(id, r.serial, r.reason, toSec(r.revokedAt), r.invalidityDate && toSec(r.invalidityDate), toSec(e.cert.notAfter), r.entryDer, r.entryDerNoReason, toSec(at));
          revocations++;
        }
      };
      // A synchronous source is read without a microtask per entry (a million-line index).
      if (Symbol.iterator in entries) for (const e of entries as Iterable<ImportedEntry>) add(e);
      else for await (const e of entries) add(e);
      if (revocations) this.sql('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(revocations, id);
      this.sql(
        'INSERT INTO ca_history (ca_id, tool, next_crl_number, crl_number_source, certificates, known_serials, revocations, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(id, history.tool, history.nextCrlNumber, history.crlNumberSource, certificates, knownSerials, revocations, toSec(at));
      this.appendAudit({ ...audit, details: { ...audit.details, certificates, knownSerials, revocations, nextCrlNumber: history.nextCrlNumber, serialsDigest: serialDigest.hex, revocationsDigest: revocationDigest.hex } }, actor, at);
      return id;
    };
    let id: number;
    try {
      id = await this.immediate(run);
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
    return { ca: (await this.getCaById(id))!, history: (await this.caHistory(id))! };
  }

  async caHistory(caId: number): Promise<CaHistory | undefined> {
    await this.gate.idle();
    const r = this.sql('SELECT * FROM ca_history WHERE ca_id = ?').get(caId) as
      | { ca_id: number; tool: string; next_crl_number: number | null; crl_number_source: string | null; certificates: number; known_serials: number; revocations: number; imported_at: number }
      | undefined;
    return (
      r && {
        caId: r.ca_id,
        tool: r.tool,
        nextCrlNumber: r.next_crl_number,
        crlNumberSource: r.crl_number_source,
        certificates: r.certificates,
        knownSerials: r.known_serials,
        revocations: r.revocations,
        importedAt: fromSec(r.imported_at),
      }
    );
  }

  /** Runs PRAGMA integrity_check; returns 'ok' or the problems. */
  integrityCheck(): string {
    return (this.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  }
}
