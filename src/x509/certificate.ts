/**
 * Certificates: a template-based TBSCertificate encoder (RFC 5280 §4.1) and a parser.
 *
 * The encoder precomputes everything that is constant per issuing CA (version, signature AlgorithmIdentifier,
 * issuer Name bytes copied verbatim from the CA certificate, AKI) so that issuing one certificate is a handful of
 * Buffer concatenations plus one signature.
 */
import * as crypto from 'node:crypto';
import { PkiError } from '../errors.js';
import { signWith, signWithAsync, verifyWith, type SignatureAlgorithm } from '../crypto/keys.js';
import { DerError, TAG, bitString, children, decodeBitString, decodeOid, decodeTime, explicit, expectTag, integer, integerFromBytes, octetString, readSingle, seq, time } from './der.js';
import {
  decodeAuthorityKeyIdentifier,
  decodeBasicConstraints,
  decodeExtKeyUsage,
  decodeExtensions,
  decodeKeyUsage,
  decodeSans,
  decodeSubjectKeyIdentifier,
  encodeAuthorityKeyIdentifier,
  encodeBasicConstraints,
  encodeCrlDistributionPoints,
  encodeExtKeyUsage,
  encodeExtension,
  encodeKeyUsage,
  encodeSans,
  keyIdentifier,
  type Extension,
  type San,
} from './extensions.js';
import { decodeName, formatDn, type Rdns } from './name.js';
import { OID, SIGNATURE_ALGORITHM_NAMES } from './oids.js';
import { readPemOrDer } from './pem.js';

/** What varies per certificate. */
export interface CertificateFields {
  /** Serial number content octets (positive, minimal). */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** Subject Name DER. */
  subject: Buffer;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  ca: boolean;
  pathLen?: number;
  keyUsage: readonly string[];
  extendedKeyUsage: readonly string[];
  sans: readonly San[];
  crlDistributionPoints?: readonly string[];
}

/** The issuing side: constant per CA. */
export interface Issuer {
  /** Issuer Name DER (the CA certificate's subject bytes, verbatim). */
  name: Buffer;
  /** The issuer's subject key identifier (becomes our AKI). */
  keyId: Buffer;
  key: crypto.KeyObject;
  algorithm: SignatureAlgorithm;
}

const VERSION_V3 = explicit(0, integer(2));

/** Builds and signs one certificate; returns its DER. */
export function buildCertificate(issuer: Issuer, f: CertificateFields): Buffer {
  const tbs = buildTbsCertificate(issuer, f);
  return assembleCertificate(issuer, tbs, signWith(issuer.key, issuer.algorithm, tbs));
}

/**
 * {@link buildCertificate} for many certificates at once. RSA signatures (~0.7 ms each) run in libuv's thread pool
 * so both cores sign; ECDSA signatures (~50 µs) are cheaper than a thread-pool round trip and stay on this thread.
 */
export async function buildCertificateAsync(issuer: Issuer, f: CertificateFields): Promise<Buffer> {
  const tbs = buildTbsCertificate(issuer, f);
  const signature = issuer.key.asymmetricKeyType === 'rsa' ? await signWithAsync(issuer.key, issuer.algorithm, tbs) : signWith(issuer.key, issuer.algorithm, tbs);
  return assembleCertificate(issuer, tbs, signature);
}

function assembleCertificate(issuer: Issuer, tbs: Buffer, signature: Buffer): Buffer {
  return seq(tbs, issuer.algorithm.algorithmIdentifier, bitString(signature));
}

/** The DER TBSCertificate for `f` issued by `issuer`. */
export function buildTbsCertificate(issuer: Issuer, f: CertificateFields): Buffer {
  const skid = keyIdentifier(f.spki);
  const exts: Buffer[] = [
    encodeExtension(OID.basicConstraints, true, encodeBasicConstraints(f.ca, f.pathLen)),
    encodeExtension(OID.keyUsage, true, encodeKeyUsage(f.keyUsage)),
  ];
  if (f.extendedKeyUsage.length) exts.push(encodeExtension(OID.extKeyUsage, false, encodeExtKeyUsage(f.extendedKeyUsage)));
  exts.push(encodeExtension(OID.subjectKeyIdentifier, false, octetString(skid)));
  exts.push(encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(issuer.keyId)));
  if (f.sans.length) {
    // RFC 5280 §4.2.1.6: critical when the subject is empty.
    const emptySubject = f.subject.length === 2;
    exts.push(encodeExtension(OID.subjectAltName, emptySubject, encodeSans(f.sans)));
  }
  if (f.crlDistributionPoints?.length) exts.push(encodeExtension(OID.crlDistributionPoints, false, encodeCrlDistributionPoints(f.crlDistributionPoints)));
  return seq(
    VERSION_V3,
    integerFromBytes(f.serial),
    issuer.algorithm.algorithmIdentifier,
    issuer.name,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subject,
    f.spki,
    explicit(3, seq(...exts)),
  );
}

/** A parsed certificate: the fields the toolkit uses, plus raw encodings. */
export interface ParsedCertificate {
  der: Buffer;
  tbs: Buffer;
  version: number;
  serial: Buffer;
  serialHex: string;
  signatureAlgorithm: string;
  signatureAlgorithmName: string;
  issuerDer: Buffer;
  issuer: Rdns;
  issuerDn: string;
  subjectDer: Buffer;
  subject: Rdns;
  subjectDn: string;
  notBefore: Date;
  notAfter: Date;
  /** The DER tags of notBefore and notAfter (UTCTime 0x17, GeneralizedTime 0x18), for encoding checks. */
  validityTags: [number, number];
  spki: Buffer;
  publicKey: crypto.KeyObject;
  extensions: Extension[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: string[];
  extendedKeyUsage?: string[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  sans: San[];
  /** directoryName SANs (x509SAN/Name session tags). */
  sanDirectoryNames: Rdns[];
  signature: Buffer;
}

/** Lowercase hex of serial content octets without a leading 00 pad (the form shown to users). */
export function serialToHex(serial: Buffer): string {
  let s = serial;
  while (s.length > 1 && s[0] === 0) s = s.subarray(1);
  return s.toString('hex');
}

/** Parses a certificate from DER; throws CRYPTO_BAD_CERTIFICATE naming `source`. */
export function parseCertificate(der: Buffer, source = 'certificate'): ParsedCertificate {
  try {
    const top = readSingle(der);
    const [tbsT, algT, sigT] = children(expectTag(top, TAG.SEQUENCE, 'Certificate'));
    const tbsParts = children(expectTag(tbsT, TAG.SEQUENCE, 'TBSCertificate'));
    let i = 0;
    let version = 1;
    if (tbsParts[0]?.tag === 0xa0) {
      version = Number(children(tbsParts[0])[0]!.content[0]) + 1;
      i = 1;
    }
    const serialT = expectTag(tbsParts[i++], TAG.INTEGER, 'serialNumber');
    const innerAlg = expectTag(tbsParts[i++], TAG.SEQUENCE, 'signature');
    const issuerT = expectTag(tbsParts[i++], TAG.SEQUENCE, 'issuer');
    const validity = children(expectTag(tbsParts[i++], TAG.SEQUENCE, 'validity'));
    const subjectT = expectTag(tbsParts[i++], TAG.SEQUENCE, 'subject');
    const spkiT = expectTag(tbsParts[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
    let extensions: Extension[] = [];
    for (; i < tbsParts.length; i++) {
      const t = tbsParts[i]!;
      if (t.tag === 0xa3) extensions = decodeExtensions(children(t)[0]!);
    }
    const sigAlg = decodeOid(children(expectTag(algT, TAG.SEQUENCE, 'signatureAlgorithm'))[0]!);
    if (!innerAlg.raw.equals(algT!.raw)) throw new DerError('signature algorithm in TBSCertificate differs from the outer one', innerAlg.start);
    const issuer = decodeName(issuerT);
    const subject = decodeName(subjectT);
    const ext = (o: string): Extension | undefined => extensions.find((e) => e.oid === o);
    const bc = ext(OID.basicConstraints);
    const ku = ext(OID.keyUsage);
    const eku = ext(OID.extKeyUsage);
    const ski = ext(OID.subjectKeyIdentifier);
    const aki = ext(OID.authorityKeyIdentifier);
    const san = ext(OID.subjectAltName);
    const serial = Buffer.from(serialT.content);
    const spki = Buffer.from(spkiT.raw);
    const out: ParsedCertificate = {
      der,
      tbs: tbsT!.raw,
      version,
      serial,
      serialHex: serialToHex(serial),
      signatureAlgorithm: sigAlg,
      signatureAlgorithmName: SIGNATURE_ALGORITHM_NAMES[sigAlg] ?? sigAlg,
      issuerDer: Buffer.from(issuerT.raw),
      issuer,
      issuerDn: formatDn(issuer),
      subjectDer: Buffer.from(subjectT.raw),
      subject,
      subjectDn: formatDn(subject),
      notBefore: decodeTime(validity[0]!),
      notAfter: decodeTime(validity[1]!),
      validityTags: [validity[0]!.tag, validity[1]!.tag],
      spki,
      publicKey: crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' }),
      extensions,
      ...(san ? (({ sans, directoryNames }) => ({ sans, sanDirectoryNames: directoryNames }))(decodeSans(san.value)) : { sans: [], sanDirectoryNames: [] }),
      signature: decodeBitString(expectTag(sigT, TAG.BIT_STRING, 'signatureValue')).bytes,
    };
    if (bc) out.basicConstraints = decodeBasicConstraints(bc.value);
    if (ku) out.keyUsage = decodeKeyUsage(ku.value);
    if (eku) out.extendedKeyUsage = decodeExtKeyUsage(eku.value);
    if (ski) out.subjectKeyId = decodeSubjectKeyIdentifier(ski.value);
    if (aki) {
      const id = decodeAuthorityKeyIdentifier(aki.value);
      if (id) out.authorityKeyId = id;
    }
    return out;
  } catch (e) {
    if (e instanceof PkiError && e.code.startsWith('CRYPTO_BAD_CERT')) throw e;
    throw new PkiError('CRYPTO_BAD_CERTIFICATE', `${source}: not a valid X.509 certificate (${(e as Error).message})`, { details: { file: source }, cause: e });
  }
}

/** Reads a certificate file's bytes (PEM or DER) and parses it. */
export function readCertificate(data: Buffer, source: string): ParsedCertificate {
  return parseCertificate(readPemOrDer(data, ['CERTIFICATE'], source), source);
}

/** Verifies `cert`'s signature with `issuerKey` (any algorithm Node supports). */
export function verifyCertificateSignature(cert: ParsedCertificate, issuerKey: crypto.KeyObject): boolean {
  const hash = hashForSignatureOid(cert.signatureAlgorithm);
  return hash !== undefined && verifyWith(issuerKey, hash, cert.tbs, cert.signature);
}

/** Hash for the signature algorithms we verify; undefined for unsupported ones. */
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

/** True for signature algorithms Roles Anywhere rejects (reference §1.2: MD5 and SHA-1). */
export function isWeakSignatureOid(sigOid: string): boolean {
  return sigOid === OID.ecdsaWithSha1 || sigOid === OID.sha1WithRsa || sigOid === OID.md5WithRsa || sigOid === '1.2.840.10040.4.3';
}
