#!/usr/bin/env node
/**
 * ML-DSA (FIPS 204, RFC 9881) costs, measured with pki's own code (dist/): `node bench/mldsa.mjs`, or the "mldsa"
 * section of `npm run bench`. Prints Markdown tables:
 *
 * 1. sign / verify / keygen per second for ml-dsa-44/65/87 (single thread, a 1,200-byte message: a TBSCertificate's
 *    size), against P-256 with Node's crypto, each timed for MLDSA_SECONDS (default 1) after a warm-up;
 * 2. DER sizes of certificates (a self-signed CA, a workload under a CA of the same type, mixed chains), of an empty
 *    CRL, and the header bytes of a signed CreateSession request (leaf, and leaf plus its issuing CA as
 *    X-Amz-X509-Chain);
 * 3. CRLs of 10,000 entries (16-byte random serials, as pki issues them; with and without a reason code) built with
 *    pki's streaming CRL encoder and signed by ML-DSA-65 and by P-256: DER and PEM bytes against the 300,000-byte
 *    ImportCrl budget, and the largest entry count that fits, found by encoding (not by arithmetic).
 */
import * as crypto from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const lib = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);

/** The section entry point of bench/run.mjs: details only, no summary row. */
export async function run() {
  await benchMlDsa();
  return [];
}

export async function benchMlDsa({ log = (s) => process.stderr.write(`${s}\n`), print = (s) => console.log(s) } = {}) {
  const { ML_DSA, ML_DSA_KEY_TYPES, generateMlDsa, mlDsaSign, mlDsaVerify } = await lib('crypto/mldsa.js');
  const { generateWorkloadKey, loadWorkloadKey } = await lib('adapters/keys/file.js');
  const { buildCertificate } = await lib('x509/certificate.js');
  const { crlTbsParts, encodeCrlEntry, pemLength } = await lib('x509/crl.js');
  const { bitString, seq } = await lib('asn1/der.js');
  const { keyIdentifier } = await lib('x509/extensions.js');
  const { encodeName, parseDn } = await lib('x509/name.js');
  const { signSessionRequest } = await lib('aws/x509-signer.js');
  const { CRL_DATA_MAX_BYTES } = await lib('domain/roles-anywhere.js');
  const SECONDS = Number(process.env.MLDSA_SECONDS ?? 1);
  const fmt = (n) => Math.round(n).toLocaleString('en-US');

  /** Operations per second of `fn`, over SECONDS after a short warm-up. */
  const rate = (fn) => {
    for (let i = 0; i < 3; i++) fn();
    let n = 0;
    const t0 = process.hrtime.bigint();
    const limit = BigInt(Math.round(SECONDS * 1e9));
    while (process.hrtime.bigint() - t0 < limit) {
      fn();
      n++;
    }
    return n / (Number(process.hrtime.bigint() - t0) / 1e9);
  };

  // 1. Speed.
  log('bench: ML-DSA sign/verify/keygen');
  const msg = crypto.randomBytes(1200);
  const rows = [];
  for (const type of ML_DSA_KEY_TYPES) {
    const key = generateMlDsa(type, crypto.randomBytes);
    const sig = mlDsaSign(key, msg);
    if (!mlDsaVerify(type, key.publicKey, msg, sig)) throw new Error(`${type}: own signature does not verify`);
    rows.push([type, fmt(rate(() => mlDsaSign(key, msg))), fmt(rate(() => mlDsaVerify(type, key.publicKey, msg, sig))), fmt(rate(() => generateMlDsa(type, crypto.randomBytes))), fmt(ML_DSA[type].publicKeyLength), fmt(ML_DSA[type].signatureLength)]);
  }
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecSig = crypto.sign('sha256', msg, ec.privateKey);
  rows.push(['ecdsa-p256 (Node)', fmt(rate(() => crypto.sign('sha256', msg, ec.privateKey))), fmt(rate(() => crypto.verify('sha256', msg, ec.publicKey, ecSig))), fmt(rate(() => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }))), '65', '~72']);
  print(`\nML-DSA speed (single thread, 1,200-byte message, @noble/post-quantum; ${SECONDS} s per figure)\n`);
  print('| key type | sign/s | verify/s | keygen/s | public key (B) | signature (B) |');
  print('|---|---|---|---|---|---|');
  for (const r of rows) print(`| ${r.join(' | ')} |`);

  // 2. Sizes of certificates, CRLs and CreateSession headers.
  log('bench: ML-DSA certificate, CRL and request sizes');
  const NOW = new Date('2026-06-01T00:00:00Z');
  const LATER = new Date('2027-06-01T00:00:00Z');
  const key = (type) => generateWorkloadKey(type, crypto.randomBytes);
  const issuerOf = (k, dn) => ({ name: encodeName(parseDn(dn)), keyId: keyIdentifier(k.signer.spki), signer: k.signer });
  const cert = (issuer, dn, spki, ca) =>
    buildCertificate(issuer, {
      serial: crypto.randomBytes(16).map((b, i) => (i === 0 ? (b & 0x7f) | 0x01 : b)),
      notBefore: NOW,
      notAfter: LATER,
      subject: encodeName(parseDn(dn)),
      spki,
      ca,
      keyUsage: ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature'],
      extendedKeyUsage: ca ? [] : ['clientAuth'],
      sans: ca ? [] : [{ type: 'dns', value: 'app-01.example.com' }],
    });
  const crlOf = async (issuer, entries) => {
    const parts = crlTbsParts({ algorithmIdentifier: issuer.signer.algorithm.algorithmIdentifier, issuerName: issuer.name, issuerKeyId: issuer.keyId, thisUpdate: NOW, nextUpdate: LATER, crlNumber: 1n }, entries.length);
    const tbs = Buffer.concat([parts.before, entries, parts.after]);
    return seq(tbs, issuer.signer.algorithm.algorithmIdentifier, bitString(await issuer.signer.sign(tbs)));
  };
  const headerBytes = (leafKey, leafDer, chain) => {
    const { key: requestKey } = loadWorkloadKey(leafKey.privateKeyPem(), 'bench key');
    const req = signSessionRequest({
      host: 'rolesanywhere.us-east-1.amazonaws.com',
      region: 'us-east-1',
      date: NOW,
      trustAnchorArn: 'arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/8e2c6b1a-2b7e-4f5e-9d4a-0b6d7c5e4f3a',
      profileArn: 'arn:aws:rolesanywhere:us-east-1:123456789012:profile/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      roleArn: 'arn:aws:iam::123456789012:role/app',
      durationSeconds: 3600,
      certificate: leafDer,
      serialHex: '01',
      chain,
      key: requestKey,
    });
    return Object.entries(req.headers).reduce((n, [k, v]) => n + k.length + 2 + v.length + 2, 0);
  };
  const sizeRows = [];
  for (const [caType, leafType] of [['ml-dsa-44', 'ml-dsa-44'], ['ml-dsa-65', 'ml-dsa-65'], ['ml-dsa-87', 'ml-dsa-87'], ['ecdsa-p256', 'ml-dsa-65'], ['ml-dsa-65', 'ecdsa-p256'], ['ecdsa-p256', 'ecdsa-p256']]) {
    const ca = key(caType);
    const caIssuer = issuerOf(ca, 'CN=Example Issuing CA,O=Example');
    const caDer = await cert(caIssuer, 'CN=Example Issuing CA,O=Example', ca.signer.spki, true);
    const leaf = key(leafType);
    const leafDer = await cert(caIssuer, 'CN=app-01,OU=payments,O=Example', leaf.signer.spki, false);
    const emptyCrl = await crlOf(caIssuer, Buffer.alloc(0));
    sizeRows.push([`${caType} CA → ${leafType} leaf`, fmt(caDer.length), fmt(leafDer.length), fmt(emptyCrl.length), fmt(pemLength(emptyCrl.length)), fmt(headerBytes(leaf, leafDer, [])), fmt(headerBytes(leaf, leafDer, [caDer]))]);
  }
  print('\nSizes (bytes; CA self-signed, workload leaf with one DNS SAN; headers of a signed CreateSession request)\n');
  print('| chain | CA certificate (DER) | leaf certificate (DER) | empty CRL (DER) | empty CRL (PEM) | request headers | request headers with X-Amz-X509-Chain |');
  print('|---|---|---|---|---|---|---|');
  for (const r of sizeRows) print(`| ${r.join(' | ')} |`);

  // 3. A 10,000-entry CRL against the ImportCrl budget.
  log('bench: 10,000-entry CRLs');
  const serials = Array.from({ length: 20_000 }, () => crypto.randomBytes(16).map((b, i) => (i === 0 ? (b & 0x7f) | 0x01 : b)).toString('hex'));
  const entries = (n, reason) => Buffer.concat(serials.slice(0, n).map((s) => encodeCrlEntry(s, NOW, reason, null)));
  const crlRows = [];
  for (const type of ['ml-dsa-65', 'ecdsa-p256']) {
    const issuer = issuerOf(key(type), 'CN=Example Issuing CA,O=Example');
    for (const reason of [null, 1]) {
      const der = await crlOf(issuer, entries(10_000, reason));
      const pem = pemLength(der.length);
      // The largest entry count whose signed PEM fits the budget, found by encoding and signing.
      let lo = 0;
      let hi = 10_000;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (pemLength((await crlOf(issuer, entries(mid, reason))).length) <= CRL_DATA_MAX_BYTES) lo = mid;
        else hi = mid - 1;
      }
      crlRows.push([type, reason === null ? 'no' : 'keyCompromise', fmt(der.length), fmt(pem), `${((100 * pem) / CRL_DATA_MAX_BYTES).toFixed(0)}%`, pem <= CRL_DATA_MAX_BYTES ? 'yes' : 'no', fmt(lo)]);
    }
  }
  print(`\nA CRL of 10,000 entries (16-byte serials) against the ${fmt(CRL_DATA_MAX_BYTES)}-byte ImportCrl budget (PEM)\n`);
  print('| signed with | reason code | DER bytes | PEM bytes | of the budget | fits | most entries that fit |');
  print('|---|---|---|---|---|---|---|');
  for (const r of crlRows) print(`| ${r.join(' | ')} |`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchMlDsa();
