/**
 * ML-DSA through the commands: `--key-type ml-dsa-44|65|87` for init, ca create, issue --key-out, csr and renew;
 * ML-DSA CSRs received (self-signature checked); lint, inspect and verify on ML-DSA and mixed chains.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { cli, makePki, snapshot } from '../helpers.js';

const certKey = (path: string) => readCertificate(fs.readFileSync(path), path).publicKey.kind;
const sigAlg = (path: string) => readCertificate(fs.readFileSync(path), path).signatureAlgorithmName;

describe('ML-DSA key types in the commands', () => {
  it('ok/an ML-DSA-65 root and issuing CA (init, ca create), ML-DSA workload keys (issue --key-out, csr + issue --csr, renew), lint, inspect, verify', async () => {
    const { cwd, dir, deps } = await makePki({ keyType: 'ml-dsa-65', issuingKeyType: 'ml-dsa-65' });
    const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
    expect((await run(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')])).code).toBe(0);
    expect((await run(['ca', 'export', 'issuing-1', '--out', join(cwd, 'issuing.pem')])).code).toBe(0);
    expect(certKey(join(cwd, 'root.pem'))).toBe('ml-dsa-65');
    expect(sigAlg(join(cwd, 'issuing.pem'))).toBe('id-ml-dsa-65');

    // issue --key-out: an ML-DSA-44 key, written 0600 as the 54-byte RFC 9881 seed-form PKCS#8.
    const issued = await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=pq-01', '--key-type', 'ml-dsa-44', '--key-out', join(cwd, 'pq-01.key'), '--out', join(cwd, 'pq-01.pem')]);
    expect(issued.code, issued.stdout).toBe(0);
    expect(fs.statSync(join(cwd, 'pq-01.key')).mode & 0o777).toBe(0o600);
    const [keyBlock] = decodePemBlocks(fs.readFileSync(join(cwd, 'pq-01.key'), 'utf8'), 'key');
    expect(keyBlock!.label).toBe('PRIVATE KEY');
    expect(keyBlock!.der.length).toBe(54);
    expect(keyBlock!.der.toString('hex')).toContain('0609608648016503040311');
    expect(certKey(join(cwd, 'pq-01.pem'))).toBe('ml-dsa-44');

    // csr: an ML-DSA-87 key and CSR; issue --csr checks its self-signature.
    const csr = await cli(['csr', '--subject', 'CN=pq-02', '--key-type', 'ml-dsa-87', '--key-out', join(cwd, 'pq-02.key'), '--out', join(cwd, 'pq-02.csr'), '--json'], deps);
    expect(csr.code, csr.stdout).toBe(0);
    expect(csr.json.data.keyType).toBe('ml-dsa-87');
    const fromCsr = await run(['issue', '--ca', 'issuing-1', '--csr', join(cwd, 'pq-02.csr'), '--out', join(cwd, 'pq-02.pem')]);
    expect(fromCsr.code, fromCsr.stdout).toBe(0);
    expect(certKey(join(cwd, 'pq-02.pem'))).toBe('ml-dsa-87');
    // A CSR whose signature no longer matches: CRYPTO_BAD_CSR_SIGNATURE, exit 7, nothing written.
    const [csrBlock] = decodePemBlocks(fs.readFileSync(join(cwd, 'pq-02.csr'), 'utf8'), 'csr');
    const bad = Buffer.from(csrBlock!.der);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 1;
    fs.writeFileSync(join(cwd, 'bad.csr'), bad);
    const before = snapshot(dir);
    const refused = await run(['issue', '--ca', 'issuing-1', '--csr', join(cwd, 'bad.csr'), '--out', join(cwd, 'bad.pem')]);
    expect(refused.code).toBe(7);
    expect(refused.json.error.code).toBe('CRYPTO_BAD_CSR_SIGNATURE');
    expect(fs.existsSync(join(cwd, 'bad.pem'))).toBe(false);
    expect(snapshot(dir)).toEqual(before);

    // renew --key-out keeps the old key type (ML-DSA-44).
    const renewed = await run(['renew', '--ca', 'issuing-1', '--cert', join(cwd, 'pq-01.pem'), '--key-out', join(cwd, 'pq-01b.key'), '--out', join(cwd, 'pq-01b.pem')]);
    expect(renewed.code, renewed.stdout).toBe(0);
    expect(certKey(join(cwd, 'pq-01b.pem'))).toBe('ml-dsa-44');

    // inspect shows the parameter set; lint applies the leaf and CA rules (ML-DSA CAs: an UNCONFIRMED warning only).
    const ins = await run(['inspect', join(cwd, 'pq-02.pem')]);
    expect(ins.code).toBe(0);
    expect(ins.json.data.key ?? JSON.stringify(ins.json.data)).toMatch(/ml-dsa-87/);
    const text = await cli(['inspect', join(cwd, 'pq-02.pem')], deps);
    expect(text.stdout).toMatch(/ml-dsa-87/);
    const lintLeaf = await run(['lint', join(cwd, 'pq-01.pem')]);
    expect(lintLeaf.code, lintLeaf.stdout).toBe(0);
    const leafCodes = JSON.stringify(lintLeaf.json.data);
    expect(leafCodes).not.toMatch(/RA_KEY_TYPE/);
    expect(leafCodes).toMatch(/RA_MLDSA_CERTIFICATE/); // signed by an ML-DSA CA
    const lintCa = await run(['lint', join(cwd, 'root.pem')]);
    expect(lintCa.code, lintCa.stdout).toBe(0);
    expect(JSON.stringify(lintCa.json.data)).toMatch(/RA_MLDSA_CERTIFICATE/);
    // verify: the chain validates; the leaf against the wrong anchor does not.
    const v = await run(['verify', '--cert', join(cwd, 'pq-01.pem'), '--chain', join(cwd, 'issuing.pem'), '--anchor-bundle', join(cwd, 'root.pem')]);
    expect(v.code, v.stdout).toBe(0);
    const wrong = await run(['verify', '--cert', join(cwd, 'pq-01.pem'), '--anchor-bundle', join(cwd, 'root.pem')]);
    expect(wrong.code).toBe(11);
  });

  it('ok/mixed chains both ways: ECDSA root and issuing CA over an ML-DSA leaf (lint clean), an ML-DSA issuing CA over an ECDSA leaf', async () => {
    const { cwd, dir, deps } = await makePki();
    const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
    expect((await run(['ca', 'export', 'root', '--out', join(cwd, 'root.pem')])).code).toBe(0);
    expect((await run(['ca', 'export', 'issuing-1', '--out', join(cwd, 'ec-ca.pem')])).code).toBe(0);
    expect((await run(['issue', '--ca', 'issuing-1', '--subject', 'CN=pq', '--key-type', 'ml-dsa-65', '--key-out', join(cwd, 'pq.key'), '--out', join(cwd, 'pq.pem')])).code).toBe(0);
    expect(certKey(join(cwd, 'pq.pem'))).toBe('ml-dsa-65');
    expect(sigAlg(join(cwd, 'pq.pem'))).toBe('ecdsa-with-SHA256');
    // An ML-DSA workload key under ECDSA CAs is what Roles Anywhere documents: no finding about the key.
    const lint = await run(['lint', join(cwd, 'pq.pem')]);
    expect(lint.code).toBe(0);
    expect(JSON.stringify(lint.json.data)).not.toMatch(/RA_KEY_TYPE|RA_MLDSA_CERTIFICATE/);
    expect((await run(['verify', '--cert', join(cwd, 'pq.pem'), '--chain', join(cwd, 'ec-ca.pem'), '--anchor-bundle', join(cwd, 'root.pem')])).code).toBe(0);

    const ca = await run(['ca', 'create', 'pq-ca', '--parent', 'root', '--subject', 'CN=PQ Issuing', '--key-type', 'ml-dsa-87', '--no-passphrase']);
    expect(ca.code, ca.stdout).toBe(0);
    expect((await run(['ca', 'export', 'pq-ca', '--out', join(cwd, 'pq-ca.pem')])).code).toBe(0);
    expect(certKey(join(cwd, 'pq-ca.pem'))).toBe('ml-dsa-87');
    expect(sigAlg(join(cwd, 'pq-ca.pem'))).toBe('ecdsa-with-SHA256');
    expect((await run(['issue', '--ca', 'pq-ca', '--subject', 'CN=ec', '--key-out', join(cwd, 'ec.key'), '--out', join(cwd, 'ec.pem')])).code).toBe(0);
    expect(certKey(join(cwd, 'ec.pem'))).toBe('ec');
    expect(sigAlg(join(cwd, 'ec.pem'))).toBe('id-ml-dsa-87');
    expect((await run(['verify', '--cert', join(cwd, 'ec.pem'), '--chain', join(cwd, 'pq-ca.pem'), '--anchor-bundle', join(cwd, 'root.pem')])).code).toBe(0);
    // The CRL of the ML-DSA CA is signed with ML-DSA and checks out.
    expect((await run(['revoke', '--ca', 'pq-ca', '--cert', join(cwd, 'ec.pem'), '--reason', 'keyCompromise'])).code).toBe(0);
    const crl = await run(['crl', 'generate', '--ca', 'pq-ca', '--out', join(cwd, 'pq.crl')]);
    expect(crl.code, crl.stdout).toBe(0);
    const revoked = await run(['verify', '--cert', join(cwd, 'ec.pem'), '--chain', join(cwd, 'pq-ca.pem'), '--anchor-bundle', join(cwd, 'root.pem'), '--crl', join(cwd, 'pq.crl')]);
    expect(revoked.code).toBe(11);
    expect(revoked.json.data.failure.check).toBe('revoked');
  });

  it('fail/an unknown key type is USAGE (exit 2), naming the ML-DSA choices', async () => {
    const { cwd, dir, deps } = await makePki();
    const r = await cli(['issue', '--ca', 'issuing-1', '--subject', 'CN=x', '--key-type', 'ml-dsa-99', '--key-out', join(cwd, 'x.key'), '--out', join(cwd, 'x.pem'), '--dir', dir], deps);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ml-dsa-65/);
  });
});
