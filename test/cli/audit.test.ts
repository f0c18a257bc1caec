import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, fixture, makePki } from '../helpers.js';

async function pkiWithHistory() {
  const pki = await makePki();
  for (const f of ['p256.csr', 'p384.csr']) await cli(['issue', '--ca', 'issuing-1', '--csr', fixture(`csr/${f}`), '--out', join(pki.cwd, `${f}.pem`), '--dir', pki.dir], pki.deps);
  await cli(['revoke', '--ca', 'issuing-1', '--cert', join(pki.cwd, 'p256.csr.pem'), '--reason', 'keyCompromise', '--dir', pki.dir], pki.deps);
  return pki;
}

/** Edits the store behind pki's back, the way an attacker with the file would (dropping the append-only triggers). */
function tamper(dir: string, sql: string): void {
  const db = new Database(join(dir, 'pki.db'));
  db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
  db.exec(sql);
  db.close();
}

describe('pki audit', () => {
  it('ok/verify: an intact chain exits 0 and reports its head', async () => {
    const { dir, deps } = await pkiWithHistory();
    const r = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    expect(r.json.data).toMatchObject({ intact: true, rows: 5, firstBroken: null, head: { seq: 5 } });
    const log = await cli(['audit', 'log', '--limit', '2', '--dir', dir, '--json'], deps);
    expect(log.json.data.map((x: any) => x.action)).toEqual(['certificate.issue', 'certificate.revoke']);
    expect(log.json.data[1].details).toMatchObject({ reason: 1 });
  });

  it.each([
    ['a changed row', "UPDATE audit SET actor = 'mallory@elsewhere' WHERE seq = 3", 3, /content does not match/],
    ['a changed detail', `UPDATE audit SET details = replace(details, '"reason":1', '"reason":0') WHERE seq = 5`, 5, /content does not match/],
    ['a deleted row', 'DELETE FROM audit WHERE seq = 2', 3, /row 2 is missing/],
  ])('fail/verify detects %s (exit 11, first broken row named)', async (_what, sql, seq, reason) => {
    const { dir, deps } = await pkiWithHistory();
    tamper(dir, sql);
    const r = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(11);
    expect(r.json.data.intact).toBe(false);
    expect(r.json.data.firstBroken.seq).toBe(seq);
    expect(r.json.data.firstBroken.reason).toMatch(reason);
    const text = await cli(['audit', 'verify', '--dir', dir], deps);
    expect(text.stdout).toMatch(new RegExp(`BROKEN at row #${seq}`));
  });
});

describe('pki audit cross-checks and head', () => {
  it('fail/a revocation row deleted after dropping its trigger is reported (exit 11), though the chain is intact', async () => {
    const { cwd, dir, deps } = await pkiWithHistory();
    const serial = (await cli(['list', '--status', 'revoked', '--dir', dir, '--json'], deps)).json.data[0].serial as string;
    const db = new Database(join(dir, 'pki.db'));
    db.exec('DROP TRIGGER revocation_no_delete');
    db.prepare('DELETE FROM revocation WHERE serial = ?').run(serial);
    db.close();
    const r = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(11);
    expect(r.json.data).toMatchObject({ intact: false, firstBroken: null });
    expect(r.json.data.mismatches).toEqual([expect.stringMatching(new RegExp(`^the revocation of ${serial} by CA issuing-1 \\(audit row #5\\) is missing from the store`))]);
    expect((await cli(['audit', 'verify', '--dir', dir], deps)).stdout).toMatch(/^ {2}MISMATCH the revocation of/m);
    void cwd;
  });

  it.each([
    ['a certificate row added behind pki\'s back', "INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at) VALUES (2, 'abcdef', 'CN=ghost', '[]', 0, 2000000000, 'x', 0, x'30', 'x', 'x', 0)", /^certificate abcdef of CA issuing-1 has no audit event/],
    ['an unrevoked certificate row deleted', "DELETE FROM certificate WHERE id = (SELECT c.id FROM certificate c LEFT JOIN revocation r ON r.issuer_id = c.issuer_id AND r.serial = c.serial WHERE r.serial IS NULL AND c.is_ca = 0)", /^certificate [0-9a-f]+ of CA issuing-1 \(audit row #4\) is missing from the store/],
  ])('fail/%s is reported (exit 11)', async (_what, sql, message) => {
    const { dir, deps } = await pkiWithHistory();
    const db = new Database(join(dir, 'pki.db'));
    db.exec(sql);
    db.close();
    const r = await cli(['audit', 'verify', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(11);
    expect(r.json.data.mismatches).toEqual([expect.stringMatching(message)]);
  });

  it('ok/audit head prints SEQ:HASH; verify --head passes while it is in the chain and fails (exit 11) once the log is truncated below it', async () => {
    const { cwd, dir, deps } = await pkiWithHistory();
    const head5 = await cli(['audit', 'head', '--dir', dir], deps);
    expect(head5.code).toBe(0);
    expect(head5.stdout).toMatch(/^5:[0-9a-f]{64}\n$/);
    await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=later', '--key-out', join(cwd, 'later.key'), '--dir', dir], deps);
    const head6 = (await cli(['audit', 'head', '--dir', dir, '--json'], deps)).json.data;
    expect(head6).toMatchObject({ seq: 6, head: expect.stringMatching(/^6:/) });
    for (const h of [head5.stdout.trim(), head6.head, head6.hash]) expect((await cli(['audit', 'verify', '--head', h, '--dir', dir], deps)).code, h).toBe(0);

    // Truncate: the last row and the certificate it recorded go; the chain from the first row is still intact.
    tamper(dir, `DELETE FROM audit WHERE seq = 6; DELETE FROM certificate WHERE subject = 'CN=later'`);
    expect((await cli(['audit', 'verify', '--dir', dir], deps)).code).toBe(0);
    const r = await cli(['audit', 'verify', '--head', head6.head, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(11);
    expect(r.json.data.headCheck.problem).toMatch(/the recorded head #6 is gone: the log now ends at row #5/);
    expect((await cli(['audit', 'verify', '--head', head5.stdout.trim(), '--dir', dir], deps)).code).toBe(0);
  });

  it('fail/a --head that is not SEQ:HASH is USAGE_BAD_HEAD (exit 2)', async () => {
    const { dir, deps } = await pkiWithHistory();
    const r = await cli(['audit', 'verify', '--head', 'nope', '--dir', dir, '--json'], deps);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE_BAD_HEAD']);
  });
});
