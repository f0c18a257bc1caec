/**
 * Certificates: TBSCertificate encoders (RFC 5280 §4.1) and a parser.
 *
 * {@link buildTbsCertificate} encodes any certificate field by field. {@link TbsTemplate} gives the same bytes for
 * the certificates of one issuer that share a validity window and a profile's extensions (a batch): everything but
 * the serial, subject, public key, key identifier and SANs is encoded once, and each certificate is written into one
 * buffer of its computed length.
 */
import { PkiError } from '../errors.js';
import type { Signer } from '../ports/signer.js';
import { DerError, DerReader, TAG, children, decodeBitStringStrict, decodeSignatureBits, decodeOid, decodeSignedInteger, decodeTime, explicit, integer, integerFromBytes, octetString, seq, time, type Tlv } from '../asn1/der.js';
import { serialFromOctets } from '../domain/serial.js';
import { publicKeyInfoProblem } from './spki.js';
import { mlDsaTypeForOid } from '../crypto/mldsa.js';
import { publicKeyFromSpki, type PublicKey } from '../crypto/public-key.js';

export { hashForSignatureOid, isSupportedSignatureOid, signatureAlgorithmFitsKey, type PublicKey } from '../crypto/public-key.js';
import {
  decodeAuthorityKeyIdentifierFull,
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
import { OID, SIGNATURE_ALGORITHM_NAMES } from '../asn1/oids.js';
import { readPemOrDer } from '../asn1/pem.js';

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
  /** The subject key identifier, when already computed: it must be `keyIdentifier(spki)`. */
  subjectKeyId?: Buffer;
}

/** The issuing side: constant per CA. */
export interface Issuer {
  /** Issuer Name DER (the CA certificate's subject bytes, verbatim). */
  name: Buffer;
  /** The issuer's subject key identifier (becomes our AKI). */
  keyId: Buffer;
  /** The CA key, behind the signing port: its algorithm and signatures only. */
  signer: Signer;
}

const VERSION_V3 = explicit(0, integer(2));

/**
 * Builds and signs one certificate; returns its DER. With the file key store, RSA signatures run in libuv's thread
 * pool (many in flight use every core) and ECDSA signatures on this thread (cheaper than a round trip).
 */
export async function buildCertificate(issuer: Issuer, f: CertificateFields): Promise<Buffer> {
  const tbs = tbsTemplateFor(issuer, f).encode(f);
  return assembleCertificate(issuer, tbs, await issuer.signer.sign(tbs));
}

/** The Certificate SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }, written into one buffer. */
export function assembleCertificate(issuer: Issuer, tbs: Buffer, signature: Buffer): Buffer {
  const alg = issuer.signer.algorithm.algorithmIdentifier;
  const bitsLen = signature.length + 1;
  const body = tbs.length + alg.length + headerLength(bitsLen) + bitsLen;
  const out = Buffer.allocUnsafe(headerLength(body) + body);
  let o = writeHeader(out, 0, TAG.SEQUENCE, body);
  o += tbs.copy(out, o);
  o += alg.copy(out, o);
  o = writeHeader(out, o, TAG.BIT_STRING, bitsLen);
  out[o++] = 0;
  signature.copy(out, o);
  return out;
}

/** Octets of a DER tag (one octet) and definite length for `len` content octets. */
function headerLength(len: number): number {
  return len < 0x80 ? 2 : len < 0x100 ? 3 : len < 0x10000 ? 4 : len < 0x1000000 ? 5 : 6;
}

/** Writes a tag and DER length at `o`; returns the offset after them. */
function writeHeader(out: Buffer, o: number, tag: number, len: number): number {
  out[o++] = tag;
  if (len < 0x80) {
    out[o++] = len;
    return o;
  }
  const n = headerLength(len) - 2;
  out[o++] = 0x80 | n;
  for (let k = n - 1; k >= 0; k--) out[o++] = Math.floor(len / 2 ** (8 * k)) & 0xff;
  return o;
}

const EMPTY = Buffer.alloc(0);
/** keyIdentifier()'s length (a truncated SHA-256). */
const KEY_ID_LENGTH = 20;
const sameList = (a: readonly string[] | undefined, b: readonly string[] | undefined): boolean =>
  a === b || ((a?.length ?? 0) === (b?.length ?? 0) && (a ?? []).every((x, i) => x === b![i]));

/**
 * The TBSCertificate encoder for one issuer and the fields a batch shares (validity, CA flag, path length, key
 * usages, CRL distribution points): those are encoded once; {@link encode} adds the serial, subject, public key,
 * subject key identifier and SANs. Its output is byte for byte {@link buildTbsCertificate}'s (tested).
 */
export class TbsTemplate {
  /** [0] version v3. */
  private readonly head: Buffer;
  /** signature AlgorithmIdentifier, issuer Name, Validity. */
  private readonly middle: Buffer;
  /** basicConstraints, keyUsage, extKeyUsage (before the subject key identifier). */
  private readonly extsBefore: Buffer;
  /** The subjectKeyIdentifier extension up to its 20-octet key identifier. */
  private readonly skiPrefix: Buffer;
  /** authorityKeyIdentifier (after the subject key identifier, before the SANs). */
  private readonly extsAfterSki: Buffer;
  /** cRLDistributionPoints (after the SANs). */
  private readonly extsLast: Buffer;
  /** The shared fields (copied), for {@link fits}. */
  private readonly shared: { notBefore: Date; notAfter: Date; ca: boolean; pathLen: number | undefined; keyUsage: readonly string[]; extendedKeyUsage: readonly string[]; crlDistributionPoints: readonly string[] | undefined };

  constructor(
    readonly issuer: Issuer,
    f: Pick<CertificateFields, 'notBefore' | 'notAfter' | 'ca' | 'pathLen' | 'keyUsage' | 'extendedKeyUsage' | 'crlDistributionPoints'>,
  ) {
    this.shared = { notBefore: new Date(f.notBefore.getTime()), notAfter: new Date(f.notAfter.getTime()), ca: f.ca, pathLen: f.pathLen, keyUsage: [...f.keyUsage], extendedKeyUsage: [...f.extendedKeyUsage], crlDistributionPoints: f.crlDistributionPoints ? [...f.crlDistributionPoints] : undefined };
    this.head = VERSION_V3;
    this.middle = Buffer.concat([issuer.signer.algorithm.algorithmIdentifier, issuer.name, seq(time(f.notBefore), time(f.notAfter))]);
    const before = [encodeExtension(OID.basicConstraints, true, encodeBasicConstraints(f.ca, f.pathLen)), encodeExtension(OID.keyUsage, true, encodeKeyUsage(f.keyUsage))];
    if (f.extendedKeyUsage.length) before.push(encodeExtension(OID.extKeyUsage, false, encodeExtKeyUsage(f.extendedKeyUsage)));
    this.extsBefore = Buffer.concat(before);
    const ski = encodeExtension(OID.subjectKeyIdentifier, false, octetString(Buffer.alloc(KEY_ID_LENGTH)));
    this.skiPrefix = ski.subarray(0, ski.length - KEY_ID_LENGTH);
    this.extsAfterSki = encodeExtension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(issuer.keyId));
    this.extsLast = f.crlDistributionPoints?.length ? encodeExtension(OID.crlDistributionPoints, false, encodeCrlDistributionPoints(f.crlDistributionPoints)) : EMPTY;
  }

  /** True when `f` shares this template's issuer-independent constant fields. */
  fits(f: CertificateFields): boolean {
    const s = this.shared;
    return (
      f.notBefore.getTime() === s.notBefore.getTime() &&
      f.notAfter.getTime() === s.notAfter.getTime() &&
      f.ca === s.ca &&
      f.pathLen === s.pathLen &&
      sameList(f.keyUsage, s.keyUsage) &&
      sameList(f.extendedKeyUsage, s.extendedKeyUsage) &&
      sameList(f.crlDistributionPoints, s.crlDistributionPoints)
    );
  }

  /** The DER TBSCertificate for `f` (which must {@link fits} this template). */
  encode(f: CertificateFields): Buffer {
    const skid = f.subjectKeyId ?? keyIdentifier(f.spki);
    if (skid.length !== KEY_ID_LENGTH) return buildTbsCertificate(this.issuer, f);
    // RFC 5280 §4.2.1.6: the SAN extension is critical when the subject is empty.
    const san = f.sans.length ? encodeExtension(OID.subjectAltName, f.subject.length === 2, encodeSans(f.sans)) : EMPTY;
    const extsLen = this.extsBefore.length + this.skiPrefix.length + KEY_ID_LENGTH + this.extsAfterSki.length + san.length + this.extsLast.length;
    const extsSeq = headerLength(extsLen) + extsLen;
    const serialLen = f.serial.length;
    const body = this.head.length + headerLength(serialLen) + serialLen + this.middle.length + f.subject.length + f.spki.length + headerLength(extsSeq) + extsSeq;
    const out = Buffer.allocUnsafe(headerLength(body) + body);
    let o = writeHeader(out, 0, TAG.SEQUENCE, body);
    o += this.head.copy(out, o);
    o = writeHeader(out, o, TAG.INTEGER, serialLen);
    o += f.serial.copy(out, o);
    o += this.middle.copy(out, o);
    o += f.subject.copy(out, o);
    o += f.spki.copy(out, o);
    o = writeHeader(out, o, 0xa3, extsSeq);
    o = writeHeader(out, o, TAG.SEQUENCE, extsLen);
    o += this.extsBefore.copy(out, o);
    o += this.skiPrefix.copy(out, o);
    o += skid.copy(out, o);
    o += this.extsAfterSki.copy(out, o);
    o += san.copy(out, o);
    o += this.extsLast.copy(out, o);
    if (o !== out.length) throw new Error(`TBSCertificate template wrote ${o} of ${out.length} octets`);
    return out;
  }
}

const templates = new WeakMap<Issuer, TbsTemplate>();

/** The template for `issuer` that fits `f`: the last one made for this issuer, or a new one. */
export function tbsTemplateFor(issuer: Issuer, f: CertificateFields): TbsTemplate {
  const t = templates.get(issuer);
  if (t?.fits(f)) return t;
  const made = new TbsTemplate(issuer, f);
  templates.set(issuer, made);
  return made;
}

/** The DER TBSCertificate for `f` issued by `issuer`, encoded field by field. */
export function buildTbsCertificate(issuer: Issuer, f: CertificateFields): Buffer {
  const skid = f.subjectKeyId ?? keyIdentifier(f.spki);
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
    issuer.signer.algorithm.algorithmIdentifier,
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
  /** The subject's public key: RSA, EC... (a Node KeyObject inside) or ML-DSA (RFC 9881). */
  publicKey: PublicKey;
  extensions: Extension[];
  basicConstraints?: { ca: boolean; pathLen?: number };
  keyUsage?: string[];
  extendedKeyUsage?: string[];
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  sans: San[];
  /** directoryName SANs (x509SAN/Name session tags). */
  sanDirectoryNames: Rdns[];
  /** SAN name forms this toolkit does not interpret (otherName, x400Address, ediPartyName, registeredID), by form. */
  sanOthers: string[];
  /** AKI authorityCertIssuer (GeneralNames DER) / authorityCertSerialNumber (canonical serial), when present. */
  authorityCertIssuerSerial?: { issuer?: Buffer | undefined; serial?: string | undefined };
  /** Why the public key is not acceptable (RFC 5480 explicit curve parameters, RSA without NULL parameters...). */
  publicKeyProblem?: string;
  signature: Buffer;
}

/** The canonical serial form ({@link serialFromOctets}): lowercase hex of the value, no leading 00 pad. */
export function serialToHex(serial: Buffer): string {
  return serialFromOctets(serial);
}

const ALGORITHM_IDENTIFIER = (r: DerReader, field: string): Tlv => {
  const t = r.read(TAG.SEQUENCE, field);
  const a = new DerReader(t, field);
  const algOid = a.oid('algorithm');
  if (a.remaining) {
    const p = a.any('parameters');
    const mlDsa = mlDsaTypeForOid(algOid);
    if (mlDsa) throw new DerError(`${mlDsa} ${field} with parameters (RFC 9881 §3: parameters MUST be absent)`, p.start);
  }
  a.end();
  return t;
};

/** Parses a certificate from DER; throws CRYPTO_BAD_CERTIFICATE naming `source`. */
export function parseCertificate(der: Buffer, source = 'certificate'): ParsedCertificate {
  try {
    // RFC 5280 §4.1, read strictly: every field in order, each once, nothing unknown after the last.
    const top = DerReader.of(der, TAG.SEQUENCE, 'Certificate');
    const tbsT = top.read(TAG.SEQUENCE, 'tbsCertificate');
    const algT = ALGORITHM_IDENTIFIER(top, 'signatureAlgorithm');
    const sigT = top.read(TAG.BIT_STRING, 'signatureValue');
    top.end();
    const tbs = new DerReader(tbsT, 'TBSCertificate');
    let version = 1;
    const versionT = tbs.optional(0xa0);
    if (versionT) {
      const v = new DerReader(versionT, 'version');
      const n = v.integer('version');
      v.end();
      // Version ::= INTEGER { v1(0), v2(1), v3(2) } DEFAULT v1: an explicit v1 is not DER (X.690 §11.5).
      if (n !== 1n && n !== 2n) throw new DerError(n === 0n ? 'version v1 encoded explicitly (DEFAULT v1 must be omitted)' : `unknown version ${n}`, versionT.start);
      version = Number(n) + 1;
    }
    const serialT = tbs.read(TAG.INTEGER, 'serialNumber');
    decodeSignedInteger(serialT); // minimal encoding
    const innerAlg = ALGORITHM_IDENTIFIER(tbs, 'signature');
    const issuerT = tbs.read(TAG.SEQUENCE, 'issuer');
    const validityR = tbs.sequence('validity');
    const notBeforeT = validityR.any('notBefore');
    const notAfterT = validityR.any('notAfter');
    validityR.end();
    const subjectT = tbs.read(TAG.SEQUENCE, 'subject');
    const spkiT = tbs.read(TAG.SEQUENCE, 'subjectPublicKeyInfo');
    // issuerUniqueID [1] / subjectUniqueID [2] (v2, v3 only), extensions [3] (v3 only).
    for (const [tag, name, min] of [[0x81, 'issuerUniqueID', 2], [0x82, 'subjectUniqueID', 2]] as const) {
      const u = tbs.optional(tag);
      if (u && version < min) throw new DerError(`${name} in a v${version} certificate`, u.start);
      if (u) decodeBitStringStrict({ ...u, tag: TAG.BIT_STRING });
    }
    let extensions: Extension[] = [];
    const extT = tbs.optional(0xa3);
    if (extT) {
      if (version !== 3) throw new DerError(`extensions in a v${version} certificate`, extT.start);
      const wrapper = new DerReader(extT, 'extensions');
      extensions = decodeExtensions(wrapper.read(TAG.SEQUENCE, 'Extensions'));
      wrapper.end();
    }
    tbs.end();
    const sigAlg = decodeOid(children(algT)[0]!);
    if (!innerAlg.raw.equals(algT.raw)) throw new DerError('signature algorithm in TBSCertificate differs from the outer one', innerAlg.start);
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
    const spkiProblem = publicKeyInfoProblem(spki);
    const out: ParsedCertificate = {
      der,
      tbs: tbsT.raw,
      version,
      serial,
      serialHex: serialFromOctets(serial),
      signatureAlgorithm: sigAlg,
      signatureAlgorithmName: SIGNATURE_ALGORITHM_NAMES[sigAlg] ?? sigAlg,
      issuerDer: Buffer.from(issuerT.raw),
      issuer,
      issuerDn: formatDn(issuer),
      subjectDer: Buffer.from(subjectT.raw),
      subject,
      subjectDn: formatDn(subject),
      notBefore: decodeTime(notBeforeT),
      notAfter: decodeTime(notAfterT),
      validityTags: [notBeforeT.tag, notAfterT.tag],
      spki,
      publicKey: publicKeyFromSpki(spki),
      extensions,
      ...(san ? (({ sans, directoryNames, others }) => ({ sans, sanDirectoryNames: directoryNames, sanOthers: others }))(decodeSans(san.value)) : { sans: [], sanDirectoryNames: [], sanOthers: [] }),
      signature: decodeSignatureBits(sigT, 'signatureValue'),
    };
    if (spkiProblem) out.publicKeyProblem = spkiProblem;
    if (bc) out.basicConstraints = decodeBasicConstraints(bc.value);
    if (ku) out.keyUsage = decodeKeyUsage(ku.value);
    if (eku) out.extendedKeyUsage = decodeExtKeyUsage(eku.value);
    if (ski) out.subjectKeyId = decodeSubjectKeyIdentifier(ski.value);
    if (aki) {
      const a = decodeAuthorityKeyIdentifierFull(aki.value);
      if (a.keyIdentifier) out.authorityKeyId = a.keyIdentifier;
      if (a.certIssuer || a.certSerial) out.authorityCertIssuerSerial = { issuer: a.certIssuer, serial: a.certSerial };
    }
    return out;
  } catch (e) {
    if (e instanceof PkiError && e.code.startsWith('CRYPTO_BAD_CERT')) throw e;
    // A TypeError or ReferenceError is a defect in this parser, not a property of the input: never report it as a bad
    // certificate (a verifier would turn a bug into a verdict).
    if (e instanceof TypeError || e instanceof ReferenceError) throw e;
    throw new PkiError('CRYPTO_BAD_CERTIFICATE', `${source}: not a valid X.509 certificate (${(e as Error).message})`, { details: { file: source }, cause: e });
  }
}

/** Reads a certificate file's bytes (PEM or DER) and parses it. */
export function readCertificate(data: Buffer, source: string): ParsedCertificate {
  return parseCertificate(readPemOrDer(data, ['CERTIFICATE'], source), source);
}

/** Verifies `cert`'s signature with `issuerKey`; the signature algorithm must be one for that key's type. */
export function verifyCertificateSignature(cert: ParsedCertificate, issuerKey: PublicKey): boolean {
  return issuerKey.verify(cert.signatureAlgorithm, cert.tbs, cert.signature);
}

/** True for signature algorithms Roles Anywhere rejects (reference §1.2: MD5 and SHA-1). */
export function isWeakSignatureOid(sigOid: string): boolean {
  return sigOid === OID.ecdsaWithSha1 || sigOid === OID.sha1WithRsa || sigOid === OID.md5WithRsa || sigOid === '1.2.840.10040.4.3';
}
