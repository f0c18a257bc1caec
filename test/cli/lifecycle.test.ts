import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCertificate, readCertificate } from '../../src/x509/certificate.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { FIXED_NOW, cli, fixture, makeDeps, makePki, tempDir } from '../helpers.js';

describe('pki init', () => {
  it('ok/creates pki.yaml, the store, an encrypted 0600 root key and a Roles-Anywhere-shaped root', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'correct horse battery' } });
    const r = await cli(['init', '--dir', 'pki', '--subject', 'CN=Example Root CA,O=Example', '--pbkdf2-iterations', '10000', '--json'], deps);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, kind: 'pki.init.result', version: 1 });
    const dir = join(cwd, 'pki');
    expect(fs.existsSync(join(dir, 'pki.yaml'))).toBe(true);
    expect(fs.existsSync(join(dir, 'pki.db'))).toBe(true);
    const keyFile = join(dir, 'keys/root.key.pem');
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(keyFile, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(r.json.data.ca).toMatchObject({ name: 'root', keyType: 'ecdsa-p256', keyEncrypted: true, subject: 'CN=Example Root CA,O=Example' });
    const exported = await cli(['ca', 'export', 'root', '--dir', 'pki'], deps);
    const cert = readCertificate(Buffer.from(exported.stdout), 'root');
    expect(cert.version).toBe(3);
    expect(cert.basicConstraints).toEqual({ ca: true });
    expect(cert.extensions.find((e) => e.oid === '2.5.29.19')?.critical).toBe(true);
    expect(cert.keyUsage).toEqual(['keyCertSign', 'cRLSign']);
    expect(cert.extensions.find((e) => e.oid === '2.5.29.15')?.critical).toBe(true);
    expect(cert.subjectKeyId).toBeDefined();
    expect(cert.authorityKeyId).toEqual(cert.subjectKeyId);
    expect(cert.signatureAlgorithmName).toBe('ecdsa-with-SHA256');
    expect(cert.serial.length).toBe(16);
    expect(cert.serial[0]! & 0x80).toBe(0);
    // 10 years by default from the root-ca profile (ten calendar years, leap days included: not 3,650 days),
    // backdated 5 minutes.
    expect(cert.notBefore.toISOString()).toBe('2026-03-01T11:55:00.000Z');
    expect(cert.notAfter.toISOString()).toBe('2036-03-01T12:00:00.000Z');
  });

  it('ok/uses $PKI_DIR when --dir is absent', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_DIR: join(cwd, 'from-env') } });
    const r = await cli(['init', '--subject', 'CN=Env Root', '--no-passphrase'], deps);
    expect(r.code).toBe(0);
    expect(fs.existsSync(join(cwd, 'from-env/pki.yaml'))).toBe(true);
  });

  it('ok/--no-passphrase writes an unencrypted key and warns on stderr', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const r = await cli(['init', '--dir', 'pki', '--subject', 'CN=Demo Root', '--no-passphrase'], deps);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/UNENCRYPTED/);
    expect(fs.readFileSync(join(cwd, 'pki/keys/root.key.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  it.each([
    ['rsa-2048', 'sha256WithRSAEncryption'],
    ['ecdsa-p384', 'ecdsa-with-SHA384'],
  ])('ok/%s root signs with %s', async (keyType, alg) => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    expect((await cli(['init', '--dir', 'pki', '--subject', 'CN=R', '--key-type', keyType, '--no-passphrase'], deps)).code).toBe(0);
    const cert = readCertificate(Buffer.from((await cli(['ca', 'export', 'root', '--dir', 'pki'], deps)).stdout), 'root');
    expect(cert.signatureAlgorithmName).toBe(alg);
    if (keyType.startsWith('rsa')) {
      // RFC 4055: sha256WithRSAEncryption carries NULL parameters.
      expect(cert.der.includes(Buffer.from('300d06092a864886f70d01010b0500', 'hex'))).toBe(true);
    }
  });
});

describe('pki ca', () => {
  it('ok/create makes an intermediate with pathLen 0 whose AKI is the root SKI', async () => {
    const { dir, deps } = await makePki();
    const list = await cli(['ca', 'list', '--dir', dir, '--json'], deps);
    expect(list.json.data.map((c: any) => [c.name, c.parent, c.pathLen])).toEqual([
      ['root', null, null],
      ['issuing-1', 'root', 0],
    ]);
    const chain = await cli(['ca', 'export', 'issuing-1', '--chain', '--dir', dir], deps);
    const [inter, root] = decodePemBlocks(chain.stdout, 'chain').map((b) => parseCertificate(b.der));
    expect(inter!.subjectDn).toBe('CN=Test Issuing CA 1,O=Example');
    expect(inter!.basicConstraints).toEqual({ ca: true, pathLen: 0 });
    expect(inter!.authorityKeyId).toEqual(root!.subjectKeyId);
    expect(inter!.issuerDer.equals(root!.subjectDer)).toBe(true);
    // The intermediate is on record as issued by root.
    const issuedByRoot = await cli(['list', '--ca', 'root', '--dir', dir, '--json'], deps);
    expect(issuedByRoot.json.data.map((c: any) => c.serial)).toContain(inter!.serialHex);
  });

  it('ok/on a terminal, an encrypted parent is unlocked with one prompt and the new key reuses that passphrase', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd);
    const prompts: string[] = [];
    deps.interactive = true;
    deps.promptSecret = async (p) => {
      prompts.push(p);
      return 'typed passphrase';
    };
    expect((await cli(['init', '--dir', 'pki', '--subject', 'CN=Prompted Root', '--pbkdf2-iterations', '10000'], deps)).code).toBe(0);
    expect(prompts).toEqual(['New passphrase for the root CA key: ', 'Repeat the passphrase for the root CA key: ']);
    prompts.length = 0;
    const r = await cli(['ca', 'create', 'i1', '--parent', 'root', '--subject', 'CN=I1', '--dir', 'pki'], deps);
    expect(r.code, r.stderr).toBe(0);
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/^Passphrase for CA root's key/);
    // The new key opens with the same passphrase.
    const { loadPrivateKey } = await import('../../src/crypto/keys.js');
    expect(loadPrivateKey(fs.readFileSync(join(cwd, 'pki/keys/i1.key.pem')), 'i1', 'typed passphrase').asymmetricKeyType).toBe('ec');
  });

  it('fail/a CA below a pathLen-0 CA is refused with POLICY_PATH_LEN (exit 4)', async () => {
    const { dir, deps } = await makePki();
    const r = await cli(['ca', 'create', 'sub', '--parent', 'issuing-1', '--subject', 'CN=Sub', '--dir', dir, '--no-passphrase', '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_PATH_LEN');
  });

  it('ok/csr + import: the offline-root workflow completes a pending CA', async () => {
    const { cwd, dir, deps } = await makePki();
    const csrPath = join(cwd, 'issuing-2.csr');
    const csr = await cli(['ca', 'csr', 'issuing-2', '--subject', 'CN=Issuing CA 2,O=Example', '--out', csrPath, '--dir', dir, '--no-passphrase', '--json'], deps);
    expect(csr.code).toBe(0);
    expect(csr.json.data.status).toBe('pending');
    const pending = await cli(['issue', '--ca', 'issuing-2', '--subject', 'CN=x', '--key-out', join(cwd, 'x.key'), '--dir', dir, '--json'], deps);
    expect(pending.code).toBe(6);
    expect(pending.json.error.code).toBe('STATE_CA_PENDING');
    // An "offline root" elsewhere signs the CSR (here: a second PKI).
    const offline = await makePki({ seed: 'offline' });
    const signed = join(cwd, 'issuing-2.pem');
    const rootPem = join(cwd, 'offline-root.pem');
    expect((await cli(['ca', 'export', 'root', '--dir', offline.dir, '--out', rootPem], offline.deps)).code).toBe(0);
    const sign = await cli(['ca', 'sign', '--ca', 'root', '--csr', csrPath, '--out', signed, '--validity', '3y', '--dir', offline.dir, '--json'], offline.deps);
    expect(sign.code, sign.stdout).toBe(0);
    expect(sign.json.data.pathLen).toBe(0);
    const imp = await cli(['ca', 'import', 'issuing-2', '--cert', signed, '--chain', rootPem, '--dir', dir, '--json'], deps);
    expect(imp.code, imp.stdout).toBe(0);
    expect(imp.json.data).toMatchObject({ name: 'issuing-2', status: 'active', externalIssuer: true });
    const issued = await cli(['issue', '--ca', 'issuing-2', '--subject', 'CN=after-import', '--key-out', join(cwd, 'y.key'), '--dir', dir, '--json'], deps);
    expect(issued.code).toBe(0);
    const chain = await cli(['ca', 'export', 'issuing-2', '--chain', '--dir', dir, '--json'], deps);
    expect(chain.json.data.certificates).toBe(2);
    // Importing a certificate for a different key is refused.
    const wrong = await cli(['ca', 'csr', 'issuing-3', '--subject', 'CN=Issuing CA 3', '--out', join(cwd, 'i3.csr'), '--dir', dir, '--no-passphrase'], deps);
    expect(wrong.code).toBe(0);
    const mismatch = await cli(['ca', 'import', 'issuing-3', '--cert', signed, '--dir', dir, '--json'], deps);
    expect(mismatch.code).toBe(7);
    expect(mismatch.json.error.code).toBe('CRYPTO_KEY_MISMATCH');
  });

  it('ok/import --key brings in a CA made by openssl and re-encrypts its key', async () => {
    const { cwd, dir, deps } = await makePki();
    const { execFileSync } = await import('node:child_process');
    const key = join(cwd, 'legacy.key');
    const cert = join(cwd, 'legacy.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=Legacy CA', '-days', '3650',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
    const pass = join(cwd, 'pass.txt');
    fs.writeFileSync(pass, 'a long enough passphrase\n');
    const r = await cli(['ca', 'import', 'legacy', '--cert', cert, '--key', key, '--passphrase-file', pass, '--dir', dir, '--json'], { ...deps, now: () => new Date() } as typeof deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data).toMatchObject({ name: 'legacy', keyEncrypted: true, selfSigned: true });
    expect(fs.readFileSync(join(dir, 'keys/legacy.key.pem'), 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
  });

  it('fail/import of a non-CA certificate is refused with POLICY_NOT_A_CA (exit 4)', async () => {
    const { cwd, dir, deps } = await makePki();
    const leaf = join(cwd, 'leaf.pem');
    expect((await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', leaf, '--dir', dir], deps)).code).toBe(0);
    const r = await cli(['ca', 'import', 'leafca', '--cert', leaf, '--key', fixture('csr/p256.csr'), '--dir', dir, '--json'], deps);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_NOT_A_CA');
  });
});

describe('pki issue', () => {
  it('ok/from a CSR: subject and SANs from the CSR, Roles Anywhere leaf extensions, chain without the root', async () => {
    const { cwd, dir, deps } = await makePki();
    const out = join(cwd, 'web-01.pem');
    const chainOut = join(cwd, 'chain.pem');
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', out, '--chain-out', chainOut, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(0);
    expect(r.json.kind).toBe('pki.issue.result');
    const cert = readCertificate(fs.readFileSync(out), out);
    expect(cert.subjectDn).toBe('CN=web-01,O=Example');
    expect(cert.sans.map((s) => `${s.type}:${s.value}`)).toEqual(['dns:web-01.example.com', 'uri:spiffe://example.com/ns/web']);
    expect(cert.basicConstraints).toEqual({ ca: false });
    expect(cert.keyUsage).toEqual(['digitalSignature']);
    expect(cert.extendedKeyUsage).toEqual(['clientAuth']);
    expect(cert.subjectKeyId?.length).toBe(20);
    expect(cert.serialHex).toBe(r.json.data.serial);
    // Default validity 24h from the roles-anywhere-workload profile.
    expect(cert.notAfter.toISOString()).toBe('2026-03-02T12:00:00.000Z');
    const chain = decodePemBlocks(fs.readFileSync(chainOut, 'utf8'), 'chain');
    expect(chain.length).toBe(1);
    expect(parseCertificate(chain[0]!.der).subjectDn).toBe('CN=Test Issuing CA 1,O=Example');
  });

  it('ok/--subject + --key-out generates a 0600 key; --san overrides; --validity applies', async () => {
    const { cwd, dir, deps } = await makePki();
    const r = await cli(
      ['issue', '--ca', 'issuing-1', '--subject', 'CN=app-02,O=Example', '--key-out', join(cwd, 'app.key'), '--out', join(cwd, 'app.pem'),
        '--san', 'dns:app-02.example.com', '--san', 'uri:spiffe://example.com/app', '--san', 'ip:10.0.0.7', '--validity', '2h', '--key-type', 'rsa-2048', '--dir', dir, '--json'],
      deps,
    );
    expect(r.code, r.stdout).toBe(0);
    expect(fs.statSync(join(cwd, 'app.key')).mode & 0o777).toBe(0o600);
    const cert = readCertificate(fs.readFileSync(join(cwd, 'app.pem')), 'app');
    expect(cert.sans.map((s) => `${s.type}:${s.value}`)).toEqual(['dns:app-02.example.com', 'uri:spiffe://example.com/app', 'ip:10.0.0.7']);
    expect(cert.notAfter.toISOString()).toBe('2026-03-01T14:00:00.000Z');
    expect(cert.publicKey.rsaBits).toBe(2048);
  });

  it('ok/without --out the PEM goes to stdout and the summary to stderr', async () => {
    const { dir, deps } = await makePki();
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p384.csr'), '--dir', dir], deps);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(r.stderr).toMatch(/Issued [0-9a-f]+ by issuing-1/);
  });

  it('ok/--batch issues one certificate per CSR, all recorded', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    fs.mkdirSync(batch);
    for (const f of ['p256.csr', 'p384.csr', 'rsa2048.csr']) fs.copyFileSync(fixture(`csr/${f}`), join(batch, f));
    const outDir = join(cwd, 'certs');
    fs.mkdirSync(outDir);
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.issued).toBe(3);
    expect(fs.readdirSync(outDir).sort()).toEqual(['p256.pem', 'p384.pem', 'rsa2048.pem']);
    expect(r.stderr).toContain('issued 3/3');
    const list = await cli(['list', '--ca', 'issuing-1', '--dir', dir, '--json'], deps);
    const serials = new Set(list.json.data.map((c: any) => c.serial));
    for (const f of fs.readdirSync(outDir)) expect(serials.has(readCertificate(fs.readFileSync(join(outDir, f)), f).serialHex)).toBe(true);
  });
});

describe('pki revoke, list, show', () => {
  it('ok/revoke by serial and by file; list filters; show reports the revocation', async () => {
    const { cwd, dir, deps } = await makePki();
    const a = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'a.pem'), '--dir', dir, '--json'], deps);
    const b = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p384.csr'), '--out', join(cwd, 'b.pem'), '--validity', '1h', '--dir', dir, '--json'], deps);
    const serialA: string = a.json.data.serial;
    const colonSerial = serialA.toUpperCase().match(/../g)!.join(':');
    const ra = await cli(['revoke', '--ca', 'issuing-1', '--serial', colonSerial, '--reason', 'keyCompromise', '--invalidity-date', '2026-02-28T00:00:00Z', '--dir', dir, '--json'], deps);
    expect(ra.code, ra.stdout).toBe(0);
    expect(ra.json.data.revocation).toEqual({ reason: 'keyCompromise', revokedAt: FIXED_NOW.toISOString(), invalidityDate: '2026-02-28T00:00:00.000Z' });
    const rb = await cli(['revoke', '--ca', 'issuing-1', '--cert', join(cwd, 'b.pem'), '--reason', 'superseded', '--dir', dir, '--json'], deps);
    expect(rb.code).toBe(0);
    expect(rb.json.data.serial).toBe(b.json.data.serial);
    const revoked = await cli(['list', '--status', 'revoked', '--dir', dir, '--json'], deps);
    expect(revoked.json.data.map((c: any) => c.serial).sort()).toEqual([serialA, b.json.data.serial].sort());
    const show = await cli(['show', serialA, '--dir', dir, '--json'], deps);
    expect(show.json.data).toMatchObject({ status: 'revoked', issuer: 'issuing-1', subject: 'CN=web-01,O=Example', source: fixture('csr/p256.csr') });
    const text = await cli(['show', serialA, '--dir', dir], deps);
    expect(text.stdout).toMatch(/status\s+revoked \(keyCompromise/);
  });

  it('ok/list --expiring-within and --status expired follow the clock', async () => {
    const { cwd, dir, deps } = await makePki();
    await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'short.pem'), '--validity', '2h', '--dir', dir], deps);
    await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p384.csr'), '--out', join(cwd, 'long.pem'), '--validity', '30d', '--dir', dir], deps);
    const soon = await cli(['list', '--ca', 'issuing-1', '--expiring-within', '1d', '--dir', dir, '--json'], deps);
    expect(soon.json.data.map((c: any) => c.subject)).toEqual(['CN=web-01,O=Example']);
    const later = makeDeps(deps.cwd, { now: new Date(FIXED_NOW.getTime() + 3 * 3600 * 1000) });
    const expired = await cli(['list', '--ca', 'issuing-1', '--status', 'expired', '--dir', dir, '--json'], later);
    expect(expired.json.data.map((c: any) => c.subject)).toEqual(['CN=web-01,O=Example']);
    const valid = await cli(['list', '--ca', 'issuing-1', '--status', 'valid', '--dir', dir], later);
    expect(valid.stdout).toContain('CN=db-01,O=Example');
    expect(valid.stdout).not.toContain('CN=web-01');
  });
});
