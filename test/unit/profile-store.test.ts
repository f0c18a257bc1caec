import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { PkiError, PkiErrors } from '../../src/errors.js';
import { AUDIT_GENESIS_HASH, auditHash } from '../../src/domain/audit.js';
import { loadProfile, parseProfile, SHIPPED_PROFILES_DIR } from '../../src/profile/load.js';
import { MIGRATIONS } from '../../src/adapters/store/migrations.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { cli, fixture, makeDeps, makePki, tempDir } from '../helpers.js';

function profileError(text: string): PkiError {
  try {
    parseProfile(text, 'p.yaml');
  } catch (e) {
    return e as PkiError;
  }
  throw new Error('expected the profile to be refused');
}

describe('profiles', () => {
  it.each(fs.readdirSync(SHIPPED_PROFILES_DIR).map((f) => [f]))('ok/shipped profile %s loads', (file) => {
    const p = loadProfile(join(SHIPPED_PROFILES_DIR, file), undefined, '/');
    expect(p.rolesAnywhere).toBe(true);
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('ok/the workload profile has the Roles Anywhere leaf shape', () => {
    const p = loadProfile('roles-anywhere-workload', undefined, '/');
    expect(p).toMatchObject({ kind: 'leaf', keyUsage: ['digitalSignature'], extendedKeyUsage: ['clientAuth'] });
    expect(p.validity).toMatchObject({ default: 86400, max: 90 * 86400 });
  });

  it('fail/every problem is reported at once with file:line:col', () => {
    const e = profileError('kind: leaf\nvalidity:\n  default: forever\n  max: 2h\nkeyUsage: [digitalSignature, signEverything]\nbogus: 1\n');
    expect(e).toBeInstanceOf(PkiErrors);
    expect(e.code).toBe('PROFILE_INVALID');
    const messages = (e as PkiErrors).problems.map((p) => p.message);
    expect(messages).toEqual([
      expect.stringMatching(/^p\.yaml:3:12: validity\.default: "forever" is not a duration/),
      expect.stringMatching(/^p\.yaml:5:30: keyUsage\[1\]: "signEverything" is not one of/),
      expect.stringMatching(/^p\.yaml:6:1: bogus: unknown key/),
    ]);
  });

  it.each([
    ['kind: leaf\nvalidity: { default: 1h, max: 2h }\nkeyUsage: [keyEncipherment]\n', 'digitalSignature'],
    ['kind: intermediate-ca\nvalidity: { default: 1y, max: 2y }\nkeyUsage: [cRLSign]\n', 'keyCertSign'],
    ['kind: leaf\nvalidity: { default: 1h, max: 2h }\nkeyTypes: [ecdsa-p521]\n', 'not documented as accepted by Roles Anywhere'],
    ['kind: leaf\nvalidity: { default: 3h, max: 2h }\n', 'default is longer than validity.max'],
    ['kind: leaf\nvalidity: { default: 1h, max: 2h }\nsubject:\n  allow: ["(unclosed"]\n', 'invalid regular expression'],
  ])('fail/rule violation %#: %s', (text, message) => {
    const e = profileError(text);
    expect(e.code).toBe('PROFILE_INVALID');
    expect(e.message).toContain(message);
  });

  it('ok/P-521 is allowed when the profile opts out of Roles Anywhere rules', () => {
    const p = parseProfile('kind: leaf\nrolesAnywhere: false\nvalidity: { default: 1h, max: 2h }\nkeyTypes: [ecdsa-p521]\n', 'p.yaml');
    expect(p.keyTypes).toEqual(['ecdsa-p521']);
  });

  it('ok/a user profile in <pki>/profiles shadows the shipped one of the same name', async () => {
    const { cwd, dir, deps } = await makePki();
    fs.mkdirSync(join(dir, 'profiles'));
    fs.writeFileSync(join(dir, 'profiles/roles-anywhere-workload.yaml'), 'kind: leaf\nvalidity: { default: 2h, max: 4h }\n');
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'c.pem'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    expect(r.json.data.notAfter).toBe('2026-03-01T14:00:00.000Z');
  });
});

describe('store', () => {
  it('ok/the audit chain links every state change and verifies', async () => {
    const { cwd, dir, deps } = await makePki();
    const a = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'a.pem'), '--dir', dir, '--json'], deps);
    await cli(['revoke', '--ca', 'issuing-1', '--serial', a.json.data.serial, '--dir', dir], deps);
    const store = SqliteStore.open(join(dir, 'pki.db'));
    const log = await store.auditLog();
    store.close();
    expect(log.map((r) => r.action)).toEqual(['ca.init', 'ca.create', 'certificate.issue', 'certificate.revoke']);
    let prev = AUDIT_GENESIS_HASH;
    for (const row of log) {
      expect(row.prevHash).toBe(prev);
      expect(row.hash).toBe(auditHash(prev, { seq: row.seq, at: row.at.toISOString(), actor: row.actor, action: row.action, target: row.target, details: JSON.stringify(row.details) }));
      prev = row.hash;
    }
    expect(log[0]!.actor).toBe('tester@test');
  });

  it('fail/audit rows cannot be updated or deleted through SQL', async () => {
    const { dir } = await makePki();
    const db = new Database(join(dir, 'pki.db'));
    expect(() => db.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    db.close();
  });

  it('ok/a serial that collides with an existing one is re-issued with a fresh serial (never recorded twice)', async () => {
    const cwd = tempDir();
    const dir = join(cwd, 'pki');
    const deps = makeDeps(cwd);
    // Draw 1 (the root's serial) and draw 2 (the leaf's first serial) are identical; later draws differ.
    let draws = 0;
    deps.randomBytes = (n: number) => (++draws <= 2 ? Buffer.alloc(n, 0x5a) : Buffer.alloc(n, draws));
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=R', '--no-passphrase', '--json'], deps)).json.data.ca.serial).toBe('5a'.repeat(16));
    const leaf = await cli(['issue', '--ca', 'root', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem'), '--dir', dir, '--json'], deps);
    expect(leaf.code, leaf.stdout).toBe(0);
    expect(draws).toBe(3);
    expect(leaf.json.data.serial).toBe('43' + '03'.repeat(15));
    const onDisk = readCertificate(fs.readFileSync(join(cwd, 'leaf.pem')), 'leaf');
    expect(onDisk.serialHex).toBe(leaf.json.data.serial);
    const db = new Database(join(dir, 'pki.db'), { readonly: true });
    expect(db.prepare('SELECT serial FROM certificate ORDER BY id').all()).toEqual([{ serial: '5a'.repeat(16) }, { serial: leaf.json.data.serial }]);
    db.close();
  });

  it('ok/reopening applies no migration twice', () => {
    const path = join(tempDir(), 'x.db');
    SqliteStore.open(path, true).close();
    const s = SqliteStore.open(path);
    expect(s.integrityCheck()).toBe('ok');
    s.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_migration').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('ok/a store made by the first release gains the rotation table, its rows untouched', async () => {
    const path = join(tempDir(), 'v1.db');
    const old = new Database(path);
    old.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    old.exec(MIGRATIONS[0]!.sql);
    old.prepare('INSERT INTO schema_migration VALUES (1, ?, 0)').run(MIGRATIONS[0]!.name);
    old.prepare("INSERT INTO anchor VALUES ('prod', 'arn:x', 'id', 'us-east-1', '[\"root\"]', 'h', 0)").run();
    old.close();
    const s = SqliteStore.open(path);
    expect((await s.getAnchor('prod'))?.caNames).toEqual(['root']);
    expect(await s.listRotations()).toEqual([]);
    expect(s.integrityCheck()).toBe('ok');
    s.close();
  });
});
