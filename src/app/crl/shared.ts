/** What the CRL use cases share: a stored CRL's summary, and the check of a CRL against an issuer certificate. */
import type { CrlRecord } from '../../ports.js';
import type { ParsedCertificate } from '../../x509/certificate.js';
import type { DecodedCrl } from '../../x509/crl.js';
import { keyIdentifier } from '../../x509/extensions.js';

export function crlSummary(c: CrlRecord, ca: string, maxPemBytes: number) {
  return {
    ca,
    crlNumber: c.crlNumber,
    thisUpdate: c.thisUpdate.toISOString(),
    nextUpdate: c.nextUpdate.toISOString(),
    entries: c.entries,
    pruned: c.pruned,
    reasons: c.reasons ? 'include' : 'omit',
    derBytes: c.derSize,
    pemBytes: c.pemSize,
    budgetBytes: maxPemBytes,
    budgetPercent: Math.round((1000 * c.pemSize) / maxPemBytes) / 10,
    sha256: c.sha256,
  };
}

/** Checks a CRL's signature with an issuer certificate; issuer name and AKI must match too. */
export function crlMatchesIssuer(crl: DecodedCrl, issuer: ParsedCertificate): { nameOk: boolean; akiOk: boolean; signatureOk: boolean } {
  const issuerKeyId = issuer.subjectKeyId ?? keyIdentifier(issuer.spki);
  return {
    nameOk: crl.issuerDer.equals(issuer.subjectDer),
    akiOk: !crl.authorityKeyId || crl.authorityKeyId.equals(issuerKeyId),
    signatureOk: issuer.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature),
  };
}
