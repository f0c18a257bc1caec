/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7, RFC 5480, RFC 8017) parsed by hand, and imported into a KeyObject via
 * JWK. Measured on this project's machine: createPublicKey from SPKI DER costs ~270 µs (OpenSSL 3's decoder
 * framework) while JWK import costs ~140 µs for P-256 and ~12 µs for RSA-2048; asymmetricKeyDetails adds ~60 µs.
 * On the batch-issuance path, where every CSR carries a new key, that is most of the per-certificate cost.
 */
import * as crypto from 'node:crypto';
import type { KeyType } from '../crypto/keys.js';
import { mlDsaTypeForOid } from '../crypto/mldsa.js';
import { DerReader, TAG, children, decodeBitString, decodeOid, expectTag, readSingle } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';
import { publicKeyFromKeyObject, readMlDsaPublicKey, type PublicKey } from '../crypto/public-key.js';

export interface PublicKeyInfo {
  /** Our key type name, when it is one we know. */
  keyType?: KeyType;
  description: string;
  rsaBits?: number;
  publicKey: PublicKey;
}

const CURVES: Record<string, { keyType: KeyType; crv: string; size: number }> = {
  [OID.secp256r1]: { keyType: 'ecdsa-p256', crv: 'P-256', size: 32 },
  [OID.secp384r1]: { keyType: 'ecdsa-p384', crv: 'P-384', size: 48 },
  [OID.secp521r1]: { keyType: 'ecdsa-p521', crv: 'P-521', size: 66 },
};

const b64url = (b: Buffer): string => b.toString('base64url');

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function bitLength(b: Buffer): number {
  const s = stripZeros(b);
  return s.length === 0 ? 0 : (s.length - 1) * 8 + (32 - Math.clz32(s[0]!));
}

/**
 * Why an SPKI's algorithm parameters are not acceptable, or undefined: RSA keys carry NULL parameters (RFC 3279
 * §2.3.1); EC keys name their curve (RFC 5480 §2.1.1: specifiedCurve and implicitCurve MUST NOT be used — explicit
 * parameters let a certificate describe a curve of its own choosing).
 */
export function publicKeyInfoProblem(spki: Buffer): string | undefined {
  const top = new DerReader(expectTag(readSingle(spki), TAG.SEQUENCE, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo');
  const alg = top.sequence('algorithm');
  top.read(TAG.BIT_STRING, 'subjectPublicKey');
  top.end();
  const algOid = alg.oid('algorithm');
  const params = alg.remaining ? alg.any('parameters') : undefined;
  alg.end();
  if (algOid === OID.rsaEncryption && !(params?.tag === TAG.NULL && params.content.length === 0)) return 'RSA public key without NULL algorithm parameters (RFC 3279 §2.3.1)';
  if (algOid === OID.ecPublicKey && params?.tag !== TAG.OID) return 'EC public key with explicit or implicit curve parameters instead of a named curve (RFC 5480 §2.1.1 forbids them)';
  if (params && mlDsaTypeForOid(algOid)) return `${mlDsaTypeForOid(algOid)} public key with algorithm parameters (RFC 9881 §2: parameters MUST be absent)`;
  return undefined;
}

/** Parses an SPKI and imports its key. Unusual encodings (compressed points, other algorithms) use Node's decoder. */
export function readPublicKeyInfo(spki: Buffer): PublicKeyInfo {
  // ML-DSA (RFC 9881): raw key bytes, never a KeyObject.
  const mlDsa = readMlDsaPublicKey(spki);
  if (mlDsa) return mlDsa.problem ? { description: mlDsa.problem, publicKey: mlDsa.key } : { keyType: mlDsa.key.keyType!, description: mlDsa.key.description, publicKey: mlDsa.key };
  // A key with forbidden parameters gets no key type, so no profile allows it (POLICY_KEY_TYPE_NOT_ALLOWED).
  const problem = publicKeyInfoProblem(spki);
  if (problem) return { description: problem, publicKey: publicKeyFromKeyObject(crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), spki) };
  const [algT, bitsT] = children(expectTag(readSingle(spki), TAG.SEQUENCE, 'SubjectPublicKeyInfo'));
  const [oidT, paramsT] = children(expectTag(algT, TAG.SEQUENCE, 'algorithm'));
  const alg = decodeOid(oidT!);
  const { bytes, unusedBits } = decodeBitString(expectTag(bitsT, TAG.BIT_STRING, 'subjectPublicKey'));
  if (unusedBits === 0) {
    if (alg === OID.ecPublicKey && paramsT?.tag === TAG.OID) {
      const curve = CURVES[decodeOid(paramsT)];
      if (curve && bytes.length === 1 + 2 * curve.size && bytes[0] === 0x04) {
        const x = bytes.subarray(1, 1 + curve.size);
        const y = bytes.subarray(1 + curve.size);
        const publicKey = crypto.createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
        return { keyType: curve.keyType, description: curve.keyType, publicKey: publicKeyFromKeyObject(publicKey, spki) };
      }
    }
    if (alg === OID.rsaEncryption) {
      const [nT, eT] = children(expectTag(readSingle(bytes), TAG.SEQUENCE, 'RSAPublicKey'));
      const n = expectTag(nT, TAG.INTEGER, 'modulus').content;
      const e = expectTag(eT, TAG.INTEGER, 'publicExponent').content;
      const bits = bitLength(n);
      const publicKey = crypto.createPublicKey({ key: { kty: 'RSA', n: b64url(stripZeros(n)), e: b64url(stripZeros(e)) }, format: 'jwk' });
      const kt = `rsa-${bits}`;
      const known = (['rsa-2048', 'rsa-3072', 'rsa-4096'] as const).find((k) => k === kt);
      const pk = publicKeyFromKeyObject(publicKey, spki);
      return known ? { keyType: known, description: known, rsaBits: bits, publicKey: pk } : { description: `RSA ${bits}-bit key`, rsaBits: bits, publicKey: pk };
    }
  }
  // Anything else: let OpenSSL decode it and describe what it is.
  const publicKey = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const kind = publicKey.asymmetricKeyType;
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  const known = Object.values(CURVES).find((c) => ({ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' })[curve ?? ''] === c.crv);
  if (kind === 'ec' && known) return { keyType: known.keyType, description: `${known.keyType} (compressed point)`, publicKey: publicKeyFromKeyObject(publicKey, spki) };
  const description = kind === 'ec' ? `EC key on curve ${curve ?? 'unknown'}` : kind === 'rsa' ? `RSA ${publicKey.asymmetricKeyDetails?.modulusLength} bit key` : `${kind ?? 'unknown'} key`;
  return { description, publicKey: publicKeyFromKeyObject(publicKey, spki) };
}
