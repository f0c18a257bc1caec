/**
 * The SQLite store (better-sqlite3): WAL journal, synchronous=FULL, one IMMEDIATE transaction per state change,
 * busy timeout so that concurrent `pki` processes queue instead of failing. The connection, its migrations and the
 * audit append are sqlite/connection.ts; each repository's SQL is its own file in sqlite/ (cas.ts, certificates.ts,
 * batches.ts, revocations.ts, crls.ts, audit.ts, publishing.ts, leases.ts, rotations.ts, imports.ts); this class
 * puts them together as the Store port, with the whole-store operations (copy, backup, integrity check) and
 * `transaction` (several calls in one IMMEDIATE transaction).
 */
import { PkiError } from '../../errors.js';
import type { CrlTransaction, Store, StoreTransaction } from '../../ports.js';
import { withBoundTransaction } from './transaction.js';
import { COPY_TABLES } from './tables.js';
import { SqliteConnection, type StoreOpenOptions } from './sqlite/connection.js';
import { SqliteCaRepository } from './sqlite/cas.js';
import { SqliteCertificateRepository } from './sqlite/certificates.js';
import { SqliteBatchRepository } from './sqlite/batches.js';
import { SqliteRevocationRepository } from './sqlite/revocations.js';
import { SqliteCrlRepository } from './sqlite/crls.js';
import { SqliteAuditRepository } from './sqlite/audit.js';
import { SqlitePublishingRepository } from './sqlite/publishing.js';
import { SqliteLeaseRepository } from './sqlite/leases.js';
import { SqliteRotationRepository } from './sqlite/rotations.js';
import { SqliteImportRepository } from './sqlite/imports.js';

export type { StoreOpenOptions } from './sqlite/connection.js';

type Args<K extends keyof Store> = Parameters<NonNullable<Store[K]>>;

export class SqliteStore implements Store {
  private readonly c: SqliteConnection;
  private readonly cas: SqliteCaRepository;
  private readonly certificates: SqliteCertificateRepository;
  private readonly batches: SqliteBatchRepository;
  private readonly revocations: SqliteRevocationRepository;
  private readonly crls: SqliteCrlRepository;
  private readonly audit: SqliteAuditRepository;
  private readonly publishing: SqlitePublishingRepository;
  private readonly leases: SqliteLeaseRepository;
  private readonly rotations: SqliteRotationRepository;
  private readonly imports: SqliteImportRepository;

  private constructor(path: string, readOnlyCheck: boolean, opts: StoreOpenOptions) {
    this.c = new SqliteConnection(path, readOnlyCheck, opts);
    this.cas = new SqliteCaRepository(this.c);
    this.certificates = new SqliteCertificateRepository(this.c);
    this.batches = new SqliteBatchRepository(this.c);
    this.revocations = new SqliteRevocationRepository(this.c);
    this.crls = new SqliteCrlRepository(this.c);
    this.audit = new SqliteAuditRepository(this.c);
    this.publishing = new SqlitePublishingRepository(this.c);
    this.leases = new SqliteLeaseRepository(this.c);
    this.rotations = new SqliteRotationRepository(this.c);
    this.imports = new SqliteImportRepository(this.c, this.cas);
  }

  /** The database file. */
  get path(): string {
    return this.c.path;
  }

  /**
   * Opens (creating when `create`) the store at `path` and applies pending migrations. `baseDir` is the PKI
   * directory (default: the store's directory), against which stored key paths are resolved.
   */
  static open(path: string, create = false, opts: StoreOpenOptions = {}): SqliteStore {
    return new SqliteStore(path, !create, opts);
  }

  close(): void {
    this.c.close();
  }

  async *dumpTable(table: string): AsyncGenerator<Record<string, unknown>> {
    const t = COPY_TABLES.find((x) => x.name === table);
    if (!t) throw new PkiError('INTERNAL_UNKNOWN_TABLE', `no table ${table} to copy`);
    await this.c.gate.idle();
    // Its own statement (not the shared cache): two dumps of one table may be open at once.
    for (const row of this.c.db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.key.join(', ')}`).iterate() as Iterable<Record<string, unknown>>) yield row;
  }

  async caKey(name: string): Promise<Buffer | undefined> {
    await this.c.gate.idle();
    return this.c.sql('SELECT k.pem FROM ca_key k JOIN ca ON ca.id = k.ca_id WHERE ca.name = ?').pluck().get(name) as Buffer | undefined;
  }

  /**
   * A consistent copy of the database in `file` through SQLite's online backup API: other processes keep reading
   * and writing meanwhile (a write from another connection restarts the copy, so it always holds one committed state).
   */
  async backupTo(file: string): Promise<void> {
    await this.c.gate.idle();
    // The whole database in one step: one read snapshot, so concurrent writers cannot make the copy restart forever.
    await this.c.db.backup(file, { progress: () => 1 << 30 });
  }

  /** Runs PRAGMA integrity_check; returns 'ok' or the problems. */
  integrityCheck(): string {
    return (this.c.db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  }

  /**
   * One IMMEDIATE transaction around the awaited `fn` (the write lock: other processes wait on the busy timeout),
   * alone on this connection; calls from `fn` join it (savepoints: better-sqlite3 nests its transactions). From
   * inside a running transaction: a savepoint in it.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.c.immediate(() => withBoundTransaction(this, fn));
  }

  // Ca repository (sqlite/cas.ts)
  getCa(...a: Args<'getCa'>) {
    return this.cas.getCa(...a);
  }
  getCaById(...a: Args<'getCaById'>) {
    return this.cas.getCaById(...a);
  }
  listCas(...a: Args<'listCas'>) {
    return this.cas.listCas(...a);
  }
  createCa(...a: Args<'createCa'>) {
    return this.cas.createCa(...a);
  }
  retireCas(...a: Args<'retireCas'>) {
    return this.cas.retireCas(...a);
  }
  activateCa(...a: Args<'activateCa'>) {
    return this.cas.activateCa(...a);
  }

  // Certificate repository (sqlite/certificates.ts)
  recordIssued(...a: Args<'recordIssued'>) {
    return this.certificates.recordIssued(...a);
  }
  getCertificates(...a: Args<'getCertificates'>) {
    return this.certificates.getCertificates(...a);
  }
  findCertificates(...a: Args<'findCertificates'>) {
    return this.certificates.findCertificates(...a);
  }
  certificateKeys(...a: Args<'certificateKeys'>) {
    return this.certificates.certificateKeys(...a);
  }
  leafSummary(...a: Args<'leafSummary'>) {
    return this.certificates.leafSummary(...a);
  }

  // Batch repository (sqlite/batches.ts)
  startBatch(...a: Args<'startBatch'>) {
    return this.batches.startBatch(...a);
  }
  finishBatch(...a: Args<'finishBatch'>) {
    return this.batches.finishBatch(...a);
  }
  latestBatch(...a: Args<'latestBatch'>) {
    return this.batches.latestBatch(...a);
  }
  batchItems(...a: Args<'batchItems'>) {
    return this.batches.batchItems(...a);
  }

  // Revocation repository (sqlite/revocations.ts)
  revoke(...a: Args<'revoke'>) {
    return this.revocations.revoke(...a);
  }
  revocationKeys(...a: Args<'revocationKeys'>) {
    return this.revocations.revocationKeys(...a);
  }

  // Crl repository (sqlite/crls.ts)
  withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T> {
    return this.crls.withCrlTransaction(issuerId, fn);
  }
  crlStatus(...a: Args<'crlStatus'>) {
    return this.crls.crlStatus(...a);
  }
  listCrls(...a: Args<'listCrls'>) {
    return this.crls.listCrls(...a);
  }
  crlDer(...a: Args<'crlDer'>) {
    return this.crls.crlDer(...a);
  }

  // Audit repository (sqlite/audit.ts)
  auditLog(...a: Args<'auditLog'>) {
    return this.audit.auditLog(...a);
  }

  // Publishing repository (sqlite/publishing.ts)
  getAnchor(...a: Args<'getAnchor'>) {
    return this.publishing.getAnchor(...a);
  }
  listAnchors(...a: Args<'listAnchors'>) {
    return this.publishing.listAnchors(...a);
  }
  saveAnchor(...a: Args<'saveAnchor'>) {
    return this.publishing.saveAnchor(...a);
  }
  getPublishedCrl(...a: Args<'getPublishedCrl'>) {
    return this.publishing.getPublishedCrl(...a);
  }
  listPublishedCrls(...a: Args<'listPublishedCrls'>) {
    return this.publishing.listPublishedCrls(...a);
  }
  savePublishedCrl(...a: Args<'savePublishedCrl'>) {
    return this.publishing.savePublishedCrl(...a);
  }
  deletePublishedCrl(...a: Args<'deletePublishedCrl'>) {
    return this.publishing.deletePublishedCrl(...a);
  }
  listTargets(...a: Args<'listTargets'>) {
    return this.publishing.listTargets(...a);
  }
  getTarget(...a: Args<'getTarget'>) {
    return this.publishing.getTarget(...a);
  }
  addTarget(...a: Args<'addTarget'>) {
    return this.publishing.addTarget(...a);
  }
  removeTarget(...a: Args<'removeTarget'>) {
    return this.publishing.removeTarget(...a);
  }

  // Lease repository (sqlite/leases.ts)
  acquireLease(...a: Args<'acquireLease'>) {
    return this.leases.acquireLease(...a);
  }
  releaseLease(...a: Args<'releaseLease'>) {
    return this.leases.releaseLease(...a);
  }

  // Rotation repository (sqlite/rotations.ts)
  openRotation(...a: Args<'openRotation'>) {
    return this.rotations.openRotation(...a);
  }
  listRotations(...a: Args<'listRotations'>) {
    return this.rotations.listRotations(...a);
  }
  createRotation(...a: Args<'createRotation'>) {
    return this.rotations.createRotation(...a);
  }
  setRotationPhase(...a: Args<'setRotationPhase'>) {
    return this.rotations.setRotationPhase(...a);
  }

  // Import repository (sqlite/imports.ts)
  importCaWithHistory(...a: Args<'importCaWithHistory'>) {
    return this.imports.importCaWithHistory(...a);
  }
  caHistory(...a: Args<'caHistory'>) {
    return this.imports.caHistory(...a);
  }

}
