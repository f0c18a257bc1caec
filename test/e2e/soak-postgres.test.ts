/**
 * the crash-safety soak on PostgreSQL (`SOAK_STORE=postgres npm run soak`, short): the same operations, SIGKILLs
 * and invariants as test/e2e/soak.test.ts, on two node directories sharing one database of a throwaway cluster the
 * script starts itself. And invariant 5 on PostgreSQL (scripts/store-checks.mjs) shown to find what it is for: a
 * broken foreign key, a constraint not validated, rows breaking a CHECK, a duplicate key, a NULL in a NOT NULL
 * column, a CRL whose chunks no longer hash to the recorded SHA-256, and a transaction and advisory lock left held.
 * Skipped, with the reason printed, where no PostgreSQL binaries are installed.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runSoak } from '../helpers/soak.js';
import { cli, makeDeps, tempDir } from '../helpers.js';
import { startPostgres } from '../helpers/postgres.js';
import { crlChunkProblems, pgIntegrity, preparePgChecker } from '../../scripts/store-checks.mjs';

const cluster = await startPostgres();
if ('skip' in cluster) console.log(`PostgreSQL soak skipped: ${cluster.skip}`);
afterAll(async () => {
  if ('stop' in cluster) await cluster.stop();
});

describe.skipIf('skip' in cluster)('crash-safety soak on PostgreSQL', () => {
  it('fail/invariant 5 on PostgreSQL finds each fault it is for, and nothing on a sound store', async () => {
    if (!('stop' in cluster)) return;
    const url = await cluster.createDb('soak_checks');
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const ok = async (argv: string[]) => {
      const r = await cli([...argv, '--dir', dir, '--json'], deps);
      if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
      return r.json.data;
    };
    await ok(['init', '--subject', 'CN=Check Root', '--no-passphrase', '--store', url]);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Check Issuing', '--no-passphrase']);
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=a', '--out', join(cwd, 'a.pem'), '--key-out', join(cwd, 'a.key')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
    await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'i.crl')]);

    const checker = new pg.Client({ connectionString: url, application_name: 'soak-checker' });
    const admin = new pg.Client({ connectionString: url });
    await checker.connect();
    await admin.connect();
    try {
      const amcheck = await preparePgChecker(checker);
      if (!amcheck.why) expect(amcheck.btree).toBe(true);
      const check = async (waitMs = 300) => (await pgIntegrity(checker, amcheck, { waitMs })).join('\n');
      const rows = async (sql: string, params: unknown[] = []) => {
        let i = 0;
        return (await checker.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows;
      };
      expect(await check()).toBe('');
      expect(await crlChunkProblems(rows)).toEqual([]);
      // The admin session bypasses triggers, foreign keys included, as a restore or a hand edit could.
      await admin.query('SET session_replication_role = replica');

      // A revocation of a certificate that is not on record.
      await admin.query("INSERT INTO revocation (issuer_id, serial, reason, revoked_at, cert_not_after, entry_der, created_at) SELECT issuer_id, 'ffee', 0, 0, 0, '\\x00', 0 FROM certificate LIMIT 1");
      expect(await check()).toMatch(/revocation: foreign key \S+ \(issuer_id, serial\) = \d+ ffee has no row in certificate/);
      await admin.query("DELETE FROM revocation WHERE serial = 'ffee'");
      expect(await check()).toBe('');

      // A constraint added NOT VALID that the rows break.
      await admin.query('ALTER TABLE certificate ADD CONSTRAINT soak_test_check CHECK (is_ca = 7) NOT VALID');
      const notValid = await check();
      expect(notValid).toMatch(/constraint soak_test_check on certificate is not validated/);
      expect(notValid).toMatch(/certificate: \d+ rows break CHECK soak_test_check/);
      await admin.query('ALTER TABLE certificate DROP CONSTRAINT soak_test_check');

      // A duplicate (issuer, serial): the unique index switched off for one insert (a catalog edit).
      const uniq = (await admin.query("SELECT conindid::regclass::text AS ix FROM pg_constraint WHERE conrelid = 'certificate'::regclass AND contype = 'u'")).rows[0].ix;
      await admin.query(`UPDATE pg_index SET indisunique = false WHERE indexrelid = '${uniq}'::regclass`);
      await admin.query(
        `INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at)
         SELECT issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at FROM certificate WHERE serial = $1`,
        [leaf.serial],
      );
      await admin.query(`UPDATE pg_index SET indisunique = true WHERE indexrelid = '${uniq}'::regclass`);
      expect(await check()).toMatch(new RegExp(`certificate: unique \\S+ \\(issuer_id, serial\\) = \\d+ ${leaf.serial} held by 2 rows`));
      await admin.query('DELETE FROM certificate WHERE id = (SELECT MAX(id) FROM certificate)');

      // A NULL in a NOT NULL column (the flag off for one update).
      await admin.query("UPDATE pg_attribute SET attnotnull = false WHERE attrelid = 'ca'::regclass AND attname = 'subject'");
      const subject = (await admin.query("SELECT subject FROM ca WHERE name = 'issuing-1'")).rows[0].subject;
      await admin.query("UPDATE ca SET subject = NULL WHERE name = 'issuing-1'");
      await admin.query("UPDATE pg_attribute SET attnotnull = true WHERE attrelid = 'ca'::regclass AND attname = 'subject'");
      expect(await check()).toMatch(/ca: 1 rows with NULL in a NOT NULL column/);
      await admin.query("UPDATE ca SET subject = $1 WHERE name = 'issuing-1'", [subject]);
      expect(await check()).toBe('');

      // A stored CRL changed: its chunks no longer hash to the recorded SHA-256.
      await admin.query("UPDATE crl_chunk SET data = data || '\\x00'::bytea WHERE seq = (SELECT MIN(seq) FROM crl_chunk)");
      expect((await crlChunkProblems(rows)).join('\n')).toMatch(/CRL \d+ 1: its stored chunks hash to [0-9a-f]{64}, not to the recorded [0-9a-f]{64}/);
      await admin.query('DELETE FROM crl');
      expect((await crlChunkProblems(rows)).join('\n')).toMatch(/CRL chunks of \d+ 1 without a CRL row/);

      // What a killed process holds until the server notices: an open transaction with an advisory lock.
      const stuck = new pg.Client({ connectionString: url, application_name: 'pki' });
      await stuck.connect();
      await stuck.query('BEGIN');
      await stuck.query('SELECT pg_advisory_xact_lock(42)');
      const held = await check();
      expect(held).toMatch(/1 pki sessions still in a transaction/);
      expect(held).toMatch(/1 advisory locks still held/);
      await stuck.end();
      expect(await check(10_000)).toBe('');
    } finally {
      await checker.end();
      await admin.end();
    }
  });

  it('ok/30 operations on two nodes of one database, most of them set to be killed with SIGKILL within 0.5 s: zero invariant violations', async () => {
    const r = await runSoak({ SOAK_STORE: 'postgres', SOAK_STORE_URL: '', OPS: '30', KILL_RATE: '0.6', FAULT_RATE: '0.3', SEED: '5', RESUME_EVERY: '20', TIME_LIMIT: '270' }, 290_000);
    expect(r.status, r.stderr).toBe(0);
    const m = /soak: (\d+) operations, (\d+) kills, (\d+) invariant checks, (\d+) revocation checks after publishing, 0 violations \(.*?out-of-band faults: (\{.*?\}).*?store: (.*?); \d+ s\)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(30);
    // A kill lands only when the command is still running when its moment comes (on a fast machine many are not).
    expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    expect(Number(m![3])).toBeGreaterThan(Number(m![2]));
    expect(m![6]).toMatch(/^postgres \(throwaway cluster\), 2 nodes, /);
    const resumed = /batches interrupted: (\d+), resumed: (\d+)/.exec(r.stdout);
    expect(Number(resumed![1])).toBeGreaterThanOrEqual(1);
    expect(Number(resumed![2])).toBeGreaterThanOrEqual(1);
    expect(Number(m![4])).toBeGreaterThanOrEqual(1);
    expect(Object.keys(JSON.parse(m![5]!)).length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
