/**
 * A signature is a BIT STRING of whole octets. OpenSSL refuses one that declares unused bits ("invalid bit string
 * bits left"); so does pki, for CSRs (where it used to accept them and issue), certificates and CRLs. The mutation
 * only changes the unused-bits octet, so the signature bytes still verify: what refuses it is the encoding rule.
 */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { children, readSingle } from '../../src/asn1/der.js';
import { decodePemBlocks } from '../../src/asn1/pem.js';
import { parseCertificate } from '../../src/x509/certificate.js';
import { decodeCrl } from '../../src/x509/crl.js';
import { readCsr } from '../../src/x509/csr.js';
import { cli, fixture, makePki } from '../helpers.js';

/** `der` with its outer SEQUENCE's third element (the signature BIT STRING) declaring `unused` unused bits. */
function withUnusedBits(der: Buffer, unused: number): Buffer {
  const top = readSingle(der);
  const sig = children(top)[2]!;
  const out = Buffer.from(der);
  out[top.contentStart + sig.contentStart] = unused;
  return out;
}

const pemDer = (file: string): Buffer => decodePemBlocks(fs.readFileSync(file, 'utf8'), file)[0]!.der;

describe('a signature BIT STRING with unused bits is refused', () => {
  it('fail/CSR: refused as malformed (it was accepted and its certificate issued); the unmutated CSR reads', () => {
    const der = pemDer(fixture('csr/p256.csr'));
    expect(() => readCsr(der, 'p256.csr')).not.toThrow();
    expect(() => readCsr(withUnusedBits(der, 3), 'p256.csr')).toThrow(/unused bits/);
  });

  it('fail/certificate and CRL made by pki: refused as malformed; openssl refuses the same bytes', async () => {
    const { cwd, dir, deps } = await makePki({ seed: 'signature-bits' });
    const certFile = join(cwd, 'root.pem');
    expect((await cli(['ca', 'export', 'root', '--dir', dir, '--out', certFile], deps)).code).toBe(0);
    const crlFile = join(cwd, 'root.crl');
    expect((await cli(['crl', 'generate', '--dir', dir, '--ca', 'root', '--out', crlFile], deps)).code).toBe(0);
    const cert = pemDer(certFile);
    const crl = pemDer(crlFile);
    expect(() => parseCertificate(cert)).not.toThrow();
    expect(() => decodeCrl(crl, 'root.crl')).not.toThrow();
    expect(() => parseCertificate(withUnusedBits(cert, 1))).toThrow(/unused bits/);
    expect(() => decodeCrl(withUnusedBits(crl, 1), 'root.crl')).toThrow(/unused bits/);
    // The independent check: openssl refuses the mutated certificate's signature as well.
    const mutated = join(cwd, 'mutated.der');
    fs.writeFileSync(mutated, withUnusedBits(cert, 1));
    const r = spawnSync('openssl', ['verify', '-CAfile', certFile, '-inform', 'DER', mutated], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });
});
