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
