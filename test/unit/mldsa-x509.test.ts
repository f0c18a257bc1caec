/**
 * certificates and CRLs signed with ML-DSA (RFC 9881): the x509 builders with an ML-DSA Signer, checked by
 * independent code: pyca cryptography's ML-DSA verifies the signatures over the raw TBS bytes, openssl 3.0 parses
 * the documents (it cannot verify ML-DSA), and pki's own CRL decoder reads them.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/adapters/keys/file.js';
import { buildCertificate, parseCertificate, signatureAlgorithmFitsKey, verifyCertificateSignature, type Issuer } from '../../src/x509/certificate.js';
import { buildCsr, readCsr, readCsrAsync } from '../../src/x509/csr.js';
import { validatePath } from '../../src/x509/path.js';
import { crlTbsParts, decodeCrl, encodeCrlEntry } from '../../src/x509/crl.js';
import { bitString, children, nullValue, oid, readSingle, seq } from '../../src/asn1/der.js';
import { readMlDsaSpki } from '../../src/crypto/mldsa.js';
import { keyIdentifier } from '../../src/x509/extensions.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import type { Signer } from '../../src/ports/signer.js';
import { cli, makeDeps, tempDir } from '../helpers.js';

const hasPyca = spawnSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { encoding: 'utf8' }).status === 0;
const NOW = new Date('2026-06-01T00:00:00Z');
const LATER = new Date('2027-06-01T00:00:00Z');

const ML_DSA_65_ALG = '300b0609608648016503040312';

function setup(): { dir: string; ks: FileKeyStore } {
  const dir = tempDir();
  fs.mkdirSync(join(dir, 'keys'), { recursive: true });
  return { dir, ks: new FileKeyStore({ baseDir: dir, keysDir: join(dir, 'keys'), iterations: 1000, randomBytes: crypto.randomBytes }) };
}

const issuerOf = (signer: Signer, dn: string): Issuer => ({ name: encodeName(parseDn(dn)), keyId: keyIdentifier(signer.spki), signer });

async function cert(issuer: Issuer, dn: string, spki: Buffer, ca: boolean, serial: number): Promise<Buffer> {
  return buildCertificate(issuer, {
    serial: Buffer.from([serial]),
    notBefore: NOW,
    notAfter: LATER,
    subject: encodeName(parseDn(dn)),
    spki,
    ca,
    keyUsage: ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature'],
    extendedKeyUsage: ca ? [] : ['clientAuth'],
    sans: [],
  });
}

async function crl(issuer: Issuer): Promise<Buffer> {
  const entries = Buffer.concat([encodeCrlEntry('0a', NOW, 1, null), encodeCrlEntry('0b', NOW, null, null)]);
  const parts = crlTbsParts({ algorithmIdentifier: issuer.signer.algorithm.algorithmIdentifier, issuerName: issuer.name, issuerKeyId: issuer.keyId, thisUpdate: NOW, nextUpdate: LATER, crlNumber: 7n }, entries.length);
  const tbs = Buffer.concat([parts.before, entries, parts.after]);
  return seq(tbs, issuer.signer.algorithm.algorithmIdentifier, bitString(await issuer.signer.sign(tbs)));
}

/** pyca: each "kind file issuerSpkiHex" line verified from the document's raw TBS bytes; prints the signature OIDs. */
const PY = `
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ec
for line in sys.stdin.read().split("\\n"):
    if not line: continue
    kind, path, spki = line.split(" ")
    data = open(path, "rb").read()
    doc = x509.load_der_x509_certificate(data) if kind == "cert" else x509.load_der_x509_crl(data)
    tbs = doc.tbs_certificate_bytes if kind == "cert" else doc.tbs_certlist_bytes
    pub = s.load_der_public_key(bytes.fromhex(spki))
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(doc.signature, tbs, ec.ECDSA(doc.signature_hash_algorithm))
    else:
        pub.verify(doc.signature, tbs)
    print(kind, doc.signature_algorithm_oid.dotted_string)
`;

describe('ML-DSA certificates and CRLs', () => {
  it('ok/an ML-DSA-65 root, an ECDSA CA under it, an ML-DSA leaf under that, and an ML-DSA CRL carry id-ml-dsa-65 with absent parameters', async () => {
    const { ks } = setup();
    const root = ks.generate('ml-dsa-65', 'root').signer;
    const rootIssuer = issuerOf(root, 'CN=PQ Root');
    const rootCert = await cert(rootIssuer, 'CN=PQ Root', root.spki, true, 1);
    // Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }: the outer AlgorithmIdentifier is the OID alone.
    expect(rootCert.toString('hex')).toContain(`${ML_DSA_65_ALG}03820cee00`); // BIT STRING of 1 + 3309 bytes
    const list = decodeCrl(await crl(rootIssuer), 'crl');
    expect(list.signatureAlgorithm).toBe('2.16.840.1.101.3.4.3.18');
    expect(list.signature.length).toBe(3309);
  });

  it('ok/certificates, CRLs and path validation verify ML-DSA signatures: ML-DSA root → ECDSA CA → ML-DSA leaf and ECDSA root → ML-DSA CA → ECDSA leaf', async () => {
    const { ks } = setup();
    for (const [rootType, caType, leafType] of [['ml-dsa-65', 'ecdsa-p256', 'ml-dsa-44'], ['ecdsa-p384', 'ml-dsa-87', 'ecdsa-p256']] as const) {
      const root = ks.generate(rootType, `r-${rootType}`).signer;
      const rootIssuer = issuerOf(root, 'CN=Root');
      const rootCert = parseCertificate(await cert(rootIssuer, 'CN=Root', root.spki, true, 1));
      const ca = ks.generate(caType, `c-${caType}`).signer;
      const caIssuer = issuerOf(ca, 'CN=CA');
      const caCert = parseCertificate(await cert(rootIssuer, 'CN=CA', ca.spki, true, 2));
      const leaf = ks.generate(leafType, `l-${leafType}`).signer;
      const leafCert = parseCertificate(await cert(caIssuer, 'CN=workload', leaf.spki, false, 3));
      expect([rootCert.publicKey.kind, caCert.publicKey.kind, leafCert.publicKey.kind]).toEqual([rootType.startsWith('ml') ? rootType : 'ec', caType.startsWith('ml') ? caType : 'ec', leafType.startsWith('ml') ? leafType : 'ec']);
      expect(rootCert.publicKey.keyType).toBe(rootType);
      expect(verifyCertificateSignature(rootCert, rootCert.publicKey)).toBe(true);
      expect(verifyCertificateSignature(caCert, rootCert.publicKey)).toBe(true);
      expect(verifyCertificateSignature(leafCert, caCert.publicKey)).toBe(true);
      // The wrong key, or a flipped TBS byte, does not verify.
      expect(verifyCertificateSignature(caCert, leafCert.publicKey)).toBe(false);
      const tampered = { ...caCert, tbs: Buffer.from(caCert.tbs) };
      tampered.tbs[tampered.tbs.length - 5] = tampered.tbs[tampered.tbs.length - 5]! ^ 1;
      expect(verifyCertificateSignature(tampered, rootCert.publicKey)).toBe(false);
      // CRLs: signed by the CA (ML-DSA in the second chain) listing serial 0a, then the leaf listed.
      const caCrl = decodeCrl(await crl(caIssuer), 'crl');
      expect(caCert.publicKey.verify(caCrl.signatureAlgorithm, caCrl.tbs, caCrl.signature)).toBe(true);
      expect(rootCert.publicKey.verify(caCrl.signatureAlgorithm, caCrl.tbs, caCrl.signature)).toBe(false);
      const ok = validatePath(leafCert, [caCert], [rootCert], [caCrl], { at: NOW, rejectWeakSignatures: true, crlCheck: 'given' });
      expect(ok.ok).toBe(true);
      const revokedLeaf = parseCertificate(await cert(caIssuer, 'CN=revoked', leaf.spki, false, 0x0a));
      const no = validatePath(revokedLeaf, [caCert], [rootCert], [caCrl], { at: NOW, rejectWeakSignatures: true, crlCheck: 'given' });
      expect(no.ok ? 'valid' : no.failure.check).toBe('revoked');
    }
  });

  it('fail/an ML-DSA key of another parameter set, parameters in the SPKI or in the signature AlgorithmIdentifier are refused (RFC 9881 §2-3)', async () => {
    const { ks } = setup();
    const k44 = ks.generate('ml-dsa-44', 'a').signer;
    const k65 = ks.generate('ml-dsa-65', 'b').signer;
    const self = parseCertificate(await cert(issuerOf(k65, 'CN=R'), 'CN=R', k65.spki, true, 1));
    expect(verifyCertificateSignature(self, self.publicKey)).toBe(true);
    // id-ml-dsa-65 signature checked against an ML-DSA-44 key: the algorithm does not fit the key.
    const other = parseCertificate(await cert(issuerOf(k44, 'CN=R'), 'CN=R', k44.spki, true, 1));
    expect(signatureAlgorithmFitsKey(self.signatureAlgorithm, other.publicKey)).toBe(false);
    expect(signatureAlgorithmFitsKey(self.signatureAlgorithm, self.publicKey)).toBe(true);
    expect(verifyCertificateSignature(self, other.publicKey)).toBe(false);
    // SPKI with a NULL parameter: the key verifies nothing and the certificate carries the problem.
    const withParams = seq(seq(oid('2.16.840.1.101.3.4.3.18'), nullValue()), bitString(readMlDsaSpki(k65.spki)!.publicKey));
    expect(withParams.equals(k65.spki)).toBe(false);
    const badKey = parseCertificate(await cert(issuerOf(k65, 'CN=R'), 'CN=P', withParams, false, 2));
    expect(badKey.publicKeyProblem).toMatch(/ml-dsa-65 public key with algorithm parameters/);
    expect(badKey.publicKey.verify(self.signatureAlgorithm, self.tbs, self.signature)).toBe(false);
    expect(validatePath(badKey, [], [self], [], { at: NOW, rejectWeakSignatures: true }).ok).toBe(false);
    // A signature AlgorithmIdentifier with parameters is not a valid certificate.
    const der = await cert(issuerOf(k65, 'CN=R'), 'CN=R', k65.spki, true, 1);
    const alg = Buffer.from(ML_DSA_65_ALG, 'hex');
    const withNull = Buffer.concat([Buffer.from([0x30, 0x0d]), alg.subarray(2), Buffer.from([0x05, 0x00])]);
    // Both AlgorithmIdentifiers (in the TBS and outside it) get a NULL parameter; the lengths are re-encoded.
    const [tbs, , sig] = children(readSingle(der));
    const reencoded = seq(seq(...children(tbs!).map((t) => (t.raw.equals(alg) ? withNull : t.raw))), withNull, sig!.raw);
    expect(() => parseCertificate(reencoded)).toThrow(expect.objectContaining({ code: 'CRYPTO_BAD_CERTIFICATE', message: expect.stringMatching(/RFC 9881/) }));
  });

  it('ok/a CSR with an ML-DSA key is read and its self-signature verified; a tampered one is refused', async () => {
    const { ks } = setup();
    for (const type of ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const) {
      const k = ks.generate(type, `csr-${type}`).signer;
      const der = await buildCsr(encodeName(parseDn(`CN=pq-${type}`)), k, []);
      const csr = readCsr(der, 'req.csr');
      expect(csr.keyType).toBe(type);
      expect(csr.publicKey.kind).toBe(type);
      expect(csr.signatureAlgorithmName).toBe(`id-${type}`);
      expect((await readCsrAsync(der, 'req.csr')).keyType).toBe(type);
      const bad = Buffer.from(der);
      bad[30] = bad[30]! ^ 1;
      expect(() => readCsr(bad, 'req.csr')).toThrow(expect.objectContaining({ code: 'CRYPTO_BAD_CSR_SIGNATURE' }));
    }
  });

  it('ok/pki inspect and pki verify read ML-DSA certificates (no more CRYPTO_UNSUPPORTED_KEY)', async () => {
    const { dir, ks } = setup();
    const root = ks.generate('ml-dsa-65', 'root').signer;
    const rootIssuer = issuerOf(root, 'CN=PQ Root');
    const path = join(dir, 'root.pem');
    fs.writeFileSync(path, toPem('CERTIFICATE', await cert(rootIssuer, 'CN=PQ Root', root.spki, true, 1)));
    const leaf = ks.generate('ml-dsa-44', 'leaf').signer;
    const leafPath = join(dir, 'leaf.pem');
    fs.writeFileSync(leafPath, toPem('CERTIFICATE', await cert(rootIssuer, 'CN=workload', leaf.spki, false, 2)));
    const deps = makeDeps(dir, { now: NOW });
    const ins = await cli(['inspect', path, '--json'], deps);
    expect(ins.code).toBe(0);
    expect(JSON.stringify(ins.json)).toMatch(/ml-dsa-65/);
    const v = await cli(['verify', '--cert', leafPath, '--anchor-bundle', path, '--at', NOW.toISOString(), '--json'], deps);
    expect(v.code, JSON.stringify(v.json)).toBe(0);
    // The leaf re-signed by another ML-DSA-65 key under the same name: exit 11, a signature failure.
    const imposter = ks.generate('ml-dsa-65', 'imposter').signer;
    fs.writeFileSync(leafPath, toPem('CERTIFICATE', await cert(issuerOf(imposter, 'CN=PQ Root'), 'CN=workload', leaf.spki, false, 2)));
    const bad = await cli(['verify', '--cert', leafPath, '--anchor-bundle', path, '--at', NOW.toISOString(), '--json'], deps);
    expect(bad.code).toBe(11);
  });

  it.skipIf(!hasPyca)('interop/pyca verifies ML-DSA and mixed chains (ML-DSA root → ECDSA CA → ML-DSA leaf; ECDSA → ML-DSA) and ML-DSA CRLs from the raw TBS bytes; openssl 3.0 parses them (skipped when pyca has no ML-DSA)', async () => {
    const { dir, ks } = setup();
    const lines: string[] = [];
    const write = (name: string, der: Buffer, kind: 'cert' | 'crl', issuerSpki: Buffer): string => {
      const path = join(dir, name);
      fs.writeFileSync(path, der);
      lines.push(`${kind} ${path} ${issuerSpki.toString('hex')}`);
      return path;
    };
    const files: string[] = [];
    for (const type of ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const) {
      const root = ks.generate(type, `root-${type}`).signer;
      const rootIssuer = issuerOf(root, `CN=Root ${type}`);
      files.push(write(`root-${type}.der`, await cert(rootIssuer, `CN=Root ${type}`, root.spki, true, 1), 'cert', root.spki));
      const ecCa = ks.generate('ecdsa-p256', `ec-${type}`).signer;
      files.push(write(`ec-under-${type}.der`, await cert(rootIssuer, 'CN=EC CA', ecCa.spki, true, 2), 'cert', root.spki));
      const leaf = ks.generate(type, `leaf-${type}`).signer;
      files.push(write(`leaf-${type}.der`, await cert(issuerOf(ecCa, 'CN=EC CA'), 'CN=workload', leaf.spki, false, 3), 'cert', ecCa.spki));
      files.push(write(`crl-${type}.der`, await crl(rootIssuer), 'crl', root.spki));
    }
    const r = spawnSync('python3', ['-c', PY], { input: lines.join('\n'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'cert 2.16.840.1.101.3.4.3.17', 'cert 2.16.840.1.101.3.4.3.17', 'cert 1.2.840.10045.4.3.2', 'crl 2.16.840.1.101.3.4.3.17',
      'cert 2.16.840.1.101.3.4.3.18', 'cert 2.16.840.1.101.3.4.3.18', 'cert 1.2.840.10045.4.3.2', 'crl 2.16.840.1.101.3.4.3.18',
      'cert 2.16.840.1.101.3.4.3.19', 'cert 2.16.840.1.101.3.4.3.19', 'cert 1.2.840.10045.4.3.2', 'crl 2.16.840.1.101.3.4.3.19',
    ]);
    // A flipped TBS byte is refused by pyca (the check above can fail).
    const bad = Buffer.from(fs.readFileSync(files[0]!));
    bad[40] = bad[40]! ^ 1;
    fs.writeFileSync(files[0]!, bad);
    expect(spawnSync('python3', ['-c', PY], { input: lines[0]!, encoding: 'utf8' }).stderr).toMatch(/InvalidSignature/);
    for (const f of files.slice(1)) {
      const what = f.includes('crl-') ? 'crl' : 'x509';
      const o = spawnSync('openssl', [what, '-inform', 'DER', '-in', f, '-noout', '-text'], { encoding: 'utf8' });
      expect(o.status, `${f}: ${o.stderr}`).toBe(0);
      expect(o.stdout).toMatch(/Signature Algorithm/);
    }
    expect(toPem('CERTIFICATE', fs.readFileSync(files[1]!))).toContain('BEGIN CERTIFICATE');
  });
});
