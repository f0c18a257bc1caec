/**
 * The PostgreSQL store (node-postgres 8.x): one database shared by several CA nodes.
 *
 * - One transaction per state change, on one connection per command; the connection gate (gate.ts) keeps every other
 *   call off the connection while a transaction that awaits is open.
 * - The audit chain stays one chain under concurrent writers: each transaction appends its audit rows last, under
 *   `pg_advisory_xact_lock(AUDIT)`, reading the head after taking it (READ COMMITTED: the statement sees every chain
 *   row committed before the lock was granted). The rows of every change in a transaction (a `transaction` of
 *   several calls included) are queued and appended together just before COMMIT, so row locks are never taken after
 *   it and it cannot deadlock.
 * - CRL numbers: a CRL run holds the session advisory lock (CRL, issuer id) around its transaction, so two nodes
 *   generating a CRL for one CA run one after the other and each reads the other's reservation; the reservation's
 *   primary key (issuer, number) refuses a reuse even if the lock were bypassed. We chose the advisory lock over
 *   SERIALIZABLE with retry: a CRL run streams up to a million entries and must not be re-run on a conflict.
 * - Rotation phase changes and lease takes are compare-and-set statements (UPDATE ... WHERE phase = ANY(...)).
 * - CRL entries are read through a server-side cursor (pg-cursor), a bounded number of rows at a time.
 * - A lost or refused connection is STORE_UNAVAILABLE (exit 12); reads outside a transaction are retried once on a new
 *   connection (they are idempotent), writes never. The URL's password never appears in a message.
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import { parse as parseConnectionString } from 'pg-connection-string';
import * as fs from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { PkiError, throwIfAny } from '../../errors.js';
import { nextAuditRow, type AuditHead } from '../../domain/audit.js';
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
import { COPY_TABLES, sameValue } from './tables.js';
import { storedKeyPath } from './migrations.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import {
  CERT_SELECT,
  anchorFromRow,
  caFromRow,
  auditRecordFromRow,
  type AuditTableRow,
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
  type AnchorRow,
  type CaRow,
  type CertRow,
  type CrlRow,
  type PublishedCrlRow,
  type RotationRow,
  type TargetRow,
} from './rows.js';
import { redactIn, redactUrl } from './url.js';

/** Advisory lock keys (namespace "pki"). */
const LOCK_NS = 0x706b69;
const AUDIT_LOCK = LOCK_NS * 256 + 1;
const MIGRATE_LOCK = LOCK_NS * 256 + 2;
/** Two-key form: (CRL_LOCK_NS, issuer id). */
const CRL_LOCK_NS = LOCK_NS * 256 + 3;

/** int8 (COUNT, BIGINT columns) as a JS number: every value pki stores is below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as unknown as typeof pg.types.getTypeParser,
};

/** SQLSTATE classes and socket errors that mean the database is not there (any more). */
function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  const code = err?.code ?? '';
  if (/^(08|57P0[123]|53300|3D000|28)/.test(code)) return true;
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ENOENT)$/.test(code)) return true;
  return /Connection terminated|connection error|Client has been closed|not queryable|server does not support SSL|timeout expired|ECONNREFUSED|self.signed|certificate/i.test(err?.message ?? '');
}

/**
 * The error for a URL node-postgres cannot take: a TLS file named in its query string that cannot be read is
 * IO_READ_FAILED naming the file; anything else (a port out of range or not a number, an unclosed IPv6 bracket) is
 * USAGE_BAD_STORE_URL (the caller names the flag or the setting the URL came from).
 */
function badStoreUrl(e: unknown, url: string): PkiError {
  const shown = redactUrl(url);
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.path === 'string' && err.code) {
    const q = url.indexOf('?');
    const params = q < 0 ? [] : [...new URLSearchParams(url.slice(q + 1).split('#')[0]).entries()];
    const param = params.find(([k, v]) => /^ssl(cert|key|rootcert)$/i.test(k) && v === err.path)?.[0] ?? 'TLS file';
    return new PkiError('IO_READ_FAILED', `cannot read ${err.path}, the ${param} named in the store URL ${shown} (${err.code})`, { details: { file: err.path, store: shown }, cause: e });
  }
  return new PkiError(
    'USAGE_BAD_STORE_URL',
    `${shown} is not a valid PostgreSQL URL (${redactIn(err?.message ?? String(e), url)}): expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...], a port from 1 to 65535, an IPv6 address in [brackets], a "/", "?", "#" or "@" in the password written %2F, %3F, %23 or %40`,
    { details: { store: shown }, cause: e },
  );
}

export interface PostgresOpenOptions {
  baseDir: string;
  keysDir?: string;
  /** The environment libpq-style settings are read from (the use case's Deps.env); default: none. */
  env?: Readonly<Record<string, string | undefined>>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A field of a password file line: `\:` and `\\` escaped, `*` matches anything. */
function pgpassFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) cur += line[++i];
    else if (ch === ':' && out.length < 4) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/**
 * The password for host/port/database/user from a libpq password file (PGPASSFILE, else ~/.pgpass of env.HOME): the
 * first line whose four fields match (`*` matches anything). As libpq, a file that is not a regular file, or that
 * its group or others can read, is not used.
 */
function passwordFromFile(env: Env, host: string, port: string, database: string, user: string): string | undefined {
  const file = env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || (process.platform !== 'win32' && st.mode & 0o077)) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const want = [host, port, database, user];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = pgpassFields(line);
    if (f.length === 5 && want.every((w, i) => f[i] === '*' || f[i] === w)) return f[4];
  }
  return undefined;
}

/**
 * The node-postgres settings for `url`, what the URL leaves out taken as libpq takes it from the environment — but
 * from `env` (the use case's Deps.env), never from process.env: PGHOST, PGPORT, PGDATABASE, PGUSER (else USER),
 * PGPASSWORD, the password file (PGPASSFILE, else ~/.pgpass), PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY. The
 * URL wins over the environment. Throws what node-postgres's URL parser throws (a bad port, an unreadable TLS file).
 */
export function postgresClientConfig(url: string, env: Env): pg.ClientConfig {
  // TLS settings from the environment as if they were in the URL's query string (node-postgres's meaning of each).
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1).split('#')[0] : '');
  const extra = (['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const)
    .filter((k) => !query.has(k) && env[`PG${k.toUpperCase()}`])
    .map((k) => `${k}=${encodeURIComponent(env[`PG${k.toUpperCase()}`]!)}`);
  const full = extra.length ? `${url.split('#')[0]}${url.includes('?') ? '&' : '?'}${extra.join('&')}` : url;
  const parsed = parseConnectionString(full);
  const host = parsed.host || env.PGHOST || 'localhost';
  const port = String(parsed.port || env.PGPORT || 5432);
  const user = parsed.user || env.PGUSER || env.USER || userInfo().username;
  const database = parsed.database || env.PGDATABASE || user;
  // Asked for only when the server wants a password; none found (undefined) fails authentication, as libpq does.
  const password = parsed.password || env.PGPASSWORD || ((() => passwordFromFile(env, host, port, database, user)) as () => string);
  return { ...(parsed as pg.ClientConfig), host, port: Number(port), user, database, password, ssl: (parsed.ssl as pg.ClientConfig['ssl']) ?? false };
}

type Params = unknown[];

export class PostgresStore implements Store {
  private client: pg.Client;
  private readonly gate = new ConnectionGate();
  private readonly shown: string;
  private closed = false;
  /** A connection error reported by the client while idle (the server went away): the next call reconnects or fails. */
  private lost: Error | undefined;

  private readonly config: pg.ClientConfig;

  private constructor(
    private readonly url: string,
    private readonly baseDir: string,
    env: Env,
  ) {
    this.shown = redactUrl(url);
    this.config = postgresClientConfig(url, env);
    this.client = this.newClient();
  }

  /** Connects, applies pending migrations (one node at a time) and refuses a schema newer than this code. */
  static async open(url: string, opts: PostgresOpenOptions): Promise<PostgresStore> {
    let store: PostgresStore;
    try {
      // node-postgres parses the URL (and reads its sslcert/sslkey/sslrootcert files) here.
      store = new PostgresStore(url, resolve(opts.baseDir), opts.env ?? {});
    } catch (e) {
      throw badStoreUrl(e, url);
    }
    try {
      await store.connect();
      await store.migrate();
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  private newClient(): pg.Client {
    const client = new pg.Client({ application_name: 'pki', ...this.config, types: TYPES, connectionTimeoutMillis: 15_000 });
    client.on('error', (e) => {
      if (this.client === client) this.lost = e;
    });
    return client;
  }

  private async connect(): Promise<void> {
    try {
      await this.client.connect();
      // Waiting for another node's CRL run or migration: at most this long, then STATE_STORE_BUSY.
      await this.client.query("SET lock_timeout = '120s'");
    } catch (e) {
      throw this.unavailable(e, 'cannot connect');
    }
  }

  /** The error for a database that cannot be reached (the password redacted from anything the driver said). */
  private unavailable(e: unknown, what: string): PkiError {
    const err = e as { code?: string; message?: string };
    const msg = redactIn(err?.message ?? String(e), this.url);
    const auth = /^28/.test(err?.code ?? '');
    return new PkiError('STORE_UNAVAILABLE', `the store ${this.shown} is unavailable (${what}): ${msg}`, {
      details: { store: this.shown, ...(err?.code ? { sqlstate: err.code } : {}) },
      hint: auth
        ? 'check the user and the password (from PGPASSFILE, ~/.pgpass or PGPASSWORD; never written into pki.yaml unless in the URL)'
        : 'check that the database is up and reachable (host, port, sslmode); the command changed nothing unless its output says so',
      cause: e,
    });
  }

  /** Maps a driver error to a PkiError (PkiErrors pass through). */
  private mapError(e: unknown, what: string): unknown {
    if (e instanceof PkiError) return e;
    if (isConnectionError(e) || this.lost) return this.unavailable(e, what);
    const err = e as { code?: string; message?: string };
    if (err?.code === '55P03') return new PkiError('STATE_STORE_BUSY', `the store ${this.shown} is busy (${what}): another node holds the lock; retry`, { details: { store: this.shown }, cause: e });
    return new PkiError('INTERNAL_STORE', `the store ${this.shown} failed (${what}): ${redactIn(err?.message ?? String(e), this.url)}`, { details: { store: this.shown, ...(err?.code ? { sqlstate: err.code } : {}) }, cause: e });
  }

  private async raw<R extends pg.QueryResultRow>(sql: string, params?: Params): Promise<pg.QueryResult<R>> {
    if (this.lost) throw this.unavailable(this.lost, 'connection lost');
    return this.client.query<R>(sql, params);
  }

  /**
   * A statement inside the running transaction, or on its own (auto-commit) outside one. Reads outside a transaction
   * are retried once on a new connection when the connection was lost (they are idempotent).
   */
  private async q<R extends pg.QueryResultRow = any>(sql: string, params?: Params, opts: { read?: boolean } = {}): Promise<pg.QueryResult<R>> {
    if (this.gate.inside) {
      await this.gate.idle();
      try {
        return await this.raw<R>(sql, params);
      } catch (e) {
        throw this.mapError(e, 'in a transaction; rolled back');
      }
    }
    await this.gate.idle();
    const used = this.client;
    try {
      return await this.raw<R>(sql, params);
    } catch (e) {
      if (opts.read && (isConnectionError(e) || this.lost) && !this.closed) {
        await this.reconnect(used);
        try {
          return await this.raw<R>(sql, params);
        } catch (e2) {
          throw this.mapError(e2, 'read retried on a new connection');
        }
      }
      throw this.mapError(e, opts.read ? 'read' : 'write');
    }
  }

  private read<R extends pg.QueryResultRow = any>(sql: string, params?: Params): Promise<pg.QueryResult<R>> {
    return this.q<R>(sql, params, { read: true });
  }

  private reconnecting: Promise<void> | undefined;
  private savepoints = 0;

  /** A new connection in place of `failed` (once, however many reads saw it fail). */
  private async reconnect(failed: pg.Client): Promise<void> {
    if (this.client === failed && !this.reconnecting) {
      this.reconnecting = (async () => {
        failed.end().catch(() => undefined);
        this.lost = undefined;
        this.client = this.newClient();
        await this.connect();
      })().finally(() => (this.reconnecting = undefined));
    }
    await this.reconnecting;
  }

  /**
   * One transaction: BEGIN, the awaited body, its audit rows (appended last, see {@link appendAudit}), COMMIT;
   * ROLLBACK when it throws. A connection lost at any point is STORE_UNAVAILABLE: the server rolls back what it did
   * not commit. `crlLock`: the CRL lock of that issuer is held around it (a session lock taken before BEGIN; from
   * inside a running transaction, a transaction lock taken in it).
   */
  private async tx<T>(body: () => Promise<T>, opts: { crlLock?: number } = {}): Promise<T> {
    // Called from inside a running transaction's body: a savepoint in it (committed or rolled back with it), as
    // SQLite nests transactions.
    if (this.gate.inside)
      return this.gate.nested(async () => {
        const name = `pki_sp_${++this.savepoints}`;
        const audits = this.pendingAudit?.length ?? 0;
        await this.raw(`SAVEPOINT ${name}`).catch((e) => Promise.reject(this.mapError(e, 'savepoint')));
        try {
          if (opts.crlLock !== undefined) await this.raw('SELECT pg_advisory_xact_lock($1, $2)', [CRL_LOCK_NS, opts.crlLock]);
          const result = await body();
          await this.raw(`RELEASE SAVEPOINT ${name}`);
          return result;
        } catch (e) {
          // Its audit rows go with it.
          if (this.pendingAudit) this.pendingAudit.length = audits;
          await this.raw(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
          throw this.mapError(e, 'rolled back to the savepoint');
        }
      });
    return this.gate.exclusive(async () => {
      let locked = false;
      try {
        if (opts.crlLock !== undefined) {
          await this.raw('SELECT pg_advisory_lock($1, $2)', [CRL_LOCK_NS, opts.crlLock]);
          locked = true;
        }
        await this.raw('BEGIN');
        this.pendingAudit = [];
        let result: T;
        try {
          result = await body();
          await this.writeAudit(this.pendingAudit);
        } catch (e) {
          await this.raw('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          this.pendingAudit = undefined;
        }
        await this.raw('COMMIT');
        return result;
      } catch (e) {
        throw this.mapError(e, 'transaction rolled back');
      } finally {
        if (locked) await this.raw('SELECT pg_advisory_unlock($1, $2)', [CRL_LOCK_NS, opts.crlLock]).catch(() => undefined);
      }
    });
  }

  /**
   * Several calls in one transaction on this store's connection (BEGIN ... COMMIT, READ COMMITTED); every call from
   * `fn` runs on it, a change that fails inside rolls back to its savepoint. Its audit rows are appended at the
   * commit, after every row lock it took, under the chain's lock (see the file comment).
   */
  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    // What `fn` throws is rethrown as it is (as the other adapters do), not as a store failure.
    let thrown: { e: unknown } | undefined;
    try {
      return await this.tx(() =>
        withBoundTransaction(this, fn).catch((e: unknown) => {
          thrown = { e };
          throw e;
        }),
      );
    } catch (e) {
      throw thrown ? thrown.e : e;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.client.end().catch(() => undefined);
  }

  private async migrate(): Promise<void> {
    const latest = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
    await this.tx(async () => {
      // One node migrates at a time; the others wait here and then find nothing to do.
      await this.raw('SELECT pg_advisory_xact_lock($1)', [MIGRATE_LOCK]);
      await this.raw('CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const current = (await this.raw<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migration')).rows[0]!.v;
      if (current > latest)
        throw new PkiError('STATE_STORE_TOO_NEW', `store ${this.shown} has schema version ${current}; this pki knows up to ${latest}`, {
          details: { store: this.shown, version: current, known: latest },
          hint: 'upgrade pki on this node: another node has migrated the shared database',
        });
      for (const m of PG_MIGRATIONS) {
        if (m.version <= current) continue;
        await this.raw(m.sql);
        await this.raw('INSERT INTO schema_migration (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Math.floor(Date.now() / 1000)]);
      }
    });
  }

  /** The schema version (for pki store migrate and tests). */
  async schemaVersion(): Promise<number> {
    return (await this.read<{ v: number }>('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migration')).rows[0]!.v;
  }

  /**
   * The audit rows of the running transaction (outermost), appended when its body has resolved, just before COMMIT:
   * the chain's lock is taken after every row lock the transaction takes, however many changes it holds.
   */
  private pendingAudit: Array<{ event: AuditEvent; actor: string; at: Date }> | undefined;

  /** Queues audit rows for the end of the running transaction (see {@link pendingAudit}). */
  private async appendAudit(events: AuditEvent[], actor: string, at: Date): Promise<void> {
    if (!this.pendingAudit) return this.writeAudit(events.map((event) => ({ event, actor, at })));
    for (const event of events) this.pendingAudit.push({ event, actor, at });
  }

  /** Appends audit rows in the running transaction, holding the chain's head (see the file comment). */
  private async writeAudit(rows: Array<{ event: AuditEvent; actor: string; at: Date }>): Promise<void> {
    if (!rows.length) return;
    await this.raw('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    let head = (await this.raw<AuditHead>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0];
    const cols: unknown[][] = [[], [], [], [], [], [], [], []];
    for (const { event, actor, at } of rows) {
      const row = nextAuditRow(head, event, actor, at);
      [row.seq, row.at, row.actor, row.action, row.target, row.details, row.prevHash, row.hash].forEach((v, i) => cols[i]!.push(v));
      head = row;
    }
    await this.raw(
      `INSERT INTO audit (seq, at, actor, action, target, details, prev_hash, hash)
       SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      cols,
    );
  }

  async recordAuditEvent(event: AuditEvent, actor: string, at: Date): Promise<{ seq: number; hash: string }> {
    return this.tx(async () => {
      // Written now, not queued for the commit: its head is the answer.
      await this.writeAudit([{ event, actor, at }]);
      return (await this.raw<AuditHead>('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1')).rows[0]!;
    });
  }

  private ca(row: CaRow): CaRecord {
    return caFromRow(row, this.baseDir);
  }

  async getCa(name: string): Promise<CaRecord | undefined> {
    const r = (await this.read<CaRow>('SELECT * FROM ca WHERE name = $1', [name])).rows[0];
    return r && this.ca(r);
  }

  async *dumpTable(table: string): AsyncGenerator<Record<string, unknown>> {
    const t = COPY_TABLES.find((x) => x.name === table);
    if (!t) throw new PkiError('INTERNAL_UNKNOWN_TABLE', `no table ${table} to copy`);
    yield* await this.gate.exclusive(async () => {
      const rows: Record<string, unknown>[] = [];
      for await (const r of this.cursorRows(`SELECT * FROM ${t.name} ORDER BY ${t.key.join(', ')}`)) rows.push(r);
      return rows;
    });
  }

  /** Rows of a query through a server-side cursor (inside the running transaction or exclusive section). */
  private async *cursorRows(sql: string, params: unknown[] = []): AsyncGenerator<Record<string, unknown>> {
    const cursor = this.client.query(new Cursor<Record<string, unknown>>(sql, params));
    try {
      for (;;) {
        const rows = await cursor.read(PostgresStore.CURSOR_ROWS);
        if (!rows.length) return;
        yield* rows;
      }
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  /** Statements of at most this many parameters when loading (PostgreSQL allows 65,535). */
  static readonly LOAD_PARAMS = 30_000;
  static readonly LOAD_BYTES = 16 << 20;

  async loadTables(rows: (table: string) => AsyncIterable<Record<string, unknown>>, verify?: () => Promise<void>): Promise<Record<string, number>> {
    return this.tx(async () => {
      // Nobody writes while the copy runs (every writer appends to the audit chain under this lock).
      await this.raw('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
      const used = (await this.raw<{ n: number }>('SELECT (SELECT COUNT(*) FROM ca) + (SELECT COUNT(*) FROM audit) AS n')).rows[0]!.n;
      if (used) throw new PkiError('STATE_STORE_NOT_EMPTY', `the store ${this.shown} already holds a PKI: pki store migrate fills an empty database only`, { details: { store: this.shown } });
      const counts: Record<string, number> = {};
      for (const t of COPY_TABLES) {
        let batch: Record<string, unknown>[] = [];
        let cols: string[] | undefined;
        const parents: Array<[unknown, unknown]> = [];
        const flush = async (): Promise<void> => {
          if (!batch.length || !cols) return;
          const params: unknown[] = [];
          const values = batch.map((r) => `(${cols!.map((c) => {
            // A CA's parent may come later in id order (a CA activated under a newer parent): set after all CAs.
            let v = r[c];
            if (t.name === 'ca' && c === 'parent_id' && v !== null) {
              parents.push([r.id, v]);
              v = null;
            }
            params.push(v);
            return `$${params.length}`;
          }).join(', ')})`);
          await this.raw(`INSERT INTO ${t.name} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES ${values.join(', ')}`, params);
          batch = [];
        };
        let n = 0;
        let bytes = 0;
        for await (const r of rows(t.name)) {
          cols ??= Object.keys(r);
          batch.push(r);
          n++;
          for (const v of Object.values(r)) bytes += Buffer.isBuffer(v) ? v.length : typeof v === 'string' ? v.length : 8;
          // Bounded statements: by parameters, and by bytes (CRL chunks are 1 MiB each).
          if (batch.length * cols.length >= PostgresStore.LOAD_PARAMS || bytes >= PostgresStore.LOAD_BYTES) {
            await flush();
            bytes = 0;
          }
        }
        await flush();
        for (const [id, parent] of parents) await this.raw('UPDATE ca SET parent_id = $1 WHERE id = $2', [parent, id]);
        if (t.serial) await this.raw(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.serial}'), GREATEST(COALESCE(MAX(${t.serial}), 0), 1), MAX(${t.serial}) IS NOT NULL) FROM ${t.name}`);
        counts[t.name] = n;
      }
      // Every row read back and compared with its source, in key order, before anything is committed.
      for (const t of COPY_TABLES) {
        const target = this.cursorRows(`SELECT * FROM ${t.name} ORDER BY ${t.key.join(', ')}`)[Symbol.asyncIterator]();
        let i = 0;
        try {
          for await (const want of rows(t.name)) {
            const got = (await target.next()).value as Record<string, unknown> | undefined;
            const where = () => `${t.name} row ${i + 1} (${t.key.map((k) => `${k}=${String(want[k])}`).join(', ')})`;
            if (!got) throw new PkiError('STATE_MIGRATION_MISMATCH', `${where()} is missing from the copy; nothing was committed`, { details: { table: t.name } });
            for (const [c, v] of Object.entries(want))
              if (!sameValue(v, got[c])) throw new PkiError('STATE_MIGRATION_MISMATCH', `${where()}: column ${c} differs in the copy; nothing was committed`, { details: { table: t.name, column: c } });
            i++;
          }
          const extra = await target.next();
          if (!extra.done)
            throw new PkiError('STATE_MIGRATION_MISMATCH', `${t.name}: the copy has more rows than the source (${i}); nothing was committed`, { details: { table: t.name } });
        } finally {
          // Closes the cursor (a cursor left open would hold the connection and the ROLLBACK behind it).
          await target.return?.(undefined);
        }
        if (i !== counts[t.name]) throw new PkiError('STATE_MIGRATION_MISMATCH', `${t.name}: ${counts[t.name]} rows copied, ${i} rows in the source on the second reading (did a pki process write meanwhile?); nothing was committed`, { details: { table: t.name } });
      }
      // The caller's checks on the copy (pki audit verify), still before COMMIT: a failure leaves the database empty.
      if (verify) await verify();
      return counts;
    });
  }

  async caKey(name: string): Promise<Buffer | undefined> {
    return (await this.read<{ pem: Buffer }>('SELECT k.pem FROM ca_key k JOIN ca ON ca.id = k.ca_id WHERE ca.name = $1', [name])).rows[0]?.pem;
  }

  async getCaById(id: number): Promise<CaRecord | undefined> {
    const r = (await this.read<CaRow>('SELECT * FROM ca WHERE id = $1', [id])).rows[0];
    return r && this.ca(r);
  }

  async listCas(): Promise<CaRecord[]> {
    return (await this.read<CaRow>('SELECT * FROM ca ORDER BY id')).rows.map((r) => this.ca(r));
  }

  private async insertCa(ca: NewCa): Promise<number> {
    if ((await this.raw('SELECT 1 FROM ca WHERE name = $1', [ca.name])).rowCount)
      throw new PkiError('STATE_CA_EXISTS', `a CA named "${ca.name}" already exists`, { details: { ca: ca.name } });
    try {
      const r = await this.raw<{ id: number }>(
        `INSERT INTO ca (name, parent_id, status, subject, cert_der, csr_der, external_chain_pem, key_path, key_type, key_encrypted, serial, not_before, not_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
        [
          ca.name,
          ca.parentId,
          ca.status,
          ca.subjectDn,
          ca.certDer,
          ca.csrDer,
          ca.externalChainPem,
          storedKeyPath(this.baseDir, ca.keyPath),
          ca.keyType,
          ca.keyEncrypted ? 1 : 0,
          ca.serial,
          ca.notBefore && toSec(ca.notBefore),
          ca.notAfter && toSec(ca.notAfter),
          toSec(ca.createdAt),
        ],
      );
      const id = r.rows[0]!.id;
      if (ca.keyPem) await this.raw('INSERT INTO ca_key (ca_id, pem) VALUES ($1, $2)', [id, ca.keyPem]);
      return id;
    } catch (e) {
      // Another node created it between the check and the insert.
      if ((e as { code?: string }).code === '23505') throw new PkiError('STATE_CA_EXISTS', `a CA named "${ca.name}" already exists`, { details: { ca: ca.name } });
      throw e;
    }
  }

  /** Inserts a certificate; false when (issuer, serial) exists (here or committed by another node meanwhile). */
  private async insertCertificate(issuerId: number, c: NewCertificate, at: Date): Promise<boolean> {
    const r = await this.raw(
      `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (issuer_id, serial) DO NOTHING`,
      [issuerId, c.serial, c.subjectDn, JSON.stringify(c.sans), toSec(c.notBefore), toSec(c.notAfter), c.profile, c.isCa ? 1 : 0, c.der, c.requestedBy, c.source, toSec(at)],
    );
    return r.rowCount === 1;
  }

  async createCa(ca: NewCa, certificate: { issuerId: number | null; cert: NewCertificate } | null, audit: AuditEvent, actor: string, at: Date): Promise<CaRecord> {
    const id = await this.tx(async () => {
      const id = await this.insertCa(ca);
      if (certificate && !(await this.insertCertificate(certificate.issuerId ?? id, certificate.cert, at)))
        throw new PkiError('STATE_SERIAL_COLLISION', `serial ${certificate.cert.serial} already exists for this issuer; retry`);
      await this.appendAudit([audit], actor, at);
      return id;
    });
    return (await this.getCaById(id))!;
  }

  async retireCas(ids: number[], events: AuditEvent[], actor: string, at: Date): Promise<number[]> {
    return this.tx(async () => {
      const changed: number[] = [];
      const audits: AuditEvent[] = [];
      for (const [i, id] of ids.entries()) {
        const r = await this.raw(
          "UPDATE ca SET status = CASE WHEN status = 'revoked' THEN 'revoked' ELSE 'retired' END, retired_at = $1 WHERE id = $2 AND status IN ('active', 'revoked') AND retired_at IS NULL",
          [toSec(at), id],
        );
        if (r.rowCount !== 1) continue;
        changed.push(id);
        audits.push(events[i]!);
      }
      await this.appendAudit(audits, actor, at);
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
    await this.tx(async () => {
      const r = await this.raw(
        "UPDATE ca SET status = 'active', cert_der = $1, parent_id = $2, external_chain_pem = $3, serial = $4, not_before = $5, not_after = $6, subject = $7 WHERE id = $8 AND status = 'pending'",
        [u.certDer, u.parentId, u.externalChainPem, u.serial, toSec(u.notBefore), toSec(u.notAfter), u.subjectDn, id],
      );
      if (r.rowCount !== 1) throw new PkiError('STATE_CA_NOT_PENDING', 'the CA is not waiting for a certificate');
      await this.appendAudit([audit], actor, at);
    });
    return (await this.getCaById(id))!;
  }

  async recordIssued(issuerId: number, certs: NewCertificate[], actor: string, at: Date): Promise<{ collisions: number[] }> {
    return this.tx(async () => {
      // One statement for the whole batch (a round trip per certificate would bound issue --batch by the network).
      const cols: unknown[][] = Array.from({ length: 10 }, () => []);
      for (const c of certs)
        [c.serial, c.subjectDn, JSON.stringify(c.sans), toSec(c.notBefore), toSec(c.notAfter), c.profile, c.isCa ? 1 : 0, c.der, c.requestedBy, c.source].forEach((v, i) => cols[i]!.push(v));
      const inserted = await this.raw<{ serial: string }>(
        `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
         SELECT $1, *, $12 FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::int[], $9::bytea[], $10::text[], $11::text[])
         ON CONFLICT (issuer_id, serial) DO NOTHING RETURNING serial`,
        [issuerId, ...cols, toSec(at)],
      );
      // Recorded: once per serial returned, the first certificate carrying it; any other is a collision.
      const fresh = new Set(inserted.rows.map((r) => r.serial));
      const collisions: number[] = [];
      const recorded: NewCertificate[] = [];
      certs.forEach((c, i) => {
        if (fresh.delete(c.serial)) recorded.push(c);
        else collisions.push(i);
      });
      const items = recorded.filter((c) => c.batchItem);
      if (items.length)
        await this.raw(
          'INSERT INTO issue_batch_item (batch_id, file, csr_sha256, issuer_id, serial) SELECT b, f, h, $1, s FROM unnest($2::int[], $3::text[], $4::text[], $5::text[]) AS u(b, f, h, s)',
          [issuerId, items.map((c) => c.batchItem!.batchId), items.map((c) => c.batchItem!.file), items.map((c) => c.batchItem!.csrSha256), items.map((c) => c.serial)],
        );
      await this.appendAudit(
        recorded.map((c) => ({ action: 'certificate.issue', target: c.serial, details: { issuerId, subject: c.subjectDn, sans: c.sans, notAfter: c.notAfter.toISOString(), profile: c.profile, source: c.source } })),
        actor,
        at,
      );
      return { collisions };
    });
  }

  async startBatch(issuerId: number, csrDir: string, outDir: string, total: number, at: Date): Promise<number> {
    return (await this.q<{ id: number }>('INSERT INTO issue_batch (issuer_id, csr_dir, out_dir, total, started_at) VALUES ($1, $2, $3, $4, $5) RETURNING id', [issuerId, csrDir, outDir, total, toSec(at)])).rows[0]!.id;
  }

  async finishBatch(id: number, at: Date): Promise<void> {
    await this.q('UPDATE issue_batch SET finished_at = $1 WHERE id = $2', [toSec(at), id]);
  }

  async latestBatch(issuerId: number, csrDir: string, outDir: string): Promise<BatchRecord | undefined> {
    const row = (
      await this.read<{ id: number; issuer_id: number; csr_dir: string; out_dir: string; total: number; started_at: number; finished_at: number | null }>(
        'SELECT * FROM issue_batch WHERE issuer_id = $1 AND csr_dir = $2 AND out_dir = $3 ORDER BY id DESC LIMIT 1',
        [issuerId, csrDir, outDir],
      )
    ).rows[0];
    if (!row) return undefined;
    return { id: row.id, issuerId: row.issuer_id, csrDir: row.csr_dir, outDir: row.out_dir, total: row.total, startedAt: fromSec(row.started_at), finishedAt: row.finished_at === null ? null : fromSec(row.finished_at) };
  }

  async batchItems(batchId: number): Promise<BatchItemRecord[]> {
    const rows = (
      await this.read<{ file: string; csr_sha256: string; serial: string; der: Buffer }>(
        'SELECT i.file, i.csr_sha256, i.serial, c.der FROM issue_batch_item i JOIN certificate c ON c.issuer_id = i.issuer_id AND c.serial = i.serial WHERE i.batch_id = $1 ORDER BY i.file',
        [batchId],
      )
    ).rows;
    return rows.map((r) => ({ file: r.file, csrSha256: r.csr_sha256, serial: r.serial, der: r.der }));
  }

  async revoke(issuerId: number, items: NewRevocation[], actor: string, at: Date, describe: (i: number) => string = () => ''): Promise<CertificateRecord[]> {
    const rows = await this.tx(async () => {
      // The certificates' rows locked first: a concurrent revocation of the same serial on another node waits, then
      // finds it revoked.
      const serials = items.map((i) => i.serial);
      const found = new Map(
        (await this.raw<CertRow>(`${CERT_SELECT} WHERE c.issuer_id = $1 AND c.serial = ANY($2::text[]) FOR UPDATE OF c`, [issuerId, serials])).rows.map((r) => [r.serial, r]),
      );
      const problems: PkiError[] = [];
      const seen = new Set<string>();
      items.forEach((item, i) => {
        const where = describe(i) ? `${describe(i)}: ` : '';
        const cert = found.get(item.serial);
        const refusal = revocationRefusal(where, item.serial, cert !== undefined, cert && cert.reason !== null ? { revokedAt: cert.revoked_at!, reason: cert.reason } : undefined, seen);
        if (refusal) problems.push(refusal);
      });
      throwIfAny(problems, `${problems.length} of ${items.length} revocations refused; nothing was revoked`);
      const audits: AuditEvent[] = [];
      for (const item of items) {
        try {
          await this.raw(
            `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
            [issuerId, item.serial, item.reason, toSec(item.revokedAt), item.invalidityDate && toSec(item.invalidityDate), found.get(item.serial)!.not_after, item.entryDer, item.entryDerNoReason, toSec(at)],
          );
        } catch (e) {
          if ((e as { code?: string }).code === '23505') throw new PkiError('STATE_ALREADY_REVOKED', `certificate ${item.serial} was revoked meanwhile (by another node); nothing was revoked`, { details: { serial: item.serial } });
          throw e;
        }
        audits.push({ action: 'certificate.revoke', target: item.serial, details: { issuerId, reason: item.reason, invalidityDate: item.invalidityDate?.toISOString() ?? null } });
      }
      await this.raw('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + $1 WHERE id = $2', [items.length, issuerId]);
      // A revoked CA certificate revokes the CA: it never issues again (same transaction as the revocation).
      for (const item of items) {
        const revoked = await this.raw<{ name: string }>(
          "UPDATE ca SET status = 'revoked' WHERE status IN ('active', 'retired') AND serial = $1 AND (parent_id = $2 OR (parent_id IS NULL AND id = $2)) RETURNING name",
          [item.serial, issuerId],
        );
        for (const row of revoked.rows) audits.push({ action: 'ca.revoked', target: row.name, details: { issuerId, serial: item.serial, reason: item.reason } });
      }
      await this.appendAudit(audits, actor, at);
      return (await this.raw<CertRow>(`${CERT_SELECT} WHERE c.issuer_id = $1 AND c.serial = ANY($2::text[])`, [issuerId, serials])).rows;
    });
    const bySerial = new Map(rows.map((r) => [r.serial, r]));
    return items.map((i) => certFromRow(bySerial.get(i.serial)!));
  }

  async crlStatus(issuerId: number): Promise<{ last: CrlRecord | undefined; epoch: number }> {
    // One statement: one snapshot.
    const r = (
      await this.read<CrlRow & { epoch: number | null }>(
        `SELECT (SELECT revocation_epoch FROM ca WHERE id = $1) AS epoch, crl.* FROM (SELECT 1) one
         LEFT JOIN LATERAL (SELECT * FROM crl WHERE issuer_id = $1 ORDER BY crl_number DESC LIMIT 1) crl ON true`,
        [issuerId],
      )
    ).rows[0]!;
    return { last: r.crl_number === null ? undefined : crlFromRow(r), epoch: r.epoch ?? 0 };
  }

  async withCrlTransaction<T>(issuerId: number, fn: (tx: CrlTransaction) => Promise<T>): Promise<T> {
    const tx: CrlTransaction = {
      lastCrl: async () => {
        const r = (await this.raw<CrlRow>('SELECT * FROM crl WHERE issuer_id = $1 ORDER BY crl_number DESC LIMIT 1', [issuerId])).rows[0];
        return r && crlFromRow(r);
      },
      crlDer: (crlNumber) => this.crlDerOn(issuerId, crlNumber),
      revocationEpoch: async () => (await this.raw<{ v: number }>('SELECT revocation_epoch AS v FROM ca WHERE id = $1', [issuerId])).rows[0]?.v ?? 0,
      revocationCount: async () => (await this.raw<{ v: number }>('SELECT revocation_count AS v FROM ca WHERE id = $1', [issuerId])).rows[0]?.v ?? 0,
      entryBlocks: (thisUpdate, withReasons) => this.entryBlocks(issuerId, thisUpdate, withReasons),
      revocationStatus: async (serial) => {
        const row = (
          await this.raw<{ not_after: number; revoked: boolean }>(
            'SELECT c.not_after, r.serial IS NOT NULL AS revoked FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE c.issuer_id = $1 AND c.serial = $2',
            [issuerId, serial],
          )
        ).rows[0];
        return row ? { revoked: row.revoked, notAfter: fromSec(row.not_after) } : { revoked: false };
      },
      lastReservedCrlNumber: async () => (await this.raw<{ v: number | null }>('SELECT MAX(crl_number) AS v FROM crl_reservation WHERE issuer_id = $1', [issuerId])).rows[0]?.v ?? undefined,
      reserveCrlNumber: async (crlNumber, at) => {
        const recorded = (await this.raw<{ v: number | null }>('SELECT MAX(crl_number) AS v FROM crl WHERE issuer_id = $1', [issuerId])).rows[0]?.v ?? null;
        if (recorded !== null && crlNumber <= Number(recorded)) throw new PkiError('INTERNAL_STORE', `CRL number ${crlNumber} of CA id ${issuerId} is not above its recorded CRL #${recorded}`, { details: { caId: issuerId, crlNumber } });
        await this.raw('INSERT INTO crl_reservation (issuer_id, crl_number, reserved_at) VALUES ($1, $2, $3)', [issuerId, crlNumber, toSec(at)]);
      },
      insertCrl: async (crl, chunks, actor, at) => {
        await this.raw(
          `INSERT INTO crl (issuer_id, crl_number, this_update, next_update, entries, pruned, reasons, der_size, pem_size, sha256, revocation_epoch, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [issuerId, crl.crlNumber, toSec(crl.thisUpdate), toSec(crl.nextUpdate), crl.entries, crl.pruned, crl.reasons ? 1 : 0, crl.derSize, crl.pemSize, crl.sha256, crl.revocationEpoch, toSec(crl.createdAt)],
        );
        let seq = 0;
        // Each chunk is sent before the next is read (the producer may reuse its buffer).
        for await (const c of chunks) await this.raw('INSERT INTO crl_chunk (issuer_id, crl_number, seq, data) VALUES ($1, $2, $3, $4)', [issuerId, crl.crlNumber, seq++, Buffer.from(c)]);
        // Reservations up to this number are covered by the CRL now recorded (the next number is above it): only
        // those above it (a run still signing, or one that died) stay.
        await this.raw('DELETE FROM crl_reservation WHERE issuer_id = $1 AND crl_number <= $2', [issuerId, crl.crlNumber]);
        await this.appendAudit(
          [{ action: 'crl.generate', target: String(crl.crlNumber), details: { issuerId, entries: crl.entries, pruned: crl.pruned, nextUpdate: crl.nextUpdate.toISOString(), sha256: crl.sha256 } }],
          actor,
          at,
        );
      },
    };
    return this.tx(() => fn(tx), { crlLock: issuerId });
  }

  /** Rows fetched per cursor read, and the size a block grows to before it is handed on. */
  static readonly CURSOR_ROWS = 5000;
  static readonly BLOCK_BYTES = 1 << 20;

  /** The in-scope entries through a server-side cursor: at most CURSOR_ROWS rows and one block in memory. */
  private async *entryBlocks(issuerId: number, thisUpdate: Date, withReasons: boolean): AsyncGenerator<Buffer> {
    const col = withReasons ? 'entry_der' : 'COALESCE(entry_der_no_reason, entry_der)';
    const cursor = this.client.query(new Cursor(`SELECT ${col} AS der FROM revocation WHERE issuer_id = $1 AND cert_not_after > $2 ORDER BY serial`, [issuerId, toSec(thisUpdate)], { rowMode: 'array' }));
    try {
      let parts: Buffer[] = [];
      let size = 0;
      for (;;) {
        let rows: Array<[Buffer]>;
        try {
          rows = (await cursor.read(PostgresStore.CURSOR_ROWS)) as Array<[Buffer]>;
        } catch (e) {
          throw this.mapError(e, 'reading CRL entries');
        }
        if (!rows.length) break;
        for (const [der] of rows) {
          parts.push(der);
          size += der.length;
        }
        if (size >= PostgresStore.BLOCK_BYTES) {
          yield Buffer.concat(parts, size);
          parts = [];
          size = 0;
        }
      }
      if (size) yield Buffer.concat(parts, size);
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }

  async listCrls(issuerId: number): Promise<CrlRecord[]> {
    return (await this.read<CrlRow>('SELECT * FROM crl WHERE issuer_id = $1 ORDER BY crl_number', [issuerId])).rows.map(crlFromRow);
  }

  async crlDer(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
    await this.gate.idle();
    return this.crlDerOn(issuerId, crlNumber);
  }

  private async crlDerOn(issuerId: number, crlNumber: number): Promise<Buffer | undefined> {
    const size = (await this.q<{ der_size: number }>('SELECT der_size FROM crl WHERE issuer_id = $1 AND crl_number = $2', [issuerId, crlNumber], { read: true })).rows[0]?.der_size;
    if (size === undefined) return undefined;
    const out = Buffer.allocUnsafe(size);
    let off = 0;
    const chunks = (await this.q<{ data: Buffer }>('SELECT data FROM crl_chunk WHERE issuer_id = $1 AND crl_number = $2 ORDER BY seq', [issuerId, crlNumber], { read: true })).rows;
    for (const { data } of chunks) {
      if (off + data.length > size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has more bytes than recorded`);
      data.copy(out, off);
      off += data.length;
    }
    if (off !== size) throw new PkiError('STATE_STORE_CORRUPT', `stored CRL #${crlNumber} has ${off} of its ${size} bytes`);
    return out;
  }

  async getCertificates(serial: string, issuerId?: number): Promise<CertificateRecord[]> {
    const rows =
      issuerId === undefined
        ? (await this.read<CertRow>(`${CERT_SELECT} WHERE c.serial = $1 ORDER BY c.id`, [serial])).rows
        : (await this.read<CertRow>(`${CERT_SELECT} WHERE c.serial = $1 AND c.issuer_id = $2`, [serial, issuerId])).rows;
    return rows.map(certFromRow);
  }

  async findCertificates(f: CertificateFilter): Promise<CertificateRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const p = (v: unknown): string => {
      args.push(v);
      return `$${args.length}`;
    };
    const now = toSec(f.now);
    if (f.issuerId !== undefined) where.push(`c.issuer_id = ${p(f.issuerId)}`);
    if (f.status === 'revoked') where.push('r.serial IS NOT NULL');
    if (f.status === 'valid') where.push(`r.serial IS NULL AND c.not_after > ${p(now)}`);
    if (f.status === 'expired') where.push(`r.serial IS NULL AND c.not_after <= ${p(now)}`);
    if (f.expiringWithinSeconds !== undefined) where.push(`r.serial IS NULL AND c.not_after > ${p(now)} AND c.not_after <= ${p(now + f.expiringWithinSeconds)}`);
    const sql = `${CERT_SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.not_after, c.id${f.limit ? ` LIMIT ${p(f.limit)}` : ''}`;
    return (await this.read<CertRow>(sql, args)).rows.map(certFromRow);
  }

  async auditLog(): Promise<AuditRecord[]> {
    const rows = (await this.read<AuditTableRow>('SELECT * FROM audit ORDER BY seq')).rows;
    return rows.map((r) => auditRecordFromRow(r, r.prev_hash));
  }

  async certificateKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    return (await this.read<{ issuerId: number; serial: string }>('SELECT issuer_id AS "issuerId", serial FROM certificate')).rows;
  }

  async revocationKeys(): Promise<Array<{ issuerId: number; serial: string }>> {
    return (await this.read<{ issuerId: number; serial: string }>('SELECT issuer_id AS "issuerId", serial FROM revocation')).rows;
  }

  async getAnchor(name: string): Promise<AnchorRecord | undefined> {
    const r = (await this.read<AnchorRow>('SELECT * FROM anchor WHERE name = $1', [name])).rows[0];
    return r && anchorFromRow(r);
  }

  async listAnchors(): Promise<AnchorRecord[]> {
    return (await this.read<AnchorRow>('SELECT * FROM anchor ORDER BY name')).rows.map(anchorFromRow);
  }

  async saveAnchor(a: AnchorRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.tx(async () => {
      await this.raw(
        `INSERT INTO anchor (name, arn, trust_anchor_id, region, ca_names, bundle_sha256, updated_at, target, anchor_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (name) DO UPDATE SET arn = excluded.arn, trust_anchor_id = excluded.trust_anchor_id, region = excluded.region,
           ca_names = excluded.ca_names, bundle_sha256 = excluded.bundle_sha256, updated_at = excluded.updated_at,
           target = excluded.target, anchor_name = excluded.anchor_name`,
        [a.name, a.arn, a.trustAnchorId, a.region, JSON.stringify(a.caNames), a.bundleSha256, toSec(a.updatedAt), a.target ?? '', a.anchorName ?? a.name],
      );
      await this.appendAudit([audit], actor, at);
    });
  }

  async getPublishedCrl(anchorName: string, issuerId: number): Promise<PublishedCrl | undefined> {
    const r = (await this.read<PublishedCrlRow>('SELECT * FROM published_crl WHERE anchor_name = $1 AND issuer_id = $2', [anchorName, issuerId])).rows[0];
    return r && publishedFromRow(r);
  }

  async listPublishedCrls(anchorName: string): Promise<PublishedCrl[]> {
    return (await this.read<PublishedCrlRow>('SELECT * FROM published_crl WHERE anchor_name = $1 ORDER BY issuer_id', [anchorName])).rows.map(publishedFromRow);
  }

  async savePublishedCrl(p: PublishedCrl, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.tx(async () => {
      await this.raw(
        `INSERT INTO published_crl (anchor_name, issuer_id, crl_id, crl_arn, crl_number, sha256, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (anchor_name, issuer_id) DO UPDATE SET crl_id = excluded.crl_id, crl_arn = excluded.crl_arn, crl_number = excluded.crl_number,
           sha256 = excluded.sha256, published_at = excluded.published_at`,
        [p.anchorName, p.issuerId, p.crlId, p.crlArn, p.crlNumber, p.sha256, toSec(p.publishedAt)],
      );
      await this.appendAudit([audit], actor, at);
    });
  }

  async deletePublishedCrl(anchorName: string, issuerId: number, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.tx(async () => {
      await this.raw('DELETE FROM published_crl WHERE anchor_name = $1 AND issuer_id = $2', [anchorName, issuerId]);
      await this.appendAudit([audit], actor, at);
    });
  }

  async acquireLease(name: string, holder: string, now: Date, expiresAt: Date): Promise<LeaseRecord & { acquired: boolean }> {
    // Compare-and-set in one statement: taken when free, expired, or already ours (then extended, acquired_at kept).
    const r = await this.q<{ holder: string; acquired_at: number; expires_at: number }>(
      `INSERT INTO anchor_lease AS l (anchor_name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (anchor_name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
         acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END
       WHERE l.holder = excluded.holder OR l.expires_at <= $3
       RETURNING holder, acquired_at, expires_at`,
      [name, holder, now.getTime(), expiresAt.getTime()],
    );
    const got = r.rows[0];
    if (got) return { name, holder, acquiredAt: new Date(got.acquired_at), expiresAt: new Date(got.expires_at), acquired: true };
    const cur = (await this.read<{ holder: string; acquired_at: number; expires_at: number }>('SELECT * FROM anchor_lease WHERE anchor_name = $1', [name])).rows[0]!;
    return { name, holder: cur.holder, acquiredAt: new Date(cur.acquired_at), expiresAt: new Date(cur.expires_at), acquired: false };
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.q('DELETE FROM anchor_lease WHERE anchor_name = $1 AND holder = $2', [name, holder]);
  }

  async listTargets(): Promise<TargetRecord[]> {
    return (await this.read<TargetRow>('SELECT * FROM target ORDER BY name')).rows.map(targetFromRow);
  }

  async getTarget(name: string): Promise<TargetRecord | undefined> {
    const r = (await this.read<TargetRow>('SELECT * FROM target WHERE name = $1', [name])).rows[0];
    return r && targetFromRow(r);
  }

  async addTarget(t: TargetRecord, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.tx(async () => {
      const r = await this.raw('INSERT INTO target (name, region, account, aws_profile, role_arn, endpoint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING', [
        t.name,
        t.region,
        t.account,
        t.awsProfile,
        t.roleArn,
        t.endpoint,
        toSec(t.createdAt),
      ]);
      if (r.rowCount !== 1) throw new PkiError('USAGE_TARGET_EXISTS', `target ${t.name} already exists`, { hint: `pki target remove ${t.name} first to change it` });
      await this.appendAudit([audit], actor, at);
    });
  }

  async removeTarget(name: string, audit: AuditEvent, actor: string, at: Date): Promise<void> {
    await this.tx(async () => {
      await this.raw('DELETE FROM target WHERE name = $1', [name]);
      await this.appendAudit([audit], actor, at);
    });
  }

  async openRotation(anchorName: string): Promise<RotationRecord | undefined> {
    const r = (await this.read<RotationRow>("SELECT * FROM rotation WHERE anchor_name = $1 AND phase NOT IN ('finished', 'aborted')", [anchorName])).rows[0];
    return r && rotationFromRow(r);
  }

  async listRotations(anchorName?: string): Promise<RotationRecord[]> {
    const rows = anchorName === undefined ? (await this.read<RotationRow>('SELECT * FROM rotation ORDER BY id')).rows : (await this.read<RotationRow>('SELECT * FROM rotation WHERE anchor_name = $1 ORDER BY id', [anchorName])).rows;
    return rows.map(rotationFromRow);
  }

  async createRotation(r: Omit<RotationRecord, 'id' | 'phase' | 'switchedAt' | 'endedAt' | 'updatedAt'>, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    const inProgress = () => new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${r.anchorName} already has a rotation in progress`, { details: { anchor: r.anchorName } });
    return this.tx(async () => {
      let row: RotationRow;
      try {
        row = (
          await this.raw<RotationRow>(
            `INSERT INTO rotation (anchor_name, old_ca_id, new_ca_id, anchor_change, bundle_before, phase, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'starting', $6, $7) RETURNING *`,
            [r.anchorName, r.oldCaId, r.newCaId, r.anchorChange ? 1 : 0, JSON.stringify(r.bundleBefore), toSec(r.startedAt), toSec(at)],
          )
        ).rows[0]!;
      } catch (e) {
        // The unique index on open rotations: another node started one first.
        if ((e as { code?: string }).code === '23505') throw inProgress();
        throw e;
      }
      await this.appendAudit([audit], actor, at);
      return rotationFromRow(row);
    });
  }

  async setRotationPhase(id: number, from: RotationPhase[], to: RotationPhase, audit: AuditEvent, actor: string, at: Date): Promise<RotationRecord> {
    return this.tx(async () => {
      const t = toSec(at);
      // Compare-and-set: of two nodes taking the same step, one changes the row and the other is refused.
      const row = (
        await this.raw<RotationRow>(
          `UPDATE rotation SET phase = $1, updated_at = $2, switched_at = CASE WHEN $1 = 'switched' THEN $2 ELSE switched_at END,
             ended_at = CASE WHEN $1 IN ('finished', 'aborted') THEN $2 ELSE ended_at END WHERE id = $3 AND phase = ANY($4::text[]) RETURNING *`,
          [to, t, id, from],
        )
      ).rows[0];
      if (!row) {
        const cur = (await this.raw<{ phase: string }>('SELECT phase FROM rotation WHERE id = $1', [id])).rows[0];
        throw new PkiError('STATE_ROTATION_PHASE', `rotation ${id} is ${cur?.phase ?? 'unknown'}; this step needs it ${from.join(' or ')}`, { details: { rotation: id, phase: cur?.phase ?? null } });
      }
      await this.appendAudit([audit], actor, at);
      return rotationFromRow(row);
    });
  }

  async leafSummary(issuerIds: number[], now: Date, opts: { revoked: boolean; sample: number; expiringBy?: Date }): Promise<LeafSummary> {
    if (!issuerIds.length) return { count: 0, latestNotAfter: null, sample: [] };
    const where = `c.issuer_id = ANY($1::int[]) AND c.is_ca = 0 AND c.not_after > $2 AND r.serial IS ${opts.revoked ? 'NOT NULL' : 'NULL'}${opts.expiringBy ? ' AND c.not_after <= $3' : ''}`;
    const args: unknown[] = [issuerIds, toSec(now), ...(opts.expiringBy ? [toSec(opts.expiringBy)] : [])];
    const agg = (
      await this.read<{ n: number; latest: number | null }>(
        `SELECT COUNT(*) AS n, MAX(c.not_after) AS latest FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE ${where}`,
        args,
      )
    ).rows[0]!;
    const sample = (await this.read<CertRow>(`${CERT_SELECT} WHERE ${where} ORDER BY c.not_after DESC, c.id LIMIT $${args.length + 1}`, [...args, opts.sample])).rows.map(certFromRow);
    return { count: agg.n, latestNotAfter: agg.latest === null ? null : fromSec(agg.latest), sample };
  }

  /** Rows sent per INSERT when importing (one statement per batch, arrays unnested). */
  static readonly IMPORT_BATCH = 2000;

  async importCaWithHistory(ca: NewCa, entries: Iterable<ImportedEntry> | AsyncIterable<ImportedEntry>, history: NewCaHistory, audit: AuditEvent, actor: string, at: Date): Promise<{ ca: CaRecord; history: CaHistory }> {
    const id = await this.tx(async () => {
      const id = await this.insertCa(ca);
      const tally = new ImportTally();
      let batch: ImportedEntry[] = [];
      const flush = async (): Promise<void> => {
        if (!batch.length) return;
        const certCols: unknown[][] = Array.from({ length: 10 }, () => []);
        for (const e of batch) {
          const c = e.cert;
          [c.serial, c.subjectDn, JSON.stringify(c.sans), toSec(c.notBefore), toSec(c.notAfter), c.profile, c.isCa ? 1 : 0, c.der, c.requestedBy, c.source].forEach((v, i) => certCols[i]!.push(v));
        }
        const inserted = await this.raw<{ serial: string }>(
          `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
           SELECT $1, * , $12 FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::int[], $9::bytea[], $10::text[], $11::text[])
           ON CONFLICT (issuer_id, serial) DO NOTHING RETURNING serial`,
          [id, ...certCols, toSec(at)],
        );
        if (inserted.rowCount !== batch.length) {
          // A serial listed twice (in this batch or an earlier one): name the first entry that was not inserted.
          const got = new Map<string, number>();
          for (const r of inserted.rows) got.set(r.serial, (got.get(r.serial) ?? 0) + 1);
          const dup = batch.find((e) => {
            const n = got.get(e.cert.serial) ?? 0;
            if (n > 0) {
              got.set(e.cert.serial, n - 1);
              return false;
            }
            return true;
          })!;
          throw ImportTally.duplicate(dup);
        }
        const revs = batch.filter((e) => e.revocation);
        if (revs.length) {
          const cols: unknown[][] = Array.from({ length: 7 }, () => []);
          for (const e of revs) {
            const r = e.revocation!;
            [r.serial, r.reason, toSec(r.revokedAt), r.invalidityDate && toSec(r.invalidityDate), toSec(e.cert.notAfter), r.entryDer, r.entryDerNoReason].forEach((v, i) => cols[i]!.push(v));
          }
          await this.raw(
            `INSERT INTO revocation (issuer_id, serial, reason, revoked_at, invalidity_date, cert_not_after, entry_der, entry_der_no_reason, created_at)
             SELECT $1, *, $9 FROM unnest($2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bytea[], $8::bytea[])`,
            [id, ...cols, toSec(at)],
          );
        }
        batch = [];
      };
      const add = async (e: ImportedEntry): Promise<void> => {
        tally.count(e);
        batch.push(e);
        if (batch.length >= PostgresStore.IMPORT_BATCH) await flush();
      };
      if (Symbol.iterator in entries) for (const e of entries as Iterable<ImportedEntry>) await add(e);
      else for await (const e of entries) await add(e);
      await flush();
      if (tally.revocations) await this.raw('UPDATE ca SET revocation_epoch = revocation_epoch + 1, revocation_count = revocation_count + $1 WHERE id = $2', [tally.revocations, id]);
      await this.raw(
        'INSERT INTO ca_history (ca_id, tool, next_crl_number, crl_number_source, certificates, known_serials, revocations, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [id, history.tool, history.nextCrlNumber, history.crlNumberSource, tally.certificates, tally.knownSerials, tally.revocations, toSec(at)],
      );
      await this.appendAudit([tally.auditEvent(audit, history)], actor, at);
      return id;
    });
    return { ca: (await this.getCaById(id))!, history: (await this.caHistory(id))! };
  }

  async caHistory(caId: number): Promise<CaHistory | undefined> {
    const r = (
      await this.read<CaHistoryRow>(
        'SELECT * FROM ca_history WHERE ca_id = $1',
        [caId],
      )
    ).rows[0];
    return r && caHistoryFromRow(r);
  }
}
