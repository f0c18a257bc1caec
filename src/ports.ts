/**
 * Ports: what the application layer needs from the outside world. Adapters (SQLite store, the real clock and
 * CSPRNG, the terminal) implement them; tests pass fixed ones.
 */
import type { KeyStore } from './ports/signer.js';
import type { KeyType } from './crypto/keys.js';

/** Everything with a side effect, passed in explicitly (no globals). */
export interface Deps {
  /** Read once per command. */
  now(): Date;
  /** CSPRNG (crypto.randomBytes in production; seeded in tests). */
  randomBytes(n: number): Buffer;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  /** True when a person can answer a prompt. */
  interactive: boolean;
  /** Reads a secret from the terminal without echo; undefined when not interactive. */
  promptSecret?: (prompt: string) => Promise<string>;
  /** Who runs the command, for the audit log (user@host). */
  actor: string;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM): for long-running commands such as the emulator. */
  waitForShutdown?: () => Promise<void>;
  /**
   * Calls `handler` when the process is asked to stop (SIGINT/SIGTERM) instead of stopping it, so a long command can
   * stop at a safe point (`issue --batch`: a group boundary). Returns a function that removes the handler.
   */
  onSignal?: (handler: (signal: 'SIGINT' | 'SIGTERM') => void) => () => void;
  /** Opens CA keys for signing (default: the PKI directory's encrypted key files, src/adapters/keys/file.ts). */
  keyStore?: Pick<KeyStore, 'open'>;
  /** Opens the store a PKI directory names (default: src/adapters/store/factory.ts, SQLite, PostgreSQL or in-memory by URL). */
  storeFactory?: StoreFactory;
}

/** Opens a {@link Store} from its URL (`store.url` in pki.yaml; a SQLite path by default). */
export interface StoreFactory {
  open(
    url: string,
    where: {
      /** The PKI directory: relative SQLite paths and key paths resolve against it. */
      baseDir: string;
      keysDir: string;
      /** The pki.yaml that names the store (for messages). */
      configFile?: string;
    },
    opts: {
      /** Create the store when it does not exist (pki init); otherwise a missing store is NOT_FOUND_STORE. */
      create: boolean;
      /** The environment (PostgreSQL: PGPASSWORD, PGPASSFILE, PGSSLMODE, ...). */
      env?: Readonly<Record<string, string | undefined>>;
    },
  ): Promise<Store>;
}

/**
 * A CA's stored lifecycle state: `pending` (CSR sent, no certificate yet), `active`, `revoked` (its own certificate
 * was revoked by its parent: set in the same transaction as the revocation) or `retired` (`pki ca retire`, or
 * `pki rotate finish`). Revoked and retired CAs never issue again; their records are kept.
 */
export type CaStatus = 'active' | 'pending' | 'revoked' | 'retired';

export interface CaRecord {
  id: number;
  name: string;
  parentId: number | null;
  status: CaStatus;
  subjectDn: string;
  /** The CA certificate (null while a CSR is pending). */
  certDer: Buffer | null;
  csrDer: Buffer | null;
  /** PEM of an externally held issuer chain (offline root), if imported with one. */
  externalChainPem: string | null;
  keyPath: string;
  keyType: KeyType;
  keyEncrypted: boolean;
  serial: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  createdAt: Date;
  /** When it was retired (also set on a revoked CA that was retired afterwards: the incident is acknowledged). */
  retiredAt: Date | null;
}

export interface NewCa {
  name: string;
  /**
   * The CA's key itself (its encrypted PKCS#8 PEM), kept in the store with the CA row (key reference `store:NAME`) so
   * that every node of a shared store can use it with the operators' passphrase.
   */
  keyPem?: Buffer;
  parentId: number | null;
  status: CaStatus;
  subjectDn: string;
  certDer: Buffer | null;
  csrDer: Buffer | null;
  externalChainPem: string | null;
  keyPath: string;
  keyType: KeyType;
  keyEncrypted: boolean;
  serial: string | null;
  notBefore: Date | null;
  notAfter: Date | null;
  createdAt: Date;
}

export interface NewCertificate {
  /** Lowercase hex, no leading zero octet. */
  serial: string;
  subjectDn: string;
  sans: string[];
  notBefore: Date;
  notAfter: Date;
  profile: string;
  der: Buffer;
  isCa: boolean;
  requestedBy: string;
  /** Where the request came from (CSR file, "generated key", ...). */
  source: string;
  /** For `issue --batch`: the batch run and the CSR file (name and SHA-256) this certificate was issued for. */
  batchItem?: { batchId: number; file: string; csrSha256: string };
}

/** A `pki issue --batch` run (see `issue --batch --resume`). */
export interface BatchRecord {
  id: number;
  issuerId: number;
  csrDir: string;
  outDir: string;
  total: number;
  startedAt: Date;
  finishedAt: Date | null;
}

/** A certificate issued by a batch run, with the CSR file it was issued for. */
export interface BatchItemRecord {
  file: string;
  csrSha256: string;
  serial: string;
  der: Buffer;
}

export interface Revocation {
  reason: number;
  revokedAt: Date;
  invalidityDate: Date | null;
}

/** A revocation to record, with its CRL entry encoded ahead (x509/crl.ts encodeCrlEntry). */
export interface NewRevocation extends Revocation {
  serial: string;
  entryDer: Buffer;
  /** The entry without its reason code, when that differs (for CRLs made with reasons omitted). */
  entryDerNoReason: Buffer | null;
}

export interface CrlRecord {
  issuerId: number;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
  pruned: number;
  reasons: boolean;
  derSize: number;
  pemSize: number;
  sha256: string;
  revocationEpoch: number;
  createdAt: Date;
}

/**
 * What CRL generation may do inside its one transaction. The methods are async so that a networked adapter can
 * implement them; the adapter keeps every other use of its connection out until the transaction ends.
 */
export interface CrlTransaction {
  lastCrl(): Promise<CrlRecord | undefined>;
  /** The DER of one of this issuer's stored CRLs. */
  crlDer(crlNumber: number): Promise<Buffer | undefined>;
  /**
   * The same DER as consecutive chunks (nothing when the CRL is not stored), read one at a time while other calls
   * of this transaction run: the previous CRL is compared chunk by chunk. Optional and synchronous (an adapter over a
   * synchronous driver, SQLite); without it, crlDer is used.
   */
  crlChunks?(crlNumber: number): Iterable<Buffer>;
  revocationEpoch(): Promise<number>;
  /** How many certificates this CA has revoked, in or out of a CRL's scope. */
  revocationCount(): Promise<number>;
  /**
   * The in-scope entries' DER, ordered by serial (lowercase hex, byte order), as blocks of whole concatenated
   * entries: a few hundred values for a million entries instead of one per row. Streamed: an adapter holds at most
   * one block (and its read-ahead) in memory.
   */
  entryBlocks(thisUpdate: Date, withReasons: boolean): AsyncIterable<Buffer>;
  /** Whether this issuer revoked `serial`, and the certificate's notAfter when the store knows the certificate. */
  revocationStatus(serial: string): Promise<{ revoked: boolean; notAfter?: Date }>;
  /**
   * Records a signed CRL (its DER in `chunks`, each used at once: a chunk may be reused by the producer), and drops
   * this issuer's reservations up to its number: the CRL now holds that high-water mark, so they need not linger.
   */
  insertCrl(crl: CrlRecord, chunks: Iterable<Buffer> | AsyncIterable<Buffer>, actor: string, at: Date): Promise<void>;
  /**
   * The highest CRL Number reserved for this issuer and still above every recorded CRL (a run still signing, or one
   * that died before recording its CRL); undefined when there is none. The next number is above both.
   */
  lastReservedCrlNumber(): Promise<number | undefined>;
  /**
   * Reserves `crlNumber` for this issuer: no later run will use it, whether or not its CRL is ever recorded. A number
   * already reserved, or not above the last recorded CRL's, is refused (INTERNAL_STORE or the driver's error).
   */
  reserveCrlNumber(crlNumber: number, at: Date): Promise<void>;
}

export interface CertificateRecord extends NewCertificate {
  issuerId: number;
  issuerName: string;
  createdAt: Date;
  revocation: Revocation | null;
}

/** A trust anchor this PKI pushed to Roles Anywhere. */
export interface AnchorRecord {
  name: string;
  arn: string;
  trustAnchorId: string;
  region: string;
  caNames: string[];
  /** SHA-256 of the PEM bundle last pushed. */
  bundleSha256: string;
  updatedAt: Date;
  /** The publishing target ('' or absent: the implicit one, reached with the command line's region and endpoint). */
  target?: string;
  /** The trust anchor's name on the service (`name` is "NAME@TARGET" for a named target). */
  anchorName?: string;
}

/** Where anchors and CRLs are published: an account/region pair and how to reach it (pki target add). */
export interface TargetRecord {
  name: string;
  region: string;
  account: string | null;
  awsProfile: string | null;
  roleArn: string | null;
  endpoint: string | null;
  createdAt: Date;
}

/** The CRL an issuer has on a trust anchor. */
export interface PublishedCrl {
  anchorName: string;
  issuerId: number;
  crlId: string;
  crlArn: string;
  crlNumber: number;
  /** SHA-256 of the PEM bytes uploaded. */
  sha256: string;
  publishedAt: Date;
}

/**
 * Phases of a CA rotation. A phase ending in -ing is a step that was begun (its intent recorded) and not completed:
 * re-running the step reconciles with what the service reports and completes it.
 */
export type RotationPhase = 'starting' | 'started' | 'switched' | 'finishing' | 'finished' | 'aborting' | 'aborted';

export interface RotationRecord {
  id: number;
  anchorName: string;
  oldCaId: number;
  newCaId: number;
  /** True when the old CA is in the trust anchor's bundle and the new one takes its place there. */
  anchorChange: boolean;
  /** The bundle's CA names before the rotation (what `abort` restores). */
  bundleBefore: string[];
  phase: RotationPhase;
  startedAt: Date;
  switchedAt: Date | null;
  /** When it finished or was aborted. */
  endedAt: Date | null;
  updatedAt: Date;
}

/** Unexpired certificates of some CAs (end entities only). */
export interface LeafSummary {
  count: number;
  /** The latest notAfter among them. */
  latestNotAfter: Date | null;
  /** The first few, latest to expire first (what keeps a rotation waiting). */
  sample: CertificateRecord[];
}

export interface AuditEvent {
  action: string;
  target: string;
  details: Record<string, unknown>;
}

export interface AuditRecord extends AuditEvent {
  seq: number;
  at: Date;
  /** `at` exactly as stored (the hash covers this text). */
  atText: string;
  actor: string;
  /** `details` exactly as stored (the hash covers this text). */
  detailsText: string;
  prevHash: string;
  hash: string;
}

export interface CertificateFilter {
  issuerId?: number;
  status?: 'valid' | 'revoked' | 'expired';
  /** Only unrevoked certificates expiring between now and now + seconds. */
  expiringWithinSeconds?: number;
  now: Date;
  limit?: number;
}

/**
 * The store itself: its connection and whole-store operations (row-level copy for `pki store migrate`, SQLite's
 * backup and integrity check). Optional methods exist only on the adapters that can offer them.
 */
export interface StoreConnection {
  /** Closes the connection (a PostgreSQL store's close completes asynchronously; await it when the process goes on). */
  close(): void | Promise<void>;
  /** The key PEM kept in the store for CA `name` (key reference `store:NAME`), if any. */
  caKey?(name: string): Promise<Buffer | undefined>;
  /** Row-level copy (pki store migrate): the rows of `table` (store/tables.ts), in primary-key order. */
  dumpTable?(table: string): AsyncIterable<Record<string, unknown>>;
  /**
   * Fills an EMPTY store with `rows(table)` for every table (store/tables.ts) in ONE transaction, then reads every
   * row back and compares it with `rows(table)` (asked for again) before committing: all or nothing. Returns the
   * row count of each table. Throws STATE_STORE_NOT_EMPTY, or STATE_MIGRATION_MISMATCH naming the first row that
   * differs (nothing is committed). `verify`, when given, runs last inside the same transaction (this store's reads
   * see the copy): whatever it throws rolls the whole copy back too.
   */
  loadTables?(rows: (table: string) => AsyncIterable<Record<string, unknown>>, verify?: () => Promise<void>): Promise<Record<string, number>>;
  /** SQLite only: a consistent copy of the database file (pki backup). */
  backupTo?(file: string): Promise<void>;
  /** SQLite only: PRAGMA integrity_check ('ok' or the problems). */
  integrityCheck?(): string;
}

/**
 * CAs (aggregate: the `ca` row, its stored key and, for a CA made here, its own certificate row).
 * Transactions: `createCa`, `activateCa` and `retireCas` are each one transaction with their audit rows: all or
 * nothing. `createCa` with a certificate records the CA row and the certificate together (a serial collision
 * creates no CA). Reads see committed state only.
 */
export interface CaRepository {
  getCa(name: string): Promise<CaRecord | undefined>;
  getCaById(id: number): Promise<CaRecord | undefined>;
  listCas(): Promise<CaRecord[]>;
  /**
   * Creates a CA row; when `certificate` is given it is recorded as issued by `issuerId` (or by the new CA itself
   * when issuerId is null: a self-signed root). Throws STATE_CA_EXISTS.
   */
  createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord>;
  /**
   * Retires CAs in one transaction, one audit row each (`events[i]` for `ids[i]`): an active CA becomes `retired`; a
   * revoked one stays `revoked` with its retirement date set. CAs already retired are left alone. Returns the ids changed.
   */
  retireCas(ids: number[], events: AuditEvent[], actor: string, at: Date): Promise<number[]>;
  /** Turns a pending CA active with its signed certificate. */
  activateCa(id: number, update: { certDer: Buffer; parentId: number | null; externalChainPem: string | null; serial: string; notBefore: Date; notAfter: Date; subjectDn: string }, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord>;
}

/**
 * Issued certificates (aggregate: a certificate, unique per (issuer, serial), with its revocation joined on read).
 * Transactions: `recordIssued` is one transaction for the whole array with one audit row per recorded certificate
 * (and its batch item); a serial already present for the issuer, or repeated earlier in the same call, is reported
 * in `collisions` and not recorded, while the others commit. Reads see committed state only.
 */
export interface CertificateRepository {
  /**
   * Records issued certificates in one transaction with one audit row each. Returns the indexes of certificates
   * whose serial already exists for this issuer (not recorded; the caller re-issues them with a new serial).
   */
  recordIssued(issuerId: number, certs: NewCertificate[], actor: string, at: Date): Promise<{ collisions: number[] }>;
  getCertificates(serial: string, issuerId?: number): Promise<CertificateRecord[]>;
  findCertificates(filter: CertificateFilter): Promise<CertificateRecord[]>;
  /** Every certificate row's (issuer id, serial), for cross-checking against the audit log. */
  certificateKeys(): Promise<Array<{ issuerId: number; serial: string }>>;
  /**
   * Unexpired end-entity certificates issued by any of `issuerIds`: the unrevoked ones, or the revoked ones; with
   * `expiringBy`, only those whose notAfter is at or before it.
   */
  leafSummary(issuerIds: number[], now: Date, opts: { revoked: boolean; sample: number; expiringBy?: Date }): Promise<LeafSummary>;
}

/**
 * `pki issue --batch` runs (aggregate: a run and its items; the items are written by `recordIssued` in the same
 * transaction as their certificates). `startBatch` and `finishBatch` are single-row writes (no audit row).
 */
export interface BatchRepository {
  /** Records the start of an `issue --batch` run; returns its id. */
  startBatch(issuerId: number, csrDir: string, outDir: string, total: number, at: Date): Promise<number>;
  /** Marks a batch run finished (every certificate recorded and written). */
  finishBatch(id: number, at: Date): Promise<void>;
  /** The latest batch run of this CA from `csrDir` into `outDir` (absolute paths), finished or not. */
  latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined>;
  /** Certificates recorded for a batch run. */
  batchItems(batchId: number): Promise<BatchItemRecord[]>;
}

/**
 * Revocations (aggregate: the revocation rows of one issuer and its revocation epoch/count).
 * Transactions: `revoke` is one transaction: every item is checked first and any fault refuses all of them (nothing
 * recorded, the epoch unchanged); otherwise every revocation, its audit row, the epoch step (+1 per run) and the
 * revoked-CA status change commit together.
 */
export interface RevocationRepository {
  /**
   * Revokes certificates in one transaction: all or none. Throws NOT_FOUND_SERIAL or STATE_ALREADY_REVOKED listing
   * every serial at fault. `describe(i)` names item i in messages (e.g. "serials.txt:12").
   */
  revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe?: (i: number) => string): Promise<CertificateRecord[]>;
  /** Every revocation row's (issuer id, serial), for cross-checking against the audit log. */
  revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>>;
}

/**
 * CRLs (aggregate: an issuer's CRLs, their stored DER and the CRL numbers reserved).
 * Transactions: `withCrlTransaction` is an awaited transaction (like {@link TransactionRepository.transaction}): no
 * other CRL run for the issuer overlaps it (in this process, another process, or another node), no other call on the
 * same connection runs inside it (calls made from its body join it), and it commits when the body resolves and rolls
 * back when it throws. Called from inside a running transaction, it joins that one as a savepoint (still holding the
 * issuer's CRL lock until that transaction ends).
 * A reserved CRL number is never handed out again, whether or not its CRL is recorded (a gap, never a reuse); a CRL
 * number recorded or reserved twice is refused. `crlStatus` reads without taking the write lock.
 */
export interface CrlRepository {
  /** The latest CRL and the revocation epoch, read without taking the write lock (monitoring, cron pre-checks). */
  crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }>;
  /**
   * Runs `fn` in one transaction that no other CRL run for `issuerId` (in this or another process or node) overlaps:
   * SQLite takes the write lock (BEGIN IMMEDIATE); PostgreSQL a per-CA advisory lock around a REPEATABLE READ
   * transaction. `fn` may await; nothing else uses the store's connection until it settles. It commits when `fn`
   * resolves and rolls back when it throws.
   */
  withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T>;
  listCrls(issuerId: number): Promise<CrlRecord[]>;
  /** The DER of a stored CRL. */
  crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined>;
}

/**
 * The audit log: one hash chain (src/domain/audit.ts `nextAuditRow`) over every state change. Rows are appended only
 * by the other repositories' writes, in the same transaction as the change they record, while the adapter holds
 * the chain's head against concurrent writers (so the log stays one chain across processes and nodes).
 */
export interface AuditRepository {
  auditLog(): Promise<AuditRecord[]>;
  /**
   * Appends the audit row of an event that changes no other row (`pki node join`: a node joined the shared store),
   * in a transaction of its own, chained like every other row. PostgreSQL store only (the store nodes share).
   */
  recordAuditEvent?(event: AuditEvent, actor: string, at: Date): Promise<{ seq: number; hash: string }>;
}

/**
 * Publishing (aggregates: trust anchors, the CRLs published on them, and publishing targets).
 * Transactions: every write (`saveAnchor` upsert, `savePublishedCrl` upsert, `deletePublishedCrl`, `addTarget`,
 * `removeTarget`) is one transaction with its audit row. `addTarget` refuses a taken name (USAGE_TARGET_EXISTS).
 */
export interface PublishingRepository {
  getAnchor(name: string): Promise<AnchorRecord | undefined>;
  listAnchors(): Promise<AnchorRecord[]>;
  saveAnchor(anchor: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void>;
  getPublishedCrl(anchorName: string, issuerId: number): Promise<PublishedCrl | undefined>;
  listPublishedCrls(anchorName: string): Promise<PublishedCrl[]>;
  savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void>;
  deletePublishedCrl(anchorName: string, issuerId: number, audit: AuditEvent, actor: string, at: Date): Promise<void>;
  listTargets(): Promise<TargetRecord[]>;
  getTarget(name: string): Promise<TargetRecord | undefined>;
  /** Adds a target; throws USAGE_TARGET_EXISTS when the name is taken. */
  addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void>;
  removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void>;
}

/**
 * Leases on trust anchors (who may write to one right now). `acquireLease` is one compare-and-set transaction:
 * taken or extended only when free, expired, or already held by the same holder. No audit rows.
 */
export interface LeaseRepository {
  /**
   * Takes the lease on `name` for `holder` until `expiresAt` (or extends it when `holder` has it), unless another
   * holder's lease has not expired at `now`. One transaction. Returns who holds it afterwards.
   */
  acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }>;
  /** Gives the lease back (only when `holder` still has it). */
  releaseLease(name: string, holder: string): Promise<void>;
}

/**
 * CA rotations (aggregate: a rotation and its phase). Transactions: `createRotation` checks and inserts in one
 * transaction (at most one open rotation per anchor); `setRotationPhase` is a compare-and-set of the phase in one
 * transaction, with its audit row.
 */
export interface RotationRepository {
  /** The anchor's rotation that has not finished or been aborted, if any. */
  openRotation(anchorName: string): Promise<RotationRecord | undefined>;
  /** Every rotation, oldest first (of one anchor when given). */
  listRotations(anchorName?: string): Promise<RotationRecord[]>;
  /** Records a new rotation in phase "starting". Throws STATE_ROTATION_IN_PROGRESS when the anchor has one open. */
  createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord>;
  /**
   * Moves a rotation to `to` if its phase is one of `from` (compare-and-set in one transaction); throws
   * STATE_ROTATION_PHASE otherwise.
   */
  setRotationPhase(id: number, from: RotationPhase[], to: RotationPhase, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord>;
}

/**
 * CAs imported from another tool with their history (aggregate: the CA row, every imported certificate/serial and
 * revocation, and the history row). `importCaWithHistory` is ONE transaction around the awaited iteration of
 * `entries`: a throw from the source or a duplicate serial leaves nothing behind.
 */
export interface ImportRepository {
  /**
   * Imports a CA from another tool with its history in ONE transaction: the CA row, every entry (a certificate, or a
   * known serial with an empty `der`, and its revocation), and the history row; all or nothing. `entries` is
   * iterated once, inside the transaction (it may stream from a file, synchronously or not, and throw to abort). A serial seen twice
   * aborts with USAGE_DUPLICATE_SERIAL naming the entry's `where`.
   */
  importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry> | AsyncIterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }>;
  /** The import record of a CA brought across from another tool (undefined for CAs made here). */
  caHistory(caId: number): Promise<CaHistory | undefined>;
}

/**
 * The repositories as seen from inside one {@link TransactionRepository.transaction}: every call joins that
 * transaction (a nested `transaction` or `withCrlTransaction` included). Usable only until the transaction settles:
 * a call afterwards is refused (INTERNAL_TRANSACTION_ENDED).
 */
export type StoreTransaction = Omit<Store, keyof StoreConnection>;

/**
 * Several repository calls committed together or not at all.
 *
 * - `transaction(fn)` opens ONE transaction (SQLite: BEGIN IMMEDIATE, the write lock; PostgreSQL: BEGIN on the
 *   store's connection; in-memory: a copy-on-write view), runs `fn` (which may await) and commits when it resolves;
 *   when it throws, everything it wrote (audit rows included) is rolled back and the error is rethrown.
 * - Every repository call made from `fn` (through `tx`, or through the store itself from `fn`'s async context) joins
 *   it; a change that fails inside rolls back alone (a savepoint) and `fn` may go on. No other call on the store's
 *   connection runs meanwhile: it waits until the transaction settles. Another connection (process, node) does not
 *   see the uncommitted rows (SQLite and the in-memory store: its writers wait for the write lock).
 * - Nested: `transaction` or `withCrlTransaction` called from inside `fn` JOINS it as a savepoint: its writes commit
 *   with the outer transaction, and roll back alone when its body throws. Nested transactions started side by side
 *   from one body (Promise.all) run one after the other (savepoints nest, they cannot interleave).
 * - The audit rows of the calls inside are one stretch of the chain, in call order (PostgreSQL appends them at the
 *   commit, under the chain's lock, so they are not in `auditLog()` read from inside `fn`).
 * - Never put a network call (AWS) or anything slow inside: other writers (every node of a shared store) wait.
 */
export interface TransactionRepository {
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T>;
}

/**
 * The store port: every repository on one connection. Every method that changes state is one transaction: a crash
 * leaves the old or the new state. Methods are async so that a networked adapter (PostgreSQL) can implement the
 * same port. A use case that needs only part of the store can declare the narrow repository type (e.g.
 * `CrlRepository & AuditRepository`); adapters implement the whole `Store`. Adapters: SQLite (src/adapters/store/sqlite.ts),
 * PostgreSQL (src/adapters/store/postgres.ts) and in-memory (src/adapters/store/memory.ts: for tests and library users, not durable).
 */
export interface Store
  extends StoreConnection,
    CaRepository,
    CertificateRepository,
    BatchRepository,
    RevocationRepository,
    CrlRepository,
    AuditRepository,
    PublishingRepository,
    LeaseRepository,
    RotationRepository,
    ImportRepository,
    TransactionRepository {}

/** One certificate of an imported CA's history. */
export interface ImportedEntry {
  /** Where it came from, for messages ("index.txt:12"). */
  where: string;
  /** `der` is empty for a serial known only from the old tool's index. */
  cert: NewCertificate;
  revocation: NewRevocation | null;
}

export interface NewCaHistory {
  /** openssl-ca, easy-rsa, cfssl. */
  tool: string;
  /** The lowest CRL Number pki's first CRL may carry; null when the old CRL history is unknown. */
  nextCrlNumber: number | null;
  /** Where nextCrlNumber came from (a crlnumber file, an old CRL, the certdb). */
  crlNumberSource: string | null;
}

export interface CaHistory extends NewCaHistory {
  caId: number;
  certificates: number;
  knownSerials: number;
  revocations: number;
  importedAt: Date;
}

/** Who may write to a trust anchor right now (see acquireLease). */
export interface LeaseRecord {
  name: string;
  holder: string;
  acquiredAt: Date;
  expiresAt: Date;
}
