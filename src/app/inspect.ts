/** `pki inspect`: a readable account of a certificate, CSR, CRL or bundle (PEM or DER, detected), from any tool. */
import { createHash } from 'node:crypto';
import { PkiError } from '../errors.js';
import { describeKey } from '../crypto/keys.js';
import { formatDuration } from '../domain/duration.js';
import { previewSession } from '../domain/session.js';
import type { Deps } from '../ports.js';
import { serialToDecimal } from '../domain/serial.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { readCsr } from '../x509/csr.js';
import { formatSan } from '../x509/extensions.js';
import { decodePemBlocks, looksLikePem } from '../asn1/pem.js';
import { inspectCrl } from './crl/index.js';
import type { AnyDocument } from './documents.js';

export function describeCertificate(c: ParsedCertificate, now: Date) {
  const left = Math.floor((c.notAfter.getTime() - now.getTime()) / 1000);
  const session = previewSession(c);
  return {
    type: 'certificate' as const,
    version: c.version,
    serialHex: c.serialHex,
    serialDecimal: serialToDecimal(c.serialHex),
    subject: c.subjectDn,
    issuer: c.issuerDn,
    selfSigned: c.subjectDer.equals(c.issuerDer),
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    validity: left <= 0 ? 'expired' : c.notBefore.getTime() > now.getTime() ? 'not yet valid' : `${formatDuration(left)} left`,
    key: describeKey(c.publicKey).description,
    signatureAlgorithm: c.signatureAlgorithmName,
    basicConstraints: c.basicConstraints ?? null,
    keyUsage: c.keyUsage ?? null,
    extendedKeyUsage: c.extendedKeyUsage ?? null,
    sans: c.sans.map(formatSan),
    subjectKeyId: c.subjectKeyId?.toString('hex') ?? null,
    authorityKeyId: c.authorityKeyId?.toString('hex') ?? null,
    sha256: createHash('sha256').update(c.der).digest('hex'),
    sha1: createHash('sha1').update(c.der).digest('hex'),
    rolesAnywhere: { roleSessionName: session.roleSessionName, sourceIdentity: session.sourceIdentity, tags: session.tags, dropped: session.dropped },
  };
}

/**
 * What a document is and holds: a certificate, a bundle, a CSR (its signature checked) or a CRL. `input.file` is the
 * document (the CLI reads certificates, CSRs and bundles up to 1 MiB; only a CRL may be larger, decoded as it is read).
 */
export async function inspectFile(deps: Deps, input: { file: AnyDocument }) {
  const name = input.file.name;
  const doc = input.file.content;
  if (doc.kind === 'crl') return { type: 'crl' as const, crl: await inspectCrl(deps, { file: name, der: doc.der }) };
  const data = doc.data;
  const blocks = looksLikePem(data) ? decodePemBlocks(data, name) : undefined;
  const now = deps.now();
  const label = blocks ? blocks[0]?.label : undefined;
  if (label === 'X509 CRL') {
    const crls = blocks!.filter((b) => b.label === 'X509 CRL');
    if (crls.length > 1) throw new PkiError('CRYPTO_BAD_CRL', `${name}: holds ${crls.length} CRLs; give one CRL per file`, { details: { file: name } });
    return { type: 'crl' as const, crl: await inspectCrl(deps, { file: name, der: blocks![0]!.der }) };
  }
  if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST') return { type: 'csr' as const, csr: csrSummary(readCsr(data, name)) };
  if (blocks) {
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => describeCertificate(parseCertificate(b.der, name), now));
    if (!certs.length) throw new PkiError('CRYPTO_BAD_PEM', `${name}: no certificate, CSR or CRL (PEM blocks: ${blocks.map((b) => b.label).join(', ') || 'none'})`, { details: { file: name } });
    return certs.length === 1 ? { type: 'certificate' as const, certificate: certs[0]! } : { type: 'bundle' as const, certificates: certs };
  }
  // DER: try a certificate, then a CSR, then a CRL.
  for (const attempt of [
    () => ({ type: 'certificate' as const, certificate: describeCertificate(parseCertificate(data, name), now) }),
    () => ({ type: 'csr' as const, csr: csrSummary(readCsr(data, name)) }),
  ]) {
    try {
      return attempt();
    } catch {
      /* next */
    }
  }
  try {
    return { type: 'crl' as const, crl: await inspectCrl(deps, { file: name, der: data }) };
  } catch {
    throw new PkiError('CRYPTO_BAD_PEM', `${name}: not a certificate, CSR or CRL (PEM or DER)`, { details: { file: name } });
  }
}

function csrSummary(c: ReturnType<typeof readCsr>) {
  return { subject: c.subjectDn, key: c.keyDescription, sans: c.sans.map(formatSan), signature: 'valid' };
}
