/**
 * #19 a pki.yaml whose store URL holds a password is a secret: pki init --store and pki node join create it owner-only
 * (0600) from the start, never 0644 first. The mode is recorded at the moment the file appears at its path (the
 * link or rename of its temporary file). Skipped, with the reason printed, where no PostgreSQL binaries are installed.
 */
import * as realFs from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';

/** Mode of each pki.yaml when it appeared at its path, in order. */
const appeared: Array<{ path: string; mode: number }> = [];

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

describe.skipIf('skip' in cluster)('#19 pki.yaml with a password in the store URL', () => {
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
});
