/**
 * The SQLite store (better-sqlite3): WAL journal, synchronous=FULL, one IMMEDIATE transaction per state change,
 * busy timeout so that concurrent `pki` processes queue instead of failing.
 */
import { keyRefScheme } from '../ports/signer.js';
import Database from 'better-sqlite3';
import { dirname, join, resolve } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { AUDIT_GENESIS_HASH, SerialSetDigest, auditHash } from '../domain/audit.js';
import type { KeyType } from '../crypto/keys.js';
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

const toSec = (d: Date): number => Math.floor(d.getTime() / 1000);
const fromSec = (s: number): Date => new Date(s * 1000);

interface CaRow {
  id: number;
  name: string;
  parent_id: number | null;
  status: CaRecord['status'];
  subject: string;
  cert_der: Buffer | null;
  csr_der: Buffer | null;
  external_chain_pem: string | null;
  key_path: string;
  key_type: string;
  key_encrypted: number;
  serial: string | null;
  not_before: number | null;
  not_after: number | null;
  created_at: number;
  retired_at: number | null;
}

interface CertRow {
  issuer_id: number;
  issuer_name: string;
  serial: string;
  subject: string;
  sans: string;
  not_before: number;
  not_after: number;
  profile: string;
  is_ca: number;
  der: Buffer;
  requested_by: string;
  source: string;
  created_at: number;
  reason: number | null;
  revoked_at: number | null;
  invalidity_date: number | null;
}

interface CrlRow {
  issuer_id: number;
  crl_number: number;
  this_update: number;
  next_update: number;
  entries: number;
  pruned: number;
  reasons: number;
  der_size: number;
  pem_size: number;
  sha256: string;
  revocation_epoch: number;
  created_at: number;
}

function crlFromRow(r: CrlRow): CrlRecord {
  return {
    issuerId: r.issuer_id,
    crlNumber: r.crl_number,
    thisUpdate: fromSec(r.this_update),
    nextUpdate: fromSec(r.next_update),
    entries: r.entries,
    pruned: r.pruned,
    reasons: r.reasons === 1,
    derSize: r.der_size,
    pemSize: r.pem_size,
    sha256: r.sha256,
    revocationEpoch: r.revocation_epoch,
    createdAt: fromSec(r.created_at),
  };
}

interface PublishedCrlRow {
  anchor_name: string;
  issuer_id: number;
  crl_id: string;
  crl_arn: string;
  crl_number: number;
  sha256: string;
  published_at: number;
}

function publishedFromRow(r: PublishedCrlRow): PublishedCrl {
  return { anchorName: r.anchor_name, issuerId: r.issuer_id, crlId: r.crl_id, crlArn: r.crl_arn, crlNumber: r.crl_number, sha256: r.sha256, publishedAt: fromSec(r.published_at) };
}

interface AnchorRow {
  name: string;
  arn: string;
  trust_anchor_id: string;
  region: string;
  ca_names: string;
  bundle_sha256: string;
  updated_at: number;
  target?: string;
  anchor_name?: string | null;
}

function anchorFromRow(r: AnchorRow): AnchorRecord {
  return {
    name: r.name,
    arn: r.arn,
    trustAnchorId: r.trust_anchor_id,
    region: r.region,
    caNames: JSON.parse(r.ca_names) as string[],
    bundleSha256: r.bundle_sha256,
    updatedAt: fromSec(r.updated_at),
    target: r.target ?? '',
    anchorName: r.anchor_name ?? r.name,
  };
}

interface TargetRow {
  name: string;
  region: string;
  account: string | null;
  aws_profile: string | null;
  role_arn: string | null;
  endpoint: string | null;
  created_at: number;
}

function targetFromRow(r: TargetRow): TargetRecord {
  return { name: r.name, region: r.region, account: r.account, awsProfile: r.aws_profile, roleArn: r.role_arn, endpoint: r.endpoint, createdAt: fromSec(r.created_at) };
}

interface RotationRow {
  id: number;
  anchor_name: string;
  old_ca_id: number;
  new_ca_id: number;
  anchor_change: number;
  bundle_before: string;
  phase: RotationPhase;
  started_at: number;
  switched_at: number | null;
  ended_at: number | null;
  updated_at: number;
}

function rotationFromRow(r: RotationRow): RotationRecord {
  return {
    id: r.id,
    anchorName: r.anchor_name,
    oldCaId: r.old_ca_id,
    newCaId: r.new_ca_id,
    anchorChange: r.anchor_change === 1,
    bundleBefore: JSON.parse(r.bundle_before) as string[],
    phase: r.phase,
    startedAt: fromSec(r.started_at),
    switchedAt: r.switched_at === null ? null : fromSec(r.switched_at),
    endedAt: r.ended_at === null ? null : fromSec(r.ended_at),
    updatedAt: fromSec(r.updated_at),
  };
}

function caFromRow(r: CaRow, baseDir: string): CaRecord {
  return {
    id: r.id,
    name: r.name,
    parentId: r.parent_id,
    status: r.status,
    subjectDn: r.subject,
    certDer: r.cert_der,
    csrDer: r.csr_der,
    externalChainPem: r.external_chain_pem,
    // Stored relative to the PKI directory (see migrations.ts storedKeyPath); handed out absolute. A key reference
    // that is a URI (file:, pkcs11:) is handed to the key store as stored.
    keyPath: keyRefScheme(r.key_path) === 'file' && !/^file:/i.test(r.key_path) ? resolve(baseDir, r.key_path) : r.key_path,
    keyType: r.key_type as KeyType,
    keyEncrypted: r.key_encrypted === 1,
    serial: r.serial,
    notBefore: r.not_before === null ? null : fromSec(r.not_before),
    notAfter: r.not_after === null ? null : fromSec(r.not_after),
    createdAt: fromSec(r.created_at),
    retiredAt: r.retired_at === null ? null : fromSec(r.retired_at),
  };
}

function certFromRow(r: CertRow): CertificateRecord {
  return {
    issuerId: r.issuer_id,
    issuerName: r.issuer_name,
    serial: r.serial,
    subjectDn: r.subject,
    sans: JSON.parse(r.sans) as string[],
    notBefore: fromSec(r.not_before),
    notAfter: fromSec(r.not_after),
    profile: r.profile,
    isCa: r.is_ca === 1,
    der: r.der,
    requestedBy: r.requested_by,
    source: r.source,
    createdAt: fromSec(r.created_at),
    revocation: r.reason === null ? null : { reason: r.reason, revokedAt: fromSec(r.revoked_at!), invalidityDate: r.invalidity_date === null ? null : fromSec(r.invalidity_date) },
  };
}

const CERT_SELECT = `SELECT c.issuer_id, ca.name AS issuer_name, c.serial, c.subject, c.sans, c.not_before, c.not_after, c.profile, c.is_ca, c.der,
  c.requested_by, c.source, c.created_at, r.reason, r.revoked_at, r.invalidity_date
  FROM certificate c JOIN ca ON ca.id = c.issuer_id LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial`;

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

  private appendAudit(event: AuditEvent, actor: string, at: Date): void {
    const last = this.lastAudit.get() as { seq: number; hash: string } | undefined;
    const row = {
      seq: (last?.seq ?? 0) + 1,
      at: at.toISOString(),
      actor,
      action: event.action,
      target: event.target,
      details: JSON.stringify(event.details),
    };
    const prevHash = last?.hash ?? AUDIT_GENESIS_HASH;
    this.insertAudit.run(row.seq, row.at, row.actor, row.action, row.target, row.details, prevHash, auditHash(prevHash, row));
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
    const row = this.sql('SELECT * FROM ca WHERE name = ?').get(name) as CaRow | undefined;
    return row && this.ca(row);
  }

  async getCaById(id: number): Promise<CaRecord | undefined> {
    const row = this.sql('SELECT * FROM ca WHERE id = ?').get(id) as CaRow | undefined;
    return row && this.ca(row);
  }

  async listCas(): Promise<CaRecord[]> {
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
    return Number(info.lastInsertRowid);
  }

  async createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord> {
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
    const info = this.sql('INSERT INTO issue_batch (issuer_id, csr_dir, out_dir, total, started_at) VALUES (?, ?, ?, ?, ?)').run(issuerId, csrDir, outDir, total, toSec(at));
    return Number(info.lastInsertRowid);
  }

  async finishBatch(id: number, at: Date): Promise<void> {
    this.sql('UPDATE issue_batch SET finished_at = ? WHERE id = ?').run(toSec(at), id);
  }

  async latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined> {
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
    const rows = this.sql(
      'SELECT i.file, i.csr_sha256, i.serial, c.der FROM issue_batch_item i JOIN certificate c ON c.issuer_id = i.issuer_id AND c.serial = i.serial WHERE i.batch_id = ? ORDER BY i.file',
    ).all(batchId) as Array<{ file: string; csr_sha256: string; serial: string; der: Buffer }>;
    return rows.map((r) => ({ file: r.file, csrSha256: r.csr_sha256, serial: r.serial, der: r.der }));
  }

  async revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe: (i: number) => string = () => ''): Promise<CertificateRecord[]> {
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

  async withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => T): Promise<T> {
    const db = this.db;
    const crlRow = (r: CrlRow | undefined): CrlRecord | undefined => r && crlFromRow(r);
    const tx: CrlTransaction = {
      lastCrl: () => crlRow(this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined),
      crlDer: (crlNumber) => this.crlDerSync(issuerId, crlNumber),
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
      revocationEpoch: () => (this.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
      revocationCount: () => (this.sql('SELECT revocation_count FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0,
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
        return (function* () {
          for (let i = 0; i < 256; i++) {
            const b = block.get(issuerId, hex(i), i === 255 ? 'g' : hex(i + 1), scope) as Buffer | null;
            if (b) yield b;
          }
        })();
      },
      revocationStatus: (serial) => {
        const row = this.sql(
          'SELECT c.not_after AS notAfter, r.serial IS NOT NULL AS revoked FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE c.issuer_id = ? AND c.serial = ?',
        ).get(issuerId, serial) as { notAfter: number; revoked: number } | undefined;
        return row ? { revoked: row.revoked === 1, notAfter: fromSec(row.notAfter) } : { revoked: false };
      },
      lastReservedCrlNumber: () => (this.sql('SELECT MAX(crl_number) FROM crl_reservation WHERE issuer_id = ?').pluck().get(issuerId) as number | null) ?? undefined,
      reserveCrlNumber: (crlNumber, at) => {
        this.sql('INSERT INTO crl_reservation (issuer_id, crl_number, reserved_at) VALUES (?, ?, ?)').run(issuerId, crlNumber, toSec(at));
      },
      insertCrl: (crl, chunks, actor, at) => {
        this.sql(
          `INSERT INTO crl (issuer_id, crl_number, this_update, next_update, entries, pruned, reasons, der_size, pem_size, sha256, revocation_epoch, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(issuerId, crl.crlNumber, toSec(crl.thisUpdate), toSec(crl.nextUpdate), crl.entries, crl.pruned, crl.reasons ? 1 : 0, crl.derSize, crl.pemSize, crl.sha256, crl.revocationEpoch, toSec(crl.createdAt));
        const chunk = this.sql('INSERT INTO crl_chunk (issuer_id, crl_number, seq, data) VALUES (?, ?, ?, ?)');
        let seq = 0;
        for (const c of chunks) chunk.run(issuerId, crl.crlNumber, seq++, c);
        this.appendAudit(
          { action: 'crl.generate', target: String(crl.crlNumber), details: { issuerId, entries: crl.entries, pruned: crl.pruned, nextUpdate: crl.nextUpdate.toISOString(), sha256: crl.sha256 } },
          actor,
          at,
        );
      },
    };
    const run = db.transaction(() => fn(tx));
    return run.immediate();
  }

  async crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }> {
    const read = this.db.transaction(() => {
      const row = this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number DESC LIMIT 1').get(issuerId) as CrlRow | undefined;
      const epoch = (this.sql('SELECT revocation_epoch FROM ca WHERE id = ?').pluck().get(issuerId) as number | undefined) ?? 0;
      return { last: row && crlFromRow(row), epoch };
    });
    return read.deferred();
  }

  async listCrls(issuerId: number): Promise<CrlRecord[]> {
    return (this.sql('SELECT * FROM crl WHERE issuer_id = ? ORDER BY crl_number').all(issuerId) as CrlRow[]).map(crlFromRow);
  }

  async crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
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
    const rows =
      issuerId === undefined
        ? (this.sql(`${CERT_SELECT} WHERE c.serial = ? ORDER BY c.id`).all(serial) as CertRow[])
        : (this.sql(`${CERT_SELECT} WHERE c.serial = ? AND c.issuer_id = ?`).all(serial, issuerId) as CertRow[]);
    return rows.map(certFromRow);
  }

  async findCertificates(f: CertificateFilter): Promise<CertificateRecord[]> {
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
    return this.sql('SELECT issuer_id AS issuerId, serial FROM certificate').all() as Array<{ issuerId: number; serial: string }>;
  }

  async revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    return this.sql('SELECT issuer_id AS issuerId, serial FROM revocation').all() as Array<{ issuerId: number; serial: string }>;
  }

  /**
   * A consistent copy of the database in `file` through SQLite's online backup API: other processes keep reading
   * and writing meanwhile (a write from another connection restarts the copy, so it always holds one committed state).
   */
  async backupTo(file: string): Promise<void> {
    // The whole database in one step: one read snapshot, so concurrent writers cannot make the copy restart forever.
    await this.db.backup(file, { progress: () => 1 << 30 });
  }

  async getAnchor(name: string): Promise<AnchorRecord | undefined> {
    const r = this.sql('SELECT * FROM anchor WHERE name = ?').get(name) as AnchorRow | undefined;
    return r && anchorFromRow(r);
  }

  async listAnchors(): Promise<AnchorRecord[]> {
    return (this.sql('SELECT * FROM anchor ORDER BY name').all() as AnchorRow[]).map(anchorFromRow);
  }

  async saveAnchor(a: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
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
    const r = this.sql('SELECT * FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').get(anchorName, issuerId) as PublishedCrlRow | undefined;
    return r && publishedFromRow(r);
  }

  async listPublishedCrls(anchorName: string): Promise<PublishedCrl[]> {
    return (this.sql('SELECT * FROM published_crl WHERE anchor_name = ? ORDER BY issuer_id').all(anchorName) as PublishedCrlRow[]).map(publishedFromRow);
  }

  async savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void> {
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
    this.db.transaction(() => {
      this.sql('DELETE FROM published_crl WHERE anchor_name = ? AND issuer_id = ?').run(anchorName, issuerId);
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }> {
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
    this.sql('DELETE FROM anchor_lease WHERE anchor_name = ? AND holder = ?').run(name, holder);
  }

  async listTargets(): Promise<TargetRecord[]> {
    return (this.sql('SELECT * FROM target ORDER BY name').all() as TargetRow[]).map(targetFromRow);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    const r = this.sql('SELECT * FROM target WHERE name = ?').get(name) as TargetRow | undefined;
    return r && targetFromRow(r);
  }

  async addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    this.db.transaction(() => {
      if (this.sql('SELECT name FROM target WHERE name = ?').get(t.name)) throw new PkiError('USAGE_TARGET_EXISTS', `target ${t.name} already exists`, { hint: `pki target remove ${t.name} first to change it` });
      this.sql('INSERT INTO target (name, region, account, aws_profile, role_arn, endpoint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(t.name, t.region, t.account, t.awsProfile, t.roleArn, t.endpoint, toSec(t.createdAt));
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    this.db.transaction(() => {
      this.sql('DELETE FROM target WHERE name = ?').run(name);
      this.appendAudit(audit, actor, at);
    }).immediate();
  }

  async openRotation(anchorName: string): Promise<RotationRecord | undefined> {
    const r = this.sql("SELECT * FROM rotation WHERE anchor_name = ? AND phase NOT IN ('finished', 'aborted')").get(anchorName) as RotationRow | undefined;
    return r && rotationFromRow(r);
  }

  async listRotations(anchorName?: string): Promise<RotationRecord[]> {
    const rows = (anchorName === undefined ? this.sql('SELECT * FROM rotation ORDER BY id').all() : this.sql('SELECT * FROM rotation WHERE anchor_name = ? ORDER BY id').all(anchorName)) as RotationRow[];
    return rows.map(rotationFromRow);
  }

  async createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
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
    if (!issuerIds.length) return { count: 0, latestNotAfter: null, sample: [] };
    const where = `c.issuer_id IN (${issuerIds.map(() => '?').join(', ')}) AND c.is_ca = 0 AND c.not_after > ? AND r.serial IS ${opts.revoked ? 'NOT NULL' : 'NULL'}${opts.expiringBy ? ' AND c.not_after <= ?' : ''}`;
    const args = [...issuerIds, toSec(now), ...(opts.expiringBy ? [toSec(opts.expiringBy)] : [])];
    const agg = this.db
      .prepare(`SELECT COUNT(*) AS n, MAX(c.not_after) AS latest FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE ${where}`)
      .get(...args) as { n: number; latest: number | null };
    const sample = (this.db.prepare(`${CERT_SELECT} WHERE ${where} ORDER BY c.not_after DESC, c.id LIMIT ?`).all(...args, opts.sample) as CertRow[]).map(certFromRow);
    return { count: agg.n, latestNotAfter: agg.latest === null ? null : fromSec(agg.latest), sample };
  }

  async importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }> {
    const insertRevocation = this.sql(
      `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // Imported serials arrive in no particular order: a larger page cache keeps the random index inserts of a
    // million-line history in memory (64 MiB, this connection only, restored afterwards).
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -65536');
    const run = this.db.transaction(() => {
      const id = this.insertCa(ca);
      let certificates = 0;
      let knownSerials = 0;
      let revocations = 0;
      // Digests of what is recorded, kept in the audit event: pki audit verify checks the rows against them.
      const serialDigest = new SerialSetDigest();
      const revocationDigest = new SerialSetDigest();
      for (const e of entries) {
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
      }
      if (revocations) this.sql('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + ? WHERE id = ?').run(revocations, id);
      this.sql(
        'INSERT INTO ca_history (ca_id, tool, next_crl_number, crl_number_source, certificates, known_serials, revocations, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(id, history.tool, history.nextCrlNumber, history.crlNumberSource, certificates, knownSerials, revocations, toSec(at));
      this.appendAudit({ ...audit, details: { ...audit.details, certificates, knownSerials, revocations, nextCrlNumber: history.nextCrlNumber, serialsDigest: serialDigest.hex, revocationsDigest: revocationDigest.hex } }, actor, at);
      return id;
    });
    let id: number;
    try {
      id = run.immediate();
    } finally {
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
    return { ca: (await this.getCaById(id))!, history: (await this.caHistory(id))! };
  }

  async caHistory(caId: number): Promise<CaHistory | undefined> {
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
