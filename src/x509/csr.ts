/** PKCS#10 certification requests (RFC 2986): parse + verify, and build (for the offline-root CA workflow). */
import { PkiError } from '../errors.js';
import type { KeyType, SignatureAlgorithm } from '../crypto/keys.js';
import { mlDsaTypeForOid } from '../crypto/mldsa.js';
import { isSupportedSignatureOid, type PublicKey } from '../crypto/public-key.js';
import type { Signer } from '../ports/signer.js';
import { readPublicKeyInfo, type PublicKeyInfo } from './spki.js';
import { TAG, bitString, children, decodeSignatureBits, decodeOid, expectTag, integer, oid, readSingle, seq, setOf, tlv } from '../asn1/der.js';
import { decodeExtensions, decodeSans, type Extension, type San } from './extensions.js';
import { decodeName, formatDn, type Rdns } from './name.js';
import { OID, SIGNATURE_ALGORITHM_NAMES } from '../asn1/oids.js';
import { readPemOrDer } from '../asn1/pem.js';
import { isWeakSignatureOid } from './certificate.js';

export interface ParsedCsr {
  source: string;
  subjectDer: Buffer;
  subject: Rdns;
  subjectDn: string;
  spki: Buffer;
  /** The requested key: RSA, EC (a Node KeyObject inside) or ML-DSA (RFC 9881). */
  publicKey: PublicKey;
  keyType?: KeyType;
  keyDescription: string;
  rsaBits?: number;
  signatureAlgorithm: string;
  signatureAlgorithmName: string;
  requestedExtensions: Extension[];
  sans: San[];
}

/**
 * Parses a CSR (PEM or DER) and verifies its self-signature. Throws:
 * CRYPTO_BAD_CSR (malformed), POLICY_WEAK_SIGNATURE (SHA-1/MD5), CRYPTO_UNSUPPORTED_ALGORITHM,
 * CRYPTO_BAD_CSR_SIGNATURE (the signature does not verify with the CSR's own key). Every message names `source`.
 */
export function readCsr(data: Buffer, source: string): ParsedCsr {
  const u = parseCsr(data, source);
  if (!u.csr.publicKey.verify(u.csr.signatureAlgorithm, u.info, u.signature)) throw badSignature(source);
  return u.csr;
}

/** {@link readCsr} with the signature check in libuv's thread pool (batch issuance keeps both cores busy). */
export async function readCsrAsync(data: Buffer, source: string): Promise<ParsedCsr> {
  const u = parseCsr(data, source);
  if (!(await u.csr.publicKey.verifyAsync(u.csr.signatureAlgorithm, u.info, u.signature))) throw badSignature(source);
  return u.csr;
}

function badSignature(source: string): PkiError {
  return new PkiError('CRYPTO_BAD_CSR_SIGNATURE', `${source}: the CSR's self-signature does not verify (corrupted, or signed with a different key)`, {
    details: { file: source },
  });
}

interface UnverifiedCsr {
  csr: ParsedCsr;
  info: Buffer;
  signature: Buffer;
}

/** Parses and checks everything but the self-signature. */
function parseCsr(data: Buffer, source: string): UnverifiedCsr {
  let der: Buffer;
  try {
    der = readPemOrDer(data, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], source);
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_CSR', (e as Error).message, { details: { file: source }, cause: e });
  }
  let parsed: ParsedCsr & { info: Buffer; signature: Buffer };
  try {
    const [infoT, algT, sigT] = children(expectTag(readSingle(der), TAG.SEQUENCE, 'CertificationRequest'));
    const [versionT, subjectT, spkiT, attrsT] = children(expectTag(infoT, TAG.SEQUENCE, 'CertificationRequestInfo'));
    expectTag(versionT, TAG.INTEGER, 'version');
    if (versionT!.content.length !== 1 || versionT!.content[0] !== 0) throw new Error('version must be 0 (v1)');
    expectTag(subjectT, TAG.SEQUENCE, 'subject');
    expectTag(spkiT, TAG.SEQUENCE, 'subjectPKInfo');
    const [sigOidT, sigParamsT] = children(expectTag(algT, TAG.SEQUENCE, 'signatureAlgorithm'));
    const sigAlg = decodeOid(sigOidT!);
    // RFC 9881 §3: an id-ml-dsa-* AlgorithmIdentifier has no parameters.
    if (sigParamsT && mlDsaTypeForOid(sigAlg)) throw new Error(`${mlDsaTypeForOid(sigAlg)} signatureAlgorithm with parameters (RFC 9881 §3: parameters MUST be absent)`);
    let requestedExtensions: Extension[] = [];
    if (attrsT) {
      if (attrsT.tag !== 0xa0) throw new Error('attributes must be [0]');
      for (const attr of children(attrsT)) {
        const [typeT, valuesT] = children(attr);
        if (decodeOid(typeT!) === OID.extensionRequest) {
          const first = children(expectTag(valuesT, TAG.SET, 'extensionRequest values'))[0];
          if (first) requestedExtensions = decodeExtensions(first);
        }
      }
    }
    const subject = decodeName(subjectT!);
    const spki = Buffer.from(spkiT!.raw);
    let desc: PublicKeyInfo;
    try {
      desc = readPublicKeyInfo(spki);
    } catch (e) {
      throw new Error(`unreadable public key: ${(e as Error).message}`);
    }
    const publicKey = desc.publicKey;
    const sanExt = requestedExtensions.find((e) => e.oid === OID.subjectAltName);
    parsed = {
      source,
      subjectDer: Buffer.from(subjectT!.raw),
      subject,
      subjectDn: formatDn(subject),
      spki,
      publicKey,
      keyDescription: desc.description,
      signatureAlgorithm: sigAlg,
      signatureAlgorithmName: SIGNATURE_ALGORITHM_NAMES[sigAlg] ?? sigAlg,
      requestedExtensions,
      sans: sanExt ? decodeSans(sanExt.value).sans : [],
      info: infoT!.raw,
      signature: decodeSignatureBits(expectTag(sigT, TAG.BIT_STRING, 'signature'), 'signature'),
    };
    if (desc.keyType) parsed.keyType = desc.keyType;
    if (desc.rsaBits) parsed.rsaBits = desc.rsaBits;
  } catch (e) {
    if (e instanceof PkiError && e.code !== 'CRYPTO_BAD_DER') throw e;
    throw new PkiError('CRYPTO_BAD_CSR', `${source}: not a valid PKCS#10 CSR (${(e as Error).message})`, { details: { file: source }, cause: e });
  }
  if (isWeakSignatureOid(parsed.signatureAlgorithm))
    throw new PkiError('POLICY_WEAK_SIGNATURE', `${source}: CSR is signed with ${parsed.signatureAlgorithmName}; SHA-1 and MD5 are refused (Roles Anywhere requires SHA-256 or stronger)`, {
      details: { file: source, signatureAlgorithm: parsed.signatureAlgorithmName },
      hint: 're-create the CSR with -sha256 (openssl req -new -sha256 ...)',
    });
  if (!isSupportedSignatureOid(parsed.signatureAlgorithm))
    throw new PkiError('CRYPTO_UNSUPPORTED_ALGORITHM', `${source}: CSR signature algorithm ${parsed.signatureAlgorithmName} is not supported (use ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512, or ML-DSA)`, {
      details: { file: source, signatureAlgorithm: parsed.signatureAlgorithmName },
    });
  const { info, signature, ...csr } = parsed;
  return { csr, info, signature };
}

/** The DER CertificationRequestInfo for `subjectDer` and `spki`; `extensions` go in an extensionRequest attribute. */
export function buildCsrInfo(subjectDer: Buffer, spki: Buffer, extensions: Buffer[]): Buffer {
  const attrs = extensions.length ? tlv(0xa0, seq(oid(OID.extensionRequest), setOf(seq(...extensions)))) : tlv(0xa0, Buffer.alloc(0));
  return seq(integer(0), subjectDer, spki, attrs);
}

/** A CertificationRequest from its signed info. */
export function assembleCsr(info: Buffer, algorithm: SignatureAlgorithm, signature: Buffer): Buffer {
  return seq(info, algorithm.algorithmIdentifier, bitString(signature));
}

/** Builds a CSR signed by `signer`. `extensions` are DER Extension encodings placed in an extensionRequest attribute. */
export async function buildCsr(subjectDer: Buffer, signer: Signer, extensions: Buffer[]): Promise<Buffer> {
  const info = buildCsrInfo(subjectDer, signer.spki, extensions);
  return assembleCsr(info, signer.algorithm, await signer.sign(info));
}

