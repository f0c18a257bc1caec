/**
 * a pki.yaml whose store URL holds a password is a secret: pki init --store and pki node join create it owner-only
 * (0600) from the start, never 0644 first. The mode is recorded at the moment the file appears at its path (the
 * link or rename of its temporary file). Skipped, with the reason printed, where no PostgreSQL binaries are installed.
 */
import * as realFs from 'node:fs';
import { basename, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';

/** Mode of each pki.yaml when it appeared at its path, in order. */
const appeared: Array<{ path: string; mode: number }> = [];
/** While set, replacing a pki.yaml fails (a full disk, a read-only mount). */
const failing = { rename: false };

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const record = (from: unknown, to: unknown) => {
    if (typeof to === 'string' && basename(to) === 'pki.yaml') appeared.push({ path: to, mode: actual.statSync(String(from)).mode & 0o777 });
  };
  const linkSync = (from: realFs.PathLike, to: realFs.PathLike) => {
    record(from, to);
    return actual.linkSync(from, to);
  };
  const renameSync = (from: realFs.PathLike, to: realFs.PathLike) => {
    if (failing.rename && typeof to === 'string' && basename(to) === 'pki.yaml') throw Object.assign(new Error(`EIO: i/o error, rename '${String(from)}' -> '${to}'`), { code: 'EIO' });
    record(from, to);
    return actual.renameSync(from, to);
  };
  return { ...actual, linkSync, renameSync, default: { ...actual, linkSync, renameSync } };
});

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`pki.yaml mode tests skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

describe.skipIf('skip' in cluster)('pki.yaml of a PostgreSQL store', () => {
  it('ok/pki init --store and pki node join write it 0600 from the start (and 0644 without a password)', async () => {
    if (!('stop' in cluster)) return;
    const plain = await cluster.createDb('config_mode');
    // Trust authentication: the password is accepted and ignored by the throwaway cluster.
    const secret = plain.replace('postgres://pki@', 'postgres://pki:s3cret@');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const a = join(cwd, 'node-a');
    const b = join(cwd, 'node-b');
    const c = join(cwd, 'node-c');
    appeared.length = 0;
    expect((await cli(['init', '--dir', a, '--subject', 'CN=Mode Root', '--no-passphrase', '--store', secret], deps)).code).toBe(0);
    expect((await cli(['node', 'join', '--dir', b, '--store', secret], deps)).code).toBe(0);
    expect((await cli(['node', 'join', '--dir', c, '--store', plain], deps)).code).toBe(0);
    expect(appeared.map((x) => [x.path, x.mode.toString(8)])).toEqual([
      [join(a, 'pki.yaml'), '600'],
      [join(b, 'pki.yaml'), '600'],
      [join(c, 'pki.yaml'), '644'],
    ]);
    expect(realFs.readFileSync(join(a, 'pki.yaml'), 'utf8')).toMatch(/url: ".*" +# shared with other CA nodes \(pki node join\)/);
    for (const [d, mode] of [[a, 0o600], [b, 0o600], [c, 0o644]] as const) expect(realFs.statSync(join(d, 'pki.yaml')).mode & 0o777).toBe(mode);
  });

  it('fail/pki store migrate that cannot switch pki.yaml (the write fails) commits nothing: the database stays empty, pki.yaml and the SQLite store as they were', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('migrate_yaml_fails');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Yaml Root', '--no-passphrase'], deps)).code).toBe(0);
    const yaml = realFs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    failing.rename = true;
    let r;
    try {
      r = await cli(['store', 'migrate', '--dir', dir, '--to', url, '--json'], deps);
    } finally {
      failing.rename = false;
    }
    expect(r.code, r.stderr).toBe(8);
    expect(r.json.error.code).toBe('IO_WRITE_FAILED');
    expect(realFs.readFileSync(join(dir, 'pki.yaml'), 'utf8')).toBe(yaml);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query('SELECT COUNT(*)::int AS n FROM ca')).rows[0].n).toBe(0);
      expect((await c.query('SELECT COUNT(*)::int AS n FROM audit')).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
    // Nothing was left behind: the same migration then succeeds.
    const again = await cli(['store', 'migrate', '--dir', dir, '--to', url], deps);
    expect(again.code, again.stderr).toBe(0);
  });
});
