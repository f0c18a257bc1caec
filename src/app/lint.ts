/**
 * `pki lint`: what IAM Roles Anywhere would refuse, silently drop or trip over, and the RFC 5280 encoding rules that
 * matter for it, for certificates, CA bundles and CRLs made by any tool. Each finding has a stable code, a severity,
 * the field, and a one-line fix. The rules are the reference's (§1, §2.3, §3.2, §6), the same ones the issuing
 * engine enforces before it signs (it refuses what `lint` calls an error).
 */
import { PkiError } from '../errors.js';
import { previewSession } from '../domain/session.js';
import type { Deps } from '../ports.js';
import type { AnyDocument, InputDocument } from './documents.js';
import { isWeakSignatureOid, parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { decodeCrl, pemLength, walkCrlEntries, type DecodedCrl } from '../x509/crl.js';
import { readSingle, TAG } from '../asn1/der.js';
import { decodePemBlocks, looksLikePem, toPem } from '../asn1/pem.js';
import { OID } from '../asn1/oids.js';
import { isMlDsaKeyType, mlDsaTypeForOid } from '../crypto/mldsa.js';
import { BUNDLE_MAX_CHARS, BUNDLE_MAX_CHARS_OLD_MODEL, CRL_DATA_MAX_BYTES, CRL_SIZE_WARNING_FRACTION, MAX_CAS_PER_ANCHOR, MAX_CHAIN_CERTIFICATES } from '../domain/roles-anywhere.js';

export type Severity = 'error' | 'warning' | 'notice';
export interface Finding {
  code: string;
  severity: Severity;
  field: string;
  message: string;
  fix: string;
}
export type LintAs = 'leaf' | 'ca' | 'anchor-bundle' | 'crl';

/** Every lint code, for the README and --help: [code, severity, what it means]. */
export const LINT_CODES: Array<[string, Severity, string]> = [
  ['RA_NOT_V3', 'error', 'not an X.509 v3 certificate (e.g. `openssl x509 -req` without -extfile)'],
  ['RA_LEAF_IS_CA', 'error', 'a workload certificate with basicConstraints CA:TRUE'],
  ['RA_LEAF_NO_DIGITAL_SIGNATURE', 'error', 'keyUsage missing or without digitalSignature'],
  ['RA_WEAK_SIGNATURE', 'error', 'signed with MD5 or SHA-1'],
  ['RA_EMPTY_SUBJECT', 'error', 'empty subject (Roles Anywhere does not support it)'],
  ['RA_KEY_TYPE', 'error', 'a key type Roles Anywhere does not list (not RSA, EC or ML-DSA)'],
  ['RA_MLDSA_CERTIFICATE', 'warning', 'a certificate or CRL signed with ML-DSA, or a CA certificate with an ML-DSA key: ML-DSA request signing is documented, ML-DSA in trust anchors, chains and CRLs is UNCONFIRMED'],
  ['RA_KEY_CURVE', 'warning', 'an EC curve other than P-256/P-384 (P-521 acceptance is unconfirmed)'],
  ['RA_RSA_SHORT', 'warning', 'an RSA key under 2048 bits'],
  ['RA_EKU_NO_CLIENT_AUTH', 'warning', 'extendedKeyUsage present without clientAuth (whether the service refuses it is unconfirmed)'],
  ['RA_SESSION_TAG_DROPPED', 'warning', 'a subject, issuer or SAN value STS session tags do not allow: silently dropped'],
  ['RA_SOURCE_IDENTITY_NO_PREFIX', 'notice', 'a CN of 62-64 characters: SourceIdentity has no "CN=" prefix'],
  ['RA_CN_TOO_LONG', 'warning', 'a CN over 64 characters'],
  ['RA_SERIAL_SHORT', 'warning', 'a serial under 2 octets (a 2-character minimum role session name)'],
  ['RA_CHAIN_TOO_LONG', 'error', `the chain sent with a leaf holds more than ${MAX_CHAIN_CERTIFICATES} certificates (X-Amz-X509-Chain limit)`],
  ['RA_CA_NOT_CA', 'error', 'a CA certificate without basicConstraints CA:TRUE ("Incorrect basic constraints for CA certificate")'],
  ['RA_CA_NO_KEY_CERT_SIGN', 'error', 'a CA certificate without keyUsage keyCertSign'],
  ['RA_CA_NO_CRL_SIGN', 'notice', 'a CA certificate without keyUsage cRLSign: it cannot sign the CRL Roles Anywhere takes'],
  ['RA_BUNDLE_TOO_MANY', 'error', `a trust-anchor bundle of more than ${MAX_CAS_PER_ANCHOR} certificates`],
  ['RA_BUNDLE_TOO_LARGE', 'error', `a bundle over ${BUNDLE_MAX_CHARS.toLocaleString('en-US')} characters (warning over the ${BUNDLE_MAX_CHARS_OLD_MODEL.toLocaleString('en-US')} of older API models)`],
  ['RA_CRL_TOO_LARGE', 'error', `a CRL over ${CRL_DATA_MAX_BYTES.toLocaleString('en-US')} bytes of PEM (warning from ${CRL_SIZE_WARNING_FRACTION * 100}%)`],
  ['RA_CRL_NOT_V2', 'error', 'a v1 CRL'],
  ['RA_CRL_EXPIRED', 'error', 'nextUpdate has passed (warning: no nextUpdate)'],
  ['X509_EXPIRED', 'error', 'notAfter has passed'],
  ['X509_NOT_YET_VALID', 'warning', 'notBefore is in the future'],
  ['X509_KEY_PARAMETERS', 'error', 'an EC key with explicit curve parameters instead of a named curve (RFC 5480 §2.1.1), or an RSA key without NULL parameters (RFC 3279 §2.3.1)'],
  ['X509_SERIAL_NOT_POSITIVE', 'error', 'a zero or negative serial number (RFC 5280 §4.1.2.2)'],
  ['X509_SERIAL_TOO_LONG', 'error', 'a serial number over 20 octets'],
  ['X509_TIME_ENCODING', 'error', 'a validity time before 2050 not in UTCTime, or from 2050 not in GeneralizedTime (§4.1.2.5)'],
  ['X509_NO_SKI', 'warning', 'no subjectKeyIdentifier (a MUST for CAs, error there)'],
  ['X509_NO_AKI', 'warning', 'no authorityKeyIdentifier on a certificate that is not self-signed (a CRL: on the CRL)'],
  ['X509_BC_NOT_CRITICAL', 'warning', 'basicConstraints not critical on a CA certificate'],
  ['X509_KU_NOT_CRITICAL', 'notice', 'keyUsage not critical'],
  ['X509_KU_NOT_MINIMAL', 'error', 'keyUsage BIT STRING with trailing zero bits (not DER)'],
  ['X509_CRL_NO_NUMBER', 'warning', 'a CRL without a CRL Number'],
];

function finding(code: string, field: string, message: string, fix: string, severity?: Severity): Finding {
  return { code, severity: severity ?? LINT_CODES.find((c) => c[0] === code)![1], field, message, fix };
}

/** A DER BIT STRING is minimal when its last octet is non-zero and the unused-bit count matches its trailing zeros. */
function minimalBitString(der: Buffer): boolean {
  let t;
  try {
    t = readSingle(der);
  } catch {
    return false;
  }
  if (t.tag !== TAG.BIT_STRING || t.content.length === 0) return false;
  const unused = t.content[0]!;
  const bytes = t.content.subarray(1);
  if (bytes.length === 0) return unused === 0;
  const last = bytes[bytes.length - 1]!;
  if (last === 0) return false;
  let zeros = 0;
  while (((last >> zeros) & 1) === 0) zeros++;
  return unused === zeros;
}

function timeRule(c: ParsedCertificate, out: Finding[]): void {
  ([['notBefore', c.notBefore, c.validityTags[0]], ['notAfter', c.notAfter, c.validityTags[1]]] as const).forEach(([field, date, tag]) => {
    const want = date.getUTCFullYear() < 2050 ? TAG.UTC_TIME : TAG.GENERALIZED_TIME;
    if (tag !== want) out.push(finding('X509_TIME_ENCODING', field, `${field} ${date.toISOString()} is encoded as ${tag === TAG.UTC_TIME ? 'UTCTime' : 'GeneralizedTime'}`, 'dates before 2050 in UTCTime, later ones in GeneralizedTime'));
  });
}

/** The rules every certificate shares (signature, serial, validity, identifiers, encodings). */
function commonRules(c: ParsedCertificate, now: Date, isCa: boolean): Finding[] {
  const out: Finding[] = [];
  if (c.version !== 3) out.push(finding('RA_NOT_V3', 'version', `X.509 v${c.version}`, 'issue it as v3 with extensions (openssl: -extfile, or pki issue)'));
  if (isWeakSignatureOid(c.signatureAlgorithm)) out.push(finding('RA_WEAK_SIGNATURE', 'signatureAlgorithm', `signed with ${c.signatureAlgorithmName}`, 're-issue with SHA-256 or stronger'));
  if (c.serial.length > 0 && (c.serial[0]! & 0x80 || c.serial.every((b) => b === 0))) out.push(finding('X509_SERIAL_NOT_POSITIVE', 'serialNumber', `serial ${c.serial.toString('hex')} is not positive`, 'use a random positive serial (pki issues 16 random octets)'));
  const octets = c.serial[0] === 0 ? c.serial.length - 1 : c.serial.length;
  if (octets > 20) out.push(finding('X509_SERIAL_TOO_LONG', 'serialNumber', `serial of ${octets} octets`, 'use at most 20 octets'));
  if (c.notAfter.getTime() <= now.getTime()) out.push(finding('X509_EXPIRED', 'notAfter', `expired at ${c.notAfter.toISOString()}`, 're-issue it'));
  if (c.notBefore.getTime() > now.getTime()) out.push(finding('X509_NOT_YET_VALID', 'notBefore', `not valid before ${c.notBefore.toISOString()}`, 'check the issuer\'s clock'));
  timeRule(c, out);
  const selfSigned = c.subjectDer.equals(c.issuerDer);
  if (!c.subjectKeyId) out.push(finding('X509_NO_SKI', 'subjectKeyIdentifier', 'no subjectKeyIdentifier', 'add subjectKeyIdentifier=hash', isCa ? 'error' : undefined));
  if (!c.authorityKeyId && !selfSigned) out.push(finding('X509_NO_AKI', 'authorityKeyIdentifier', 'no authorityKeyIdentifier', 'add authorityKeyIdentifier=keyid (never issuer+serial)'));
  const ku = c.extensions.find((e) => e.oid === OID.keyUsage);
  if (ku && !ku.critical) out.push(finding('X509_KU_NOT_CRITICAL', 'keyUsage', 'keyUsage is not critical', 'mark keyUsage critical'));
  if (ku && !minimalBitString(ku.value)) out.push(finding('X509_KU_NOT_MINIMAL', 'keyUsage', 'the keyUsage BIT STRING is not minimally encoded', 're-issue with a DER-correct encoder'));
  if (c.publicKeyProblem) out.push(finding('X509_KEY_PARAMETERS', 'subjectPublicKeyInfo', c.publicKeyProblem, 're-issue it from a key with a named curve (openssl: -param_enc named_curve, the default)'));
  const keyType = c.publicKey.kind;
  if (keyType === 'ec') {
    const curve = c.publicKey.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'secp384r1') out.push(finding('RA_KEY_CURVE', 'subjectPublicKeyInfo', `EC curve ${curve}`, 'use P-256 or P-384'));
  } else if (keyType === 'rsa') {
    const bits = c.publicKey.rsaBits ?? 0;
    if (bits < 2048) out.push(finding('RA_RSA_SHORT', 'subjectPublicKeyInfo', `RSA-${bits}`, 'use RSA-2048 or larger, or P-256'));
  } else if (!isMlDsaKeyType(keyType)) out.push(finding('RA_KEY_TYPE', 'subjectPublicKeyInfo', `${keyType} key`, 'use an RSA, EC (P-256/P-384) or ML-DSA key'));
  // Roles Anywhere documents ML-DSA request signatures (AWS4-X509-MLDSA) for ML-DSA keys, not ML-DSA certificates.
  if (mlDsaTypeForOid(c.signatureAlgorithm)) out.push(finding('RA_MLDSA_CERTIFICATE', 'signatureAlgorithm', `signed with ${c.signatureAlgorithmName}: whether Roles Anywhere accepts ML-DSA-signed certificates is UNCONFIRMED`, 'keep an RSA or ECDSA CA above ML-DSA workload keys until AWS documents it', 'warning'));
  else if (isCa && isMlDsaKeyType(keyType)) out.push(finding('RA_MLDSA_CERTIFICATE', 'subjectPublicKeyInfo', `a CA with an ${keyType} key: whether Roles Anywhere accepts ML-DSA CAs is UNCONFIRMED`, 'keep an RSA or ECDSA CA above ML-DSA workload keys until AWS documents it', 'warning'));
  return out;
}

export function lintLeaf(c: ParsedCertificate, now: Date): Finding[] {
  const out = commonRules(c, now, false);
  if (c.basicConstraints?.ca) out.push(finding('RA_LEAF_IS_CA', 'basicConstraints', 'CA:TRUE on a workload certificate', 'issue it with basicConstraints=critical,CA:FALSE'));
  if (!c.keyUsage?.includes('digitalSignature')) out.push(finding('RA_LEAF_NO_DIGITAL_SIGNATURE', 'keyUsage', c.keyUsage ? `keyUsage ${c.keyUsage.join(', ')}` : 'no keyUsage', 'issue it with keyUsage=critical,digitalSignature'));
  if (c.subject.length === 0) out.push(finding('RA_EMPTY_SUBJECT', 'subject', 'the subject is empty', 'give it a subject with at least CN=...'));
  if (c.extendedKeyUsage && !c.extendedKeyUsage.includes('clientAuth')) out.push(finding('RA_EKU_NO_CLIENT_AUTH', 'extendedKeyUsage', `extendedKeyUsage ${c.extendedKeyUsage.join(', ')}`, 'add clientAuth, or leave extendedKeyUsage out'));
  const p = previewSession(c);
  for (const d of p.dropped) out.push(finding('RA_SESSION_TAG_DROPPED', d.tag, `"${d.value}": ${d.reason}`, 'use only letters, digits, spaces and _ . : / = + - @, at most 256 characters'));
  const cn = c.subject.flat().find((a) => a.type === 'CN')?.value;
  if (cn && cn.length > 64) out.push(finding('RA_CN_TOO_LONG', 'subject.CN', `CN of ${cn.length} characters`, 'keep the CN to 61 characters'));
  else if (cn && cn.length > 61) out.push(finding('RA_SOURCE_IDENTITY_NO_PREFIX', 'subject.CN', `CN of ${cn.length} characters: SourceIdentity "${p.sourceIdentity}"`, 'keep the CN to 61 characters for a "CN=" SourceIdentity'));
  const octets = c.serial[0] === 0 ? c.serial.length - 1 : c.serial.length;
  if (octets < 2) out.push(finding('RA_SERIAL_SHORT', 'serialNumber', `serial of ${octets} octet`, 'use random serials of 16 octets'));
  return out;
}

/** The leaf findings Roles Anywhere refuses a CreateSession for (reference §1.2): the first one, if any. */
const LEAF_REFUSALS = new Set(['RA_NOT_V3', 'RA_LEAF_IS_CA', 'RA_LEAF_NO_DIGITAL_SIGNATURE', 'RA_EMPTY_SUBJECT', 'RA_KEY_TYPE', 'RA_WEAK_SIGNATURE']);
export function leafRefusal(c: ParsedCertificate, now: Date): Finding | undefined {
  return lintLeaf(c, now).find((f) => LEAF_REFUSALS.has(f.code));
}

export function lintCa(c: ParsedCertificate, now: Date): Finding[] {
  const out = commonRules(c, now, true);
  if (!c.basicConstraints?.ca) out.push(finding('RA_CA_NOT_CA', 'basicConstraints', 'no basicConstraints CA:TRUE', 'issue it with basicConstraints=critical,CA:TRUE'));
  else if (!c.extensions.find((e) => e.oid === OID.basicConstraints)?.critical) out.push(finding('X509_BC_NOT_CRITICAL', 'basicConstraints', 'basicConstraints is not critical', 'mark basicConstraints critical'));
  if (!c.keyUsage?.includes('keyCertSign')) out.push(finding('RA_CA_NO_KEY_CERT_SIGN', 'keyUsage', c.keyUsage ? `keyUsage ${c.keyUsage.join(', ')}` : 'no keyUsage', 'issue it with keyUsage=critical,keyCertSign,cRLSign'));
  else if (!c.keyUsage.includes('cRLSign')) out.push(finding('RA_CA_NO_CRL_SIGN', 'keyUsage', `keyUsage ${c.keyUsage.join(', ')}`, 'add cRLSign'));
  return out;
}

export function lintCrl(crl: DecodedCrl, pemBytes: number, now: Date): Finding[] {
  const out: Finding[] = [];
  if (crl.version !== 2) out.push(finding('RA_CRL_NOT_V2', 'version', `v${crl.version} CRL`, 'generate a v2 CRL (pki crl generate)'));
  if (isWeakSignatureOid(crl.signatureAlgorithm)) out.push(finding('RA_WEAK_SIGNATURE', 'signatureAlgorithm', `signed with ${crl.signatureAlgorithmName}`, 'sign with SHA-256 or stronger'));
  if (mlDsaTypeForOid(crl.signatureAlgorithm)) out.push(finding('RA_MLDSA_CERTIFICATE', 'signatureAlgorithm', `signed with ${crl.signatureAlgorithmName}: whether ImportCrl accepts ML-DSA-signed CRLs is UNCONFIRMED`, 'keep an RSA or ECDSA CA until AWS documents it', 'warning'));
  if (pemBytes > CRL_DATA_MAX_BYTES) out.push(finding('RA_CRL_TOO_LARGE', 'crlData', `${pemBytes} bytes of PEM; ImportCrl takes at most ${CRL_DATA_MAX_BYTES.toLocaleString('en-US')}`, 'omit reason codes, prune expired entries, or split the issuing CA'));
  else if (pemBytes > CRL_SIZE_WARNING_FRACTION * CRL_DATA_MAX_BYTES) out.push(finding('RA_CRL_TOO_LARGE', 'crlData', `${pemBytes} bytes of PEM, over ${CRL_SIZE_WARNING_FRACTION * 100}% of the ${CRL_DATA_MAX_BYTES.toLocaleString('en-US')} limit`, 'plan a split of the issuing CA', 'warning'));
  if (!crl.nextUpdate) out.push(finding('RA_CRL_EXPIRED', 'nextUpdate', 'no nextUpdate', 'generate CRLs with a nextUpdate', 'warning'));
  else if (crl.nextUpdate.getTime() <= now.getTime()) out.push(finding('RA_CRL_EXPIRED', 'nextUpdate', `expired at ${crl.nextUpdate.toISOString()}`, 'publish a new CRL (pki crl publish)'));
  if (crl.crlNumber === undefined) out.push(finding('X509_CRL_NO_NUMBER', 'crlNumber', 'no CRL Number extension', 'generate CRLs with a CRL Number'));
  if (!crl.authorityKeyId) out.push(finding('X509_NO_AKI', 'authorityKeyIdentifier', 'no authorityKeyIdentifier on the CRL', 'generate CRLs with an AKI'));
  walkCrlEntries(crl, 'CRL');
  return out;
}

export interface LintResult {
  file: string;
  as: LintAs;
  subject: string | null;
  findings: Finding[];
}

/**
 * Lints one document: detects what it is (certificate, bundle, CRL; PEM or DER) unless `as` says. `chain`, for a
 * leaf, is the chain the workload would send. (The CLI reads certificates and bundles up to 1 MiB; only a CRL may be
 * larger, decoded as it is read.)
 */
export function lintFile(deps: Deps, document: AnyDocument, opts: { as?: LintAs; chain?: InputDocument }): LintResult {
  const now = deps.now();
  const file = document.name;
  const input = document.content;
  if (input.kind === 'crl') {
    if (opts.as !== undefined && opts.as !== 'crl')
      throw new PkiError('POLICY_INPUT_TOO_LARGE', `FILE ${file} is larger than 1 MiB, the most pki reads for a certificate or bundle (input.as ${opts.as})`, { details: { file, maxBytes: 1024 * 1024, input: 'as' } });
    const crl = decodeCrl(input.der, file);
    return { file, as: 'crl', subject: crl.issuerDn, findings: lintCrl(crl, input.pem ? input.bytes : pemLength(input.der.length), now) };
  }
  const data = input.data;
  const blocks = looksLikePem(data) ? decodePemBlocks(data, file) : [{ label: opts.as === 'crl' ? 'X509 CRL' : 'CERTIFICATE', der: data }];
  const crlBlocks = blocks.filter((b) => b.label === 'X509 CRL');
  if (crlBlocks.length > 1) throw new PkiError('CRYPTO_BAD_CRL', `${file}: holds ${crlBlocks.length} CRLs; give one CRL per file`, { details: { file } });
  const crlBlock = crlBlocks[0];
  const as: LintAs = opts.as ?? (crlBlock ? 'crl' : blocks.filter((b) => b.label === 'CERTIFICATE').length > 1 ? 'anchor-bundle' : 'leaf');
  if (as === 'crl') {
    const der = crlBlock?.der ?? blocks[0]!.der;
    const crl = decodeCrl(der, file);
    const pemBytes = crlBlock ? data.length : pemLength(der.length);
    return { file, as, subject: crl.issuerDn, findings: lintCrl(crl, pemBytes, now) };
  }
  const certs = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => parseCertificate(b.der, file));
  if (!certs.length) throw new PkiError('CRYPTO_BAD_PEM', `${file}: no certificate or CRL found`, { details: { file } });
  if (as === 'anchor-bundle') {
    const findings: Finding[] = [];
    if (certs.length > MAX_CAS_PER_ANCHOR) findings.push(finding('RA_BUNDLE_TOO_MANY', 'bundle', `${certs.length} certificates; a trust anchor holds at most ${MAX_CAS_PER_ANCHOR}`, 'split it over two trust anchors, or drop one CA'));
    const chars = certs.map((c) => toPem('CERTIFICATE', c.der)).join('').length;
    if (chars > BUNDLE_MAX_CHARS) findings.push(finding('RA_BUNDLE_TOO_LARGE', 'bundle', `${chars} characters; x509CertificateData takes at most ${BUNDLE_MAX_CHARS.toLocaleString('en-US')}`, 'use smaller keys (P-256) or fewer certificates'));
    else if (chars > BUNDLE_MAX_CHARS_OLD_MODEL) findings.push(finding('RA_BUNDLE_TOO_LARGE', 'bundle', `${chars} characters: over the ${BUNDLE_MAX_CHARS_OLD_MODEL.toLocaleString('en-US')} older API models accepted`, 'check your SDK or CLI version', 'warning'));
    certs.forEach((c, i) => findings.push(...lintCa(c, now).map((f) => ({ ...f, field: `certificate ${i + 1} (${c.subjectDn}): ${f.field}` }))));
    return { file, as, subject: certs.map((c) => c.subjectDn).join(' | '), findings };
  }
  const cert = certs[0]!;
  const findings = as === 'ca' || (opts.as === undefined && cert.basicConstraints?.ca) ? lintCa(cert, now) : lintLeaf(cert, now);
  const kind: LintAs = as === 'ca' || (opts.as === undefined && cert.basicConstraints?.ca) ? 'ca' : 'leaf';
  if (opts.chain) {
    const chainDoc = opts.chain;
    const chain = decodePemBlocks(chainDoc.data, chainDoc.name).filter((b) => b.label === 'CERTIFICATE');
    if (chain.length > MAX_CHAIN_CERTIFICATES) findings.push(finding('RA_CHAIN_TOO_LONG', 'chain', `${chain.length} certificates in input.chain`, `send at most ${MAX_CHAIN_CERTIFICATES} intermediates; put the issuing CA in the trust anchor`));
    chain.forEach((b, i) => {
      const c = parseCertificate(b.der, chainDoc.name);
      findings.push(...lintCa(c, now).map((f) => ({ ...f, field: `chain ${i + 1} (${c.subjectDn}): ${f.field}` })));
    });
  }
  return { file, as: kind, subject: cert.subjectDn, findings };
}
