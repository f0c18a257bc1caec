/**
 * Migration from a real `openssl ca` CA: the layout is made by openssl itself (issue, revoke, -gencrl), imported
 * with `pki import openssl-ca`, and pki's first CRL is checked with `openssl crl` and `openssl verify -crl_check`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { cli, makeDeps, pkiIn, snapshot, tempDir, type TestDeps } from '../helpers.js';

const ossl = (args: string[], cwd?: string) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) }).toString();

/** An openssl ca directory with leaves web-0..web-(n-1) issued; returns paths and the serial of each leaf. */
function opensslCa(root: string, opts: { n?: number; subject?: string } = {}) {
  const d = join(root, 'oldca');
  fs.mkdirSync(join(d, 'newcerts'), { recursive: true });
  fs.mkdirSync(join(d, 'leaves'));
  fs.writeFileSync(join(d, 'index.txt'), '');
  fs.writeFileSync(join(d, 'serial'), '1000\n');
  fs.writeFileSync(join(d, 'crlnumber'), '01\n');
  const cnf = join(d, 'openssl.cnf');
  fs.writeFileSync(
    cnf,
    `[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${d}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
x509_extensions = leaf_ext
crl_extensions = crl_ext
[ policy_any ]
commonName = supplied
organizationName = optional
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
`,
  );
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(d, 'ca.key'), '-out', join(d, 'ca.pem'), '-subj', opts.subject ?? '/O=Example/CN=Legacy OpenSSL CA', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash']);
  const serials: string[] = [];
  for (let i = 0; i < (opts.n ?? 5); i++) {
    const base = join(d, 'leaves', `web-${i}`);
    ossl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/O=Example/CN=web-${i}`]);
    ossl(['ca', '-batch', '-config', cnf, '-in', `${base}.csr`, '-out', `${base}.pem`, '-notext']);
    serials.push(ossl(['x509', '-in', `${base}.pem`, '-noout', '-serial']).trim().replace('serial=', '').toLowerCase());
  }
  const leaf = (i: number) => join(d, 'leaves', `web-${i}.pem`);
  const revoke = (i: number, reason: string) => ossl(['ca', '-config', cnf, '-revoke', leaf(i), '-crl_reason', reason]);
  const gencrl = (out: string) => ossl(['ca', '-config', cnf, '-gencrl', '-out', out]);
  return { d, cnf, serials, leaf, revoke, gencrl, cert: join(d, 'ca.pem'), key: join(d, 'ca.key'), index: join(d, 'index.txt'), crlnumber: join(d, 'crlnumber'), newcerts: join(d, 'newcerts') };
}

function freshPki(): { cwd: string; dir: string; deps: TestDeps } {
  const cwd = tempDir('pki-migrate-');
  // openssl ca stamps real times: the injected clock reads the real time once, at the start.
  const now = new Date();
  const deps = makeDeps(cwd, { now, seed: 'migrate' });
  return { cwd, dir: join(cwd, 'pki'), deps };
}

async function initPki(dir: string, deps: TestDeps): Promise<void> {
  const r = await cli(['init', '--dir', dir, '--subject', 'CN=New Root CA,O=Example', '--no-passphrase'], deps);
  if (r.code !== 0) throw new Error(r.stderr);
}

/** `openssl verify -crl_check` of a leaf against the CA and a CRL: 'ok', 'revoked', or the output. */
function verifyWithCrl(ca: string, crl: string, leaf: string): string {
  const r = spawnSync('openssl', ['verify', '-crl_check', '-CAfile', ca, '-CRLfile', crl, leaf], { encoding: 'utf8' });
  if (r.status === 0) return 'ok';
  return /certificate revoked/.test(r.stdout + r.stderr) ? 'revoked' : r.stdout + r.stderr;
}

describe('pki import openssl-ca (real openssl ca layout)', () => {
  it('ok/imports every index line with its certificate or as a known serial; the first CRL continues the numbering and keeps every old revocation', async () => {
    const { cwd, dir, deps } = freshPki();
    const old = opensslCa(cwd);
    old.revoke(1, 'keyCompromise');
    old.revoke(2, 'superseded');
    for (let i = 1; i <= 3; i++) old.gencrl(join(old.d, `crl-${i}.pem`));
    const oldCrl = join(old.d, 'crl-3.pem');
    expect(ossl(['crl', '-in', oldCrl, '-noout', '-crlnumber'])).toMatch(/crlNumber=0x03/);
    // web-3's certificate file is gone: only its index line remains.
    fs.rmSync(join(old.newcerts, `${old.serials[3]!.toUpperCase()}.pem`));
    await initPki(dir, deps);
    const pki = pkiIn(dir, deps);

    const imp = await pki.ok(['import', 'openssl-ca', '--name', 'legacy', '--cert', old.cert, '--key', old.key, '--index', old.index, '--crlnumber', old.crlnumber, '--certs', old.newcerts, '--crl', oldCrl, '--no-passphrase']);
    expect(imp).toMatchObject({ name: 'legacy', tool: 'openssl-ca', certificates: 4, knownSerials: 1, revocations: 2, nextCrlNumber: 4 });

    const listed = await pki.ok(['list', '--ca', 'legacy']);
    const bySerial = new Map<string, any>(listed.map((c: any) => [c.serial, c]));
    expect(bySerial.size).toBe(5);
    expect(bySerial.get(old.serials[1]!)).toMatchObject({ status: 'revoked', subject: 'O=Example,CN=web-1', revocation: { reason: 'keyCompromise' } });
    expect(bySerial.get(old.serials[2]!)).toMatchObject({ status: 'revoked', revocation: { reason: 'superseded' } });
    expect(bySerial.get(old.serials[0]!)).toMatchObject({ status: 'valid' });
    expect(bySerial.get(old.serials[3]!)).toMatchObject({ status: 'valid', subject: 'O=Example,CN=web-3', sha256: null });

    const shown = await pki.ok(['show', old.serials[3]!, '--ca', 'legacy']);
    expect(shown).toMatchObject({ serial: old.serials[3], pem: null });
    const noPem = await pki.run(['show', old.serials[3]!, '--pem']);
    expect([noPem.code, noPem.json.error.code]).toEqual([5, 'NOT_FOUND_CERTIFICATE']);
    expect((await pki.ok(['show', old.serials[0]!]))).toMatchObject({ issuer: 'legacy', pem: fs.readFileSync(old.leaf(0), 'utf8') });

    // status counts the imported valid end-entity certificates (known serials included): web-0, web-3, web-4.
    const st = await pki.run(['status']);
    expect(st.json.data.cas.find((c: any) => c.name === 'legacy')).toMatchObject({ validCertificates: 3 });
    // One audit row for the import, the chain intact.
    const log = await pki.ok(['audit', 'log']);
    expect(JSON.stringify(log)).toContain('ca.import-history');
    expect((await pki.run(['audit', 'verify'])).code).toBe(0);

    // revoke sees imported certificates: by file (signature checked) and by serial (a known serial).
    await pki.ok(['revoke', '--ca', 'legacy', '--cert', old.leaf(0), '--reason', 'keyCompromise']);
    await pki.ok(['revoke', '--ca', 'legacy', '--serial', old.serials[3]!, '--reason', 'cessationOfOperation']);
    const again = await pki.run(['revoke', '--ca', 'legacy', '--serial', old.serials[1]!]);
    expect(again.code).toBe(6);
    expect(again.json.error.code).toBe('STATE_ALREADY_REVOKED');

    const crlFile = join(cwd, 'first.pem');
    const gen = await pki.ok(['crl', 'generate', '--ca', 'legacy', '--out', crlFile]);
    expect(gen.crl).toMatchObject({ crlNumber: 4, entries: 4 });
    // openssl reads pki's CRL: a higher number than the old #3, every old revocation on it.
    expect(ossl(['crl', '-in', crlFile, '-noout', '-crlnumber'])).toMatch(/crlNumber=0x04/);
    const text = ossl(['crl', '-in', crlFile, '-noout', '-text']);
    for (const i of [0, 1, 2, 3]) expect(text.toUpperCase()).toContain(old.serials[i]!.toUpperCase());
    expect(text).toContain('Key Compromise');
    expect(text).toContain('Superseded');
    expect(verifyWithCrl(old.cert, crlFile, old.leaf(1))).toBe('revoked');
    expect(verifyWithCrl(old.cert, crlFile, old.leaf(2))).toBe('revoked');
    expect(verifyWithCrl(old.cert, crlFile, old.leaf(0))).toBe('revoked');
    expect(verifyWithCrl(old.cert, crlFile, old.leaf(4))).toBe('ok');
    // The old CRL as --previous is accepted for the next one (not "the store is behind").
    const next = await pki.ok(['crl', 'generate', '--ca', 'legacy', '--previous', oldCrl]);
    expect(next.crl.crlNumber).toBe(5);

    // The import's audit event carries a digest of what it recorded: an imported revocation deleted behind pki's back
    // (its trigger dropped) breaks audit verify, although every row of the hash chain is intact.
    expect((await pki.run(['audit', 'verify'])).code).toBe(0);
    const db = new Database(join(dir, 'pki.db'));
    // The imported CA's key is recorded relative to the PKI directory, as every CA's is (a moved directory works).
    expect((db.prepare("SELECT key_path FROM ca WHERE name = 'legacy'").get() as { key_path: string }).key_path).toBe('keys/legacy.key.pem');
    db.exec('DROP TRIGGER revocation_no_delete');
    db.prepare('DELETE FROM revocation WHERE serial = ?').run(old.serials[2]);
    db.close();
    const broken = await pki.run(['audit', 'verify']);
    expect(broken.code).toBe(11);
    expect(broken.json.data.mismatches).toEqual([expect.stringMatching(/^the revocations imported into CA legacy \(audit row #\d+: 2\) no longer match the store \(1\)/)]);
  });

  it('ok/without crlnumber or an old CRL, crl generate refuses (STATE_CRL_HISTORY_UNKNOWN) until --previous or --first-crl-number', async () => {
    const { cwd, dir, deps } = freshPki();
    const old = opensslCa(cwd, { n: 2 });
    old.revoke(0, 'keyCompromise');
    for (let i = 1; i <= 5; i++) old.gencrl(join(old.d, `crl-${i}.pem`));
    await initPki(dir, deps);
    const pki = pkiIn(dir, deps);
    const imp = await pki.ok(['import', 'openssl-ca', '--name', 'legacy', '--cert', old.cert, '--key', old.key, '--index', old.index, '--no-passphrase']);
    expect(imp).toMatchObject({ knownSerials: 2, revocations: 1, nextCrlNumber: null });
    const before = snapshot(dir);
    const refused = await pki.run(['crl', 'generate', '--ca', 'legacy']);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_CRL_HISTORY_UNKNOWN');
    expect(snapshot(dir)).toEqual(before);
    const low = await pki.run(['crl', 'generate', '--ca', 'legacy', '--previous', join(old.d, 'crl-5.pem'), '--first-crl-number', '3']);
    expect(low.code).toBe(2);
    expect(low.json.error.code).toBe('USAGE_FIRST_CRL_NUMBER');
    const out = join(cwd, 'crl.pem');
    const gen = await pki.ok(['crl', 'generate', '--ca', 'legacy', '--previous', join(old.d, 'crl-5.pem'), '--out', out]);
    expect(gen.crl).toMatchObject({ crlNumber: 6, entries: 1 });
    expect(verifyWithCrl(old.cert, out, old.leaf(0))).toBe('revoked');
    expect(verifyWithCrl(old.cert, out, old.leaf(1))).toBe('ok');
    const later = await pki.run(['crl', 'generate', '--ca', 'legacy', '--first-crl-number', '50']);
    expect(later.json.error.code).toBe('USAGE_FIRST_CRL_NUMBER');
  });

  it('ok/--first-crl-number starts an imported CA with unknown history above the old numbers', async () => {
    const { cwd, dir, deps } = freshPki();
    const old = opensslCa(cwd, { n: 1 });
    await initPki(dir, deps);
    const pki = pkiIn(dir, deps);
    await pki.ok(['import', 'openssl-ca', '--name', 'legacy', '--cert', old.cert, '--key', old.key, '--index', old.index, '--certs', old.newcerts, '--no-passphrase']);
    expect((await pki.ok(['crl', 'generate', '--ca', 'legacy', '--first-crl-number', '100'])).crl.crlNumber).toBe(100);
    expect((await pki.ok(['crl', 'generate', '--ca', 'legacy'])).crl.crlNumber).toBe(101);
  });

  it('fail/a CA brought in with `pki ca import --key` has unknown CRL history: no silent CRL #1', async () => {
    const { cwd, dir, deps } = freshPki();
    const old = opensslCa(cwd, { n: 1 });
    await initPki(dir, deps);
    const pki = pkiIn(dir, deps);
    await pki.ok(['ca', 'import', 'legacy', '--cert', old.cert, '--key', old.key, '--no-passphrase']);
    const r = await pki.run(['crl', 'generate', '--ca', 'legacy']);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_CRL_HISTORY_UNKNOWN');
    // CAs made here are not affected.
    expect((await pki.ok(['crl', 'generate', '--ca', 'root'])).crl.crlNumber).toBe(1);
  });

  describe('refused inputs leave nothing behind', () => {
    async function setup() {
      const { cwd, dir, deps } = freshPki();
      const old = opensslCa(cwd, { n: 3 });
      old.revoke(1, 'keyCompromise');
      old.gencrl(join(old.d, 'crl.pem'));
      await initPki(dir, deps);
      return { cwd, dir, deps, old, pki: pkiIn(dir, deps) };
    }
    const base = (old: ReturnType<typeof opensslCa>) => ['import', 'openssl-ca', '--name', 'legacy', '--cert', old.cert, '--key', old.key, '--index', old.index, '--certs', old.newcerts, '--no-passphrase'];

    async function expectRefused(s: Awaited<ReturnType<typeof setup>>, argv: string[], code: string, exit: number, text?: RegExp) {
      const before = snapshot(s.dir);
      const r = await s.pki.run(argv);
      expect(r.code, r.stdout).toBe(exit);
      expect(r.json.error.code, r.stdout).toBe(code);
      if (text) expect(r.json.error.message).toMatch(text);
      expect(snapshot(s.dir)).toEqual(before);
      expect(fs.existsSync(join(s.dir, 'keys', 'legacy.key.pem'))).toBe(false);
      return r;
    }

    it('fail/wrong key → CRYPTO_KEY_MISMATCH (exit 7)', async () => {
      const s = await setup();
      ossl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(s.cwd, 'other.key')]);
      const argv = base(s.old);
      argv[argv.indexOf('--key') + 1] = join(s.cwd, 'other.key');
      await expectRefused(s, argv, 'CRYPTO_KEY_MISMATCH', 7);
    });

    it('fail/missing index → NOT_FOUND_FILE (exit 5)', async () => {
      const s = await setup();
      const argv = base(s.old);
      argv[argv.indexOf('--index') + 1] = join(s.cwd, 'nope.txt');
      await expectRefused(s, argv, 'NOT_FOUND_FILE', 5, /nope\.txt/);
    });

    it('fail/an index line with a bad date is named file:line (USAGE_BAD_INDEX_LINE, exit 2)', async () => {
      const s = await setup();
      const lines = fs.readFileSync(s.old.index, 'utf8').split('\n');
      lines[2] = lines[2]!.replace(/^V\t\d+Z/, 'V\t271345000000Z');
      fs.writeFileSync(s.old.index, lines.join('\n'));
      await expectRefused(s, base(s.old), 'USAGE_BAD_INDEX_LINE', 2, /index\.txt:3: expiry "271345000000Z" is not a date/);
    });

    it('fail/an index expiry that disagrees with the certificate file is named file:line', async () => {
      const s = await setup();
      const lines = fs.readFileSync(s.old.index, 'utf8').split('\n');
      lines[0] = lines[0]!.replace(/^V\t\d+Z/, 'V\t491231235959Z');
      fs.writeFileSync(s.old.index, lines.join('\n'));
      await expectRefused(s, base(s.old), 'USAGE_BAD_INDEX_LINE', 2, /index\.txt:1: serial \w+ expires 2049-12-31T23:59:59\.000Z here but .*newcerts\/\w+\.pem says/);
    });

    it('fail/a certificate from another CA in --certs → CRYPTO_CHAIN_MISMATCH (exit 7)', async () => {
      const s = await setup();
      const other = opensslCa(join(s.cwd, 'elsewhere'), { n: 1, subject: '/CN=Other CA' });
      fs.mkdirSync(join(s.cwd, 'elsewhere'), { recursive: true });
      fs.copyFileSync(other.leaf(0), join(s.old.newcerts, 'STRAY.pem'));
      await expectRefused(s, base(s.old), 'CRYPTO_CHAIN_MISMATCH', 7, /STRAY\.pem.*not issued by the CA being imported/);
    });

    it('fail/an old CRL revoking a serial the index calls valid → STATE_IMPORT_INCONSISTENT (exit 6)', async () => {
      const s = await setup();
      fs.writeFileSync(s.old.index, fs.readFileSync(s.old.index, 'utf8').replace(/^R\t(\d+Z)\t[^\t]*\t/m, 'V\t$1\t\t'));
      await expectRefused(s, [...base(s.old), '--crl', join(s.old.d, 'crl.pem')], 'STATE_IMPORT_INCONSISTENT', 6, /is on .*crl\.pem \(revoked\) but its status here is V/);
    });

    it('fail/a serial listed twice aborts the transaction (USAGE_DUPLICATE_SERIAL): no CA, no certificate', async () => {
      const s = await setup();
      const text = fs.readFileSync(s.old.index, 'utf8');
      fs.writeFileSync(s.old.index, text + text.split('\n')[0] + '\n');
      await expectRefused(s, base(s.old), 'USAGE_DUPLICATE_SERIAL', 2, /index\.txt:4/);
    });
  });
});
