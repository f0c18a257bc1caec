/** Store contract fixtures: every adapter (SQLite file, PostgreSQL database of a throwaway cluster, in-memory), and row builders. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { AuditEvent, NewCa, NewCertificate, NewRevocation, Store, StoreFactory } from '../../src/ports.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { PostgresStore } from '../../src/adapters/store/postgres.js';
import { defaultStoreFactory } from '../../src/adapters/store/factory.js';
import { MemoryDatabase, MemoryStore, memoryDatabase } from '../../src/adapters/store/memory.js';
import { encodeCrlEntry } from '../../src/x509/crl.js';
import { tempDir } from '../helpers.js';
import type { PgCluster } from '../helpers/postgres.js';

export interface Adapter {
  name: 'sqlite' | 'postgres' | 'memory';
  /** A fresh, empty store; `url` opens it again (another connection, as another node would). */
  fresh(): Promise<{ store: Store; url: string; dir: string; open(): Promise<Store>; setSchemaVersion(v: number): Promise<void> }>;
}

export function sqliteAdapter(): Adapter {
  return {
    name: 'sqlite',
    async fresh() {
      const dir = tempDir('pki-contract-');
      const file = join(dir, 'pki.db');
      const open = async () => SqliteStore.open(file, true, { baseDir: dir });
      return {
        store: await open(),
        url: file,
        dir,
        open,
        async setSchemaVersion(v) {
          const db = new Database(file);
          db.prepare('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, 0)').run(v, 'from a newer pki');
          db.close();
        },
      };
    },
  };
}

let memoryCount = 0;
/** The in-memory store, opened through the store factory by its `memory:NAME` URL (each open is another connection). */
export function memoryAdapter(): Adapter {
  return {
    name: 'memory',
    async fresh() {
      const dir = tempDir('pki-contract-');
      const url = `memory:contract-${process.pid}-${++memoryCount}`;
      const where = { baseDir: dir, keysDir: join(dir, 'keys') };
      const store = await defaultStoreFactory.open(url, where, { create: true });
      const open = async () => defaultStoreFactory.open(url, where, { create: false });
      return {
        store,
        url,
        dir,
        open,
        async setSchemaVersion(v) {
          memoryDatabase(url.slice('memory:'.length), false)!.schemaVersion = v;
        },
      };
    },
  };
}

/**
 * A store factory for `Deps.storeFactory` that gives every PKI directory an in-memory store, whatever URL its
 * pki.yaml names: the CLI and the use cases run unchanged, without a database file. `databases` maps each PKI
 * directory to its database (to look inside afterwards).
 */
export function memoryStoreFactory(): StoreFactory & { databases: Map<string, MemoryDatabase> } {
  const databases = new Map<string, MemoryDatabase>();
  return {
    databases,
    async open(url, where, opts) {
      let db = databases.get(where.baseDir);
      if (!db && opts.create) databases.set(where.baseDir, (db = new MemoryDatabase()));
      if (!db) throw new Error(`no in-memory store for ${where.baseDir} (${url})`);
      return MemoryStore.open(db, { baseDir: where.baseDir });
    },
  };
}

let dbCount = 0;
export function postgresAdapter(cluster: PgCluster): Adapter {
  return {
    name: 'postgres',
    async fresh() {
      const dir = tempDir('pki-contract-');
      const url = await cluster.createDb(`contract_${process.pid}_${++dbCount}`);
      const open = async () => PostgresStore.open(url, { baseDir: dir });
      return {
        store: await open(),
        url,
        dir,
        open,
        async setSchemaVersion(v) {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          await c.query("INSERT INTO schema_migration (version, name, applied_at) VALUES ($1, 'from a newer pki', 0)", [v]);
          await c.end();
        },
      };
    },
  };
}

export const AT = new Date('2026-03-01T12:00:00Z');
export const ACTOR = 'tester@test';
export const ev = (action: string, target: string, details: Record<string, unknown> = {}): AuditEvent => ({ action, target, details });

export function newCa(name: string, parentId: number | null = null): NewCa {
  return {
    name,
    parentId,
    status: 'active',
    subjectDn: `CN=${name}`,
    certDer: Buffer.from(`cert of ${name}`),
    csrDer: null,
    externalChainPem: null,
    keyPath: `/keys/${name}.key.pem`,
    keyType: 'ecdsa-p256',
    keyEncrypted: false,
    serial: `5e${name.length.toString(16).padStart(2, '0')}`,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2036-01-01T00:00:00Z'),
    createdAt: AT,
  };
}

export function newCert(serial: string, notAfter = new Date('2027-01-01T00:00:00Z')): NewCertificate {
  return {
    serial,
    subjectDn: `CN=host-${serial}`,
    sans: [`host-${serial}.example`],
    notBefore: new Date('2026-03-01T11:55:00Z'),
    notAfter,
    profile: 'roles-anywhere-workload',
    der: Buffer.from(`der of ${serial}`),
    isCa: false,
    requestedBy: ACTOR,
    source: 'test',
  };
}

export function newRevocation(serial: string, reason = 1): NewRevocation {
  const revokedAt = new Date('2026-03-01T12:00:00Z');
  return { serial, reason, revokedAt, invalidityDate: null, entryDer: encodeCrlEntry(serial, revokedAt, reason, null), entryDerNoReason: encodeCrlEntry(serial, revokedAt, null, null) };
}

export async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(Buffer.from(b));
  return Buffer.concat(parts);
}
