/**
 * review fixes for token keys: a replaced private key is refused each time a CA key is opened; the stored
 * reference names only the token and the key (module and PIN come from this node); a pin-value is refused and never
 * echoed wherever it is written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11, parsePkcs11Uri, redactPkcs11Uri } from '../../src/adapters/keys/pkcs11.js';
import { cli, makeDeps, pkiIn, tempDir } from '../helpers.js';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';

const why = skipReason();
const T0 = new Date('2026-01-01T00:00:00Z');

describe('pin-value is refused wherever it is written, and never echoed', () => {
  it('fail/;pin-value= as a path attribute: USAGE_PIN_VALUE_REFUSED (exit 2), the PIN in no message or detail', async () => {
    for (const ref of ['pkcs11:token=t1;pin-value=246810', 'pkcs11:pin-value=246810;token=t1', 'pkcs11:token=t1;PIN-VALUE=246810;object=k']) {
      let err: any;
      try {
        parsePkcs11Uri(ref, '--key-store');
      } catch (e) {
        err = e;
      }
      expect(err?.code).toBe('USAGE_PIN_VALUE_REFUSED');
      expect(JSON.stringify({ m: err.message, d: err.details, h: err.hint })).not.toContain('246810');
      expect(redactPkcs11Uri(ref)).not.toContain('246810');
    }
    expect(redactPkcs11Uri('pkcs11:token=t1;pin%2Dvalue=246810?pin-source=file:/p')).toBe('pkcs11:token=t1;pin%2Dvalue=***?pin-source=file:/p');
    // Through the CLI, with --json: nothing on stdout or stderr holds the PIN.
    const cwd = tempDir('pki-p11-pv-');
    const deps = makeDeps(cwd);
    const { run, ok } = pkiIn(join(cwd, 'pki'), deps);
    await ok(['init', '--subject', 'CN=Root', '--passphrase-file', writePass(cwd)]);
    const r = await run(['ca', 'create', 'c2', '--parent', 'root', '--subject', 'CN=C2', '--key-store', 'pkcs11:token=t1;pin-value=246810', '--passphrase-file', join(cwd, 'pass')]);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE_PIN_VALUE_REFUSED']);
    expect(r.stdout + r.stderr).not.toContain('246810');
  });
});

function writePass(cwd: string): string {
  const f = join(cwd, 'pass');
  fs.writeFileSync(f, 'correct horse battery staple\n', { mode: 0o600 });
  return f;
}

describe.skipIf(!!why)('token CA keys: proved on every open, referenced without module or PIN source', () => {
  let hsm: SoftHsm;
  beforeAll(() => {
    hsm = softHsm();
    for (const t of ['r1', 'r2', 'r3', 'r4']) hsm.initToken(t);
  });
  afterAll(() => closePkcs11());

  it('fail/a private key replaced on the token under the same CKA_ID and label: issue and crl generate refuse with CRYPTO_KEY_MISMATCH, nothing recorded', async () => {
    const cwd = tempDir('pki-p11-swap-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    const pin = hsm.pinFile();
    const init = await ok(['init', '--subject', 'CN=Swap Root', '--key-store', `pkcs11:token=r1?module-path=${hsm.module}&pin-source=file:${pin}`]);
    await ok(['issue', '--ca', 'root', '--subject', 'CN=before', '--key-out', join(cwd, 'before.key'), '--out', join(cwd, 'before.pem')]);
    const idHex = /id=((?:%[0-9A-F]{2})+)/.exec(init.ca.keyFile)![1]!.replace(/%/g, '');
    closePkcs11();
    const tool = (args: string[]) => hsm.tool(['--token-label', 'r1', '--login', '--pin', USER_PIN, ...args]);
    tool(['--delete-object', '--type', 'privkey', '--id', idHex]);
    const other = join(cwd, 'other.der');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-outform', 'DER', '-out', other], { stdio: 'pipe' });
    tool(['--write-object', other, '--type', 'privkey', '--id', idHex, '--label', 'root']);
    // The public-key object still matches the certificate; only the private key changed.
    expect(tool(['--list-objects', '--type', 'pubkey'])).toMatch(new RegExp(`ID:\\s+${idHex}`, "i"));
    const count = () => (new Database(join(dir, 'pki.db'), { readonly: true }).prepare('SELECT COUNT(*) AS n FROM certificate').get() as { n: number }).n;
    const before = count();
    const issued = await run(['issue', '--ca', 'root', '--subject', 'CN=after', '--key-out', join(cwd, 'after.key'), '--out', join(cwd, 'after.pem')]);
    expect([issued.code, issued.json.error.code]).toEqual([7, 'CRYPTO_KEY_MISMATCH']);
    expect(fs.existsSync(join(cwd, 'after.pem'))).toBe(false);
    expect(count()).toBe(before);
    const crl = await run(['crl', 'generate', '--ca', 'root', '--out', join(cwd, 'root.crl')]);
    expect([crl.code, crl.json.error.code]).toEqual([7, 'CRYPTO_KEY_MISMATCH']);
    expect(fs.existsSync(join(cwd, 'root.crl'))).toBe(false);
  });

  it('ok/relative module-path and pin-source at init are made absolute in pki.yaml; the stored reference has no module or PIN source; a later cwd does not matter', async () => {
    const cwd = tempDir('pki-p11-rel-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok } = pkiIn(dir, deps);
    fs.writeFileSync(join(cwd, 'pin'), `${USER_PIN}\n`, { mode: 0o600 });
    const relModule = relative(cwd, hsm.module);
    const init = await ok(['init', '--subject', 'CN=Rel Root', '--key-store', `pkcs11:token=r2?module-path=${relModule}&pin-source=file:pin`]);
    expect(init.ca.keyFile).toMatch(/^pkcs11:token=r2;object=root;id=(%[0-9A-F]{2}){20};type=private$/);
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    expect(yaml).toContain(`    module: "${hsm.module}"`);
    expect(yaml).toContain(`    pinSource: "file:${join(cwd, 'pin')}"`);
    // Later, from another directory holding a "pin" file with a wrong PIN: pki.yaml's absolute PIN file is used.
    const elsewhere = tempDir('pki-p11-cwd-');
    fs.writeFileSync(join(elsewhere, 'pin'), '000000\n', { mode: 0o600 });
    deps.cwd = elsewhere;
    closePkcs11();
    await ok(['issue', '--ca', 'root', '--subject', 'CN=cron', '--key-out', join(elsewhere, 'c.key'), '--out', join(elsewhere, 'c.pem')]);
  });

  it('fail/a stored reference carrying module-path and pin-source: both ignored and not shown by ca list, this node\'s pki.yaml chooses the module and the PIN', async () => {
    const cwd = tempDir('pki-p11-row-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok } = pkiIn(dir, deps);
    const pin = hsm.pinFile();
    const init = await ok(['init', '--subject', 'CN=Row Root', '--key-store', `pkcs11:token=r3?module-path=${hsm.module}&pin-source=file:${pin}`]);
    // A database row (e.g. a shared store) pointing every node at another library and another PIN file.
    const evil = join(cwd, 'evil.so');
    fs.writeFileSync(evil, 'not a library');
    const wrongPin = hsm.pinFile('999999');
    const db = new Database(join(dir, 'pki.db'));
    db.prepare('UPDATE ca SET key_path = ? WHERE name = ?').run(`${init.ca.keyFile}?module-path=${evil}&pin-source=file:${wrongPin}`, 'root');
    db.close();
    closePkcs11();
    const r = await ok(['issue', '--ca', 'root', '--subject', 'CN=row', '--key-out', join(cwd, 'row.key'), '--out', join(cwd, 'row.pem')]);
    expect(r.serial).toBeTruthy();
    // ca list shows the token and the key only: not the row's module or PIN file.
    const listed = await ok(['ca', 'list']);
    expect(listed.find((c: { name: string }) => c.name === 'root').keyFile).toBe(init.ca.keyFile);
    expect(JSON.stringify(listed)).not.toContain(evil);
    expect(JSON.stringify(listed)).not.toContain(wrongPin);
    expect(JSON.stringify(listed)).not.toMatch(/module-path|pin-source/);
  });

  it('fail/ca create with module-path on a PKI whose pki.yaml names no module: USAGE_PKCS11_MODULE_REQUIRED, hint keys.pkcs11, nothing created', async () => {
    const cwd = tempDir('pki-p11-nomod-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=File Root', '--passphrase-file', writePass(cwd)]);
    const pin = hsm.pinFile();
    const r = await run(['ca', 'create', 'tok', '--parent', 'root', '--subject', 'CN=Tok', '--passphrase-file', join(cwd, 'pass'), '--key-store', `pkcs11:token=r3?module-path=${hsm.module}&pin-source=file:${pin}`]);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE_PKCS11_MODULE_REQUIRED']);
    expect(r.json.error.hint).toMatch(/keys\.pkcs11/);
    expect((await ok(['ca', 'list'])).map((c: { name: string }) => c.name)).toEqual(['root']);
  });

  it('fail/vendor attributes (x-...) are not stored; a PIN in a stored reference is not shown by ca list; pin-source=file://HOST is a usage error', async () => {
    const cwd = tempDir('pki-p11-vendor-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { run, ok } = pkiIn(dir, deps);
    const pin = hsm.pinFile();
    await ok(['init', '--subject', 'CN=Vendor Root', '--key-store', `pkcs11:token=r4?module-path=${hsm.module}&pin-source=file:${pin}`]);
    const created = await ok(['ca', 'create', 'xv', '--parent', 'root', '--subject', 'CN=XV', '--key-store', 'pkcs11:token=r4;x-pin-value=424242;x-note=a']);
    expect(created.keyFile).not.toMatch(/x-|424242/);
    const db = new Database(join(dir, 'pki.db'));
    try {
      expect(db.prepare('SELECT key_path FROM ca WHERE name = ?').pluck().get('xv')).not.toMatch(/x-|424242/);
      // A row written by an older version with a PIN in it: listed without it.
      db.prepare('UPDATE ca SET key_path = ? WHERE name = ?').run(`${created.keyFile};pin-value=555777`, 'xv');
    } finally {
      db.close();
    }
    const list = await run(['ca', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('555777');
    expect(list.json.data.find((c: { name: string }) => c.name === 'xv').keyFile).toBe(created.keyFile);
    // A file URL naming another host is not a local PIN file: a usage error, not an internal one.
    const r = await run(['ca', 'create', 'fh', '--parent', 'root', '--subject', 'CN=FH', '--key-store', 'pkcs11:token=r4?pin-source=file://otherhost/tmp/pin']);
    expect([r.code, r.json.error.code]).toEqual([2, 'USAGE_BAD_PIN_SOURCE']);
  });
});

describe('pki credential serve / update use --pkcs11-lib for a token workload key', () => {
  it('fail/--pkcs11-lib is passed on (a missing library is named); without it the error names --pkcs11-lib, not pki.yaml', async () => {
    const cwd = tempDir('pki-p11-wl-');
    const deps = makeDeps(cwd, { now: T0 });
    const { ok } = pkiIn(join(cwd, 'pki'), deps);
    await ok(['init', '--subject', 'CN=WL Root', '--no-passphrase']);
    await ok(['issue', '--ca', 'root', '--subject', 'CN=wl', '--key-out', join(cwd, 'wl.key'), '--out', join(cwd, 'wl.pem')]);
    const arns = ['--trust-anchor-arn', 'arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0a1b2c3d-0000-4000-8000-000000000001', '--profile-arn', 'arn:aws:rolesanywhere:us-east-1:123456789012:profile/0a1b2c3d-0000-4000-8000-000000000002', '--role-arn', 'arn:aws:iam::123456789012:role/r'];
    const missing = join(cwd, 'no-such-module.so');
    // serve checks the key at start; should it start, it stops at once.
    (deps as { waitForShutdown?: () => Promise<void> }).waitForShutdown = async () => {};
    for (const sub of [['update', '--once', '--credentials-file', join(cwd, 'creds')], ['serve', '--port', '0']]) {
      const base = ['credential', ...sub, '--certificate', join(cwd, 'wl.pem'), '--private-key', 'pkcs11:token=w;object=k', ...arns, '--endpoint', 'http://127.0.0.1:9', '--json'];
      const withLib = await cli([...base, '--pkcs11-lib', missing], deps);
      expect([withLib.code, withLib.json?.error?.code], withLib.stdout + withLib.stderr).toEqual([7, 'CRYPTO_TOKEN_MODULE_NOT_FOUND']);
      expect(withLib.json.error.message).toContain(missing);
      const without = await cli(base, deps);
      expect([without.code, without.json?.error?.code]).toEqual([2, 'USAGE_PKCS11_MODULE_REQUIRED']);
      expect(without.json.error.message).toContain('--pkcs11-lib');
      expect(without.json.error.message).not.toContain('pki.yaml');
    }
  });
});

describe.skipIf(!!why)('pki csr with the workload key on a token', () => {
  let hsm: SoftHsm;
  beforeAll(() => {
    hsm = softHsm();
    hsm.initToken('w');
  });
  afterAll(() => closePkcs11());

  it('ok/--key-store generates the key on the token and signs the CSR there; --key reuses it; fail/a label already there, no key source, a pin-value', async () => {
    const cwd = tempDir('pki-p11-csr-');
    const deps = makeDeps(cwd, { now: T0 });
    const pin = hsm.pinFile();
    const run = (args: string[]) => cli(['csr', ...args, '--json'], deps);
    const made = await run(['--subject', 'CN=web-01', '--san', 'dns:web-01.example.com', '--key-store', `pkcs11:token=w;object=web-01?pin-source=file:${pin}`, '--pkcs11-lib', hsm.module, '--out', join(cwd, 'web-01.csr')]);
    expect(made.code, made.stdout + made.stderr).toBe(0);
    expect(made.json.data).toMatchObject({ subject: 'CN=web-01', keyType: 'ecdsa-p256', keyOut: made.json.data.keyRef, keyRef: expect.stringMatching(/^pkcs11:token=w;object=web-01;id=(%[0-9A-F]{2}){20};type=private$/) });
    // openssl checks the CSR's signature (made on the token) against its public key.
    const r = spawnSync('openssl', ['req', '-in', join(cwd, 'web-01.csr'), '-noout', '-verify'], { encoding: 'utf8' });
    expect([r.status, `${r.stdout}${r.stderr}`.trim()]).toEqual([0, expect.stringMatching(/verify OK$/)]);
    const listing = hsm.tool(['--token-label', 'w', '--login', '--pin', USER_PIN, '--list-objects', '--type', 'privkey']);
    expect(listing).toMatch(/label:\s+web-01/);
    expect(listing).toMatch(/never extractable/);
    // The same key again by its URI: same public key in the new CSR.
    const again = await run(['--subject', 'CN=web-01', '--key', `${made.json.data.keyRef}?pin-source=file:${pin}`, '--pkcs11-lib', hsm.module, '--out', join(cwd, 'again.csr')]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const pub = (f: string) => execFileSync('openssl', ['req', '-in', f, '-noout', '-pubkey'], { stdio: 'pipe' }).toString();
    expect(pub(join(cwd, 'again.csr'))).toBe(pub(join(cwd, 'web-01.csr')));
    // The label is taken: refused, no second key, no CSR.
    const dup = await run(['--subject', 'CN=web-01', '--key-store', `pkcs11:token=w;object=web-01?pin-source=file:${pin}`, '--pkcs11-lib', hsm.module, '--out', join(cwd, 'dup.csr')]);
    expect([dup.code, dup.json.error.code]).toEqual([2, 'USAGE_CONFLICT']);
    expect(fs.existsSync(join(cwd, 'dup.csr'))).toBe(false);
    expect(hsm.tool(['--token-label', 'w', '--login', '--pin', USER_PIN, '--list-objects', '--type', 'privkey']).match(/label:\s+web-01/g)).toHaveLength(1);
    const none = await run(['--subject', 'CN=x', '--out', join(cwd, 'x.csr')]);
    expect([none.code, none.json.error.code]).toEqual([2, 'USAGE_MISSING_INPUT']);
    const pv = await run(['--subject', 'CN=x', '--key-store', 'pkcs11:token=w;object=x;pin-value=246810', '--pkcs11-lib', hsm.module, '--out', join(cwd, 'x.csr')]);
    expect([pv.code, pv.json.error.code]).toEqual([2, 'USAGE_PIN_VALUE_REFUSED']);
    expect(pv.stdout + pv.stderr).not.toContain('246810');
  });
});
