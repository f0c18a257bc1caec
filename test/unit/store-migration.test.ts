/** migration 3: CA lifecycle states and key paths relative to the PKI directory, on a store made by release 2. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/adapters/store/migrations.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { tempDir } from '../helpers.js';

/** A store at schema version 2 in `dir`/pki.db, with CA rows whose key paths are `keyPaths` (absolute, as release 2 wrote them). */
function release2Store(dir: string, keyPaths: string[]): string {
  const path = join(dir, 'pki.db');
  const db = new Database(path);
  db.pragma('foreign_keys = ON');
  db.exec('CREATE TABLE schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  for (const m of MIGRATIONS.slice(0, 2)) {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migration VALUES (?, ?, 0)').run(m.version, m.name);
  }
  const ca = db.prepare(
    `INSERT INTO ca (name, parent_id, status, subject, cert_der, key_path, key_type, key_encrypted, serial, not_before, not_after, created_at)
     VALUES (?, ?, 'active', ?, x'30', ?, 'ecdsa-p256', 0, ?, 0, 2000000000, 0)`,
  );
  ca.run('root', null, 'CN=Root', keyPaths[0], 'aa');
  ca.run('issuing-1', 1, 'CN=Issuing 1', keyPaths[1], 'bb');
  ca.run('issuing-2', 1, 'CN=Issuing 2', keyPaths[2], 'cc');
  const cert = db.prepare(`INSERT INTO certificate (issuer_id, serial, subject, sans, not_before, not_after, profile, is_ca, der, requested_by, source, created_at) VALUES (1, ?, ?, '[]', 0, 2000000000, 'intermediate-ca', 1, x'30', 't', 't', 0)`);
  cert.run('bb', 'CN=Issuing 1');
  cert.run('cc', 'CN=Issuing 2');
  // Release 2: root revoked issuing-1; a finished rotation took issuing-2 out of an anchor.
  db.prepare(`INSERT INTO revocation (issuer_id, serial, reason, revoked_at, cert_not_after, entry_der, created_at) VALUES (1, 'bb', 2, 100, 2000000000, x'30', 100)`).run();
  db.prepare(`INSERT INTO anchor VALUES ('prod', 'arn:x', 'id', 'us-east-1', '["issuing-2"]', 'h', 0)`).run();
  db.prepare(`INSERT INTO rotation (anchor_name, old_ca_id, new_ca_id, anchor_change, bundle_before, phase, started_at, ended_at, updated_at) VALUES ('prod', 3, 1, 1, '[]', 'finished', 0, 500, 500)`).run();
  db.close();
  return path;
}

describe('migration 3', () => {
  it('ok/key paths inside the PKI directory become relative; revoked and rotated-out CAs get their state; nothing else changes', async () => {
    const dir = tempDir('pki-mig3-');
    const outside = join(tempDir('pki-keys-elsewhere-'), 'hsm-export.key.pem');
    const path = release2Store(dir, [join(dir, 'keys/root.key.pem'), join(dir, 'keys/issuing-1.key.pem'), outside]);
    const store = SqliteStore.open(path, false, { baseDir: dir, keysDir: join(dir, 'keys') });
    const cas = await store.listCas();
    expect(cas.map((c) => [c.name, c.status, c.keyPath])).toEqual([
      ['root', 'active', join(dir, 'keys/root.key.pem')],
      ['issuing-1', 'revoked', join(dir, 'keys/issuing-1.key.pem')],
      ['issuing-2', 'retired', outside],
    ]);
    expect(cas[2]!.retiredAt).toEqual(new Date(500_000));
    expect(store.integrityCheck()).toBe('ok');
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT key_path FROM ca ORDER BY id').pluck().all()).toEqual(['keys/root.key.pem', 'keys/issuing-1.key.pem', outside]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.prepare('SELECT COUNT(*) FROM certificate').pluck().get()).toBe(2);
    expect(db.prepare('SELECT MAX(version) FROM schema_migration').pluck().get()).toBe(MIGRATIONS.at(-1)!.version);
    db.close();
  });

  it('ok/a release-2 PKI directory copied elsewhere uses the copy\'s keys, never the original\'s', async () => {
    const original = tempDir('pki-orig-');
    fs.writeFileSync(join(original, 'pki.yaml'), 'version: 1\n');
    fs.mkdirSync(join(original, 'keys'));
    for (const k of ['root', 'issuing-1', 'issuing-2']) fs.writeFileSync(join(original, `keys/${k}.key.pem`), 'original');
    const elsewhere = join(tempDir('pki-keys-elsewhere-'), 'kept.key.pem');
    const copy = tempDir('pki-copy-');
    fs.mkdirSync(join(copy, 'keys'));
    fs.writeFileSync(join(copy, 'keys/root.key.pem'), 'copy');
    fs.writeFileSync(join(copy, 'keys/issuing-1.key.pem'), 'copy');
    // The copy's store still names the original's files (absolute paths written by release 2).
    const path = release2Store(copy, [join(original, 'keys/root.key.pem'), join(original, 'keys/issuing-1.key.pem'), join(original, 'keys/issuing-2.key.pem')]);
    const store = SqliteStore.open(path, false, { baseDir: copy, keysDir: join(copy, 'keys') });
    // issuing-2's key was not copied: it points at the copy's (missing) file, not at the original's.
    expect((await store.listCas()).map((c) => c.keyPath)).toEqual([join(copy, 'keys/root.key.pem'), join(copy, 'keys/issuing-1.key.pem'), join(copy, 'keys/issuing-2.key.pem')]);
    store.close();
    // A key directory configured outside any PKI directory is kept as it is.
    const other = tempDir('pki-other-');
    const kept = SqliteStore.open(release2Store(other, [elsewhere, join(other, 'keys/issuing-1.key.pem'), join(other, 'keys/issuing-2.key.pem')]), false, { baseDir: other, keysDir: join(other, 'keys') });
    expect((await kept.listCas())[0]!.keyPath).toBe(elsewhere);
    kept.close();
  });
});
