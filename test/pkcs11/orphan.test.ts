/**
 * Token keys left behind by a creation that never reached the store: a process killed (SIGKILL) right after generating
 * a CA's key on the token, and an init whose key was generated but never recorded. The
 * next creation with the same label refuses with CRYPTO_TOKEN_ORPHAN_KEY (exit 7), naming the object (label, id) and
 * the pkcs11-tool commands that remove it, and leaves nothing behind; once removed, the creation works. A creation
 * that fails after the key was generated (the store's commit refused) removes the key from the token.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11, Pkcs11KeyStore, shownPkcs11Ref } from '../../src/adapters/keys/pkcs11.js';
import { makeDeps, pkiIn, ROOT, tempDir } from '../helpers.js';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';

const why = skipReason();
const T0 = new Date('2026-01-01T00:00:00Z');

describe.skipIf(!!why)('token keys no CA records (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let pin: string;
  beforeAll(() => {
    hsm = softHsm();
    for (const t of ['o-root', 'o-iss', 'o-init', 'o-fail']) hsm.initToken(t);
    pin = hsm.pinFile();
  });
  afterAll(() => closePkcs11());

  /** pkcs11-tool's private keys on `token`: [label, id hex] pairs. */
  const privateKeys = (token: string): Array<[string, string]> => {
    const out = hsm.tool(['--token-label', token, '--login', '--pin', USER_PIN, '--list-objects', '--type', 'privkey']);
    return [...out.matchAll(/label:\s+(\S+)\s+ID:\s+([0-9a-f]+)/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
  };
  const caNames = (dir: string): string[] => {
    const db = new Database(join(dir, 'pki.db'), { readonly: true });
    try {
      return (db.prepare('SELECT name FROM ca ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name);
    } finally {
      db.close();
    }
  };
  /** Runs the commands of the error's hint that delete objects (pkcs11-tool, with the PIN given on its command line). */
  const runDeleteHint = (hint: string): void => {
    for (const cmd of hint.match(/pkcs11-tool [^;&()]*--delete-object[^;&()]*/g)!) {
      const args = cmd.trim().split(/\s+/).slice(1).map((a) => (a === '--login' ? '--login --pin ' + USER_PIN : a)).join(' ').split(' ');
      execFileSync('pkcs11-tool', args, { env: hsm.env, stdio: 'pipe' });
    }
  };

  it('fail/a process killed after generating a CA key on the token, before any commit: the key stays on the token, no CA; the next ca create with that label refuses with CRYPTO_TOKEN_ORPHAN_KEY naming label and id; ok/after pkcs11-tool removes it', async () => {
    const cwd = tempDir('pki-p11-orphan-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=Orphan Root', '--key-store', `pkcs11:token=o-root?module-path=${hsm.module}&pin-source=file:${pin}`]);
    closePkcs11();

    // A process that generates CA iss-1's key on the token as `ca create` does (label = the CA name), then is killed
    // (SIGKILL: no discard, no C_Finalize) before any store commit.
    const script = `
      const { Pkcs11KeyStore } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/adapters/keys/pkcs11.js')).href)});
      const store = new Pkcs11KeyStore({ deps: { env: {}, cwd: process.cwd(), interactive: false } });
      const gen = await store.generatorFor(process.argv[1]);
      const key = gen.generate('ecdsa-p384', 'iss-1');
      process.stdout.write('generated ' + key.signer.spki.length + '\\n');
      process.kill(process.pid, 'SIGKILL');
      process.stdout.write('not reached\\n');`;
    const crashed = spawnSync(process.execPath, ['--input-type=module', '-e', script, `pkcs11:token=o-iss?module-path=${hsm.module}&pin-source=file:${pin}`], { env: hsm.env, encoding: 'utf8' });
    expect([crashed.signal, crashed.stdout], crashed.stderr).toEqual(['SIGKILL', expect.stringMatching(/^generated \d+\n$/)]);
    // What the crash left: a key pair labelled iss-1 on the token, no CA iss-1 in the store.
    const left = privateKeys('o-iss');
    expect(left.map(([l]) => l)).toEqual(['iss-1']);
    const [, orphanId] = left[0]!;
    expect(caNames(dir)).toEqual(['root']);

    // The same command again: refused before anything is generated or recorded.
    const again = await run(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', 'pkcs11:token=o-iss']);
    expect([again.code, again.json.error.code], again.stdout).toEqual([7, 'CRYPTO_TOKEN_ORPHAN_KEY']);
    expect(again.json.error.message).toContain('"iss-1"');
    expect(again.json.error.message).toContain(orphanId);
    expect(again.json.error.details).toMatchObject({ token: 'o-iss', object: 'iss-1', id: orphanId });
    expect(again.json.error.hint).toContain(`--delete-object --type privkey --id ${orphanId}`);
    expect(again.json.error.hint).toContain('object=');
    expect(privateKeys('o-iss')).toEqual(left);
    expect(caNames(dir)).toEqual(['root']);

    // The hint's commands remove it; the creation then works and leaves exactly its own key pair.
    runDeleteHint(again.json.error.hint);
    expect(privateKeys('o-iss')).toEqual([]);
    expect(hsm.tool(['--token-label', 'o-iss', '--login', '--pin', USER_PIN, '--list-objects'])).not.toContain('iss-1');
    const made = await ok(['ca', 'create', 'iss-1', '--parent', 'root', '--subject', 'CN=Iss 1', '--key-store', 'pkcs11:token=o-iss']);
    const madeId = /id=((?:%[0-9A-F]{2})+)/.exec(made.keyFile)![1]!.replace(/%/g, '').toLowerCase();
    expect(privateKeys('o-iss')).toEqual([['iss-1', madeId]]);

    // A key a CA of this store references is not in the way of another key with its label (the references differ by id).
    const shared = await ok(['ca', 'create', 'iss-2', '--parent', 'root', '--subject', 'CN=Iss 2', '--key-store', 'pkcs11:token=o-iss;object=iss-1']);
    expect(shared.keyFile).toMatch(/^pkcs11:token=o-iss;object=iss-1;id=/);
    expect(privateKeys('o-iss').filter(([l]) => l === 'iss-1')).toHaveLength(2);
  });

  it('fail/init after a root key was generated on the token and never recorded: CRYPTO_TOKEN_ORPHAN_KEY, no directory, the token unchanged', async () => {
    // A generation with no persist and no commit, then the process's token state dropped (as a crash would).
    const store = new Pkcs11KeyStore({ deps: { env: {}, cwd: hsm.dir, interactive: false } });
    const key = (await store.generatorFor(`pkcs11:token=o-init?module-path=${hsm.module}&pin-source=file:${pin}`)).generate('ecdsa-p256', 'root');
    expect(key.signer.spki.length).toBeGreaterThan(0);
    closePkcs11();
    const before = privateKeys('o-init');
    expect(before.map(([l]) => l)).toEqual(['root']);
    const cwd = tempDir('pki-p11-orphan-init-');
    const dir = join(cwd, 'pki');
    const { run } = pkiIn(dir, makeDeps(cwd, { now: T0 }));
    const r = await run(['init', '--subject', 'CN=Second Root', '--key-store', `pkcs11:token=o-init?module-path=${hsm.module}&pin-source=file:${pin}`]);
    expect([r.code, r.json.error.code]).toEqual([7, 'CRYPTO_TOKEN_ORPHAN_KEY']);
    expect(r.json.error.details).toMatchObject({ token: 'o-init', object: 'root', id: before[0]![1] });
    expect(fs.existsSync(dir)).toBe(false);
    expect(privateKeys('o-init')).toEqual(before);
    // Another label for this PKI's root (object=) is not in the way.
    const other = await run(['init', '--subject', 'CN=Second Root', '--key-store', `pkcs11:token=o-init;object=root-2?module-path=${hsm.module}&pin-source=file:${pin}`]);
    expect(other.code, other.stdout).toBe(0);
    expect(other.json.data.ca.keyFile).toMatch(/^pkcs11:token=o-init;object=root-2;id=/);
  });

  it('fail/a creation whose commit fails after its key was generated: discard removes the key pair from the token, no CA recorded', async () => {
    const cwd = tempDir('pki-p11-orphan-fail-');
    const deps = makeDeps(cwd, { now: T0 });
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=Fail Root', '--key-store', `pkcs11:token=o-root;object=fail-root?module-path=${hsm.module}&pin-source=file:${pin}`]);
    const objects = () => hsm.tool(['--token-label', 'o-fail', '--login', '--pin', USER_PIN, '--list-objects']);
    expect(objects()).not.toMatch(/label:/);
    // The store refuses the CA row (as a full disk or a lost connection would at commit).
    const db = new Database(join(dir, 'pki.db'));
    db.exec("CREATE TRIGGER refuse_ca BEFORE INSERT ON ca BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
    db.close();
    const r = await run(['ca', 'create', 'f1', '--parent', 'root', '--subject', 'CN=F1', '--key-store', 'pkcs11:token=o-fail']);
    expect(r.code, r.stdout).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('refused by test trigger');
    expect(objects()).not.toMatch(/label:/);
    expect(caNames(dir)).toEqual(['root']);
  });
});

describe('stored token references as shown', () => {
  it('fail/module-path, module-name, pin-source, pin-value and vendor attributes of an older reference are not shown', () => {
    const key = 'pkcs11:token=t1;object=root;id=%01%02;type=private';
    expect(shownPkcs11Ref(`${key}?module-path=/opt/vendor/lib.so&pin-source=file:/run/pin`)).toBe(key);
    expect(shownPkcs11Ref(`${key};x-secret=abc?module-name=vendor`)).toBe(key);
    // A reference that does not parse (a PIN in the path, an unknown attribute): its known path attributes only.
    expect(shownPkcs11Ref(`${key};pin-value=555777?module-path=/x.so`)).toBe(key);
    expect(shownPkcs11Ref('pkcs11:token=t1;object=root;bogus=1;PIN-VALUE=1?pin-value=2')).toBe('pkcs11:token=t1;object=root');
  });
});
