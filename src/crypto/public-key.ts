/**
 * A certificate's or CSR's public key, whatever its algorithm: RSA, EC, DSA and EdDSA keys are Node KeyObjects;
 * ML-DSA keys (FIPS 204, RFC 9881) are raw bytes checked with @noble/post-quantum, because Node 20 (OpenSSL 3.0)
 * cannot hold them. Every signature check of the toolkit (certificates, CRLs, CSRs, path validation) goes through
 * {@link PublicKey.verify}, which takes the signature algorithm OID and refuses an algorithm that does not belong to
 * the key's type.
 */
import * as crypto from 'node:crypto';
import type { KeyType } from './keys.js';
import { ML_DSA, mlDsaTypeForOid, mlDsaVerify, type MlDsaKeyType } from './mldsa.js';
import { DerReader, TAG, decodeBitString } from '../asn1/der.js';
import { OID } from '../asn1/oids.js';

/** The key's algorithm: Node's asymmetricKeyType for classical keys ('rsa', 'ec', 'dsa', 'ed25519'...), or the ML-DSA parameter set. */
export type PublicKeyKind = MlDsaKeyType | 'rsa' | 'rsa-pss' | 'ec' | 'dsa' | 'ed25519' | 'ed448' | 'unknown';

export interface PublicKey {
  readonly kind: PublicKeyKind;
  /** The DER SubjectPublicKeyInfo as it was read. */
  readonly spki: Buffer;
  /** Our key type name (`--key-type`), when it is one we know. */
  readonly keyType: KeyType | undefined;
  /** A short description: the key type name, or what the key is ("RSA 1024-bit key", "EC key on curve ..."). */
  readonly description: string;
  readonly rsaBits: number | undefined;
  /** The EC curve in OpenSSL's naming (prime256v1, secp384r1...). */
  readonly namedCurve: string | undefined;
  /** The Node key, for the algorithms Node implements; undefined for ML-DSA. */
  readonly keyObject: crypto.KeyObject | undefined;
  /** The SPKI in canonical DER (Node's re-encoding for classical keys), to compare keys. */
  canonicalSpki(): Buffer;
  /** Verifies `signature` over `data` under the signature algorithm `sigOid`; false for any failure, never throws. */
  verify(sigOid: string, data: Uint8Array, signature: Uint8Array): boolean;
  /** The same; classical keys verify in libuv's thread pool. */
  verifyAsync(sigOid: string, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** Hash for the classical signature algorithms we verify; undefined for the others (ML-DSA has none: it is pure). */
export function hashForSignatureOid(sigOid: string): string | undefined {
  switch (sigOid) {
    case OID.ecdsaWithSha256:
    case OID.sha256WithRsa:
      return 'sha256';
    case OID.ecdsaWithSha384:
    case OID.sha384WithRsa:
      return 'sha384';
    case OID.ecdsaWithSha512:
    case OID.sha512WithRsa:
      return 'sha512';
    case OID.ecdsaWithSha1:
    case OID.sha1WithRsa:
    case '1.2.840.10040.4.3': // dsa-with-SHA1 (read for other tools' certificates; never issued)
      return 'sha1';
    case '2.16.840.1.101.3.4.3.2': // dsa-with-SHA256
      return 'sha256';
    case OID.md5WithRsa:
      return 'md5';
    default:
      return undefined;
  }
}

/** True when pki can verify signatures of this algorithm (a classical one with a known hash, or ML-DSA). */
export function isSupportedSignatureOid(sigOid: string): boolean {
  return hashForSignatureOid(sigOid) !== undefined || mlDsaTypeForOid(sigOid) !== undefined;
}

/** The key kind a signature algorithm needs: ECDSA OIDs EC keys, RSA PKCS#1 RSA keys, DSA DSA keys, id-ml-dsa-N that parameter set. */
function familyOf(sigOid: string): PublicKeyKind | undefined {
  const mlDsa = mlDsaTypeForOid(sigOid);
  if (mlDsa) return mlDsa;
  if (sigOid.startsWith('1.2.840.10045.4.')) return 'ec';
  if (sigOid.startsWith('1.2.840.113549.1.1.')) return 'rsa';
  if (sigOid.startsWith('1.2.840.10040.4.') || sigOid.startsWith('2.16.840.1.101.3.4.3.')) return 'dsa';
  return undefined;
}

/**
 * Whether a signature algorithm belongs to the key's type (ECDSA OIDs with EC keys, RSA PKCS#1 OIDs with RSA keys, DSA
 * with DSA, id-ml-dsa-44/65/87 with an ML-DSA key of that parameter set, RFC 9881 §3): a certificate labelled
 * sha256WithRSAEncryption but signed by an EC key is refused, as OpenSSL 3 refuses it.
 */
export function signatureAlgorithmFitsKey(sigOid: string, key: PublicKey): boolean {
  const family = familyOf(sigOid);
  return family !== undefined && key.kind === family;
}

const CURVE_KEY_TYPES: Record<string, KeyType> = { prime256v1: 'ecdsa-p256', secp384r1: 'ecdsa-p384', secp521r1: 'ecdsa-p521' };
const RSA_KEY_TYPES: readonly string[] = ['rsa-2048', 'rsa-3072', 'rsa-4096'];

/** A classical key, held as a Node KeyObject; details are read on first use (asymmetricKeyDetails costs ~60 µs). */
class NodePublicKey implements PublicKey {
  private details?: { keyType: KeyType | undefined; description: string; rsaBits: number | undefined; namedCurve: string | undefined };
  private canonical?: Buffer;
  readonly kind: PublicKeyKind;

  constructor(
    readonly keyObject: crypto.KeyObject,
    readonly spki: Buffer,
  ) {
    this.kind = (keyObject.asymmetricKeyType ?? 'unknown') as PublicKeyKind;
  }

  private describe() {
    if (this.details) return this.details;
    const d = this.keyObject.asymmetricKeyDetails ?? {};
    if (this.kind === 'ec') {
      const curve = d.namedCurve;
      const kt = curve ? CURVE_KEY_TYPES[curve] : undefined;
      this.details = { keyType: kt, description: kt ?? `EC key on curve ${curve ?? 'unknown'}`, rsaBits: undefined, namedCurve: curve };
    } else if (this.kind === 'rsa') {
      const bits = d.modulusLength ?? 0;
      const kt = RSA_KEY_TYPES.includes(`rsa-${bits}`) ? (`rsa-${bits}` as KeyType) : undefined;
      this.details = { keyType: kt, description: kt ?? `RSA ${bits}-bit key`, rsaBits: bits, namedCurve: undefined };
    } else this.details = { keyType: undefined, description: `${this.kind} key`, rsaBits: undefined, namedCurve: undefined };
    return this.details;
  }

  get keyType() {
    return this.describe().keyType;
  }
  get description() {
    return this.describe().description;
  }
  get rsaBits() {
    return this.describe().rsaBits;
  }
  get namedCurve() {
    return this.describe().namedCurve;
  }

  canonicalSpki(): Buffer {
    return (this.canonical ??= this.keyObject.export({ format: 'der', type: 'spki' }));
  }

  verify(sigOid: string, data: Uint8Array, signature: Uint8Array): boolean {
    const hash = hashForSignatureOid(sigOid);
    if (hash === undefined || !signatureAlgorithmFitsKey(sigOid, this)) return false;
    try {
      return crypto.verify(hash, data, this.keyObject, signature);
    } catch {
      return false;
    }
  }

  verifyAsync(sigOid: string, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const hash = hashForSignatureOid(sigOid);
    if (hash === undefined || !signatureAlgorithmFitsKey(sigOid, this)) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        crypto.verify(hash, data, this.keyObject, signature, (err, ok) => resolve(!err && ok));
      } catch {
        resolve(false);
      }
    });
  }
}

/** An ML-DSA key (RFC 9881): raw public key bytes; pure ML-DSA verification with an empty context. */
class MlDsaPublicKey implements PublicKey {
  readonly keyObject = undefined;
  readonly rsaBits = undefined;
  readonly namedCurve = undefined;
  readonly keyType: KeyType;
  readonly description: string;

  /** `usable` is false when the SPKI carries algorithm parameters (RFC 9881 §2: they MUST be absent). */
  constructor(
    readonly kind: MlDsaKeyType,
    readonly spki: Buffer,
    private readonly raw: Buffer,
    private readonly usable: boolean,
  ) {
    this.keyType = kind;
    this.description = kind;
  }

  canonicalSpki(): Buffer {
    return this.spki;
  }

  verify(sigOid: string, data: Uint8Array, signature: Uint8Array): boolean {
    return this.usable && signatureAlgorithmFitsKey(sigOid, this) && mlDsaVerify(this.kind, this.raw, data, signature);
  }

  verifyAsync(sigOid: string, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return Promise.resolve(this.verify(sigOid, data, signature));
  }
}

/** A {@link PublicKey} over a Node KeyObject (public or private: its public half is taken). */
export function publicKeyFromKeyObject(key: crypto.KeyObject, spki?: Buffer): PublicKey {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return new NodePublicKey(pub, spki ?? pub.export({ format: 'der', type: 'spki' }));
}

/**
 * The ML-DSA key of a DER SPKI: undefined when the SPKI is not ML-DSA. Throws when its key has the wrong length.
 * Parameters present (forbidden by RFC 9881 §2) give a key that verifies nothing, and `problem` says why.
 */
export function readMlDsaPublicKey(spki: Buffer): { key: PublicKey; problem?: string } | undefined {
  const top = DerReader.of(spki, TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const alg = top.sequence('algorithm');
  const kind = mlDsaTypeForOid(alg.oid('algorithm'));
  if (!kind) return undefined;
  const hasParameters = alg.remaining > 0;
  if (hasParameters) alg.any('parameters');
  alg.end();
  const { bytes, unusedBits } = decodeBitString(top.read(TAG.BIT_STRING, 'subjectPublicKey'));
  top.end();
  if (unusedBits !== 0 || bytes.length !== ML_DSA[kind].publicKeyLength) throw new Error(`${kind} public key of ${bytes.length} bytes (FIPS 204: ${ML_DSA[kind].publicKeyLength})`);
  const key = new MlDsaPublicKey(kind, spki, Buffer.from(bytes), !hasParameters);
  return hasParameters ? { key, problem: `${kind} public key with algorithm parameters (RFC 9881 §2: parameters MUST be absent)` } : { key };
}

/** Reads a DER SPKI of any algorithm pki knows; throws (Node's or our error) when it cannot be read. */
export function publicKeyFromSpki(spki: Buffer): PublicKey {
  const mlDsa = readMlDsaPublicKey(spki);
  if (mlDsa) return mlDsa.key;
  return new NodePublicKey(crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }), spki);
}

/** True when the DER SubjectPublicKeyInfo `spki` (a Signer's) is `key` (compared in canonical encoding). */
export function spkiIs(spki: Buffer, key: PublicKey): boolean {
  return spki.equals(key.canonicalSpki());
}
