/** the Signer / KeyStore port and its encrypted-PKCS#8-file adapter. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/adapters/keys/file.js';
import { PkiError } from '../../src/errors.js';
import { keyRefScheme } from '../../src/ports/signer.js';
import Database from 'better-sqlite3';
import { makePki, pkiIn, tempDir } from '../helpers.js';

function store(dir: string): FileKeyStore {
  fs.mkdirSync(join(dir, 'keys'), { recursive: true });
  return new FileKeyStore({ baseDir: dir, keysDir: join(dir, 'keys'), iterations: 10_000, randomBytes: crypto.randomBytes });
}

const verifies = (spki: Buffer, hash: string | null, data: Buffer, sig: Buffer): boolean =>
  crypto.verify(hash, data, crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), sig);

describe('the file key store', () => {
  it('ok/a generated key signs before it is stored, is written 0600 and encrypted only on persist, and opens by path, relative path and file: URI', async () => {
    const dir = tempDir();
    const ks = store(dir);
    const data = Buffer.from('to be signed');
    for (const type of ['ecdsa-p256', 'rsa-2048'] as const) {
      const key = ks.generate(type, `ca-${type}`);
      expect(fs.existsSync(join(dir, 'keys', `ca-${type}.key.pem`))).toBe(false);
      const sig = await key.signer.sign(data);
      expect(verifies(key.signer.spki, key.signer.algorithm.hash, data, sig)).toBe(true);
      expect(sig.length).toBeLessThanOrEqual(key.signer.maxSignatureLength);
      const path = key.persist('correct horse');
      expect(fs.statSync(path).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path, 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
      for (const ref of [path, join('keys', `ca-${type}.key.pem`), pathToFileURL(path).href]) {
        const opened = await ks.open(ref, 'correct horse', 'x');
        expect(opened.spki.equals(key.signer.spki)).toBe(true);
        expect(opened.keyType).toBe(type);
        expect(verifies(opened.spki, opened.algorithm.hash, data, await opened.sign(data))).toBe(true);
      }
    }
  });

  it('fail/a wrong passphrase, a missing file and a pkcs11: reference are clear errors; discard removes a stored key', async () => {
    const dir = tempDir();
    const ks = store(dir);
    const key = ks.generate('ecdsa-p256', 'a');
    const path = key.persist('right');
    await expect(ks.open(path, 'wrong', 'a')).rejects.toMatchObject({ code: 'CRYPTO_BAD_PASSPHRASE' });
    await expect(ks.open(path, async () => undefined, 'a')).rejects.toMatchObject({ code: 'CRYPTO_PASSPHRASE_REQUIRED' });
    await expect(ks.open(join(dir, 'keys', 'none.key.pem'), 'right', 'none')).rejects.toMatchObject({ code: 'IO_KEY_UNREADABLE', details: { ca: 'none' } });
    const hsm = ks.open('pkcs11:token=ca;object=root', 'pin', 'root');
    await expect(hsm).rejects.toBeInstanceOf(PkiError);
    await expect(hsm).rejects.toMatchObject({ code: 'CRYPTO_KEY_STORE_UNSUPPORTED', details: { scheme: 'pkcs11' } });
    key.discard();
    expect(fs.existsSync(path)).toBe(false);
    expect([keyRefScheme('keys/a.key.pem'), keyRefScheme('my:keys/a.key.pem'), keyRefScheme('/abs/a.pem'), keyRefScheme('file:///a.pem'), keyRefScheme('PKCS11:x')]).toEqual(['file', 'file', 'file', 'file', 'pkcs11']);
  });

  it('ok/a relative key directory with a colon in its name is a path, not a URI scheme', async () => {
    const dir = tempDir();
    fs.mkdirSync(join(dir, 'my:keys'));
    const ks = new FileKeyStore({ baseDir: dir, keysDir: join(dir, 'my:keys'), iterations: 10_000, randomBytes: crypto.randomBytes });
    const key = ks.generate('ecdsa-p256', 'c');
    key.persist(undefined);
    expect((await ks.open('my:keys/c.key.pem', undefined, 'c')).spki.equals(key.signer.spki)).toBe(true);
  });

  it('ok/an adopted key (ca import --key) exposes only its public half until it is stored', async () => {
    const dir = tempDir();
    const ks = store(dir);
    const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const pem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' });
    const adopted = ks.adopt(pem, 'old.key', undefined, 'imported');
    expect(adopted.keyType).toBe('ecdsa-p384');
    expect(adopted.spki.equals(pair.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
    expect(Object.keys(adopted).sort()).toEqual(['description', 'discard', 'keyType', 'persist', 'spki']);
    const path = adopted.persist(undefined);
    expect((await ks.open(path, undefined, 'imported')).spki.equals(adopted.spki)).toBe(true);
  });
});

describe('key references in the store', () => {
  it('ok/a CA key stored as a file: URI signs certificates and CRLs; fail/a pkcs11: reference with no PKCS#11 module configured is USAGE_PKCS11_MODULE_REQUIRED (exit 2) and nothing is issued', async () => {
    const { dir, deps } = await makePki();
    const { run, ok } = pkiIn(dir, deps);
    const db = new Database(join(dir, 'pki.db'));
    try {
      db.prepare("UPDATE ca SET key_path = ? WHERE name = 'issuing-1'").run(pathToFileURL(join(dir, 'keys', 'issuing-1.key.pem')).href);
      const issued = await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=uri-key', '--key-out', join(dir, '..', 'w.key'), '--out', join(dir, '..', 'w.pem')]);
      expect(issued.serial).toMatch(/^[0-9a-f]+$/);
      expect((await ok(['crl', 'generate', '--ca', 'issuing-1'])).generated).toBe(true);
      const count = (db.prepare('SELECT COUNT(*) AS n FROM certificate').get() as { n: number }).n;
      db.prepare("UPDATE ca SET key_path = 'pkcs11:token=ca;object=issuing-1' WHERE name = 'issuing-1'").run();
      const refused = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=hsm', '--key-out', join(dir, '..', 'h.key'), '--out', join(dir, '..', 'h.pem')]);
      expect([refused.code, refused.json.error.code]).toEqual([2, 'USAGE_PKCS11_MODULE_REQUIRED']);
      expect(refused.json.error.message).toContain('no PKCS#11 module');
      expect((db.prepare('SELECT COUNT(*) AS n FROM certificate').get() as { n: number }).n).toBe(count);
    } finally {
      db.close();
    }
  });
});
