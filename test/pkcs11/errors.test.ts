/**
 * token failures through the CLI: a wrong PIN, a missing token, a pin-value, a token key that is not the
 * certificate's, a creation that fails after the key was generated. Each is a named error with its exit code, and
 * nothing is half-written: no directory, no CA row, no object left on the token.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11 } from '../../src/adapters/keys/pkcs11.js';
import { FIXED_NOW_UNIX, makeDeps, pkiIn, tempDir } from '../helpers.js';
import { execFileSync } from 'node:child_process';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';

const why = skipReason();

describe.skipIf(!!why)('token errors through the CLI (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let pin: string;
  let uri: (token: string, pinFile?: string) => string;
  /** Labels of the objects on `token` (pkcs11-tool). */
  const objects = (token: string): string[] =>
    [...hsm.tool(['--token-label', token, '--login', '--pin', USER_PIN, '--list-objects']).matchAll(/label:\s+(\S+)/g)].map((m) => m[1]!).sort();
  const caRows = (dir: string): string[] => {
    const db = new Database(join(dir, 'pki.db'), { readonly: true });
    try {
      return (db.prepare('SELECT name FROM ca ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    } finally {
      db.close();
    }
  };
  beforeAll(() => {
    hsm = softHsm();
    for (const t of ['root-a', 'iss-a', 'root-b', 'root-c']) hsm.initToken(t);
    pin = hsm.pinFile();
    uri = (token, pinFile = pin) => `pkcs11:token=${token}?module-path=${hsm.module}&pin-source=file:${pinFile}`;
  });
  afterAll(() => closePkcs11());

  it('fail/init with a wrong PIN, a missing token or a pin-value: named error, exit 7 / 2, no directory, no object', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const { run } = pkiIn(dir, deps);
    const before = objects('root-a');
    const wrong = await run(['init', '--subject', 'CN=R', '--key-store', uri('root-a', hsm.pinFile('000000'))]);
    expect([wrong.code, wrong.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_PIN_INCORRECT']);
    expect(wrong.json.error.message).toContain('CKR_PIN_INCORRECT');
    expect(wrong.stdout + wrong.stderr).not.toContain('000000');
    const missing = await run(['init', '--subject', 'CN=R', '--key-store', uri('no-such-token')]);
    expect([missing.code, missing.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_NOT_FOUND']);
    const pinValue = await run(['init', '--subject', 'CN=R', '--key-store', `pkcs11:token=root-a?module-path=${hsm.module}&pin-value=${USER_PIN}`]);
    expect([pinValue.code, pinValue.json.error.code]).toEqual([2, 'USAGE_PIN_VALUE_REFUSED']);
    expect(pinValue.stdout + pinValue.stderr).not.toContain(`pin-value=${USER_PIN}`);
    expect(fs.existsSync(dir)).toBe(false);
    expect(objects('root-a')).toEqual(before);
  });

  it('fail/a CA creation refused after its key was generated removes the key from the token and records no CA', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=Root A', '--key-store', uri('root-a'), '--validity', '2y']);
    const before = objects('iss-a');
    // A validity past the parent's notAfter: refused by the plan, after the key was generated on the token.
    const refused = await run(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--validity', '5y', '--key-store', uri('iss-a')]);
    expect(refused.code).not.toBe(0);
    expect(refused.json.error.code).toMatch(/^POLICY_/);
    expect(objects('iss-a')).toEqual(before);
    expect(caRows(dir)).toEqual(['root']);
    // A wrong PIN for the issuing token: nothing generated, nothing recorded.
    const wrong = await run(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', uri('iss-a', hsm.pinFile('111111'))]);
    expect([wrong.code, wrong.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_PIN_INCORRECT']);
    expect(objects('iss-a')).toEqual(before);
    expect(caRows(dir)).toEqual(['root']);
    // The same command with the right PIN works, and leaves exactly one key pair labelled iss-1.
    await ok(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--validity', '1y', '--key-store', uri('iss-a')]);
    expect(objects('iss-a')).toEqual([...before, 'iss-1', 'iss-1'].sort());
  });

  it('fail/a PIN that went wrong after creation stops issuance with CRYPTO_TOKEN_PIN_INCORRECT and issues nothing', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    const pinFile = hsm.pinFile();
    await ok(['init', '--subject', 'CN=Root P', '--key-store', uri('root-b', pinFile)]);
    await ok(['issue', '--ca', 'root', '--subject', 'CN=first', '--key-out', join(cwd, 'f.key'), '--out', join(cwd, 'f.pem')]);
    fs.writeFileSync(pinFile, '999999\n');
    closePkcs11(); // a new process: the token asks for the PIN again
    const r = await run(['issue', '--ca', 'root', '--subject', 'CN=second', '--key-out', join(cwd, 's.key'), '--out', join(cwd, 's.pem')]);
    expect([r.code, r.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_PIN_INCORRECT']);
    expect(fs.existsSync(join(cwd, 's.pem'))).toBe(false);
    fs.writeFileSync(pinFile, `${USER_PIN}\n`);
    const certs = await ok(['list', '--ca', 'root']);
    const subjects = certs.map((c: { subject: string }) => c.subject);
    expect(subjects).toContain('CN=first');
    expect(subjects).not.toContain('CN=second');
  });

  it('ok/ca import adopts a token key in place (even with no public-key object), fail/one that is not the certificate\'s key', async () => {
    // PKI A makes CA "carried" with its key on token iss-a (ca csr + ca sign) and exports the certificate.
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const a = pkiIn(join(cwd, 'a'), deps);
    // Its own root token: root-a holds the key labelled "root" of the PKI made above.
    await a.ok(['init', '--subject', 'CN=Root Import', '--key-store', uri('root-c')]);
    await a.ok(['ca', 'csr', 'carried', '--subject', 'CN=Carried CA', '--out', join(cwd, 'carried.csr'), '--key-store', uri('iss-a')]);
    await a.ok(['ca', 'sign', '--ca', 'root', '--csr', join(cwd, 'carried.csr'), '--out', join(cwd, 'carried.pem')]);
    await a.ok(['ca', 'export', 'root', '--out', join(cwd, 'root-import.pem')]);
    // Only the private key stays on the token: the public key must come from the certificate, proved by a signature.
    hsm.tool(['--token-label', 'iss-a', '--login', '--pin', USER_PIN, '--delete-object', '--type', 'pubkey', '--label', 'carried']);
    // PKI B adopts it.
    const dirB = join(cwd, 'b');
    const b = pkiIn(dirB, deps);
    await b.ok(['init', '--subject', 'CN=Other Root', '--no-passphrase']);
    // This node's module, which later commands load to open the adopted key (the stored reference names none).
    fs.writeFileSync(join(dirB, 'pki.yaml'), fs.readFileSync(join(dirB, 'pki.yaml'), 'utf8').replace(/(  pbkdf2Iterations: \d+\n)/, `$1  pkcs11:\n    module: ${hsm.module}\n    pinSource: file:${pin}\n`));
    const keyRef = `pkcs11:token=iss-a;object=carried?module-path=${hsm.module}&pin-source=file:${pin}`;
    // The wrong certificate for this key: refused, nothing recorded.
    const mismatch = await b.run(['ca', 'import', 'wrong', '--cert', join(cwd, 'root-import.pem'), '--key', keyRef]);
    expect([mismatch.code, mismatch.json.error.code]).toEqual([7, 'CRYPTO_KEY_MISMATCH']);
    expect(caRows(dirB)).toEqual(['root']);
    const notThere = await b.run(['ca', 'import', 'x', '--cert', join(cwd, 'carried.pem'), '--chain', join(cwd, 'root-import.pem'), '--key', keyRef.replace('object=carried', 'object=nothing')]);
    expect([notThere.code, notThere.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_KEY_NOT_FOUND']);
    const imported = await b.ok(['ca', 'import', 'carried', '--cert', join(cwd, 'carried.pem'), '--chain', join(cwd, 'root-import.pem'), '--key', keyRef]);
    expect(imported.keyFile).toMatch(/^pkcs11:token=iss-a;object=carried;id=/);
    expect(imported.keyFile).not.toContain(USER_PIN);
    // It issues: the token signs and the certificate verifies against the imported CA's public key.
    const leaf = await b.ok(['issue', '--ca', 'carried', '--subject', 'CN=from-token', '--key-out', join(cwd, 't.key'), '--out', join(cwd, 't.pem')]);
    expect(leaf.serial).toBeTruthy();
    const v = execFileSync('openssl', ['verify', '-attime', String(FIXED_NOW_UNIX), '-x509_strict', '-CAfile', join(cwd, 'root-import.pem'), '-untrusted', join(cwd, 'carried.pem'), join(cwd, 't.pem')]).toString();
    expect(v).toContain('OK');
  });
});
