/**
 * a PKI whose root and issuing CA keys live only on SoftHSM2 tokens runs the whole lifecycle: init and ca create
 * on tokens, issue (single and batch), revoke, CRLs, ca csr / ca sign / ca import, publish to the emulator, rotation,
 * and credential-process with a workload key on a token. openssl checks every certificate and CRL the tokens signed;
 * no private key file exists anywhere under the PKI directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join, relative } from 'node:path';
import { CreateProfileCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closePkcs11, Pkcs11KeyStore } from '../../src/adapters/keys/pkcs11.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { buildCsr } from '../../src/x509/csr.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { buildCsrWithKey, cli, makeDeps, pkiIn, tempDir } from '../helpers.js';
import { skipReason, softHsm, USER_PIN, type SoftHsm } from '../helpers/softhsm.js';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const why = skipReason();

/** Every file under `dir` (relative paths) whose content holds a private key. */
function privateKeyFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (/PRIVATE KEY/.test(fs.readFileSync(p, 'latin1')) || /\.key(\.pem)?$/.test(name)) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(!!why)('a PKI with CA keys only on SoftHSM2 tokens', () => {
  let hsm: SoftHsm;
  let emu: Emulator;
  beforeAll(async () => {
    hsm = softHsm();
    for (const t of ['pki-root', 'pki-issuing', 'workload']) hsm.initToken(t);
    emu = await startEmulator({ ratePerSecond: 0, now: () => clock.now });
  });
  afterAll(async () => {
    closePkcs11();
    await emu?.close();
  });
  const clock = { now: T0 };

  it('ok/init, create, issue, batch, revoke, CRL, ca sign, publish, rotate and credential-process all sign on the tokens', async () => {
    const cwd = tempDir('pki-p11-');
    const deps = makeDeps(cwd, { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' } });
    deps.now = () => clock.now;
    const dir = join(cwd, 'pki');
    const { ok, run } = pkiIn(dir, deps);
    const ep = ['--endpoint', emu.url, '--api-rate', '0'];
    const pinFile = hsm.pinFile();
    const at = () => ['-attime', String(Math.floor(clock.now.getTime() / 1000))];
    const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' }).toString();
    /** openssl's verdict on a CRL's signature by `caPem` ("verify OK" on stderr; "verify failure" otherwise). */
    const crlSignedBy = (file: string, caPem: string): string => {
      const r = spawnSync('openssl', ['crl', '-in', file, '-noout', '-CAfile', caPem]);
      return `${r.stdout}${r.stderr}`.trim();
    };

    // init: the root key is generated on token pki-root; the store records the URI, no PIN.
    const init = await ok(['init', '--subject', 'CN=HSM Root,O=Example', '--key-store', `pkcs11:token=pki-root?module-path=${hsm.module}&pin-source=file:${pinFile}`]);
    expect(init.ca.keyFile).toMatch(/^pkcs11:token=pki-root;object=root;id=(%[0-9A-F]{2}){20};type=private$/);
    expect(init.ca.keyEncrypted).toBe(false);
    expect(fs.readdirSync(join(dir, 'keys'))).toEqual([]);
    // init wrote the module and the PIN source as pki.yaml defaults, so that the next URI names only the token.
    const yaml = fs.readFileSync(join(dir, 'pki.yaml'), 'utf8');
    expect(yaml).toContain(`  pkcs11:`);
    expect(yaml).toContain(`    module: "${hsm.module}"`);
    expect(yaml).toContain(`    pinSource: "file:${pinFile}"`);
    expect(yaml).not.toContain(USER_PIN);
    const issuing = await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=HSM Issuing 1,O=Example', '--key-type', 'ecdsa-p384', '--key-store', 'pkcs11:token=pki-issuing']);
    expect(issuing.keyFile).toMatch(/^pkcs11:token=pki-issuing;object=issuing-1;id=/);
    expect(issuing.keyFile).not.toContain('?');
    const rootPem = join(cwd, 'root.pem');
    await ok(['ca', 'export', 'root', '--out', rootPem]);
    const issuingPem = join(cwd, 'issuing-1.pem');
    await ok(['ca', 'export', 'issuing-1', '--out', issuingPem]);
    expect(openssl(['verify', ...at(), '-x509_strict', '-CAfile', rootPem, issuingPem])).toContain('OK');

    // Issue (single): the leaf verifies under root → issuing-1.
    const leaf = async (name: string, validity = '1d') => {
      const out = join(cwd, `${name}.pem`);
      const r = await ok(['issue', '--ca', 'issuing-1', '--subject', `CN=${name}`, '--key-out', join(cwd, `${name}.key`), '--out', out, '--chain-out', join(cwd, `${name}-chain.pem`), '--validity', validity]);
      return { serial: r.serial as string, out };
    };
    const a = await leaf('a');
    const b = await leaf('b');
    expect(openssl(['verify', ...at(), '-x509_strict', '-CAfile', rootPem, '-untrusted', issuingPem, a.out])).toContain('OK');

    // Batch: 24 CSRs signed in parallel by the token key; every certificate verifies.
    const batch = join(cwd, 'csrs');
    fs.mkdirSync(batch);
    for (let i = 0; i < 24; i++) {
      const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      fs.writeFileSync(join(batch, `w${i}.csr`), toPem('CERTIFICATE REQUEST', buildCsrWithKey(encodeName(parseDn(`CN=w${i}`)), privateKey, signatureAlgorithmFor('ecdsa-p256'), [])));
    }
    const certs = join(cwd, 'certs');
    await ok(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', certs, '--validity', '1d']);
    expect(fs.readdirSync(certs).filter((f) => f.endsWith('.pem'))).toHaveLength(24);
    for (const f of fs.readdirSync(certs)) expect(openssl(['verify', ...at(), '-CAfile', rootPem, '-untrusted', issuingPem, join(certs, f)])).toContain('OK');

    // Revoke b; the CRL (signed on the token) verifies and revokes b, not a.
    await ok(['revoke', '--ca', 'issuing-1', '--serial', b.serial, '--reason', 'keyCompromise']);
    const crl = join(cwd, 'issuing-1.crl.pem');
    await ok(['crl', 'generate', '--ca', 'issuing-1', '--out', crl]);
    const crlCheck = (file: string) => {
      try {
        return openssl(['verify', ...at(), '-crl_check', '-CAfile', rootPem, '-untrusted', issuingPem, '-CRLfile', crl, file]).trim();
      } catch (e) {
        return `${(e as { stdout?: Buffer }).stdout ?? ''}${(e as { stderr?: Buffer }).stderr ?? ''}`;
      }
    };
    expect(crlCheck(a.out)).toMatch(/OK$/);
    expect(crlCheck(b.out)).toMatch(/certificate revoked/);
    // The CRLs' signatures by themselves: each verifies with its CA's certificate and not with the other's.
    expect(crlSignedBy(crl, issuingPem)).toBe('verify OK');
    expect(crlSignedBy(crl, rootPem)).not.toBe('verify OK');
    const rootCrl = join(cwd, 'root.crl.pem');
    await ok(['crl', 'generate', '--ca', 'root', '--out', rootCrl]);
    expect(crlSignedBy(rootCrl, rootPem)).toBe('verify OK');

    // Offline-style flow: ca csr with a token key, ca sign by the root's token key, ca import.
    const subCsr = join(cwd, 'sub.csr');
    await ok(['ca', 'csr', 'sub-1', '--subject', 'CN=HSM Sub 1,O=Example', '--out', subCsr, '--key-store', 'pkcs11:token=pki-issuing']);
    const subPem = join(cwd, 'sub.pem');
    await ok(['ca', 'sign', '--ca', 'root', '--csr', subCsr, '--out', subPem]);
    expect(openssl(['verify', ...at(), '-x509_strict', '-CAfile', rootPem, subPem])).toContain('OK');
    const imported = await ok(['ca', 'import', 'sub-1', '--cert', subPem]);
    expect(imported.status).toBe('active');
    const subLeaf = await ok(['issue', '--ca', 'sub-1', '--subject', 'CN=via-sub', '--key-out', join(cwd, 'via-sub.key'), '--out', join(cwd, 'via-sub.pem')]);
    expect(subLeaf.serial).toBeTruthy();
    expect(openssl(['verify', ...at(), '-CAfile', rootPem, '-untrusted', subPem, join(cwd, 'via-sub.pem')])).toContain('OK');

    // Publish to the emulator: the anchor trusts issuing-1 (rotated below); its CRL goes up.
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', ...ep]);
    const arn = pushed.arn as string;
    await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);

    // A workload key on token "workload": its CSR signed there, its certificate issued by the token CA.
    const wStore = new Pkcs11KeyStore({ deps: { env: {}, cwd, interactive: false } });
    const wKey = (await wStore.generatorFor(`pkcs11:token=workload?module-path=${hsm.module}&pin-source=file:${pinFile}`)).generate('ecdsa-p256', 'web-01');
    wKey.persist(undefined);
    fs.writeFileSync(join(cwd, 'web-01.csr'), toPem('CERTIFICATE REQUEST', await buildCsr(encodeName(parseDn('CN=web-01')), wKey.signer, [])));
    await ok(['issue', '--ca', 'issuing-1', '--csr', join(cwd, 'web-01.csr'), '--out', join(cwd, 'web-01.pem'), '--chain-out', join(cwd, 'web-01-chain.pem'), '--validity', '1d']);
    const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
    const role = 'arn:aws:iam::123456789012:role/hsm';
    const profileArn = (await sdk.send(new CreateProfileCommand({ name: 'hsm', roleArns: [role], enabled: true }))).profile!.profileArn!;
    const creds = async (cert: string, key: string, extra: string[] = []) => {
      const r = await cli(['credential-process', '--certificate', cert, '--private-key', key, '--intermediates', join(cwd, 'web-01-chain.pem'), '--trust-anchor-arn', arn, '--profile-arn', profileArn, '--role-arn', role, '--endpoint', emu.url, ...extra], deps);
      return r.code === 0 ? JSON.parse(r.stdout) : { code: r.code, error: r.stderr };
    };
    const tokenRef = `pkcs11:token=workload;object=web-01?pin-source=file:${pinFile}`;
    const got = await creds(join(cwd, 'web-01.pem'), tokenRef, ['--pkcs11-lib', hsm.module]);
    expect(got).toMatchObject({ Version: 1, AccessKeyId: expect.any(String), SessionToken: expect.any(String) });
    // The emulator checked an AWS4-X509-ECDSA-SHA256 signature made on the token.
    expect(emu.calls().some((c) => c.op === 'CreateSession' && c.status === 201)).toBe(true);
    // The same token key with another certificate: refused before anything is sent.
    const mismatch = await creds(a.out, tokenRef, ['--pkcs11-lib', hsm.module]);
    expect(mismatch.code).toBe(7);
    expect(mismatch.error).toContain('CRYPTO_KEY_MISMATCH');
    // A certificate the token CA revoked gets no credentials once its CRL is on the anchor.
    const revoked = await creds(b.out, join(cwd, 'b.key'));
    expect(revoked.error).toMatch(/revoked/i);

    // Rotation: issuing-2 on the token, then start, switch and (after the old leaves expire) finish.
    const started = await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=HSM Issuing 2,O=Example', '--key-store', 'pkcs11:token=pki-issuing', ...ep]);
    expect(started).toMatchObject({ phase: 'started', old: 'issuing-1', new: 'issuing-2', created: { ca: 'issuing-2' } });
    expect((await ok(['ca', 'list'])).find((x: { name: string }) => x.name === 'issuing-2').keyFile).toMatch(/^pkcs11:token=pki-issuing;object=issuing-2;/);
    await ok(['rotate', 'switch', '--anchor', 'prod', ...ep]);
    const refused = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=late', '--key-out', join(cwd, 'late.key'), '--out', join(cwd, 'late.pem')]);
    expect(refused.json.error.code).toBe('STATE_CA_RETIRED');
    const c = await ok(['issue', '--ca', 'issuing-2', '--subject', 'CN=c', '--key-out', join(cwd, 'c.key'), '--out', join(cwd, 'c.pem'), '--validity', '30d']);
    expect(c.serial).toBeTruthy();
    clock.now = new Date(T0.getTime() + 3 * DAY);
    const finished = await run(['rotate', 'finish', '--anchor', 'prod', ...ep]);
    expect(finished.code, finished.stdout + finished.stderr).toBe(0);

    // No private key file anywhere in the PKI directory; the store holds URIs without a PIN.
    expect(privateKeyFiles(dir)).toEqual([]);
    const db = fs.readFileSync(join(dir, 'pki.db'));
    expect(db.includes(Buffer.from(USER_PIN))).toBe(false);
    const listed = await ok(['ca', 'list']);
    for (const ca of listed) expect(ca.keyFile).toMatch(/^pkcs11:/);
    // Backups carry the store and the URIs; the keys stay on the tokens.
    const backup = await run(['backup', '--out', join(cwd, 'backup.tar')]);
    expect(backup.code, backup.stderr).toBe(0);
  });
});
