/**
 * what only the PostgreSQL adapter does: the same migrations as SQLite, several connections (nodes) writing at
 * once, connection loss, TLS by sslmode, a bounded server-side cursor. Skipped, with the reason printed, where no
 * PostgreSQL binaries are installed.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { verifyAuditChain } from '../../src/domain/audit.js';
import { MIGRATIONS } from '../../src/adapters/store/migrations.js';
import { PG_MIGRATIONS } from '../../src/adapters/store/postgres-migrations.js';
import { PostgresStore } from '../../src/adapters/store/postgres.js';
import { redactUrl } from '../../src/adapters/store/url.js';
import type { Store } from '../../src/ports.js';
import { tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';
import { ACTOR, AT, ev, newCa, newCert, newRevocation } from './fixtures.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`PostgreSQL adapter tests skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

const errorOf = async (p: Promise<unknown>): Promise<PkiError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof PkiError) return e;
    throw e;
  }
  throw new Error('expected an error');
};

let n = 0;
async function freshUrl(): Promise<string> {
  if (!('stop' in cluster)) throw new Error('no cluster');
  return cluster.createDb(`pgtest_${process.pid}_${++n}`);
}

describe('store migrations', () => {
  it('ok/PostgreSQL has the same numbered migrations as SQLite (versions and names)', () => {
    expect(PG_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
  });

  it('ok/the password of a store URL is redacted in every form pki prints', () => {
    expect(redactUrl('postgres://pki:pw@db:5432/pki?sslmode=verify-full')).toBe('postgres://pki:***@db:5432/pki?sslmode=verify-full');
    expect(redactUrl('postgresql://db/pki?user=pki&password=pw')).toBe('postgresql://db/pki?user=pki&password=***');
    expect(redactUrl('postgres://pki@db/pki')).toBe('postgres://pki@db/pki');
  });
});

describe.skipIf('skip' in cluster)('PostgreSQL adapter', () => {
  it('ok/two nodes migrating one new database at once: one applies the migrations, the other finds them applied', async () => {
    const url = await freshUrl();
    const [a, b] = await Promise.all([PostgresStore.open(url, { baseDir: tempDir() }), PostgresStore.open(url, { baseDir: tempDir() })]);
    expect(await a.schemaVersion()).toBe(PG_MIGRATIONS.at(-1)!.version);
    expect(await b.schemaVersion()).toBe(PG_MIGRATIONS.at(-1)!.version);
    await Promise.all([a.close(), b.close()]);
  });

  it('ok/four connections (nodes) issuing, revoking and reserving CRL numbers at once: no serial twice, distinct increasing CRL numbers, one audit chain', async () => {
    const url = await freshUrl();
    const nodes: Store[] = await Promise.all([0, 1, 2, 3].map(() => PostgresStore.open(url, { baseDir: tempDir() })));
    try {
      const root = await nodes[0]!.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      // Every node issues the same serials too: exactly one of them records each.
      const issued = await Promise.all(nodes.map((s, i) => s.recordIssued(root.id, [newCert(`a${i}`), newCert('bb'), newCert('cc')], ACTOR, AT)));
      expect(issued.flatMap((r) => r.collisions).length).toBe(2 * (nodes.length - 1));
      const reserve = (s: Store) =>
        s.withCrlTransaction(root.id, async (tx) => {
          const next = ((await tx.lastReservedCrlNumber()) ?? 0) + 1;
          await new Promise((r) => setTimeout(r, 5));
          await tx.reserveCrlNumber(next, AT);
          return next;
        });
      const results = await Promise.allSettled(nodes.flatMap((s, i) => [reserve(s), reserve(s), s.revoke(root.id, [newRevocation(`a${i}`)], ACTOR, AT)]));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const numbers = results.slice(0).flatMap((r, i) => (i % 3 === 2 ? [] : [(r as PromiseFulfilledResult<number>).value]));
      expect([...numbers].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const log = await nodes[1]!.auditLog();
      expect(verifyAuditChain(log)).toBeUndefined();
      expect(log.filter((r) => r.action === 'certificate.issue').length).toBe(nodes.length + 2);
      expect(log.filter((r) => r.action === 'certificate.revoke').length).toBe(nodes.length);
      expect((await nodes[2]!.crlStatus(root.id)).epoch).toBe(nodes.length);
    } finally {
      await Promise.all(nodes.map((s) => s.close()));
    }
  });

  it('fail/the connection killed in the middle of a transaction: STORE_UNAVAILABLE, nothing of it committed', async () => {
    const url = await freshUrl();
    const s = await PostgresStore.open(url, { baseDir: tempDir() });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      const err = await errorOf(
        s.withCrlTransaction(root.id, async (tx) => {
          await tx.reserveCrlNumber(1, AT);
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pki' AND pid <> pg_backend_pid()");
          await tx.reserveCrlNumber(2, AT);
        }),
      );
      expect(err.code).toBe('STORE_UNAVAILABLE');
      expect(err.exitCode).toBe(12);
      expect((await admin.query('SELECT COUNT(*)::int AS n FROM crl_reservation')).rows[0].n).toBe(0);
      // A write is never retried: the next write on the dead connection fails the same way (a new command reconnects).
      expect((await errorOf(s.recordIssued(root.id, [newCert('0a')], ACTOR, AT))).code).toBe('STORE_UNAVAILABLE');
      expect((await admin.query('SELECT COUNT(*)::int AS n FROM certificate')).rows[0].n).toBe(0);
    } finally {
      await s.close();
      await admin.end();
    }
  });

  it('ok/a read after the connection was lost while idle is retried on a new connection (reads are idempotent)', async () => {
    const url = await freshUrl();
    const s = await PostgresStore.open(url, { baseDir: tempDir() });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pki' AND pid <> pg_backend_pid()");
      await new Promise((r) => setTimeout(r, 100));
      // Several reads at once see the loss: one new connection serves them all.
      const [list, one, again] = await Promise.all([s.listCas(), s.getCa('root'), s.auditLog()]);
      expect(list.map((c) => c.name)).toEqual(['root']);
      expect(one?.name).toBe('root');
      expect(again.length).toBe(1);
      expect((await admin.query("SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pki'")).rows[0].n).toBe(1);
    } finally {
      await s.close();
      await admin.end();
    }
  });

  it('fail/sslmode=require against a server without TLS: STORE_UNAVAILABLE (the connection is never made in clear)', async () => {
    const url = `${await freshUrl()}?sslmode=require`;
    const err = await errorOf(PostgresStore.open(url, { baseDir: tempDir() }));
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect(err.message).toMatch(/SSL|TLS/i);
  });

  it('ok/CRL entries stream through the cursor in blocks: a 60,000-entry CRL arrives in several blocks, in serial order', async () => {
    const url = await freshUrl();
    const s = await PostgresStore.open(url, { baseDir: tempDir() });
    try {
      const root = await s.createCa(newCa('root'), null, ev('ca.init', 'root'), ACTOR, AT);
      const serials = Array.from({ length: 60_000 }, (_, i) => (0x100000 + i * 7919).toString(16));
      const entries = function* () {
        for (const [i, serial] of serials.entries()) yield { where: `line ${i}`, cert: { ...newCert(serial), der: Buffer.alloc(0) }, revocation: newRevocation(serial) };
      };
      const { ca } = await s.importCaWithHistory(newCa('big'), entries(), { tool: 'openssl-ca', nextCrlNumber: 1, crlNumberSource: 'test' }, ev('ca.import-history', 'big'), ACTOR, AT);
      expect(ca.id).not.toBe(root.id);
      const sizes: number[] = [];
      const all: Buffer[] = [];
      await s.withCrlTransaction(ca.id, async (tx) => {
        for await (const b of tx.entryBlocks(AT, true)) {
          sizes.push(b.length);
          all.push(Buffer.from(b));
        }
      });
      expect(sizes.length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThan(PostgresStore.BLOCK_BYTES + PostgresStore.CURSOR_ROWS * 64);
      const expected = Buffer.concat([...serials].sort().map((x) => newRevocation(x).entryDer));
      expect(Buffer.concat(all).equals(expected)).toBe(true);
    } finally {
      await s.close();
    }
  });
});
