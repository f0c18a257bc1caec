/**
 * signing, cross-checked: requests signed by pki's AWS4-X509 signer are verified by an independent implementation
 * of the spec (Python `cryptography`, test/interop/aws4_x509_verify.py) and the signature by `openssl dgst`, for RSA,
 * P-256 and P-384 keys, with and without a chain. Plus the reference's serial-number vectors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serialToDecimal, signSessionRequest } from '../../src/adapters/aws/x509-signer.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { loadWorkloadKey } from '../../src/adapters/keys/file.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { ROOT, makeDeps, tempDir, pkiIn } from '../helpers.js';

const VERIFIER = join(ROOT, 'test/interop/aws4_x509_verify.py');
/** A Python with the cryptography package: the one on PATH, else Debian's (python3-cryptography, installed by .ci/run). */
const PYTHON = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0);
/** pyca cryptography >= 48 has ML-DSA (Debian's python3-cryptography does not; .ci/run installs it with pip). */
const PY_MLDSA = !!PYTHON && spawnSync(PYTHON, ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { stdio: 'ignore' }).status === 0;

function pythonVerify(req: ReturnType<typeof signSessionRequest>, region: string): string {
  if (!PYTHON) throw new Error('no python3 with the cryptography package (apt-get install python3-cryptography)');
  const r = spawnSync(PYTHON, [VERIFIER], { input: JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: req.body, region }), encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

describe('AWS4-X509 signatures, checked by an independent implementation', () => {
  it('serial numbers in decimal (reference §4.9 B)', () => {
    expect(serialToDecimal('03:ec:7e:dc:37:a7:57:d3:f6:9a:30:9a:7d:91:a5:16')).toBe('5215639076998761095638506031589467414');
    expect(serialToDecimal('39:21:bc:e7:f3:15:1a:4b:7f:ef:54:ef:ef:54:c4:09:a5:03:0f:3a')).toBe('326164854566604267642234107702204417305661869882');
    expect(serialToDecimal('0123')).toBe('291');
  });

  it.each([['rsa-2048'], ['ecdsa-p256'], ['ecdsa-p384']])('%s, with and without a chain: Python cryptography and openssl verify; a changed byte does not', async (keyType) => {
    const cwd = tempDir('pki-sign-');
    const deps = makeDeps(cwd, { seed: keyType });
    const dir = join(cwd, 'pki');
    const { ok } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=Sign Root', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Sign Issuing', '--no-passphrase']);
    await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=signer', '--key-type', keyType, '--key-out', join(cwd, 'k.pem'), '--out', join(cwd, 'c.pem'), '--chain-out', join(cwd, 'chain.pem')]);
    const cert = readCertificate(fs.readFileSync(join(cwd, 'c.pem')), 'c.pem');
    const key = crypto.createPrivateKey(fs.readFileSync(join(cwd, 'k.pem')));
    const chain = decodePemBlocks(fs.readFileSync(join(cwd, 'chain.pem'), 'utf8'), 'chain').map((b) => b.der);
    expect(chain.length).toBe(1);
    for (const withChain of [false, true]) {
      const req = signSessionRequest({
        host: 'rolesanywhere.eu-west-2.amazonaws.com',
        region: 'eu-west-2',
        date: new Date('2026-03-01T12:34:56Z'),
        trustAnchorArn: 'arn:aws:rolesanywhere:eu-west-2:111122223333:trust-anchor/8e2c6b1a-2b7e-4f5e-9d4a-0b6d7c5e4f3a',
        profileArn: 'arn:aws:rolesanywhere:eu-west-2:111122223333:profile/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
        roleArn: 'arn:aws:iam::111122223333:role/path with space/app',
        durationSeconds: 3600,
        certificate: cert.der,
        serialHex: cert.serialHex,
        chain: withChain ? chain : [],
        key,
      });
      expect(req.headers.Authorization).toMatch(new RegExp(`^AWS4-X509-${keyType.startsWith('rsa') ? 'RSA' : 'ECDSA'}-SHA256 Credential=${serialToDecimal(cert.serialHex)}/20260301/eu-west-2/rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509${withChain ? ';x-amz-x509-chain' : ''}, Signature=[0-9a-f]+$`));
      expect(req.url).toContain('roleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fpath%20with%20space%2Fapp');
      expect(pythonVerify(req, 'eu-west-2')).toBe('OK');
      // openssl checks the signature over the StringToSign with the certificate's key.
      const sig = Buffer.from(/Signature=([0-9a-f]+)/.exec(req.headers.Authorization!)![1]!, 'hex');
      fs.writeFileSync(join(cwd, 'sts.txt'), req.stringToSign);
      fs.writeFileSync(join(cwd, 'sig.bin'), sig);
      execFileSync('openssl', ['x509', '-in', join(cwd, 'c.pem'), '-pubkey', '-noout', '-out', join(cwd, 'pub.pem')]);
      expect(execFileSync('openssl', ['dgst', '-sha256', '-verify', join(cwd, 'pub.pem'), '-signature', join(cwd, 'sig.bin'), join(cwd, 'sts.txt')]).toString()).toContain('Verified OK');
      // The checker can fail: one changed byte in the body, the date or the query.
      expect(pythonVerify({ ...req, body: req.body.replace('3600', '3601') }, 'eu-west-2')).toBe('signature does not verify');
      expect(pythonVerify({ ...req, headers: { ...req.headers, 'X-Amz-Date': '20260301T123457Z' } }, 'eu-west-2')).toBe('signature does not verify');
      expect(pythonVerify({ ...req, url: req.url.replace('app', 'ap2') }, 'eu-west-2')).toBe('signature does not verify');
    }
  });

  it.skipIf(!PY_MLDSA).each([['ml-dsa-44'], ['ml-dsa-65'], ['ml-dsa-87']])('%s: AWS4-X509-MLDSA over the StringToSign, verified by Python cryptography\'s ML-DSA; a changed byte does not verify', async (keyType) => {
    const cwd = tempDir('pki-sign-');
    const deps = makeDeps(cwd, { seed: keyType });
    const dir = join(cwd, 'pki');
    const { ok } = pkiIn(dir, deps);
    await ok(['init', '--subject', 'CN=Sign Root', '--no-passphrase']);
    await ok(['issue', '--ca', 'root', '--subject', 'CN=signer', '--key-type', keyType, '--key-out', join(cwd, 'k.pem'), '--out', join(cwd, 'c.pem')]);
    const cert = readCertificate(fs.readFileSync(join(cwd, 'c.pem')), 'c.pem');
    const { key, spki } = loadWorkloadKey(fs.readFileSync(join(cwd, 'k.pem')), 'k.pem');
    expect(spki.equals(cert.spki)).toBe(true);
    const req = signSessionRequest({
      host: 'rolesanywhere.eu-west-2.amazonaws.com',
      region: 'eu-west-2',
      date: new Date('2026-03-01T12:34:56Z'),
      trustAnchorArn: 'arn:aws:rolesanywhere:eu-west-2:111122223333:trust-anchor/8e2c6b1a-2b7e-4f5e-9d4a-0b6d7c5e4f3a',
      profileArn: 'arn:aws:rolesanywhere:eu-west-2:111122223333:profile/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      roleArn: 'arn:aws:iam::111122223333:role/app',
      durationSeconds: 3600,
      certificate: cert.der,
      serialHex: cert.serialHex,
      chain: [],
      key,
    });
    expect(req.stringToSign.startsWith('AWS4-X509-MLDSA\n20260301T123456Z\n20260301/eu-west-2/rolesanywhere/aws4_request\n')).toBe(true);
    const sig = /^AWS4-X509-MLDSA Credential=\d+\/20260301\/eu-west-2\/rolesanywhere\/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature=([0-9a-f]+)$/.exec(req.headers.Authorization!);
    expect(sig).not.toBeNull();
    expect(sig![1]!.length / 2).toBe({ 'ml-dsa-44': 2420, 'ml-dsa-65': 3309, 'ml-dsa-87': 4627 }[keyType]);
    expect(pythonVerify(req, 'eu-west-2')).toBe('OK');
    expect(pythonVerify({ ...req, body: req.body.replace('3600', '3601') }, 'eu-west-2')).toBe('signature does not verify');
    expect(pythonVerify({ ...req, headers: { ...req.headers, Authorization: req.headers.Authorization!.replace('AWS4-X509-MLDSA', 'AWS4-X509-ECDSA-SHA256') } }, 'eu-west-2')).toBe('AWS4-X509-ECDSA-SHA256 for an ML-DSA key');
  });
});
