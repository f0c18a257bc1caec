/**
 * Section "postgres": the 1M-entry CRL generated from a PostgreSQL store, beside the same CRL from SQLite and
 * `openssl ca -gencrl`, all three from one `openssl ca` index.txt imported with `pki import openssl-ca`, alternating
 * run by run: wall time and peak RSS of the pki process (GNU time; the server's own memory is not counted). The
 * server is a throwaway PostgreSQL cluster in the work directory (initdb + pg_ctl, 127.0.0.1, a free port; as the
 * `postgres` user when run as root), with its default durability settings; the section is skipped, saying why, when
 * no PostgreSQL binaries are installed. Every pki run checks its CRL against the previous one, as in production.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { CLI, QUICK, fmtS, fmtX, log, median, opensslCrlCa, timed } from './lib.mjs';

function pgBin() {
  const versions = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  return [process.env.PG_BIN, ...versions.map((v) => `/usr/lib/postgresql/${v}/bin`)].find((d) => d && fs.existsSync(join(d, 'initdb')) && fs.existsSync(join(d, 'pg_ctl')));
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

async function startCluster(work, bin) {
  const root = process.getuid?.() === 0;
  // Beside the work directory, not in it: the server's user must reach its data directory (work is 0700).
  const dir = fs.mkdtempSync(join(dirname(work), 'pki-bench-pg-'));
  fs.chmodSync(dir, 0o755);
  if (root) execFileSync('chown', ['postgres:postgres', dir]);
  const as = (cmd, args) => execFileSync(root ? 'runuser' : join(bin, cmd), root ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args, { stdio: 'pipe' });
  const data = join(dir, 'data');
  as('initdb', ['-D', data, '-U', 'pki', '-A', 'trust', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  as('pg_ctl', ['-D', data, '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  as('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'pki', 'pkibench']);
  return {
    url: `postgres://pki@127.0.0.1:${port}/pkibench`,
    stop: () => {
      try {
        as('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function run({ work, repeat }) {
  const bin = pgBin();
  if (!bin) {
    log('postgres: skipped (no PostgreSQL binaries: apt-get install postgresql)');
    return [];
  }
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    log('postgres: skipped (running as root and there is no "postgres" system user to run the server as)');
    return [];
  }
  if (!fs.existsSync('/usr/bin/time')) throw new Error('the postgres section needs GNU time (/usr/bin/time): apt-get install -y time');
  const size = Number(process.env.CRL_SIZES?.split(',').pop() ?? (QUICK ? 10000 : 1000000));
  const ca = opensslCrlCa(join(work, 'openssl-pg'));
  log(`postgres: index.txt of ${size} revoked lines ...`);
  ca.addRevoked(size);
  ca.close();
  const cluster = await startCluster(work, bin);
  try {
    const dirs = { sqlite: join(work, 'pki-pg-sqlite'), postgres: join(work, 'pki-pg-postgres') };
    const imports = {};
    for (const [kind, dir] of Object.entries(dirs)) {
      execFileSync(process.execPath, [CLI, 'init', '--dir', dir, '--subject', 'CN=Bench Root,O=Bench', '--no-passphrase', ...(kind === 'postgres' ? ['--store', cluster.url] : [])], { stdio: 'ignore' });
      log(`postgres: pki import openssl-ca of ${size} lines into ${kind} ...`);
      imports[kind] = timed(work, process.execPath, [CLI, 'import', 'openssl-ca', '--dir', dir, '--name', 'legacy', '--cert', ca.caPem, '--key', ca.caKey, '--index', ca.index, '--crlnumber', ca.crlnumber, '--no-passphrase']);
    }
    const gen = (kind) => [CLI, 'crl', 'generate', '--dir', dirs[kind], '--ca', 'legacy', '--reasons', 'omit', '--max-pem-bytes', '1000000000', '--out', join(work, `pg-${kind}.crl.pem`), '--force'];
    for (const kind of Object.keys(dirs)) timed(work, process.execPath, gen(kind)); // the previous CRL of every timed run
    const s = { openssl: [], sqlite: [], postgres: [], rPg: [], rPgSqlite: [], mPg: [] };
    for (let rep = 0; rep < repeat; rep++) {
      const order = rep % 2 ? ['postgres', 'sqlite', 'openssl'] : ['openssl', 'sqlite', 'postgres'];
      const t = {};
      for (const k of order) t[k] = k === 'openssl' ? timed(work, 'openssl', ['ca', '-gencrl', '-config', ca.cnf, '-out', join(work, 'pg-openssl.crl.pem')]) : timed(work, process.execPath, gen(k));
      for (const k of ['openssl', 'sqlite', 'postgres']) s[k].push(t[k]);
      s.rPg.push(t.openssl.wall / t.postgres.wall);
      s.rPgSqlite.push(t.postgres.wall / t.sqlite.wall);
      s.mPg.push(t.postgres.rssMiB / t.openssl.rssMiB);
      log(`  run ${rep + 1}: openssl ${t.openssl.wall.toFixed(2)} s ${t.openssl.rssMiB.toFixed(0)} MiB, pki/SQLite ${t.sqlite.wall.toFixed(2)} s ${t.sqlite.rssMiB.toFixed(0)} MiB, pki/PostgreSQL ${t.postgres.wall.toFixed(2)} s ${t.postgres.rssMiB.toFixed(0)} MiB`);
    }
    const med = (k, f) => median(s[k].map(f));
    console.log(`\nCRL generation, ${size} entries, from each store (RSA-2048 CA, no reason codes), medians of ${repeat} alternating runs\n`);
    console.log(['', 'import (one run)', 'crl generate wall', 'CPU', 'peak RSS (pki process)'].join(' | '));
    console.log(['openssl ca -gencrl', '—', fmtS(med('openssl', (x) => x.wall)), fmtS(med('openssl', (x) => x.cpu)), `${med('openssl', (x) => x.rssMiB).toFixed(0)} MiB`].join(' | '));
    for (const k of ['sqlite', 'postgres'])
      console.log([`pki, ${k === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, `${fmtS(imports[k].wall)}, ${imports[k].rssMiB.toFixed(0)} MiB`, fmtS(med(k, (x) => x.wall)), fmtS(med(k, (x) => x.cpu)), `${med(k, (x) => x.rssMiB).toFixed(0)} MiB`].join(' | '));
    console.log(`PostgreSQL over SQLite (wall): ${fmtX(median(s.rPgSqlite))}`);
    return [
      {
        work: `pki crl generate from PostgreSQL, ${size >= 1e6 && size % 1e6 === 0 ? `${size / 1e6}M` : size} entries`,
        pki: `${fmtS(med('postgres', (x) => x.wall))}, ${med('postgres', (x) => x.rssMiB).toFixed(0)} MiB (SQLite ${fmtS(med('sqlite', (x) => x.wall))})`,
        ref: `openssl ca -gencrl ${fmtS(med('openssl', (x) => x.wall))}, ${med('openssl', (x) => x.rssMiB).toFixed(0)} MiB`,
        ratio: `${fmtX(median(s.rPg))}, memory ${median(s.mPg).toFixed(2)}`,
        target: 'reported',
      },
    ];
  } finally {
    try {
      cluster.stop();
    } catch (e) {
      log(`postgres: stopping the cluster: ${e.message}`);
    }
  }
}
