/**
 * #23 certificates and CRLs signed with ML-DSA (RFC 9881): the x509 builders with an ML-DSA Signer, checked by
 * independent code: pyca cryptography's ML-DSA verifies the signatures over the raw TBS bytes, openssl 3.0 parses
 * the documents (it cannot verify ML-DSA), and pki's own CRL decoder reads them.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/adapters/keys/file.js';
import { buildCertificate, type Issuer } from '../../src/x509/certificate.js';
import { crlTbsParts, decodeCrl, encodeCrlEntry } from '../../src/x509/crl.js';
import { bitString, seq } from '../../src/asn1/der.js';
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

describe('#23 ML-DSA certificates and CRLs', () => {
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

  it('fail/pki inspect and lint refuse an ML-DSA certificate as an unsupported key (exit 7), not as a malformed certificate', async () => {
    const { dir, ks } = setup();
    const root = ks.generate('ml-dsa-65', 'root').signer;
    const path = join(dir, 'root.pem');
    fs.writeFileSync(path, toPem('CERTIFICATE', await cert(issuerOf(root, 'CN=PQ Root'), 'CN=PQ Root', root.spki, true, 1)));
    const deps = makeDeps(dir);
    for (const argv of [['inspect', path], ['lint', path]]) {
      const r = await cli([...argv, '--json'], deps);
      expect(r.code).toBe(7);
      expect(r.json.error).toMatchObject({ code: 'CRYPTO_UNSUPPORTED_KEY' });
      expect(r.json.error.message).toMatch(/ml-dsa-65 \(ML-DSA, RFC 9881\)/);
    }
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
