/**
 * the libpq-style environment of a PostgreSQL store (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE,
 * PGSSLMODE) is read from the use case's Deps.env, not from process.env: a library caller decides what pki sees. The
 * cluster asks the role "pwuser" for a password (scram-sha-256), everyone else is trusted. Skipped, with the reason
 * printed, where no PostgreSQL binaries are installed.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initPki, listCas } from '../../src/index.js';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`PostgreSQL environment tests skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

const PASSWORD = 'pw-from-env';
const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (/^PG/.test(k) && !(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe.skipIf('skip' in cluster)('PostgreSQL settings from Deps.env', () => {
  beforeAll(async () => {
    if (!('stop' in cluster)) return;
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE pwuser LOGIN PASSWORD '${PASSWORD}'`);
      // pwuser must give a password on TCP; the test's own user stays trusted.
      const hba = (await admin.query('SHOW hba_file')).rows[0].hba_file as string;
      fs.writeFileSync(hba, `host all pwuser 127.0.0.1/32 scram-sha-256\n${fs.readFileSync(hba, 'utf8')}`);
      await admin.query('SELECT pg_reload_conf()');
    } finally {
      await admin.end();
    }
  });
  /** A new database owned by pwuser. */
  const ownDb = async (name: string) => {
    if (!('stop' in cluster)) throw new Error('no cluster');
    const admin = new pg.Client({ connectionString: cluster.url() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name} OWNER pwuser`);
    } finally {
      await admin.end();
    }
    return { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'pwuser', PGDATABASE: name };
  };

  it('ok/a library call takes host, port, user, database and password from the env it is given (the URL names none of them); process.env is not read', async () => {
    const settings = await ownDb('env_lib');
    const cwd = tempDir();
    // process.env holds a wrong password and a TLS mode this server cannot do: neither is used.
    process.env.PGPASSWORD = 'wrong';
    process.env.PGSSLMODE = 'require';
    const deps = makeDeps(cwd, { env: { ...settings, PGPASSWORD: PASSWORD } });
    const dir = join(cwd, 'pki');
    await initPki(deps, { dir, subject: 'CN=Env Root', noPassphrase: true, store: 'postgres://' });
    expect((await listCas(deps, { dir })).map((c: { name: string }) => c.name)).toEqual(['root']);
    // The same call without the password in its env is refused by the server: process.env's is not looked at.
    process.env.PGPASSWORD = PASSWORD;
    const none = makeDeps(cwd, { env: { ...settings, PGPASSFILE: join(cwd, 'no-such-pgpass') } });
    await expect(listCas(none, { dir })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('ok/the password from the PGPASSFILE the env names (owner-only); a file others can read is not used, as libpq', async () => {
    if (!('stop' in cluster)) return;
    await ownDb('env_passfile');
    const cwd = tempDir();
    const passfile = join(cwd, 'pgpass');
    fs.writeFileSync(passfile, `# host:port:database:user:password\nother.example:*:*:*:nope\n127.0.0.1:${cluster.port}:env_passfile:pwuser:${PASSWORD}\n`, { mode: 0o600 });
    const deps = makeDeps(cwd, { env: { PGPASSFILE: passfile } });
    const dir = join(cwd, 'pki');
    const init = await cli(['init', '--dir', dir, '--subject', 'CN=Passfile Root', '--no-passphrase', '--store', `postgres://pwuser@127.0.0.1:${cluster.port}/env_passfile`], deps);
    expect(init.code, init.stdout + init.stderr).toBe(0);
    fs.chmodSync(passfile, 0o644);
    const open = await cli(['ca', 'list', '--dir', dir], deps);
    expect(open.code, open.stdout + open.stderr).toBe(12);
    expect(open.stderr).toMatch(/STORE_UNAVAILABLE/);
    fs.chmodSync(passfile, 0o600);
    expect((await cli(['ca', 'list', '--dir', dir], deps)).code).toBe(0);
  });

  it('fail/PGSSLMODE from the env applies (this server has no TLS: STORE_UNAVAILABLE, exit 12, nothing written); sslmode in the URL wins over it', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('env_ssl');
    const cwd = tempDir();
    expect((await cli(['init', '--dir', join(cwd, 'node-a'), '--subject', 'CN=SSL Root', '--no-passphrase', '--store', url], makeDeps(cwd))).code).toBe(0);
    const tls = makeDeps(cwd, { env: { PGSSLMODE: 'require' } });
    const r = await cli(['node', 'join', '--dir', join(cwd, 'node-b'), '--store', url], tls);
    expect(r.code, r.stdout + r.stderr).toBe(12);
    expect(r.stderr).toMatch(/STORE_UNAVAILABLE/);
    expect(fs.existsSync(join(cwd, 'node-b'))).toBe(false);
    const plain = await cli(['node', 'join', '--dir', join(cwd, 'node-b'), '--store', `${url}?sslmode=disable`], tls);
    expect(plain.code, plain.stdout + plain.stderr).toBe(0);
  });
});
