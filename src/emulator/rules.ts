/**
 * What IAM Roles Anywhere checks when a trust anchor or a CRL is uploaded (the Roles Anywhere user guide §1.3,
 * §2.2, §2.3, §3.2-3.4). The emulator judges requests with this code and the pure X.509 parsers only; it never sees
 * the CA's store. Rules the reference marks UNCONFIRMED are switches in EmulatorOptions.
 */
import { decodePemBlocks } from '../asn1/pem.js';
import { isWeakSignatureOid, parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { decodeCrl, type DecodedCrl } from '../x509/crl.js';
import { CRL_DATA_MAX_BYTES, MAX_CAS_PER_ANCHOR } from '../domain/roles-anywhere.js';
import { mlDsaTypeForOid } from '../crypto/mldsa.js';

/**
 * ML-DSA *certificates*: an ML-DSA key in a trust-anchor CA certificate, or a certificate or CRL signed with ML-DSA.
 * The service documents ML-DSA request signatures (AWS4-X509-MLDSA, reference §1.1, §1.4) and ML-DSA workload keys;
 * whether it accepts ML-DSA in trust anchors, chains and CRLs is UNCONFIRMED. 'reject' (the default) refuses them
 * as the strictest reading would; 'accept' treats them like RSA and ECDSA.
 */
export type MlDsaCertificates = 'accept' | 'reject';

/** Why `c` is an ML-DSA certificate in the sense above (`asCa`: its key counts too), or undefined. */
export function mlDsaCertificateUse(c: { signatureAlgorithm: string; spki: Buffer; publicKey: { kind: string } }, asCa: boolean): string | undefined {
  const signed = mlDsaTypeForOid(c.signatureAlgorithm);
  if (signed) return `signed with ${signed}`;
  if (asCa && c.publicKey.kind.startsWith('ml-dsa-')) return `a CA with an ${c.publicKey.kind} key`;
  return undefined;
}

export class ServiceError extends Error {
  constructor(readonly type: 'ValidationException' | 'ResourceNotFoundException' | 'AccessDeniedException' | 'ThrottlingException' | 'InternalServerException', readonly status: number, message: string) {
    super(message);
  }
}

export const validation = (message: string): ServiceError => new ServiceError('ValidationException', 400, message);

/** §2.2: ResourceName, 1-255 characters of [ a-zA-Z0-9-_]. */
export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 255 || !/^[ a-zA-Z0-9\-_]*$/.test(name))
    throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[ a-zA-Z0-9-_]*$ and have length between 1 and 255`);
  return name;
}

/** §2.2/§2.3/§1.3: a CERTIFICATE_BUNDLE of 1-2 CA certificates, PEM, within the length limit. */
export function checkBundle(pem: unknown, maxChars: number, mlDsa: MlDsaCertificates = 'reject'): ParsedCertificate[] {
  if (typeof pem !== 'string' || pem.length === 0) throw validation('x509CertificateData is required for a CERTIFICATE_BUNDLE trust anchor');
  if (pem.length > maxChars) throw validation(`1 validation error detected: Value at 'source.sourceData.x509CertificateData' failed to satisfy constraint: Member must have length less than or equal to ${maxChars}`);
  let certs: ParsedCertificate[];
  try {
    certs = decodePemBlocks(pem, 'x509CertificateData')
      .filter((b) => b.label === 'CERTIFICATE')
      .map((b) => parseCertificate(b.der, 'x509CertificateData'));
  } catch {
    throw validation('Invalid certificate bundle: the certificates could not be parsed');
  }
  if (certs.length === 0) throw validation('Invalid certificate bundle: no PEM certificate found');
  if (certs.length > MAX_CAS_PER_ANCHOR) throw validation(`Certificates per trust anchor quota exceeded: ${certs.length} certificates, at most ${MAX_CAS_PER_ANCHOR}`);
  for (const c of certs) {
    // The service's own message for a CA certificate without CA:TRUE (and, in field reports, without keyCertSign).
    if (c.version !== 3 || !c.basicConstraints?.ca || !c.keyUsage?.includes('keyCertSign')) throw validation('Incorrect basic constraints for CA certificate');
    if (isWeakSignatureOid(c.signatureAlgorithm)) throw validation(`Unsupported signature algorithm ${c.signatureAlgorithmName}: SHA-256 or stronger is required`);
    const use = mlDsa === 'reject' ? mlDsaCertificateUse(c, true) : undefined;
    if (use) throw validation(`Unsupported certificate: ${use} (ML-DSA trust anchors are UNCONFIRMED; this emulator runs with --mldsa-certificates reject)`);
  }
  return certs;
}

export interface CrlRules {
  /** §3.2: "a CRL must be in PEM format"; whether DER is rejected is UNCONFIRMED (default: rejected). */
  requirePem: boolean;
  /** §3.4: whether the CRL must be signed by a CA in the anchor is UNCONFIRMED (default: required). */
  requireSignedByAnchor: boolean;
  /** ML-DSA-signed CRLs ({@link MlDsaCertificates}; default 'reject'). */
  mlDsaCertificates?: MlDsaCertificates;
}

/** §3.2-3.4: crlData (the PEM bytes) of 1-300,000 bytes, a v2 CRL, signed by one of the anchor's certificates. */
export function checkCrl(crlData: Buffer, anchorCerts: ParsedCertificate[], rules: CrlRules): DecodedCrl {
  if (crlData.length < 1 || crlData.length > CRL_DATA_MAX_BYTES)
    throw validation(`1 validation error detected: Value at 'crlData' failed to satisfy constraint: Member must have length between 1 and ${CRL_DATA_MAX_BYTES}`);
  const text = crlData.toString('latin1');
  let der: Buffer;
  if (text.includes('-----BEGIN X509 CRL-----')) {
    let blocks: Array<{ label: string; der: Buffer }>;
    try {
      blocks = decodePemBlocks(text, 'crlData').filter((b) => b.label === 'X509 CRL');
    } catch (e) {
      throw validation(`Invalid CRL: malformed PEM (${(e as Error).message})`);
    }
    if (!blocks.length) throw validation('Invalid CRL: no X509 CRL PEM block');
    // One CRL per ImportCrl: a second block would be stored but never enforced (our behaviour; the service's is not
    // documented).
    if (blocks.length > 1) throw validation(`Invalid CRL: crlData holds ${blocks.length} CRLs; import one CRL per ImportCrl call`);
    der = blocks[0]!.der;
  } else if (!rules.requirePem && crlData[0] === 0x30) der = crlData;
  else throw validation('Invalid CRL: the CRL must be in PEM format');
  let crl: DecodedCrl;
  try {
    crl = decodeCrl(der, 'crlData');
  } catch {
    throw validation('Invalid CRL: the CRL could not be parsed');
  }
  if ((rules.mlDsaCertificates ?? 'reject') === 'reject' && mlDsaTypeForOid(crl.signatureAlgorithm))
    throw validation(`Invalid CRL: signed with ${mlDsaTypeForOid(crl.signatureAlgorithm)} (ML-DSA-signed CRLs are UNCONFIRMED; this emulator runs with --mldsa-certificates reject)`);
  if (rules.requireSignedByAnchor) {
    const signer = anchorCerts.find((c) => c.subjectDer.equals(crl.issuerDer) && c.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature));
    if (!signer) throw validation('Invalid CRL: it is not signed by a certificate of the trust anchor');
  }
  return crl;
}


/** §2.2: up to 200 resource tags; key 1-128 and value 0-256 characters of [ a-zA-Z0-9_.:/=+@-]. */
export function checkTags(tags: unknown): Array<{ key: string; value: string }> {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must be a list");
  if (tags.length > 200) throw validation("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 200");
  const pattern = /^[ a-zA-Z0-9_.:/=+@-]*$/;
  for (const t of tags as Array<{ key?: unknown; value?: unknown }>) {
    if (typeof t?.key !== 'string' || t.key.length < 1 || t.key.length > 128 || !pattern.test(t.key))
      throw validation(`1 validation error detected: Value '${String(t?.key)}' at 'tags.member.key' failed to satisfy constraint: 1-128 characters of [ a-zA-Z0-9_.:/=+@-]`);
    if (typeof t.value !== 'string' || t.value.length > 256 || !pattern.test(t.value))
      throw validation(`1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: 0-256 characters of [ a-zA-Z0-9_.:/=+@-]`);
  }
  return tags as Array<{ key: string; value: string }>;
}
