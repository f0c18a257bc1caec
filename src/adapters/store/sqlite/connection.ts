import Database from 'better-sqlite3';
import { PkiError } from '../../../errors.js';
import { nextAuditRow, type AuditHead } from '../../../domain/audit.js';
import type { AuditEvent, CaRecord, NewCa, NewCertificate } from '../../../ports.js';
import { MIGRATIONS, storedKeyPath, type MigrationContext } from '../migrations.js';
import { ConnectionGate } from '../gate.js';
import { caFromRow, toSec, type CaRow } from '../rows.js';
import { dirname, join, resolve } from 'node:path';

export interface StoreOpenOptions {
  /** The PKI directory (default: the directory holding the database file). */
  baseDir?: string;
  /** This PKI's key directory (default: baseDir/keys); migration 3 uses it to find keys copied with the directory. */
  keysDir?: string;
}

/**
 * One SQLite connection (better-sqlite3): WAL journal, synchronous=FULL, busy timeout so that concurrent `pki`
 * processes queue instead of failing; the schema migrations, the prepared-statement cache, the audit chain's append
 * and the IMMEDIATE transaction around an awaited body. The repositories (this directory, one file each) run their SQL
 * on it; SqliteStore (../sqlite.ts) puts them together as the Store port. Internal to the SQLite adapter.
 */
export class SqliteConnection {
  readonly db: Database.Database;

  private readonly insertCert: Database.Statement;

  private readonly insertAudit: Database.Statement;

  private readonly lastAudit: Database.Statement;

  private readonly statements = new Map<string, Database.Statement>();

  /** Keeps other calls off the connection while an awaited transaction is open. */
  readonly gate = new ConnectionGate();

  /** A prepared statement, prepared once per store (preparing costs more than running most of these). */
  sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  /** The PKI directory: relative key paths are resolved against it. */
  readonly migration: MigrationContext;

  constructor(readonly path: string, readOnlyCheck: boolean, opts: StoreOpenOptions) {
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
  appendAudit(event: AuditEvent, actor: string, at: Date): void {
    const row = nextAuditRow(this.lastAudit.get() as AuditHead | undefined, event, actor, at);
    this.insertAudit.run(row.seq, row.at, row.actor, row.action, row.target, row.details, row.prevHash, row.hash);
  }

  insertCertificate(issuerId: number, c: NewCertificate, at: Date): boolean {
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

  /** Inserts a CA row (inside the caller's transaction); the key path is stored relative to the PKI directory. */
  insertCa(ca: NewCa): number {
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

  private savepoints = 0;

  /**
   * BEGIN IMMEDIATE, the awaited body, COMMIT (ROLLBACK when it throws), alone on the connection. Called from inside
   * a running transaction's body: a savepoint in it (released into it, or rolled back alone when the body throws).
   */
  immediate<T>(body: () => Promise<T>): Promise<T> {
    if (this.gate.inside)
      return this.gate.nested(async () => {
        const name = `pki_sp_${++this.savepoints}`;
        this.db.exec(`SAVEPOINT ${name}`);
        try {
          const result = await body();
          this.db.exec(`RELEASE ${name}`);
          return result;
        } catch (e) {
          if (this.db.inTransaction) this.db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
          throw e;
        }
      });
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
    }, { settle: true });
  }

  ca(row: CaRow): CaRecord {
    return caFromRow(row, this.migration.baseDir);
  }
}
