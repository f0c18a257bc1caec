/**
 * ML-DSA (FIPS 204) keys for X.509 as profiled by RFC 9881: the id-ml-dsa-44/65/87 OIDs with absent parameters in
 * both the SubjectPublicKeyInfo and the signature AlgorithmIdentifier, the "pure" signature over the whole message
 * with an empty context string, and private keys as PKCS#8 OneAsymmetricKey.
 *
 * Node 20 (OpenSSL 3.0) has no ML-DSA, so keys are raw bytes handled with @noble/post-quantum (audited, pure JS).
 *
 * Private keys: pki WRITES the 32-byte seed form (`ML-DSA-PrivateKey ::= seed [0] IMPLICIT OCTET STRING (SIZE (32))`,
 * RFC 9881 §6, the recommended one) and READS the seed form and the "both" form (SEQUENCE { seed, expandedKey }, the
 * expanded key checked against the seed). The expanded-only form is refused: the public key cannot be recovered
 * from it without the seed and pki keeps no key whose public half it cannot check.
 */
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { DerReader, TAG, bitString, decodeBitString, integer, octetString, oid, readSingle, seq, tlv } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';

export const ML_DSA_KEY_TYPES = ['ml-dsa-44', 'ml-dsa-65', 'ml-dsa-87'] as const;
export type MlDsaKeyType = (typeof ML_DSA_KEY_TYPES)[number];

type Impl = typeof ml_dsa65;

/** Per parameter set: OID, implementation, and the FIPS 204 sizes (bytes). */
export const ML_DSA: Record<MlDsaKeyType, { oid: string; name: string; impl: Impl; publicKeyLength: number; signatureLength: number }> = {
  'ml-dsa-44': { oid: OID.mlDsa44, name: 'id-ml-dsa-44', impl: ml_dsa44, publicKeyLength: 1312, signatureLength: 2420 },
  'ml-dsa-65': { oid: OID.mlDsa65, name: 'id-ml-dsa-65', impl: ml_dsa65, publicKeyLength: 1952, signatureLength: 3309 },
  'ml-dsa-87': { oid: OID.mlDsa87, name: 'id-ml-dsa-87', impl: ml_dsa87, publicKeyLength: 2592, signatureLength: 4627 },
};

export function isMlDsaKeyType(s: string): s is MlDsaKeyType {
  return (ML_DSA_KEY_TYPES as readonly string[]).includes(s);
}

/** The ML-DSA key type an algorithm OID names, if any. */
export function mlDsaTypeForOid(algOid: string): MlDsaKeyType | undefined {
  return ML_DSA_KEY_TYPES.find((t) => ML_DSA[t].oid === algOid);
}

/** An ML-DSA private key: its seed and the key pair FIPS 204 KeyGen derives from it. */
export interface MlDsaPrivateKey {
  readonly keyType: MlDsaKeyType;
  readonly seed: Buffer;
  readonly publicKey: Buffer;
  readonly secretKey: Uint8Array;
}

export function mlDsaFromSeed(keyType: MlDsaKeyType, seed: Uint8Array): MlDsaPrivateKey {
  if (seed.length !== 32) throw new Error(`an ML-DSA seed is 32 bytes, not ${seed.length}`);
  const { publicKey, secretKey } = ML_DSA[keyType].impl.keygen(Uint8Array.from(seed));
  return { keyType, seed: Buffer.from(seed), publicKey: Buffer.from(publicKey), secretKey };
}

export function generateMlDsa(keyType: MlDsaKeyType, randomBytes: (n: number) => Buffer): MlDsaPrivateKey {
  return mlDsaFromSeed(keyType, randomBytes(32));
}

/** The AlgorithmIdentifier of `keyType`, for the SPKI and for signatures alike: the OID alone (RFC 9881 §2). */
export const mlDsaAlgorithmIdentifier = (keyType: MlDsaKeyType): Buffer => seq(oid(ML_DSA[keyType].oid));

/** The DER SubjectPublicKeyInfo (RFC 9881 §4): the raw public key in the BIT STRING. */
export const mlDsaSpki = (keyType: MlDsaKeyType, publicKey: Uint8Array): Buffer => seq(mlDsaAlgorithmIdentifier(keyType), bitString(publicKey));

/** PKCS#8 OneAsymmetricKey v0 holding the seed form of the private key (RFC 9881 §6). */
export const mlDsaPkcs8 = (key: MlDsaPrivateKey): Buffer => seq(integer(0), mlDsaAlgorithmIdentifier(key.keyType), octetString(tlv(0x80, key.seed)));

/** The ML-DSA key type of a DER SPKI and its raw public key; undefined for another algorithm. Throws on a malformed one. */
export function readMlDsaSpki(spki: Buffer): { keyType: MlDsaKeyType; publicKey: Buffer } | undefined {
  const top = DerReader.of(spki, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const alg = top.sequence('algorithm');
  const keyType = mlDsaTypeForOid(alg.oid('algorithm'));
  if (!keyType) return undefined;
  alg.end(); // RFC 9881 §2: parameters MUST be absent.
  const { bytes, unusedBits } = decodeBitString(top.read(TAG.BIT_STRING, 'subjectPublicKey'));
  top.end();
  if (unusedBits !== 0 || bytes.length !== ML_DSA[keyType].publicKeyLength)
    throw new Error(`${keyType} public key of ${bytes.length} bytes (expected ${ML_DSA[keyType].publicKeyLength})`);
  return { keyType, publicKey: bytes };
}

/** The algorithm OID of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey, or undefined when it is not one. */
export function pkcs8AlgorithmOid(der: Buffer): string | undefined {
  try {
    const top = DerReader.of(der, TAG.SEQUENCE, 'PrivateKeyInfo');
    top.read(TAG.INTEGER, 'version');
    return top.sequence('privateKeyAlgorithm').oid('algorithm');
  } catch {
    return undefined;
  }
}

/**
 * Reads an ML-DSA PKCS#8 key (seed or both forms; see the module comment). Throws an Error saying what is wrong; a
 * public key carried in the OneAsymmetricKey must match the one derived from the seed.
 */
export function readMlDsaPkcs8(der: Buffer): MlDsaPrivateKey {
  const top = DerReader.of(der, TAG.SEQUENCE, 'OneAsymmetricKey');
  const version = top.integer('version');
  if (version !== 0n && version !== 1n) throw new Error(`OneAsymmetricKey version ${version} (expected 0 or 1)`);
  const alg = top.sequence('privateKeyAlgorithm');
  const keyType = mlDsaTypeForOid(alg.oid('algorithm'));
  if (!keyType) throw new Error('not an ML-DSA private key');
  alg.end();
  const inner = readSingle(top.read(TAG.OCTET_STRING, 'privateKey').content);
  let key: MlDsaPrivateKey;
  if (inner.tag === 0x80) key = mlDsaFromSeed(keyType, inner.content);
  else if (inner.tag === TAG.SEQUENCE) {
    const both = new DerReader(inner, 'ML-DSA-PrivateKey.both');
    const seed = both.read(TAG.OCTET_STRING, 'seed').content;
    const expanded = both.read(TAG.OCTET_STRING, 'expandedKey').content;
    both.end();
    key = mlDsaFromSeed(keyType, seed);
    if (!Buffer.from(key.secretKey).equals(expanded)) throw new Error('its expanded key does not match its seed');
  } else if (inner.tag === TAG.OCTET_STRING) throw new Error('the expanded-only ML-DSA private key form is not supported (pki reads the seed and both forms)');
  else throw new Error(`unknown ML-DSA private key form (tag 0x${inner.tag.toString(16)})`);
  if (top.optional(0xa0)) {
    /* attributes: ignored */
  }
  const pub = top.optional(0x81);
  top.end();
  if (pub) {
    const bytes = pub.content.subarray(1);
    if (pub.content[0] !== 0 || !key.publicKey.equals(bytes)) throw new Error('its public key does not match its seed');
  }
  return key;
}

/** Pure ML-DSA signature with an empty context (RFC 9881 §3), hedged (fresh randomness per signature). */
export function mlDsaSign(key: MlDsaPrivateKey, data: Uint8Array): Buffer {
  return Buffer.from(ML_DSA[key.keyType].impl.sign(data, key.secretKey));
}

/** Verifies a pure ML-DSA signature with an empty context; false for any failure, never throws. */
export function mlDsaVerify(keyType: MlDsaKeyType, publicKey: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (signature.length !== ML_DSA[keyType].signatureLength) return false;
    return ML_DSA[keyType].impl.verify(signature, data, publicKey);
  } catch {
    return false;
  }
}
