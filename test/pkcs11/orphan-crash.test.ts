/**
 * The real crash window of `pki ca create` on a token: the built CLI generates the CA's key on SoftHSM2, signs its
 * certificate, and is killed (SIGKILL) while its INSERT of the CA row waits on a PostgreSQL row lock another session
 * holds. The key pair stays on the token with no CA in the store; the next `ca create` of that CA refuses with
 * CRYPTO_TOKEN_ORPHAN_KEY and works once the object is removed. Skipped, with the reason printed, where SoftHSM2 or
 * PostgreSQL is missing.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { closePkcs11 } from '../../src/adapters/keys/pkcs11.js';
import { CLI, makeDeps, pkiIn, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';
import { skipReason, softHsm, USER_PIN } from '../helpers/softhsm.js';

const why = skipReason();
const cluster = why ? { skip: why } : await startPostgres();
if ('skip' in cluster) process.stderr.write(`SKIP PKCS#11 crash test: ${cluster.skip}\n`);
afterAll(async () => {
  closePkcs11();
  if ('stop' in cluster) await cluster.stop();
});

describe.skipIf('skip' in cluster)('pki ca create killed between generating its token key and committing the CA', () => {
  it('fail/SIGKILL while the CA row waits for its commit: key pair left on the token, no CA; the next ca create refuses with CRYPTO_TOKEN_ORPHAN_KEY; ok/after pkcs11-tool removes it', async () => {
    if ('skip' in cluster) return;
    const hsm = softHsm();
    hsm.initToken('c-root');
    hsm.initToken('c-iss');
    const pin = hsm.pinFile();
    const url = await cluster.createDb('p11_crash');
    const cwd = tempDir('pki-p11-crash-');
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, makeDeps(cwd, { now: new Date() }));
    await ok(['init', '--subject', 'CN=Crash Root', '--store', url, '--key-store', `pkcs11:token=c-root?module-path=${hsm.module}&pin-source=file:${pin}`]);
    closePkcs11();
    const privateKeys = (): Array<[string, string]> =>
      [...hsm.tool(['--token-label', 'c-iss', '--login', '--pin', USER_PIN, '--list-objects', '--type', 'privkey']).matchAll(/label:\s+(\S+)\s+ID:\s+([0-9a-f]+)/g)].map((m) => [m[1]!, m[2]!]);

    // Another session holds an uncommitted row named iss-1: the command's own INSERT waits for it (a unique name).
    const holder = new pg.Client({ connectionString: url });
    const watcher = new pg.Client({ connectionString: url });
    await holder.connect();
    await watcher.connect();
    let output = '';
    try {
      await holder.query('BEGIN');
      await holder.query("INSERT INTO ca (name, status, subject, key_path, key_type, key_encrypted, created_at) VALUES ('iss-1', 'pending', 'CN=placeholder', 'none', 'ecdsa-p256', 0, 0)");
      const child = spawn(process.execPath, [CLI, 'ca', 'create', 'iss-1', '--dir', dir, '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', 'pkcs11:token=c-iss', '--json'], { env: hsm.env, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const exited = new Promise<string | number | null>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
      try {
        // Waits until the command's INSERT INTO ca is blocked on the lock: its key was generated before that.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const waiting = await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO ca %'");
          if (waiting.rows[0].n > 0) break;
          if (child.exitCode !== null) throw new Error(`pki ca create ended before it was killed: ${output}`);
          if (Date.now() > deadline) throw new Error(`pki ca create never reached its commit: ${output}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(privateKeys().map(([l]) => l)).toEqual(['iss-1']);
        child.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await watcher.end();
    }
    expect(output).toBe('');

    // What the crash left: the key pair on the token, no CA iss-1.
    const left = privateKeys();
    expect(left.map(([l]) => l)).toEqual(['iss-1']);
    const orphanId = left[0]![1];
    expect((await ok(['ca', 'list'])).map((c: { name: string }) => c.name)).toEqual(['root']);

    const again = await run(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', 'pkcs11:token=c-iss']);
    expect([again.code, again.json.error.code], again.stdout).toEqual([7, 'CRYPTO_TOKEN_ORPHAN_KEY']);
    expect(again.json.error.details).toMatchObject({ token: 'c-iss', object: 'iss-1', id: orphanId });
    expect(privateKeys()).toEqual(left);
    expect((await ok(['ca', 'list'])).map((c: { name: string }) => c.name)).toEqual(['root']);

    for (const type of ['privkey', 'pubkey']) hsm.tool(['--token-label', 'c-iss', '--login', '--pin', USER_PIN, '--delete-object', '--type', type, '--id', orphanId]);
    const made = await ok(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', 'pkcs11:token=c-iss']);
    expect(made.keyFile).toMatch(/^pkcs11:token=c-iss;object=iss-1;id=/);
    expect(privateKeys().map(([l]) => l)).toEqual(['iss-1']);
  });
});
