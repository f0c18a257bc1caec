/**
 * pki backup / pki restore: one 0600 archive, consistent while another process issues certificates; a restore
 * elsewhere issues with its own keys and its audit chain verifies.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ROOT, cli, fixture, makePki, pkiIn, snapshot, tempDir, type TestDeps } from '../helpers.js';

const restore = (archive: string, target: string, deps: TestDeps) => cli(['restore', archive, '--dir', target, '--json'], deps);

const count = (dir: string, table: string): number => {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
};

/** Another process issuing `n` certificates, `group` per transaction, through the built library. */
function issuingProcess(dir: string, n: number, group: number) {
  const csrs = tempDir('pki-backup-csrs-');
  for (let i = 0; i < n; i++) fs.copyFileSync(fixture('csr/p256.csr'), join(csrs, `c${String(i).padStart(4, '0')}.csr`));
  const outDir = tempDir('pki-backup-out-');
  const script = join(csrs, 'issue.mjs');
  fs.writeFileSync(
    script,
    `import { randomBytes } from 'node:crypto';
import { issueBatch } from ${JSON.stringify(join(ROOT, 'dist/app/issue.js'))};
const deps = { now: () => new Date(), randomBytes, env: {}, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interactive: false, actor: 'writer@test' };
await issueBatch(deps, { dir: ${JSON.stringify(dir)}, ca: 'issuing-1', batch: ${JSON.stringify(csrs)}, outDir: ${JSON.stringify(outDir)}, groupSize: ${group},
  onProgress: (done) => process.stdout.write(done + '\\n') });
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const firstGroup = new Promise<void>((res) => child.stdout.once('data', () => res()));
  const done = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
  child.stdout.resume();
  return { firstGroup, done };
}

describe('pki backup and restore', () => {
  it('ok/a backup taken while another process issues restores elsewhere; the restored PKI issues with its own keys and its audit chain verifies', async () => {
    if (!fs.existsSync(join(ROOT, 'dist/app/issue.js'))) throw new Error('dist/ is missing: run npm run build (npm test does)');
    const { cwd, dir, deps } = await makePki();
    deps.now = () => new Date();
    const { ok } = pkiIn(dir, deps);
    fs.mkdirSync(join(dir, 'profiles/team'), { recursive: true });
    fs.copyFileSync(join(ROOT, 'profiles/roles-anywhere-workload.yaml'), join(dir, 'profiles/team/workload.yaml'));
    const writer = issuingProcess(dir, 400, 4);
    await writer.firstGroup;
    const atStart = count(dir, 'certificate');
    const archive = join(cwd, 'pki-backup.tar');
    const backup = await ok(['backup', '--out', archive]);
    expect(await writer.done).toBe(0);
    const atEnd = count(dir, 'certificate');
    expect(atEnd).toBe(2 + 400);
    expect(fs.statSync(archive).mode & 0o777).toBe(0o600);
    expect(backup).toMatchObject({ cas: 2, auditHead: expect.stringMatching(/^\d+:[0-9a-f]{64}$/) });
    // Any tar reads it.
    const listing = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
    expect(listing).toEqual(expect.arrayContaining(['pki-backup.json', 'pki.yaml', 'pki.db', 'keys/', 'keys/root.key.pem', 'keys/issuing-1.key.pem']));

    // The original goes away: the restore must not need anything from it.
    fs.rmSync(dir, { recursive: true });
    const restored = join(tempDir('pki-restored-'), 'pki');
    const r = await restore(archive, restored, deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data).toMatchObject({ cas: ['root', 'issuing-1'], auditHead: backup.auditHead });
    const certs = count(restored, 'certificate');
    expect(certs).toBeGreaterThanOrEqual(atStart);
    expect(certs).toBeLessThanOrEqual(atEnd);
    expect(fs.statSync(join(restored, 'keys/issuing-1.key.pem')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(join(restored, 'keys')).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(join(restored, 'profiles/team/workload.yaml'))).toEqual(fs.readFileSync(join(ROOT, 'profiles/roles-anywhere-workload.yaml')));
    const again = pkiIn(restored, deps);
    expect((await again.run(['audit', 'verify', '--head', backup.auditHead])).code).toBe(0);
    expect((await again.run(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p384.csr'), '--out', join(cwd, 'after.pem')])).code).toBe(0);
    expect((await again.run(['crl', 'generate', '--ca', 'root'])).code).toBe(0);
    expect((await again.run(['audit', 'verify'])).code).toBe(0);
    expect(count(restored, 'certificate')).toBe(certs + 1);
  });

  it('fail/restore refuses a non-empty directory (STATE_OUTPUT_EXISTS, exit 6) and a damaged archive (STATE_BACKUP_INVALID, exit 6), leaving nothing behind', async () => {
    const { cwd, dir, deps } = await makePki();
    const { ok } = pkiIn(dir, deps);
    const archive = join(cwd, 'b.tar');
    await ok(['backup', '--out', archive]);
    const busy = tempDir('pki-busy-');
    fs.writeFileSync(join(busy, 'notes.txt'), 'mine');
    const before = snapshot(busy);
    const r = await restore(archive, busy, deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_OUTPUT_EXISTS']);
    expect(snapshot(busy)).toEqual(before);

    // One byte of the database changed: the manifest's SHA-256 catches it before anything is written.
    const bytes = fs.readFileSync(archive);
    const at = bytes.indexOf(Buffer.from('SQLite format 3'));
    bytes[at + 4096] = bytes[at + 4096]! ^ 0xff;
    const damaged = join(cwd, 'damaged.tar');
    fs.writeFileSync(damaged, bytes);
    const target = join(cwd, 'restored');
    const d = await restore(damaged, target, deps);
    expect([d.code, d.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(d.json.error.message).toMatch(/pki\.db does not match its SHA-256/);
    expect(fs.existsSync(target)).toBe(false);
    // Truncated.
    fs.writeFileSync(damaged, fs.readFileSync(archive).subarray(0, 3000));
    expect((await restore(damaged, target, deps)).json.error.code).toBe('STATE_BACKUP_INVALID');
    expect(fs.existsSync(target)).toBe(false);
  });

  it('fail/a restore whose audit log lost a revocation row is refused after checking, and removed', async () => {
    const { cwd, dir, deps } = await makePki();
    const { ok } = pkiIn(dir, deps);
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
    const db = new Database(join(dir, 'pki.db'));
    db.exec('DROP TRIGGER revocation_no_delete');
    db.prepare('DELETE FROM revocation WHERE serial = ?').run(leaf.serial);
    db.close();
    const archive = join(cwd, 'b.tar');
    await ok(['backup', '--out', archive]);
    const target = join(cwd, 'restored');
    const r = await restore(archive, target, deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(r.json.error.message).toMatch(new RegExp(`revocation of ${leaf.serial} .* is missing from the store`));
    expect(fs.existsSync(target)).toBe(false);
  });

  it('fail/backup refuses an existing --out without --force (STATE_OUTPUT_EXISTS) and writes nothing', async () => {
    const { cwd, dir, deps } = await makePki();
    const out = join(cwd, 'exists.tar');
    fs.writeFileSync(out, 'keep');
    const r = await pkiIn(dir, deps).run(['backup', '--out', out]);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_OUTPUT_EXISTS']);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep');
    expect(fs.readdirSync(cwd).filter((f) => f.startsWith('.pki-backup-'))).toEqual([]);
  });
});

describe('pki restore refuses hostile archives (the manifest recomputed, as an attacker would)', () => {
  /** Rewrites an archive: `edit` changes its entries, the manifest is recomputed so that its hashes match. */
  async function tampered(archive: string, out: string, edit: (entries: import('../../src/fs/tar.js').TarEntry[]) => void) {
    const { readTar, writeTar } = await import('../../src/fs/tar.js');
    const { createHash } = await import('node:crypto');
    const [manifestEntry, ...entries] = readTar(fs.readFileSync(archive), archive);
    edit(entries);
    const manifest = JSON.parse(manifestEntry!.data.toString('utf8'));
    manifest.auditHead = null;
    manifest.files = entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, size: e.data.length, sha256: createHash('sha256').update(e.data).digest('hex') }));
    fs.writeFileSync(out, writeTar([{ ...manifestEntry!, data: Buffer.from(JSON.stringify(manifest)) }, ...entries], 0));
    return out;
  }

  async function twoPkis() {
    const a = await makePki();
    const b = await makePki({ seed: 'other' });
    const archive = join(tempDir('pki-hostile-backup-'), 'a.tar');
    expect((await cli(['backup', '--dir', a.dir, '--out', archive, '--json'], a.deps)).code).toBe(0);
    return { a, b, archive, work: tempDir('pki-hostile-restore-') };
  }

  it('fail/a pki.yaml pointing the store and keys at another PKI is refused; the other PKI is untouched', async () => {
    const { b, archive, work } = await twoPkis();
    const before = snapshot(b.dir);
    const bad = await tampered(archive, join(work, 'h.tar'), (entries) => {
      const y = entries.find((e) => e.path === 'pki.yaml')!;
      y.data = Buffer.from(y.data.toString('utf8').replace(/sqlite: .*/, `sqlite: ${join(b.dir, 'pki.db')}`).replace(/dir: keys/, `dir: ${join(b.dir, 'keys')}`));
    });
    const r = await restore(bad, join(work, 'R'), b.deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(r.json.error.message).toMatch(/is outside .*points elsewhere/);
    expect(fs.existsSync(join(work, 'R'))).toBe(false);
    expect(snapshot(b.dir)).toEqual(before);
  });

  it.each([
    ['a PostgreSQL database', () => 'postgres://pki@127.0.0.1:1/other'],
    ['another PKI\'s SQLite file (sqlite: URL)', (bDir: string) => `sqlite:${join(bDir, 'pki.db')}`],
  ])('fail/a pki.yaml whose store.url names %s is refused; nothing is left behind', async (_what, url) => {
    const { b, archive, work } = await twoPkis();
    const before = snapshot(b.dir);
    const bad = await tampered(archive, join(work, 'u.tar'), (entries) => {
      const y = entries.find((e) => e.path === 'pki.yaml')!;
      y.data = Buffer.from(y.data.toString('utf8').replace(/sqlite: .*/, `url: "${url(b.dir)}"`));
    });
    const r = await restore(bad, join(work, 'U'), b.deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(fs.existsSync(join(work, 'U'))).toBe(false);
    expect(snapshot(b.dir)).toEqual(before);
  });

  it('fail/a CA key path leading outside the restored directory, its key left out of the archive, is refused', async () => {
    const { a, archive, work } = await twoPkis();
    const bad = await tampered(archive, join(work, 'h.tar'), (entries) => {
      const dbEntry = entries.find((e) => e.path === 'pki.db')!;
      const tmp = join(work, 'x.db');
      fs.writeFileSync(tmp, dbEntry.data);
      const db = new Database(tmp);
      db.prepare("UPDATE ca SET key_path = ? WHERE name = 'root'").run(join('..', '..', a.dir, 'keys', 'root.key.pem'));
      db.close();
      dbEntry.data = fs.readFileSync(tmp);
      entries.splice(entries.findIndex((e) => e.path === 'keys/root.key.pem'), 1);
    });
    const r = await restore(bad, join(work, 'R'), a.deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(r.json.error.message).toMatch(/not a key file of the archive/);
  });

  it('fail/a key that does not match its CA is refused at restore; a damaged key is refused at backup', async () => {
    const { a, b, archive, work } = await twoPkis();
    const bad = await tampered(archive, join(work, 'h.tar'), (entries) => {
      entries.find((e) => e.path === 'keys/root.key.pem')!.data = fs.readFileSync(join(b.dir, 'keys/root.key.pem'));
    });
    const r = await restore(bad, join(work, 'R'), a.deps);
    expect([r.code, r.json.error.code]).toEqual([6, 'STATE_BACKUP_INVALID']);
    expect(r.json.error.message).toMatch(/does not match the CA certificate/);
    fs.writeFileSync(join(b.dir, 'keys/root.key.pem'), fs.readFileSync(join(b.dir, 'keys/root.key.pem')).subarray(0, 100));
    const bk = await cli(['backup', '--dir', b.dir, '--out', join(work, 'b.tar'), '--json'], b.deps);
    expect([bk.code, bk.json.error.code]).toEqual([7, 'CRYPTO_BAD_KEY']);
    expect(fs.existsSync(join(work, 'b.tar'))).toBe(false);
  });

  it('fail/a failed restore removes the parent directories it created; --out inside the PKI directory is refused', async () => {
    const { a, archive, work } = await twoPkis();
    const bad = await tampered(archive, join(work, 'h.tar'), (entries) => {
      entries.find((e) => e.path === 'keys/root.key.pem')!.data = Buffer.from('not a key');
    });
    const r = await restore(bad, join(work, 'new', 'a', 'b'), a.deps);
    expect(r.code).toBe(6);
    expect(fs.existsSync(join(work, 'new'))).toBe(false);
    const inside = await cli(['backup', '--dir', a.dir, '--out', join(a.dir, 'profiles-b.tar'), '--json'], a.deps);
    expect([inside.code, inside.json.error.code]).toEqual([2, 'USAGE_CONFLICT']);
  });
});
