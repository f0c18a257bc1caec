/**
 * The in-memory store: the whole Store port on Maps, for unit tests and library users. NOT durable: its content
 * lives in this process only and is gone when the process ends (pki init refuses a `memory:` store URL).
 *
 * Same semantics as the SQLite adapter (test/store/contract.test.ts runs the same cases on all adapters):
 * - Tables hold rows of the same columns as the SQL tables (store/rows.ts maps them to records). Rows are never
 *   changed in place: an update replaces the row.
 * - One transaction per state change, all or nothing, by copy-on-write: a transaction works on a view whose tables
 *   are the committed Maps until it first writes one, which it then copies; commit swaps the view's tables in,
 *   rollback drops the view. A change made from inside an awaited transaction's body works on a view over that
 *   transaction's (a savepoint: it joins the transaction, committed or rolled back with it).
 * - Unique (issuer, serial) certificates, CRL numbers recorded or reserved once, compare-and-set rotation phases and
 *   leases, the audit chain appended through src/domain/audit.ts in the transaction of each change.
 * - Awaited transactions (`transaction`, CRL runs, imports) are serialised by a {@link ConnectionGate} shared by every
 *   `MemoryStore` opened on the same {@link MemoryDatabase} (another "connection" waits like another process would
 *   on SQLite's write lock); other calls wait until it settles, calls from its own body go straight through.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { resolve } from 'node:path';
import { PkiError, throwIfAny } from '../../errors.js';
import { nextAuditRow, type AuditHead, type AuditRow } from '../../domain/audit.js';
import type {
  AnchorRecord,
  AuditEvent,
  AuditRecord,
  BatchItemRecord,
  BatchRecord,
  CaHistory,
  CaRecord,
  CertificateFilter,
  CertificateRecord,
  CrlRecord,
  CrlTransaction,
  ImportedEntry,
  LeafSummary,
  LeaseRecord,
  NewCa,
  NewCaHistory,
  NewCertificate,
  NewRevocation,
  PublishedCrl,
  RotationPhase,
  RotationRecord,
  Store,
  StoreTransaction,
  TargetRecord,
} from '../../ports.js';
import { ConnectionGate } from './gate.js';
import { withBoundTransaction } from './transaction.js';
import { MIGRATIONS, storedKeyPath } from './migrations.js';
import {
  type AnchorRow,
  type CaRow,
  type CertRow,
  type CrlRow,
  type PublishedCrlRow,
  type RotationRow,
  type TargetRow,
  anchorFromRow,
  caFromRow,
  auditRecordFromRow,
  caHistoryFromRow,
  ImportTally,
  revocationRefusal,
  type CaHistoryRow,
  certFromRow,
  crlFromRow,
  fromSec,
  publishedFromRow,
  rotationFromRow,
  targetFromRow,
  toSec,
} from './rows.js';

interface CaTableRow extends CaRow {
  revocation_epoch: number;
  revocation_count: number;
}
/** A certificate row (CertRow without the joined issuer name and revocation). */
type CertTableRow = Omit<CertRow, 'issuer_name' | 'reason' | 'revoked_at' | 'invalidity_date'> & { id: number };
interface RevocationRow {
  issuer_id: number;
  serial: string;
  reason: number;
  revoked_at: number;
  invalidity_date: number | null;
  cert_not_after: number;
  entry_der: Buffer;
  entry_der_no_reason: Buffer | null;
  created_at: number;
}
interface BatchRow {
  id: number;
  issuer_id: number;
  csr_dir: string;
  out_dir: string;
  total: number;
  started_at: number;
  finished_at: number | null;
}
interface BatchItemRow {
  batch_id: number;
  file: string;
  csr_sha256: string;
  issuer_id: number;
  serial: string;
}
interface LeaseRow {
  anchor_name: string;
  holder: string;
  /** Milliseconds, as the SQL adapters store them. */
  acquired_at: number;
  expires_at: number;
}
/** Id sequences and the audit chain's head: rolled back with the transaction like any table. */
interface Meta {
  ids: { ca: number; certificate: number; rotation: number; batch: number };
  auditHead: AuditHead | undefined;
}

interface Tables {
  ca: Map<number, CaTableRow>;
  caKey: Map<number, Buffer>;
  /** Keyed by (issuer id, serial): the uniqueness of a serial per issuer. */
  certificate: Map<string, CertTableRow>;
  revocation: Map<string, RevocationRow>;
  crl: Map<string, CrlRow>;
  crlChunks: Map<string, Buffer[]>;
  crlReservation: Map<string, { issuer_id: number; crl_number: number; reserved_at: number }>;
  anchor: Map<string, AnchorRow>;
  publishedCrl: Map<string, PublishedCrlRow>;
  target: Map<string, TargetRow>;
  lease: Map<string, LeaseRow>;
  rotation: Map<number, RotationRow>;
  batch: Map<number, BatchRow>;
  batchItem: Map<string, BatchItemRow>;
  caHistory: Map<number, CaHistoryRow>;
  audit: Map<number, AuditRow>;
  meta: Map<'meta', Meta>;
}
type TableName = keyof Tables;

const TABLE_NAMES: readonly TableName[] = [
  'ca',
  'caKey',
  'certificate',
  'revocation',
  'crl',
  'crlChunks',
  'crlReservation',
  'anchor',
  'publishedCrl',
  'target',
  'lease',
  'rotation',
  'batch',
  'batchItem',
  'caHistory',
  'audit',
  'meta',
];

const key = (a: number | string, b: number | string): string => `${a}\u0000${b}`;

function emptyTables(): Tables {
  const t = Object.fromEntries(TABLE_NAMES.map((n) => [n, new Map()])) as unknown as Tables;
  t.meta.set('meta', { ids: { ca: 0, certificate: 0, rotation: 0, batch: 0 }, auditHead: undefined });
  return t;
}

/** A transaction's view: the tables as it sees them; a table is copied the first time the transaction writes it. */
class View {
  readonly tables: Tables;
  private readonly copied = new Set<TableName>();
  constructor(base: Tables) {
    this.tables = { ...base };
  }
  /** The table `name`, copied on first write (rows are replaced, never changed in place). */
  write<N extends TableName>(name: N): Tables[N] {
    if (!this.copied.has(name)) {
      this.tables[name] = new Map(this.tables[name] as Map<unknown, unknown>) as Tables[N];
      this.copied.add(name);
    }
    return this.tables[name];
  }
  /** Commits a nested view into this one (a savepoint released). */
  absorb(inner: View): void {
    for (const name of inner.copied) {
      (this.tables as unknown as Record<string, unknown>)[name] = inner.tables[name];
      this.copied.add(name);
    }
  }
  get meta(): Meta {
    return this.tables.meta.get('meta')!;
  }
  setMeta(m: Meta): void {
    this.write('meta').set('meta', m);
  }
}

/**
 * One in-memory database: what several {@link MemoryStore}s (connections) opened on it share. `memory:NAME` store
 * URLs name process-wide databases (see {@link memoryDatabase}).
 */
export class MemoryDatabase {
  /** The committed state. */
  tables: Tables = emptyTables();
  /** The schema version this database claims (the latest this pki knows; raised only to test refusal). */
  schemaVersion = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  readonly gate = new ConnectionGate();
  /** The view of the awaited transaction whose body is running (its async context). */
  readonly current = new AsyncLocalStorage<View>();
}

const named = new Map<string, MemoryDatabase>();

/**
 * The process-wide database a `memory:NAME` URL names: created when `create`, else undefined when absent (a memory
 * store exists only in the process that created it).
 */
export function memoryDatabase(name: string, create: boolean): MemoryDatabase | undefined {
  let db = named.get(name);
  if (!db && create) {
    db = new MemoryDatabase();
    named.set(name, db);
  }
  return db;
}

export interface MemoryStoreOptions {
  /** The PKI directory: relative key paths resolve against it (default: the current directory). */
  baseDir?: string;
}

export class MemoryStore implements Store {
  private readonly baseDir: string;
  private closed = false;

  private constructor(
    readonly db: MemoryDatabase,
    opts: MemoryStoreOptions,
  ) {
    this.baseDir = resolve(opts.baseDir ?? '.');
  }

  /** A connection to `db` (default: a new, empty database of its own). Refuses a database of a newer schema. */
  static open(db: MemoryDatabase = new MemoryDatabase(), opts: MemoryStoreOptions = {}): MemoryStore {
    const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
    if (db.schemaVersion > latest)
      throw new PkiError('STATE_STORE_TOO_NEW', `the in-memory store has schema version ${db.schemaVersion}; this pki knows up to ${latest}`, { hint: 'upgrade pki' });
    return new MemoryStore(db, opts);
  }

  close(): void {
    this.closed = true;
  }

  // ---- transactions ------------------------------------------------------------------------------------------

  /** The tables as this caller sees them: its transaction's view inside one, else the committed state. */
  private async read(): Promise<Tables> {
    this.check();
    await this.db.gate.idle();
    return this.db.current.getStore()?.tables ?? this.db.tables;
  }

  private check(): void {
    if (this.closed) throw new PkiError('INTERNAL_STORE', 'the in-memory store connection is closed');
  }

  /** One synchronous state change, all or nothing (nested in the running awaited transaction when called from its body). */
  private async change<T>(fn: (v: View) => T): Promise<T> {
    this.check();
    await this.db.gate.idle();
    const outer = this.db.current.getStore();
    const view = new View(outer?.tables ?? this.db.tables);
    const result = fn(view);
    if (outer) outer.absorb(view);
    else this.db.tables = view.tables;
    return result;
  }

  /**
   * An awaited transaction, alone on the database (see gate.ts): commits when `fn` resolves, discarded when it throws.
   * From inside a running one's body: a view over that transaction's (a savepoint), absorbed into it when `fn`
   * resolves and dropped when it throws.
   */
  private awaited<T>(fn: (v: View) => Promise<T>): Promise<T> {
    this.check();
    if (this.db.gate.inside)
      return this.db.gate.nested(async () => {
        const outer = this.db.current.getStore()!;
        const view = new View(outer.tables);
        const result = await this.db.current.run(view, () => fn(view));
        outer.absorb(view);
        return result;
      });
    return this.db.gate.exclusive(async () => {
      const view = new View(this.db.tables);
      const result = await this.db.current.run(view, () => fn(view));
      this.db.tables = view.tables;
      return result;
    }, { settle: true });
  }

  /** Several calls in one awaited transaction (see {@link awaited}): every call from `fn` works on its view. */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.awaited(() => withBoundTransaction(this, fn));
  }

  private appendAudit(v: View, event: AuditEvent, actor: string, at: Date): void {
    const m = v.meta;
    const row = nextAuditRow(m.auditHead, event, actor, at);
    v.write('audit').set(row.seq, row);
    v.setMeta({ ...m, auditHead: { seq: row.seq, hash: row.hash } });
  }

  private nextId(v: View, seq: keyof Meta['ids']): number {
    const m = v.meta;
    const id = m.ids[seq] + 1;
    v.setMeta({ ...m, ids: { ...m.ids, [seq]: id } });
    return id;
  }

  // ---- rows --------------------------------------------------------------------------------------------------

  /** Records hand out copies of stored bytes (as the SQL drivers do): a caller that changes one never changes the store. */
  private caRecord(r: CaTableRow): CaRecord {
    return caFromRow({ ...r, cert_der: r.cert_der && Buffer.from(r.cert_der), csr_der: r.csr_der && Buffer.from(r.csr_der) }, this.baseDir);
  }

  private certRecord(t: Tables, c: CertTableRow): CertificateRecord {
    const r = t.revocation.get(key(c.issuer_id, c.serial));
    const row: CertRow = {
      ...c,
      der: Buffer.from(c.der),
      issuer_name: t.ca.get(c.issuer_id)!.name,
      reason: r ? r.reason : null,
      revoked_at: r ? r.revoked_at : null,
      invalidity_date: r ? r.invalidity_date : null,
    };
    return certFromRow(row);
  }

  private requireCa(t: Tables, id: number): CaTableRow {
    const ca = t.ca.get(id);
    if (!ca) throw new PkiError('NOT_FOUND_CA', `no CA with id ${id} in the store`, { details: { caId: id } });
    return ca;
  }

  private insertCa(v: View, ca: NewCa): number {
    for (const r of v.tables.ca.values()) if (r.name === ca.name) throw new PkiError('STATE_CA_EXISTS', `a CA named "${ca.name}" already exists`, { details: { ca: ca.name } });
    if (ca.parentId !== null) this.requireCa(v.tables, ca.parentId);
    const id = this.nextId(v, 'ca');
    v.write('ca').set(id, {
      id,
      name: ca.name,
      parent_id: ca.parentId,
      status: ca.status,
      subject: ca.subjectDn,
      cert_der: ca.certDer && Buffer.from(ca.certDer),
      csr_der: ca.csrDer && Buffer.from(ca.csrDer),
      external_chain_pem: ca.externalChainPem,
      key_path: storedKeyPath(this.baseDir, ca.keyPath),
      key_type: ca.keyType,
      key_encrypted: ca.keyEncrypted ? 1 : 0,
      serial: ca.serial,
      not_before: ca.notBefore && toSec(ca.notBefore),
      not_after: ca.notAfter && toSec(ca.notAfter),
      created_at: toSec(ca.createdAt),
      retired_at: null,
      revocation_epoch: 0,
      revocation_count: 0,
    });
    if (ca.keyPem) v.write('caKey').set(id, Buffer.from(ca.keyPem));
    return id;
  }

  /** Records a certificate unless its serial exists for the issuer (then false: nothing written). */
  private insertCertificate(v: View, issuerId: number, c: NewCertificate, at: Date): boolean {
    const k = key(issuerId, c.serial);
    if (v.tables.certificate.has(k)) return false;
    this.requireCa(v.tables, issuerId);
    v.write('certificate').set(k, {
      id: this.nextId(v, 'certificate'),
      issuer_id: issuerId,
      serial: c.serial,
      subject: c.subjectDn,
      sans: JSON.stringify(c.sans),
      not_before: toSec(c.notBefore),
      not_after: toSec(c.notAfter),
      profile: c.profile,
      is_ca: c.isCa ? 1 : 0,
      der: Buffer.from(c.der),
      requested_by: c.requestedBy,
      source: c.source,
      created_at: toSec(at),
    });
    return true;
  }

  private insertRevocation(v: View, issuerId: number, r: NewRevocation, certNotAfter: number, at: Date): void {
    const k = key(issuerId, r.serial);
    if (v.tables.revocation.has(k)) throw new PkiError('STATE_ALREADY_REVOKED', `certificate ${r.serial} is already revoked`, { details: { serial: r.serial } });
    v.write('revocation').set(k, {
      issuer_id: issuerId,
      serial: r.serial,
      reason: r.reason,
      revoked_at: toSec(r.revokedAt),
      invalidity_date: r.invalidityDate && toSec(r.invalidityDate),
      cert_not_after: certNotAfter,
      entry_der: Buffer.from(r.entryDer),
      entry_der_no_reason: r.entryDerNoReason && Buffer.from(r.entryDerNoReason),
      created_at: toSec(at),
    });
  }

  private bumpRevocations(v: View, issuerId: number, count: number): void {
    const ca = this.requireCa(v.tables, issuerId);
    v.write('ca').set(issuerId, { ...ca, revocation_epoch: ca.revocation_epoch + 1, revocation_count: ca.revocation_count + count });
  }

  // ---- CAs ---------------------------------------------------------------------------------------------------

  async caKey(name: string): Promise<Buffer | undefined> {
    const t = await this.read();
    for (const r of t.ca.values()) if (r.name === name) {
      const pem = t.caKey.get(r.id);
      return pem && Buffer.from(pem);
    }
    return undefined;
  }

  async getCa(name: string): Promise<CaRecord | undefined> {
    const t = await this.read();
    for (const r of t.ca.values()) if (r.name === name) return this.caRecord(r);
    return undefined;
  }

  async getCaById(id: number): Promise<CaRecord | undefined> {
    const r = (await this.read()).ca.get(id);
    return r && this.caRecord(r);
  }

  async listCas(): Promise<CaRecord[]> {
    return [...(await this.read()).ca.values()].sort((a, b) => a.id - b.id).map((r) => this.caRecord(r));
  }

  async createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord> {
    const id = await this.change((v) => {
      const id = this.insertCa(v, ca);
      if (certificate && !this.insertCertificate(v, certificate.issuerId ?? id, certificate.cert, at))
        throw new PkiError('STATE_SERIAL_COLLISION', `serial ${certificate.cert.serial} already exists for this issuer; retry`);
      this.appendAudit(v, audit, actor, at);
      return id;
    });
    return (await this.getCaById(id))!;
  }

  async retireCas(ids: number[], events: AuditEvent[], actor: string, at: Date): Promise<number[]> {
    return this.change((v) => {
      const changed: number[] = [];
      ids.forEach((id, i) => {
        const ca = v.tables.ca.get(id);
        if (!ca || !(ca.status === 'active' || ca.status === 'revoked') || ca.retired_at !== null) return;
        v.write('ca').set(id, { ...ca, status: ca.status === 'revoked' ? 'revoked' : 'retired', retired_at: toSec(at) });
        changed.push(id);
        this.appendAudit(v, events[i]!, actor, at);
      });
      return changed;
    });
  }

  async activateCa(
    id: number,
    u: { certDer: Buffer; parentId: number | null; externalChainPem: string | null; serial: string; notBefore: Date; notAfter: Date; subjectDn: string },
    audit: AuditEvent,
    actor: string,
    at: Date,
  ): Promise<CaRecord> {
    await this.change((v) => {
      const ca = v.tables.ca.get(id);
      if (ca?.status !== 'pending') throw new PkiError('STATE_CA_NOT_PENDING', 'the CA is not waiting for a certificate');
      v.write('ca').set(id, {
        ...ca,
        status: 'active',
        cert_der: Buffer.from(u.certDer),
        parent_id: u.parentId,
        external_chain_pem: u.externalChainPem,
        serial: u.serial,
        not_before: toSec(u.notBefore),
        not_after: toSec(u.notAfter),
        subject: u.subjectDn,
      });
      this.appendAudit(v, audit, actor, at);
    });
    return (await this.getCaById(id))!;
  }

  // ---- certificates and batches ------------------------------------------------------------------------------

  async recordIssued(issuerId: number, certs: NewCertificate[], actor: string, at: Date): Promise<{ collisions: number[] }> {
    const collisions = await this.change((v) => {
      const collisions: number[] = [];
      certs.forEach((c, i) => {
        if (!this.insertCertificate(v, issuerId, c, at)) {
          collisions.push(i);
          return;
        }
        if (c.batchItem) {
          const k = key(c.batchItem.batchId, c.batchItem.file);
          if (!v.tables.batch.has(c.batchItem.batchId)) throw new PkiError('INTERNAL_STORE', `no batch run ${c.batchItem.batchId} in the store`);
          if (v.tables.batchItem.has(k)) throw new PkiError('INTERNAL_STORE', `batch run ${c.batchItem.batchId} already has a certificate for ${c.batchItem.file}`);
          v.write('batchItem').set(k, { batch_id: c.batchItem.batchId, file: c.batchItem.file, csr_sha256: c.batchItem.csrSha256, issuer_id: issuerId, serial: c.serial });
        }
        this.appendAudit(
          v,
          { action: 'certificate.issue', target: c.serial, details: { issuerId, subject: c.subjectDn, sans: c.sans, notAfter: c.notAfter.toISOString(), profile: c.profile, source: c.source } },
          actor,
          at,
        );
      });
      return collisions;
    });
    return { collisions };
  }

  async getCertificates(serial: string, issuerId?: number): Promise<CertificateRecord[]> {
    const t = await this.read();
    if (issuerId !== undefined) {
      const c = t.certificate.get(key(issuerId, serial));
      return c ? [this.certRecord(t, c)] : [];
    }
    return [...t.certificate.values()]
      .filter((c) => c.serial === serial)
      .sort((a, b) => a.id - b.id)
      .map((c) => this.certRecord(t, c));
  }

  async findCertificates(f: CertificateFilter): Promise<CertificateRecord[]> {
    const t = await this.read();
    const now = toSec(f.now);
    const revoked = (c: CertTableRow) => t.revocation.has(key(c.issuer_id, c.serial));
    const rows = [...t.certificate.values()].filter((c) => {
      if (f.issuerId !== undefined && c.issuer_id !== f.issuerId) return false;
      if (f.status === 'revoked' && !revoked(c)) return false;
      if (f.status === 'valid' && (revoked(c) || c.not_after <= now)) return false;
      if (f.status === 'expired' && (revoked(c) || c.not_after > now)) return false;
      if (f.expiringWithinSeconds !== undefined && (revoked(c) || c.not_after <= now || c.not_after > now + f.expiringWithinSeconds)) return false;
      return true;
    });
    rows.sort((a, b) => a.not_after - b.not_after || a.id - b.id);
    return (f.limit ? rows.slice(0, f.limit) : rows).map((c) => this.certRecord(t, c));
  }

  async certificateKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    return [...(await this.read()).certificate.values()].map((c) => ({ issuerId: c.issuer_id, serial: c.serial }));
  }

  async leafSummary(issuerIds: number[], now: Date, opts: { revoked: boolean; sample: number; expiringBy?: Date }): Promise<LeafSummary> {
    const t = await this.read();
    const ids = new Set(issuerIds);
    const n = toSec(now);
    const by = opts.expiringBy && toSec(opts.expiringBy);
    const rows = [...t.certificate.values()].filter(
      (c) => ids.has(c.issuer_id) && c.is_ca === 0 && c.not_after > n && t.revocation.has(key(c.issuer_id, c.serial)) === opts.revoked && (by === undefined || c.not_after <= by),
    );
    rows.sort((a, b) => b.not_after - a.not_after || a.id - b.id);
    return {
      count: rows.length,
      latestNotAfter: rows.length ? fromSec(rows[0]!.not_after) : null,
      sample: rows.slice(0, opts.sample).map((c) => this.certRecord(t, c)),
    };
  }

  async startBatch(issuerId: number, csrDir: string, outDir: string, total: number, at: Date): Promise<number> {
    return this.change((v) => {
      this.requireCa(v.tables, issuerId);
      const id = this.nextId(v, 'batch');
      v.write('batch').set(id, { id, issuer_id: issuerId, csr_dir: csrDir, out_dir: outDir, total, started_at: toSec(at), finished_at: null });
      return id;
    });
  }

  async finishBatch(id: number, at: Date): Promise<void> {
    await this.change((v) => {
      const b = v.tables.batch.get(id);
      if (b) v.write('batch').set(id, { ...b, finished_at: toSec(at) });
    });
  }

  async latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined> {
    let row: BatchRow | undefined;
    for (const b of (await this.read()).batch.values()) if (b.issuer_id === issuerId && b.csr_dir === csrDir && b.out_dir === outDir && (!row || b.id > row.id)) row = b;
    return (
      row && { id: row.id, issuerId: row.issuer_id, csrDir: row.csr_dir, outDir: row.out_dir, total: row.total, startedAt: fromSec(row.started_at), finishedAt: row.finished_at === null ? null : fromSec(row.finished_at) }
    );
  }

  async batchItems(batchId: number): Promise<BatchItemRecord[]> {
    const t = await this.read();
    return [...t.batchItem.values()]
      .filter((i) => i.batch_id === batchId)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
      .map((i) => ({ file: i.file, csrSha256: i.csr_sha256, serial: i.serial, der: Buffer.from(t.certificate.get(key(i.issuer_id, i.serial))!.der) }));
  }

  // ---- revocations -------------------------------------------------------------------------------------------

  async revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe: (i: number) => string = () => ''): Promise<CertificateRecord[]> {
    return this.change((v) => {
      const t = v.tables;
      const problems: PkiError[] = [];
      const seen = new Set<string>();
      const certs = items.map((item, i) => {
        const where = describe(i) ? `${describe(i)}: ` : '';
        const cert = t.certificate.get(key(issuerId, item.serial));
        const rev = t.revocation.get(key(issuerId, item.serial));
        const refusal = revocationRefusal(where, item.serial, cert !== undefined, rev ? { revokedAt: rev.revoked_at, reason: rev.reason } : undefined, seen);
        if (refusal) problems.push(refusal);
        return cert;
      });
      throwIfAny(problems, `${problems.length} of ${items.length} revocations refused; nothing was revoked`);
      items.forEach((item, i) => {
        this.insertRevocation(v, issuerId, item, certs[i]!.not_after, at);
        this.appendAudit(v, { action: 'certificate.revoke', target: item.serial, details: { issuerId, reason: item.reason, invalidityDate: item.invalidityDate?.toISOString() ?? null } }, actor, at);
      });
      this.bumpRevocations(v, issuerId, items.length);
      // A revoked CA certificate revokes the CA: it never issues again (same transaction as the revocation).
      for (const item of items) {
        for (const ca of [...v.tables.ca.values()].sort((a, b) => a.id - b.id)) {
          if ((ca.status === 'active' || ca.status === 'retired') && ca.serial === item.serial && (ca.parent_id === issuerId || (ca.parent_id === null && ca.id === issuerId))) {
            v.write('ca').set(ca.id, { ...ca, status: 'revoked' });
            this.appendAudit(v, { action: 'ca.revoked', target: ca.name, details: { issuerId, serial: item.serial, reason: item.reason } }, actor, at);
          }
        }
      }
      return items.map((item) => this.certRecord(v.tables, v.tables.certificate.get(key(issuerId, item.serial))!));
    });
  }

  async revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    return [...(await this.read()).revocation.values()].map((r) => ({ issuerId: r.issuer_id, serial: r.serial }));
  }

  // ---- CRLs --------------------------------------------------------------------------------------------------

  private lastCrlOf(t: Tables, issuerId: number): CrlRow | undefined {
    let last: CrlRow | undefined;
    for (const c of t.crl.values()) if (c.issuer_id === issuerId && (!last || c.crl_number > last.crl_number)) last = c;
    return last;
  }

  private crlDerOf(t: Tables, issuerId: number, crlNumber: number): Buffer | undefined {
    const row = t.crl.get(key(issuerId, crlNumber));
    if (!row) return undefined;
    const chunks = t.crlChunks.get(key(issuerId, crlNumber)) ?? [];
    const out = Buffer.concat(chunks);
    if (out.length !== row.der_size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has ${out.length} of its ${row.der_size} bytes`);
    return out;
  }

  async crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }> {
    const t = await this.read();
    const row = this.lastCrlOf(t, issuerId);
    return { last: row && crlFromRow(row), epoch: t.ca.get(issuerId)?.revocation_epoch ?? 0 };
  }

  async listCrls(issuerId: number): Promise<CrlRecord[]> {
    return [...(await this.read()).crl.values()]
      .filter((c) => c.issuer_id === issuerId)
      .sort((a, b) => a.crl_number - b.crl_number)
      .map(crlFromRow);
  }

  async crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
    return this.crlDerOf(await this.read(), issuerId, crlNumber);
  }

  async withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T> {
    return this.awaited(async (v) => {
      const tx: CrlTransaction = {
        lastCrl: async () => {
          const r = this.lastCrlOf(v.tables, issuerId);
          return r && crlFromRow(r);
        },
        crlDer: async (crlNumber) => this.crlDerOf(v.tables, issuerId, crlNumber),
        revocationEpoch: async () => v.tables.ca.get(issuerId)?.revocation_epoch ?? 0,
        revocationCount: async () => v.tables.ca.get(issuerId)?.revocation_count ?? 0,
        entryBlocks: (thisUpdate, withReasons) => {
          const scope = toSec(thisUpdate);
          // Ordered by serial as text (lowercase hex: byte order), one block per first serial octet as in SQLite.
          return (async function* () {
            const rows = [...v.tables.revocation.values()].filter((r) => r.issuer_id === issuerId && r.cert_not_after > scope);
            rows.sort((a, b) => (a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : 0));
            let i = 0;
            while (i < rows.length) {
              const prefix = rows[i]!.serial.slice(0, 2);
              const block: Buffer[] = [];
              for (; i < rows.length && rows[i]!.serial.slice(0, 2) === prefix; i++) {
                const r = rows[i]!;
                block.push(withReasons ? r.entry_der : (r.entry_der_no_reason ?? r.entry_der));
              }
              yield Buffer.concat(block);
            }
          })();
        },
        revocationStatus: async (serial) => {
          const c = v.tables.certificate.get(key(issuerId, serial));
          return c ? { revoked: v.tables.revocation.has(key(issuerId, serial)), notAfter: fromSec(c.not_after) } : { revoked: false };
        },
        lastReservedCrlNumber: async () => {
          let max: number | undefined;
          for (const r of v.tables.crlReservation.values()) if (r.issuer_id === issuerId && (max === undefined || r.crl_number > max)) max = r.crl_number;
          return max;
        },
        reserveCrlNumber: async (crlNumber, at) => {
          const k = key(issuerId, crlNumber);
          if (v.tables.crlReservation.has(k)) throw new PkiError('INTERNAL_STORE', `CRL number ${crlNumber} of CA id ${issuerId} is already reserved`, { details: { caId: issuerId, crlNumber } });
          let recorded: number | undefined;
          for (const c of v.tables.crl.values()) if (c.issuer_id === issuerId && (recorded === undefined || c.crl_number > recorded)) recorded = c.crl_number;
          if (recorded !== undefined && crlNumber <= recorded) throw new PkiError('INTERNAL_STORE', `CRL number ${crlNumber} of CA id ${issuerId} is not above its recorded CRL #${recorded}`, { details: { caId: issuerId, crlNumber } });
          this.requireCa(v.tables, issuerId);
          v.write('crlReservation').set(k, { issuer_id: issuerId, crl_number: crlNumber, reserved_at: toSec(at) });
        },
        insertCrl: async (crl, chunks, actor, at) => {
          const k = key(issuerId, crl.crlNumber);
          if (v.tables.crl.has(k)) throw new PkiError('INTERNAL_STORE', `CRL number ${crl.crlNumber} of CA id ${issuerId} is already recorded`, { details: { caId: issuerId, crlNumber: crl.crlNumber } });
          this.requireCa(v.tables, issuerId);
          const copies: Buffer[] = [];
          // Each chunk copied at once: the producer may reuse its buffer.
          for await (const c of chunks) copies.push(Buffer.from(c));
          v.write('crl').set(k, {
            issuer_id: issuerId,
            crl_number: crl.crlNumber,
            this_update: toSec(crl.thisUpdate),
            next_update: toSec(crl.nextUpdate),
            entries: crl.entries,
            pruned: crl.pruned,
            reasons: crl.reasons ? 1 : 0,
            der_size: crl.derSize,
            pem_size: crl.pemSize,
            sha256: crl.sha256,
            revocation_epoch: crl.revocationEpoch,
            created_at: toSec(crl.createdAt),
          });
          v.write('crlChunks').set(k, copies);
          // Reservations up to this number are covered by the CRL now recorded (the next number is above it): only
          // those above it (a run still signing, or one that died) stay.
          for (const [rk, r] of v.tables.crlReservation) if (r.issuer_id === issuerId && r.crl_number <= crl.crlNumber) v.write('crlReservation').delete(rk);
          this.appendAudit(
            v,
            { action: 'crl.generate', target: String(crl.crlNumber), details: { issuerId, entries: crl.entries, pruned: crl.pruned, nextUpdate: crl.nextUpdate.toISOString(), sha256: crl.sha256 } },
            actor,
            at,
          );
        },
      };
      return fn(tx);
    });
  }

  // ---- audit -------------------------------------------------------------------------------------------------

  async auditLog(): Promise<AuditRecord[]> {
    return [...(await this.read()).audit.values()]
      .sort((a, b) => a.seq - b.seq)
      .map((r) => auditRecordFromRow(r, r.prevHash));
  }

  // ---- publishing --------------------------------------------------------------------------------------------

  async getAnchor(name: string): Promise<AnchorRecord | undefined> {
    const r = (await this.read()).anchor.get(name);
    return r && anchorFromRow(r);
  }

  async listAnchors(): Promise<AnchorRecord[]> {
    return [...(await this.read()).anchor.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(anchorFromRow);
  }

  async saveAnchor(a: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.change((v) => {
      v.write('anchor').set(a.name, {
        name: a.name,
        arn: a.arn,
        trust_anchor_id: a.trustAnchorId,
        region: a.region,
        ca_names: JSON.stringify(a.caNames),
        bundle_sha256: a.bundleSha256,
        updated_at: toSec(a.updatedAt),
        target: a.target ?? '',
        anchor_name: a.anchorName ?? a.name,
      });
      this.appendAudit(v, audit, actor, at);
    });
  }

  async getPublishedCrl(anchorName: string, issuerId: number): Promise<PublishedCrl | undefined> {
    const r = (await this.read()).publishedCrl.get(key(anchorName, issuerId));
    return r && publishedFromRow(r);
  }

  async listPublishedCrls(anchorName: string): Promise<PublishedCrl[]> {
    return [...(await this.read()).publishedCrl.values()]
      .filter((p) => p.anchor_name === anchorName)
      .sort((a, b) => a.issuer_id - b.issuer_id)
      .map(publishedFromRow);
  }

  async savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.change((v) => {
      v.write('publishedCrl').set(key(p.anchorName, p.issuerId), {
        anchor_name: p.anchorName,
        issuer_id: p.issuerId,
        crl_id: p.crlId,
        crl_arn: p.crlArn,
        crl_number: p.crlNumber,
        sha256: p.sha256,
        published_at: toSec(p.publishedAt),
      });
      this.appendAudit(v, audit, actor, at);
    });
  }

  async deletePublishedCrl(anchorName: string, issuerId: number, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.change((v) => {
      v.write('publishedCrl').delete(key(anchorName, issuerId));
      this.appendAudit(v, audit, actor, at);
    });
  }

  async listTargets(): Promise<TargetRecord[]> {
    return [...(await this.read()).target.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(targetFromRow);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    const r = (await this.read()).target.get(name);
    return r && targetFromRow(r);
  }

  async addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.change((v) => {
      if (v.tables.target.has(t.name)) throw new PkiError('USAGE_TARGET_EXISTS', `target ${t.name} already exists`, { hint: `pki target remove ${t.name} first to change it` });
      v.write('target').set(t.name, { name: t.name, region: t.region, account: t.account, aws_profile: t.awsProfile, role_arn: t.roleArn, endpoint: t.endpoint, created_at: toSec(t.createdAt) });
      this.appendAudit(v, audit, actor, at);
    });
  }

  async removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.change((v) => {
      v.write('target').delete(name);
      this.appendAudit(v, audit, actor, at);
    });
  }

  // ---- leases ------------------------------------------------------------------------------------------------

  async acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }> {
    return this.change((v) => {
      const cur = v.tables.lease.get(name);
      if (cur && cur.holder !== holder && cur.expires_at > now.getTime())
        return { name, holder: cur.holder, acquiredAt: new Date(cur.acquired_at), expiresAt: new Date(cur.expires_at), acquired: false };
      const acquiredAt = cur && cur.holder === holder ? cur.acquired_at : now.getTime();
      v.write('lease').set(name, { anchor_name: name, holder, acquired_at: acquiredAt, expires_at: expiresAt.getTime() });
      return { name, holder, acquiredAt: new Date(acquiredAt), expiresAt, acquired: true };
    });
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.change((v) => {
      if (v.tables.lease.get(name)?.holder === holder) v.write('lease').delete(name);
    });
  }

  // ---- rotations ---------------------------------------------------------------------------------------------

  private openRotationOf(t: Tables, anchorName: string): RotationRow | undefined {
    for (const r of t.rotation.values()) if (r.anchor_name === anchorName && r.phase !== 'finished' && r.phase !== 'aborted') return r;
    return undefined;
  }

  async openRotation(anchorName: string): Promise<RotationRecord | undefined> {
    const r = this.openRotationOf(await this.read(), anchorName);
    return r && rotationFromRow(r);
  }

  async listRotations(anchorName?: string): Promise<RotationRecord[]> {
    return [...(await this.read()).rotation.values()]
      .filter((r) => anchorName === undefined || r.anchor_name === anchorName)
      .sort((a, b) => a.id - b.id)
      .map(rotationFromRow);
  }

  async createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    return this.change((v) => {
      if (this.openRotationOf(v.tables, r.anchorName))
        throw new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${r.anchorName} already has a rotation in progress`, { details: { anchor: r.anchorName } });
      this.requireCa(v.tables, r.oldCaId);
      this.requireCa(v.tables, r.newCaId);
      const id = this.nextId(v, 'rotation');
      const row: RotationRow = {
        id,
        anchor_name: r.anchorName,
        old_ca_id: r.oldCaId,
        new_ca_id: r.newCaId,
        anchor_change: r.anchorChange ? 1 : 0,
        bundle_before: JSON.stringify(r.bundleBefore),
        phase: 'starting',
        started_at: toSec(r.startedAt),
        switched_at: null,
        ended_at: null,
        updated_at: toSec(at),
      };
      v.write('rotation').set(id, row);
      this.appendAudit(v, audit, actor, at);
      return rotationFromRow(row);
    });
  }

  async setRotationPhase(id: number, from: RotationPhase[], to: RotationPhase, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    return this.change((v) => {
      const cur = v.tables.rotation.get(id);
      if (!cur || !from.includes(cur.phase))
        throw new PkiError('STATE_ROTATION_PHASE', `rotation ${id} is ${cur?.phase ?? 'unknown'}; this step needs it ${from.join(' or ')}`, { details: { rotation: id, phase: cur?.phase ?? null } });
      const t = toSec(at);
      const row: RotationRow = {
        ...cur,
        phase: to,
        updated_at: t,
        switched_at: to === 'switched' ? t : cur.switched_at,
        ended_at: to === 'finished' || to === 'aborted' ? t : cur.ended_at,
      };
      v.write('rotation').set(id, row);
      this.appendAudit(v, audit, actor, at);
      return rotationFromRow(row);
    });
  }

  // ---- imports -----------------------------------------------------------------------------------------------

  async importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry> | AsyncIterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }> {
    const id = await this.awaited(async (v) => {
      const id = this.insertCa(v, ca);
      const tally = new ImportTally();
      const add = (e: ImportedEntry): void => {
        tally.count(e);
        if (!this.insertCertificate(v, id, e.cert, at)) throw ImportTally.duplicate(e);
        if (e.revocation) this.insertRevocation(v, id, e.revocation, toSec(e.cert.notAfter), at);
      };
      if (Symbol.iterator in entries) for (const e of entries as Iterable<ImportedEntry>) add(e);
      else for await (const e of entries) add(e);
      if (tally.revocations) this.bumpRevocations(v, id, tally.revocations);
      v.write('caHistory').set(id, {
        ca_id: id,
        tool: history.tool,
        next_crl_number: history.nextCrlNumber,
        crl_number_source: history.crlNumberSource,
        certificates: tally.certificates,
        known_serials: tally.knownSerials,
        revocations: tally.revocations,
        imported_at: toSec(at),
      });
      this.appendAudit(v, tally.auditEvent(audit, history), actor, at);
      return id;
    });
    return { ca: (await this.getCaById(id))!, history: (await this.caHistory(id))! };
  }

  async caHistory(caId: number): Promise<CaHistory | undefined> {
    const r = (await this.read()).caHistory.get(caId);
    return r && caHistoryFromRow(r);
  }
}
