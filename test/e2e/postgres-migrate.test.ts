/**
 * pki store migrate: a SQLite PKI moved into PostgreSQL row by row, verified, pki.yaml switched only afterwards;
 * refusals leave everything as it was. Skipped, with the reason printed, where no PostgreSQL binaries are installed.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { PostgresStore } from '../../src/adapters/store/postgres.js';
import { COPY_TABLES } from '../../src/adapters/store/tables.js';
import { cli, makeDeps, tempDir, type TestDeps } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`pki store migrate tests skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

async function sqlitePki(deps: TestDeps, dir: string): Promise<string[]> {
  const ok = async (argv: string[]) => {
    const r = await cli([...argv, '--dir', dir, '--json'], deps);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
    return r.json.data;
  };
  await ok(['init', '--subject', 'CN=Migrated Root', '--pbkdf2-iterations', '10000']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Migrated Issuing 1']);
  const serials: string[] = [];
  for (let i = 0; i < 4; i++) serials.push((await ok(['issue', '--ca', 'issuing-1', '--subject', `CN=m-${i}`, '--out', join(dir, `../m${i}.pem`), '--key-out', join(dir, `../m${i}.key`)])).serial);
  await ok(['revoke', '--serial', serials[0]!, '--ca', 'issuing-1']);
  await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(dir, '../before.crl')]);
  await ok(['target', 'add', 'lab', '--region', 'us-east-1', '--endpoint', 'http://127.0.0.1:9']);
  return serials;
}

const sqliteCounts = (file: string): Record<string, number> => {
  const db = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(COPY_TABLES.map((t) => [t.name, (db.prepare(`SELECT COUNT(*) AS n FROM ${t.name}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
};

describe.skipIf('skip' in cluster)('pki store migrate', () => {
  it('ok/moves a SQLite PKI row by row (audit head unchanged, keys into the store), switches pki.yaml, and the PKI goes on from there', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('migrate_ok');
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'migrate passphrase' } });
    const dir = join(cwd, 'pki');
    const serials = await sqlitePki(deps, dir);
    const before = sqliteCounts(join(dir, 'pki.db'));
    const head = (await cli(['audit', 'head', '--dir', dir], deps)).stdout.trim();
    const r = await cli(['store', 'migrate', '--dir', dir, '--to', url, '--json'], deps);
    expect(r.code, r.stderr).toBe(0);
    const moved = Object.fromEntries(r.json.data.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(moved).toEqual({ ...before, ca_key: 2 });
    expect(r.json.data.keysMoved).toHaveLength(2);
    expect(`${r.json.data.auditHead}`).toBe(head.split(/\s+/).find((w) => /^\d+:[0-9a-f]{64}$/.test(w)) ?? head);
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    expect(yaml).toContain(url);
    expect(yaml).not.toMatch(/sqlite:/);
    // Row counts in the database itself.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const t of COPY_TABLES) expect((await c.query(`SELECT COUNT(*)::int AS n FROM ${t.name}`)).rows[0].n, t.name).toBe(t.name === 'ca_key' ? 2 : before[t.name]);
    expect((await c.query("SELECT key_path FROM ca ORDER BY id")).rows.map((x) => x.key_path)).toEqual(['store:root', 'store:issuing-1']);
    await c.end();
    // The PKI works from the new store: audit verify, the next CRL number, signing with the moved key.
    expect((await cli(['audit', 'verify', '--dir', dir, '--json'], deps)).json.data).toMatchObject({ intact: true });
    const crl = await cli(['crl', 'generate', '--ca', 'issuing-1', '--dir', dir, '--json'], deps);
    expect(crl.json.data.crl).toMatchObject({ crlNumber: 2, entries: 1 });
    await cli(['revoke', '--serial', serials[1]!, '--ca', 'issuing-1', '--dir', dir], deps);
    expect((await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=after', '--out', join(cwd, 'after.pem'), '--key-out', join(cwd, 'after.key'), '--dir', dir], deps)).code).toBe(0);
    // A second node sees the migrated PKI.
    const joined = await cli(['node', 'join', '--dir', join(cwd, 'node-b'), '--store', url, '--json'], deps);
    expect(joined.json.data.cas.map((x: { access: string }) => x.access)).toEqual(['store', 'store']);
  });

  it('fail/an occupied database, or a key file missing: refused, nothing migrated, pki.yaml and the SQLite store unchanged', async () => {
    if (!('stop' in cluster)) return;
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'migrate passphrase' } });
    const dir = join(cwd, 'pki');
    await sqlitePki(deps, dir);
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    const occupied = await cluster.createDb('migrate_occupied');
    expect((await cli(['init', '--dir', join(cwd, 'other'), '--subject', 'CN=Other', '--no-passphrase', '--store', occupied], deps)).code).toBe(0);
    const r = await cli(['store', 'migrate', '--dir', dir, '--to', occupied], deps);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/STATE_STORE_NOT_EMPTY/);
    expect(fs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).toBe(yaml);

    const fresh = await cluster.createDb('migrate_nokey');
    fs.renameSync(join(dir, 'keys/issuing-1.key.pem'), join(cwd, 'moved-away.pem'));
    const k = await cli(['store', 'migrate', '--dir', dir, '--to', fresh], deps);
    expect(k.code).toBe(8);
    expect(k.stderr).toMatch(/cannot read CA issuing-1's key .*nothing was migrated/);
    expect(fs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).toBe(yaml);
    const c = new pg.Client({ connectionString: fresh });
    await c.connect();
    const tables = (await c.query("SELECT COUNT(*)::int AS n FROM information_schema.tables WHERE table_name = 'ca'")).rows[0].n;
    if (tables) expect((await c.query('SELECT COUNT(*)::int AS n FROM ca')).rows[0].n).toBe(0);
    await c.end();
    expect((await cli(['list', '--dir', dir], deps)).code).toBe(0);
  });

  it('fail/a SQLite PKI whose newest certificate row was deleted by hand: STATE_MIGRATION_MISMATCH and the database left empty (no node can join it, a second try fails the same way)', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('migrate_crosscheck');
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'migrate passphrase' } });
    const dir = join(cwd, 'pki');
    const serials = await sqlitePki(deps, dir);
    const db = new Database(join(dir, 'pki.db'));
    expect(db.prepare('DELETE FROM certificate WHERE serial = ?').run(serials[3]!).changes).toBe(1);
    db.close();
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    const r = await cli(['store', 'migrate', '--dir', dir, '--to', url], deps);
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/STATE_MIGRATION_MISMATCH/);
    expect(r.stderr).toContain(serials[3]!);
    expect(fs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).toBe(yaml);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const present = (await c.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((x) => String(x.table_name));
      for (const t of COPY_TABLES) if (present.includes(t.name)) expect((await c.query(`SELECT COUNT(*)::int AS n FROM ${t.name}`)).rows[0].n, t.name).toBe(0);
    } finally {
      await c.end();
    }
    const joined = await cli(['node', 'join', '--dir', join(cwd, 'node-b'), '--store', url], deps);
    expect(joined.code).not.toBe(0);
    const again = await cli(['store', 'migrate', '--dir', dir, '--to', url], deps);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/STATE_MIGRATION_MISMATCH/);
    expect(again.stderr).not.toMatch(/STATE_STORE_NOT_EMPTY/);
  });

  it('fail/a row that differs on the second reading (a write during the copy) rolls the whole copy back: STATE_MIGRATION_MISMATCH, the database empty', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('migrate_mismatch');
    const store = await PostgresStore.open(url, { baseDir: tempDir() });
    let reading = 0;
    const caRow = (subject: string) => ({ id: 1, name: 'root', parent_id: null, status: 'active', subject, cert_der: Buffer.from('c'), csr_der: null, external_chain_pem: null, key_path: 'store:root', key_type: 'ecdsa-p256', key_encrypted: 1, serial: '01', not_before: 1, not_after: 2, revocation_epoch: 0, revocation_count: 0, created_at: 1, retired_at: null });
    try {
      let err: unknown;
      try {
        await store.loadTables(async function* (table) {
          if (table === 'ca') yield caRow(reading++ === 0 ? 'CN=Root' : 'CN=Changed');
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PkiError);
      expect((err as PkiError).code).toBe('STATE_MIGRATION_MISMATCH');
      expect((err as PkiError).message).toMatch(/ca row 1 \(id=1\): column subject differs/);
      expect(await store.listCas()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
