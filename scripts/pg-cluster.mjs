/**
 * A throwaway PostgreSQL cluster: initdb + pg_ctl in a temporary directory, listening on 127.0.0.1 on a free port
 * (and a Unix socket in the same directory), trust authentication for the user "pki", fsync off. The server refuses
 * to run as root: as root it runs as the `postgres` system user (runuser). `startPostgres()` returns
 * `{ skip: reason }` when no PostgreSQL binaries are installed (callers then skip, printing the reason); binaries that
 * are there but fail to make or start a cluster throw (a failure, not a skip).
 *
 * Plain JavaScript so that both the tests (test/helpers/postgres.ts) and `npm run soak` (scripts/soak.mjs) use it;
 * its types are in pg-cluster.d.mts. Never for a real CA: no password, no TLS, no durability.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The directory holding initdb and pg_ctl: $PG_BIN, the newest /usr/lib/postgresql/N/bin, or the PATH. */
export function findBinDir() {
  const candidates = [process.env.PG_BIN, ...(fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`) : [])];
  for (const c of candidates) if (c && fs.existsSync(join(c, 'initdb')) && fs.existsSync(join(c, 'pg_ctl'))) return c;
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const p = (which.stdout ?? '').trim();
  return p ? p.replace(/\/initdb$/, '') : undefined;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => resolvePort(port));
    });
  });
}

/** @param {{ maxConnections?: number }} [opts] */
export async function startPostgres(opts = {}) {
  const bin = findBinDir();
  if (!bin) return { skip: 'no PostgreSQL binaries (initdb, pg_ctl): apt-get install postgresql' };
  const root = process.getuid?.() === 0;
  if (root && spawnSync('id', ['-u', 'postgres']).status !== 0) return { skip: 'running as root and there is no "postgres" system user to run the server as' };
  const dir = fs.mkdtempSync(join(tmpdir(), 'pki-pg-'));
  fs.chmodSync(dir, 0o755);
  if (root) execFileSync('chown', ['postgres:postgres', dir]);
  const as = (cmd, args) => (root ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, cmd), args, { stdio: 'pipe' }));
  const data = join(dir, 'data');
  try {
    as('initdb', ['-D', data, '-U', 'pki', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    // The binaries are there but do not work: a failure, not a skip.
    throw new Error(`initdb failed: ${e.stderr?.toString() ?? e.message}`);
  }
  // A free port can be taken by another cluster between the probe and the start: a few tries.
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const o = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=${opts.maxConnections ?? 60}`;
    try {
      as('pg_ctl', ['-D', data, '-o', o, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
      break;
    } catch (e) {
      if (attempt < 3) continue;
      const log = fs.existsSync(join(dir, 'server.log')) ? fs.readFileSync(join(dir, 'server.log'), 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(`pg_ctl start failed: ${e.stderr?.toString() ?? ''} ${log}`);
    }
  }
  const url = (db = 'postgres') => `postgres://pki@127.0.0.1:${port}/${db}`;
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    dir,
    url,
    async createDb(name) {
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        /* already down */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
