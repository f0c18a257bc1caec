/** ML-DSA keys (FIPS 204, RFC 9881) behind the Signer/KeyStore port: seed-form PKCS#8, PBES2 at rest, pure signatures. */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileKeyStore } from '../../src/adapters/keys/file.js';
import { ML_DSA, ML_DSA_KEY_TYPES, mlDsaFromSeed, mlDsaVerify, readMlDsaSpki } from '../../src/crypto/mldsa.js';
import { decodePemBlocks, toPem } from '../../src/asn1/pem.js';
import { tempDir } from '../helpers.js';

function store(dir: string): FileKeyStore {
  fs.mkdirSync(join(dir, 'keys'), { recursive: true });
  return new FileKeyStore({ baseDir: dir, keysDir: join(dir, 'keys'), iterations: 10_000, randomBytes: crypto.randomBytes });
}

const OID_HEX = { 'ml-dsa-44': '0609608648016503040311', 'ml-dsa-65': '0609608648016503040312', 'ml-dsa-87': '0609608648016503040313' };

const pyca = spawnSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { encoding: 'utf8' });
const hasPyca = pyca.status === 0;

describe('ML-DSA keys in the file key store', () => {
  it('ok/each parameter set generates, signs (pure, verifiable), stores encrypted 0600 or plain, and opens to the same key', async () => {
    const dir = tempDir();
    const ks = store(dir);
    const data = Buffer.from('tbs bytes');
    for (const type of ML_DSA_KEY_TYPES) {
      const key = ks.generate(type, `ca-${type}`);
      expect(key.signer.keyType).toBe(type);
      // SPKI: SEQUENCE { SEQUENCE { OID } (parameters absent), BIT STRING raw key } (RFC 9881 §4)
      expect(key.signer.spki.toString('hex')).toContain(`300b${OID_HEX[type]}03`);
      expect(readMlDsaSpki(key.signer.spki)?.publicKey.length).toBe(ML_DSA[type].publicKeyLength);
      expect(key.signer.algorithm.algorithmIdentifier.toString('hex')).toBe(`300b${OID_HEX[type]}`);
      expect(key.signer.algorithm.hash).toBeNull();
      const sig = await key.signer.sign(data);
      expect(sig.length).toBe(key.signer.maxSignatureLength);
      const pub = readMlDsaSpki(key.signer.spki)!.publicKey;
      expect(mlDsaVerify(type, pub, data, sig)).toBe(true);
      expect(mlDsaVerify(type, pub, Buffer.from('other bytes'), sig)).toBe(false);

      const path = key.persist('correct horse');
      expect(fs.statSync(path).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
      const opened = await ks.open(path, 'correct horse', 'x');
      expect(opened.spki.equals(key.signer.spki)).toBe(true);
      expect(opened.keyType).toBe(type);
      expect(mlDsaVerify(type, pub, data, await opened.sign(data))).toBe(true);
      await expect(ks.open(path, 'wrong', 'x')).rejects.toMatchObject({ code: 'CRYPTO_BAD_PASSPHRASE' });
      await expect(ks.open(path, async () => undefined, 'x')).rejects.toMatchObject({ code: 'CRYPTO_PASSPHRASE_REQUIRED' });
      expect(ks.checkKeyData(fs.readFileSync(path), key.signer.spki)).toBeUndefined();

      const plain = ks.generate(type, `plain-${type}`);
      const plainPath = plain.persist(undefined);
      expect((await ks.open(plainPath, undefined, 'p')).spki.equals(plain.signer.spki)).toBe(true);
      expect(ks.checkKeyData(fs.readFileSync(plainPath), plain.signer.spki)).toBeUndefined();
      expect(ks.checkKeyData(fs.readFileSync(plainPath), key.signer.spki)).toMatch(/does not match/);
    }
  });

  it('ok/the private key is written in the RFC 9881 seed form (54-byte OneAsymmetricKey) and the both form is read', async () => {
    const dir = tempDir();
    const ks = store(dir);
    const path = ks.generate('ml-dsa-65', 'seed').persist(undefined);
    const [block] = decodePemBlocks(fs.readFileSync(path, 'utf8'), 'key');
    expect(block!.label).toBe('PRIVATE KEY');
    const der = block!.der;
    expect(der.length).toBe(54);
    expect(der.subarray(0, 22).toString('hex')).toBe(`3034020100300b${OID_HEX['ml-dsa-65']}04228020`);
    const seed = der.subarray(22);
    const k = mlDsaFromSeed('ml-dsa-65', seed);
    // both form: SEQUENCE { OCTET STRING seed, OCTET STRING expandedKey }
    const both = (expanded: Uint8Array): Buffer => {
      const sk = Buffer.from(expanded);
      const inner = Buffer.concat([Buffer.from('0420', 'hex'), seed, Buffer.from([0x04, 0x82, sk.length >> 8, sk.length & 0xff]), sk]);
      const seqHdr = Buffer.from([0x30, 0x82, inner.length >> 8, inner.length & 0xff]);
      const os = Buffer.concat([Buffer.from([0x04, 0x82, (inner.length + 4) >> 8, (inner.length + 4) & 0xff]), seqHdr, inner]);
      const body = Buffer.concat([Buffer.from('020100', 'hex'), Buffer.from(`300b${OID_HEX['ml-dsa-65']}`, 'hex'), os]);
      return Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body]);
    };
    const bothPath = join(dir, 'both.pem');
    fs.writeFileSync(bothPath, toPem('PRIVATE KEY', both(k.secretKey)));
    expect((await ks.open(bothPath, undefined, 'b')).spki.equals((await ks.open(path, undefined, 's')).spki)).toBe(true);
    const tampered = Buffer.from(k.secretKey);
    tampered[100] = tampered[100]! ^ 1;
    fs.writeFileSync(bothPath, toPem('PRIVATE KEY', both(tampered)));
    await expect(ks.open(bothPath, undefined, 'b')).rejects.toMatchObject({ code: 'CRYPTO_BAD_KEY', message: expect.stringMatching(/expanded key does not match/) });
    // expanded-only form: refused with a clear message
    const sk = Buffer.from(k.secretKey);
    const inner = Buffer.concat([Buffer.from([0x04, 0x82, sk.length >> 8, sk.length & 0xff]), sk]);
    const body = Buffer.concat([Buffer.from('020100', 'hex'), Buffer.from(`300b${OID_HEX['ml-dsa-65']}`, 'hex'), Buffer.from([0x04, 0x82, inner.length >> 8, inner.length & 0xff]), inner]);
    fs.writeFileSync(bothPath, toPem('PRIVATE KEY', Buffer.concat([Buffer.from([0x30, 0x82, body.length >> 8, body.length & 0xff]), body])));
    await expect(ks.open(bothPath, undefined, 'b')).rejects.toMatchObject({ code: 'CRYPTO_BAD_KEY', message: expect.stringMatching(/expanded-only/) });
  });

  it('ok/classic CA keys still open through the PBES2 decoder (ECDSA and RSA, encrypted)', async () => {
    const dir = tempDir();
    const ks = store(dir);
    for (const type of ['ecdsa-p384', 'rsa-2048'] as const) {
      const key = ks.generate(type, type);
      const opened = await ks.open(key.persist('pw'), 'pw', type);
      expect(opened.spki.equals(key.signer.spki)).toBe(true);
      expect(opened.keyType).toBe(type);
    }
  });

  it.skipIf(!hasPyca)('interop/pyca cryptography reads the seed-form key and the SPKI, and verifies pki\'s ML-DSA signature (skipped when pyca has no ML-DSA)', async () => {
    const dir = tempDir();
    const ks = store(dir);
    for (const type of ML_DSA_KEY_TYPES) {
      const key = ks.generate(type, type);
      const path = key.persist(undefined);
      const data = Buffer.from(`message for ${type}`);
      const sig = await key.signer.sign(data);
      const script = [
        'import sys',
        'from cryptography.hazmat.primitives import serialization as s',
        'priv = s.load_pem_private_key(open(sys.argv[1], "rb").read(), None)',
        'pub = s.load_der_public_key(bytes.fromhex(sys.argv[2]))',
        'assert priv.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo) == bytes.fromhex(sys.argv[2])',
        'pub.verify(bytes.fromhex(sys.argv[4]), bytes.fromhex(sys.argv[3]))',
        'print(type(pub).__name__)',
      ].join('\n');
      const r = spawnSync('python3', ['-c', script, path, key.signer.spki.toString('hex'), data.toString('hex'), sig.toString('hex')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toMatch(new RegExp(`MLDSA${type.slice(-2)}PublicKey`));
    }
  });
});
