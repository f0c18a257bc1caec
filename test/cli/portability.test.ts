/** A PKI directory is self-contained: key paths relative to it, so a moved or copied directory uses its own keys. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { fixture, makePki, pkiIn, tempDir } from '../helpers.js';

describe('key paths relative to the PKI directory', () => {
  it('ok/the store records key paths relative to the PKI directory; ca list shows where they are now', async () => {
    const { dir, deps } = await makePki();
    const db = new Database(join(dir, 'pki.db'), { readonly: true });
    expect(db.prepare('SELECT key_path FROM ca ORDER BY id').pluck().all()).toEqual(['keys/root.key.pem', 'keys/issuing-1.key.pem']);
    db.close();
    expect((await pkiIn(dir, deps).ok(['ca', 'list'])).map((c: { keyFile: string }) => c.keyFile)).toEqual([join(dir, 'keys/root.key.pem'), join(dir, 'keys/issuing-1.key.pem')]);
  });

  it('ok/a moved PKI directory keeps working', async () => {
    const { cwd, dir, deps } = await makePki();
    const moved = join(tempDir('pki-moved-'), 'pki');
    fs.renameSync(dir, moved);
    const r = await pkiIn(moved, deps).run(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem')]);
    expect(r.code, r.stdout).toBe(0);
  });

  it('ok/a copied PKI directory signs with its own keys, never the original\'s', async () => {
    const { cwd, dir, deps } = await makePki();
    const copy = join(tempDir('pki-copy-'), 'pki');
    fs.cpSync(dir, copy, { recursive: true });
    // Spoil the original's keys: a copy that still read them would fail.
    for (const k of ['root', 'issuing-1']) fs.writeFileSync(join(dir, `keys/${k}.key.pem`), 'spoiled');
    const { run } = pkiIn(copy, deps);
    const r = await run(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem')]);
    expect(r.code, r.stdout).toBe(0);
    expect((await run(['crl', 'generate', '--ca', 'root'])).code).toBe(0);
    // And the original, now without usable keys, fails naming its own file.
    const orig = await pkiIn(dir, deps).run(['crl', 'generate', '--ca', 'root']);
    expect(orig.code).not.toBe(0);
    expect(orig.json.error.message).toContain(join(dir, 'keys/root.key.pem'));
  });
});
