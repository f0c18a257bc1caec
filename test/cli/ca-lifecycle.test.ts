/**
 * CA lifecycle: a revoked intermediate stops everywhere, `pki ca retire` takes a CA out of service and out of
 * monitoring, and `pki status` agrees with `pki crl check` about a CA with revocations and no CRL.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { readCertificate } from '../../src/x509/certificate.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { cli, fixture, makeDeps, makePki, pkiIn, snapshot } from '../helpers.js';

const DAY = 86_400_000;
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

const AWS_ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };

async function withEmulatorPki() {
  const pki = await makePki();
  const deps = makeDeps(pki.cwd, { seed: 'lifecycle', env: AWS_ENV });
  const emu = await startEmulator({ ratePerSecond: 0, now: () => deps.now() });
  running.push(emu);
  return { ...pki, deps, ep: ['--endpoint', emu.url, '--api-rate', '0'], ...pkiIn(pki.dir, deps) };
}

describe('a revoked CA', () => {
  it('fail/after pki revoke --ca root --serial <issuing-1> --reason cACompromise, issuing-1 refuses issue, crl generate, anchor push, ca create, ca sign (STATE_CA_REVOKED, exit 6)', async () => {
    const { cwd, dir, deps, ep, run, ok } = await withEmulatorPki();
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', ...ep]);
    const issuing = (await ok(['ca', 'list'])).find((c: { name: string }) => c.name === 'issuing-1');
    expect(issuing.status).toBe('active');
    await ok(['revoke', '--ca', 'root', '--serial', issuing.serial, '--reason', 'cACompromise']);

    const before = snapshot(dir);
    const refusals: Array<[string, string[]]> = [
      ['issue', ['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'never.pem')]],
      ['crl generate', ['crl', 'generate', '--ca', 'issuing-1', '--out', join(cwd, 'never.crl')]],
      ['anchor push', ['anchor', 'push', '--name', 'other', '--ca', 'issuing-1', ...ep]],
      ['ca create --parent', ['ca', 'create', 'below', '--parent', 'issuing-1', '--subject', 'CN=Below', '--no-passphrase']],
      ['ca sign', ['ca', 'sign', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'never-ca.pem')]],
    ];
    for (const [what, argv] of refusals) {
      const r = await run(argv);
      expect(r.code, `${what}: ${r.stdout}`).toBe(6);
      expect(r.json.error.code, what).toBe('STATE_CA_REVOKED');
      expect(r.json.error.message, what).toMatch(/CA issuing-1 is revoked \(cACompromise/);
    }
    expect(snapshot(dir)).toEqual(before);

    // ca list: revoked, in JSON and in the table.
    expect((await ok(['ca', 'list'])).map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['root', 'active'],
      ['issuing-1', 'revoked'],
    ]);
    expect((await cli(['ca', 'list', '--dir', dir], deps)).stdout).toMatch(/^issuing-1\s+revoked\s/m);

    // pki status: critical.
    const status = await run(['status']);
    expect(status.code).toBe(11);
    expect(status.json.data.checks).toContainEqual(expect.objectContaining({ level: 'critical', what: 'ca/issuing-1', message: expect.stringMatching(/CA issuing-1 is revoked \(cACompromise/) }));

    // anchor status and rotate plan warn: the bundle pushed before the revocation still holds issuing-1.
    const anchor = await run(['anchor', 'status', '--name', 'prod', ...ep]);
    expect(anchor.code).toBe(10);
    expect(anchor.json.data.problems).toContainEqual(expect.stringMatching(/bundle holds CA issuing-1, which is revoked \(cACompromise/));
    const plan = await ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Issuing 2']);
    expect(plan.warnings).toContainEqual(expect.stringMatching(/bundle holds CA issuing-1, which is revoked/));
  });

  it('ok/after the operator publishes the root CRL, replaces the bundle and retires issuing-1, pki status is ok again; the root still issues', async () => {
    const { dir, deps, ep, run, ok } = await withEmulatorPki();
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', ...ep]);
    const issuing = (await ok(['ca', 'list'])).find((c: { name: string }) => c.name === 'issuing-1');
    await ok(['revoke', '--ca', 'root', '--serial', issuing.serial, '--reason', 'cACompromise']);
    await ok(['crl', 'generate', '--ca', 'root']);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...ep]);
    expect((await run(['status'])).code).toBe(11);
    const retired = await ok(['ca', 'retire', 'issuing-1']);
    expect(retired.retired).toEqual(['issuing-1']);
    const status = await run(['status']);
    expect(status.code, JSON.stringify(status.json.data.checks)).toBe(0);
    // Still revoked (and still refused), now acknowledged.
    expect((await ok(['ca', 'list']))[1].status).toBe('revoked');
    expect((await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--key-out', join(dir, '..', 'x.key')])).json.error.code).toBe('STATE_CA_REVOKED');
    expect((await run(['issue', '--ca', 'root', '--subject', 'CN=y', '--key-out', join(dir, '..', 'y.key')])).code).toBe(0);
    const audit = await ok(['audit', 'log']);
    expect(audit.map((r: { action: string }) => r.action)).toEqual(expect.arrayContaining(['ca.revoked', 'ca.retire']));
    expect((await run(['audit', 'verify'])).code).toBe(0);
    void deps;
  });
});

describe('pki ca retire', () => {
  it('ok/a retired CA issues nothing (STATE_CA_RETIRED), raises no CRL alarm, is listed retired, keeps its records, and is audited', async () => {
    const { cwd, dir, deps } = await makePki();
    const clock = { now: new Date('2026-03-01T12:00:00Z') };
    deps.now = () => clock.now;
    const { run, ok } = pkiIn(dir, deps);
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem')]);
    await ok(['crl', 'generate', '--ca', 'issuing-1', '--next-update', '7d']);
    clock.now = new Date(clock.now.getTime() + 8 * DAY); // the CRL expired
    expect((await run(['status'])).code).toBe(11);

    const r = await run(['ca', 'retire', 'issuing-1']);
    expect(r.code).toBe(0);
    expect(r.json.data).toMatchObject({ name: 'issuing-1', retired: ['issuing-1'], unchanged: [] });
    const status = await run(['status']);
    expect(status.code, JSON.stringify(status.json.data.checks)).toBe(0);
    expect(status.json.data.cas.find((c: { name: string }) => c.name === 'issuing-1').status).toBe('retired');

    const before = snapshot(dir);
    const refused = await run(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'never.pem')]);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_CA_RETIRED');
    expect((await run(['ca', 'create', 'below', '--parent', 'issuing-1', '--subject', 'CN=B', '--no-passphrase'])).json.error.code).toBe('STATE_CA_RETIRED');
    expect(snapshot(dir)).toEqual(before);

    expect((await ok(['ca', 'list'])).map((c: { status: string }) => c.status)).toEqual(['active', 'retired']);
    expect((await cli(['ca', 'list', '--dir', dir], deps)).stdout).toMatch(/^issuing-1\s+retired\s/m);
    // Records kept: the certificate, its CRLs; revocation still works (a retired CA's certificates can still be revoked).
    expect((await ok(['show', leaf.serial])).serial).toBe(leaf.serial);
    expect((await ok(['crl', 'list', '--ca', 'issuing-1'])).length).toBe(1);
    const log = await ok(['audit', 'log']);
    expect(log.at(-1)).toMatchObject({ action: 'ca.retire', target: 'issuing-1' });
    // Retiring again changes nothing.
    expect((await ok(['ca', 'retire', 'issuing-1'])).retired).toEqual([]);
    expect((await ok(['audit', 'log'])).length).toBe(log.length);
  });

  it('fail/an unknown CA is NOT_FOUND_CA (exit 5); a pending CA is STATE_CA_PENDING (exit 6)', async () => {
    const { cwd, dir, deps } = await makePki();
    const { run } = pkiIn(dir, deps);
    const unknown = await run(['ca', 'retire', 'nope']);
    expect([unknown.code, unknown.json.error.code]).toEqual([5, 'NOT_FOUND_CA']);
    await run(['ca', 'csr', 'waiting', '--subject', 'CN=W', '--out', join(cwd, 'w.csr'), '--no-passphrase']);
    const before = snapshot(dir);
    const pending = await run(['ca', 'retire', 'waiting']);
    expect([pending.code, pending.json.error.code]).toEqual([6, 'STATE_CA_PENDING']);
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('pki status and CRLs', () => {
  it('fail/a CA that revoked certificates but has no CRL yet is critical (exit 11), as pki crl check says', async () => {
    const { cwd, dir, deps } = await makePki();
    const { run, ok } = pkiIn(dir, deps);
    expect((await run(['status'])).code).toBe(0);
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', join(cwd, 'leaf.pem')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
    const check = await run(['crl', 'check', '--ca', 'issuing-1']);
    expect(check.code).toBe(11);
    const status = await run(['status']);
    expect(status.code).toBe(11);
    expect(status.json.data.checks).toContainEqual(expect.objectContaining({ level: 'critical', what: 'crl/issuing-1', message: expect.stringMatching(/revoked certificates but has no CRL yet/) }));
    await ok(['crl', 'generate', '--ca', 'issuing-1']);
    expect((await run(['status'])).code).toBe(0);
  });
});

/** An openssl-made CA certificate + key (real time: openssl cannot back-date). `signer` signs it; else self-signed. */
function opensslCa(cwd: string, name: string, subj: string, signer?: { cert: string; key: string }, key?: string) {
  const keyFile = key ?? join(cwd, `${name}.key`);
  const cert = join(cwd, `${name}.pem`);
  const ext = join(cwd, `${name}.ext`);
  fs.writeFileSync(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const newKey = key ? ['-key', key] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile];
  if (signer) {
    execFileSync('openssl', ['req', '-new', ...newKey, '-out', `${cert}.csr`, '-subj', subj], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', `${cert}.csr`, '-CA', signer.cert, '-CAkey', signer.key, '-set_serial', '0x4242', '-days', '365', '-sha256', '-extfile', ext, '-out', cert], { stdio: 'ignore' });
  } else execFileSync('openssl', ['req', '-x509', ...newKey, '-out', cert, '-subj', subj, '-days', '365', '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
  return { cert, key: keyFile };
}

describe('one CA, one name', () => {
  it('fail/the same CA certificate, or the same key, imported under a second name is refused (STATE_CA_DUPLICATE, exit 6)', async () => {
    const { cwd, dir, deps } = await makePki();
    deps.now = () => new Date();
    const { run, ok } = pkiIn(dir, deps);
    const legacy = opensslCa(cwd, 'legacy', '/CN=Legacy CA');
    await ok(['ca', 'import', 'legacy', '--cert', legacy.cert, '--key', legacy.key, '--no-passphrase']);
    const sameKey = opensslCa(cwd, 'legacy-rekeyed', '/CN=Legacy CA again', undefined, legacy.key);
    const issuingCert = join(cwd, 'issuing-1.pem');
    await ok(['ca', 'export', 'issuing-1', '--out', issuingCert]);
    const before = snapshot(dir);
    for (const [what, cert, key, existing] of [
      ['the same certificate and key', legacy.cert, legacy.key, 'legacy'],
      ['another certificate for the same key', sameKey.cert, legacy.key, 'legacy'],
      ['a CA made here, with its own key file', issuingCert, join(dir, 'keys/issuing-1.key.pem'), 'issuing-1'],
    ] as const) {
      const r = await run(['ca', 'import', 'twice', '--cert', cert, '--key', key, '--no-passphrase']);
      expect([r.code, r.json.error.code], what).toEqual([6, 'STATE_CA_DUPLICATE']);
      expect(r.json.error.message, what).toContain(`CA ${existing}`);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it('fail/a second CA with a subject already in use is refused (STATE_CA_SUBJECT_EXISTS, exit 6): ca create, ca create --root, ca csr, ca import', async () => {
    const { cwd, dir, deps } = await makePki();
    deps.now = () => new Date();
    const { run, ok } = pkiIn(dir, deps);
    const rootPem = join(cwd, 'root.pem');
    await ok(['ca', 'export', 'root', '--out', rootPem]);
    // A CA under the root that carries the root's own subject (as another tool may have made it).
    const twin = opensslCa(cwd, 'twin', '/O=Example/CN=Test Root CA', { cert: rootPem, key: join(dir, 'keys/root.key.pem') });
    const before = snapshot(dir);
    for (const argv of [
      ['ca', 'create', 'again', '--parent', 'root', '--subject', 'CN=Test Issuing CA 1,O=Example', '--no-passphrase'],
      ['ca', 'create', 'again', '--root', '--subject', 'CN=Test Root CA,O=Example', '--no-passphrase'],
      ['ca', 'csr', 'again', '--subject', 'CN=Test Issuing CA 1,O=Example', '--out', join(cwd, 'again.csr'), '--no-passphrase'],
      ['ca', 'import', 'again', '--cert', twin.cert, '--key', twin.key, '--no-passphrase'],
    ]) {
      const r = await run(argv);
      expect([r.code, r.json.error.code], argv.join(' ')).toEqual([6, 'STATE_CA_SUBJECT_EXISTS']);
    }
    expect(snapshot(dir)).toEqual(before);
    expect(fs.existsSync(join(cwd, 'again.csr'))).toBe(false);
  });

  it('ok/chains are built by AKI/SKI and signature: a CA sharing its issuer\'s subject (a store from an earlier release) gets a full chain', async () => {
    const { cwd, dir, deps } = await makePki();
    deps.now = () => new Date();
    const { ok } = pkiIn(dir, deps);
    const rootPem = join(cwd, 'root.pem');
    await ok(['ca', 'export', 'root', '--out', rootPem]);
    const twin = opensslCa(cwd, 'twin', '/O=Example/CN=Test Root CA', { cert: rootPem, key: join(dir, 'keys/root.key.pem') });
    const cert = readCertificate(fs.readFileSync(twin.cert), 'twin');
    expect(cert.subjectDer.equals(cert.issuerDer)).toBe(true);
    // Recorded the way an earlier release's import did it: no parent found, no external chain.
    const keyPath = join(dir, 'keys/twin.key.pem');
    fs.copyFileSync(twin.key, keyPath);
    fs.chmodSync(keyPath, 0o600);
    const db = new Database(join(dir, 'pki.db'));
    db.prepare(
      `INSERT INTO ca (name, parent_id, status, subject, cert_der, csr_der, external_chain_pem, key_path, key_type, key_encrypted, serial, not_before, not_after, created_at)
       VALUES ('twin', NULL, 'active', ?, ?, NULL, NULL, ?, 'ecdsa-p256', 0, ?, ?, ?, ?)`,
    ).run(cert.subjectDn, cert.der, keyPath, cert.serialHex, Math.floor(cert.notBefore.getTime() / 1000), Math.floor(cert.notAfter.getTime() / 1000), Math.floor(Date.now() / 1000));
    db.close();

    const exported = await ok(['ca', 'export', 'twin', '--chain']);
    expect(decodePemBlocks(exported.pem, 'chain').map((b) => readCertificate(b.der, 'c').serialHex)).toEqual([cert.serialHex, (await ok(['ca', 'list']))[0].serial]);
    const chainOut = join(cwd, 'leaf-chain.pem');
    const leaf = await ok(['issue', '--ca', 'twin', '--subject', 'CN=leaf', '--key-out', join(cwd, 'leaf.key'), '--out', join(cwd, 'leaf.pem'), '--chain-out', chainOut]);
    expect(leaf.chainCertificates).toBe(1);
    expect(decodePemBlocks(fs.readFileSync(chainOut, 'utf8'), 'chain').map((b) => readCertificate(b.der, 'c').serialHex)).toEqual([cert.serialHex]);
    execFileSync('openssl', ['verify', '-CAfile', rootPem, '-untrusted', chainOut, join(cwd, 'leaf.pem')], { stdio: 'pipe' });
  });
});

describe('--chain-out for a leaf issued by the root', () => {
  it('ok/writes nothing, says so on stderr and in JSON, exits 0', async () => {
    const { cwd, dir, deps } = await makePki();
    const chainOut = join(cwd, 'chain.pem');
    const r = await cli(['issue', '--ca', 'root', '--subject', 'CN=direct', '--key-out', join(cwd, 'k.pem'), '--out', join(cwd, 'c.pem'), '--chain-out', chainOut, '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(fs.existsSync(chainOut)).toBe(false);
    expect(fs.existsSync(join(cwd, 'c.pem'))).toBe(true);
    expect(r.json.data).toMatchObject({ chainOut: null, chainCertificates: 0, chainNote: expect.stringMatching(/not written: CA root is a root/) });
    expect(r.stderr).toMatch(/^note: --chain-out .*chain\.pem: not written/m);
  });
});
