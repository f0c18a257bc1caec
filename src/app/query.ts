/** `pki list` and `pki show`: what is on record. */
import { PkiError } from '../errors.js';
import { parseDuration } from '../domain/duration.js';
import { normaliseSerial, reasonName } from '../domain/serial.js';
import type { CertificateRecord, Deps } from '../ports.js';
import { toPem } from '../asn1/pem.js';
import { sha256Fingerprint } from './issuance.js';
import { getCa, withWorkspace } from './workspace.js';

export type CertificateStatus = 'valid' | 'revoked' | 'expired';

export function statusOf(c: CertificateRecord, now: Date): CertificateStatus {
  if (c.revocation) return 'revoked';
  return c.notAfter.getTime() <= now.getTime() ? 'expired' : 'valid';
}

export function certificateSummary(c: CertificateRecord, now: Date) {
  return {
    serial: c.serial,
    issuer: c.issuerName,
    subject: c.subjectDn,
    sans: c.sans,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    status: statusOf(c, now),
    isCa: c.isCa,
    profile: c.profile,
    revocation: c.revocation
      ? { reason: reasonName(c.revocation.reason), revokedAt: c.revocation.revokedAt.toISOString(), invalidityDate: c.revocation.invalidityDate?.toISOString() ?? null }
      : null,
    // Empty for a serial known only from an imported CA's records (no certificate file came with it).
    sha256: c.der.length ? sha256Fingerprint(c.der) : null,
  };
}

export interface ListInput {
  dir?: string;
  ca?: string;
  status?: CertificateStatus;
  expiringWithin?: string;
  limit?: number;
}

export async function listCertificates(deps: Deps, input: ListInput) {
  const expiringWithinSeconds = input.expiringWithin === undefined ? undefined : parseDuration(input.expiringWithin, 'input.expiringWithin');
  return withWorkspace(input.dir, deps, async (ws) => {
    const issuerId = input.ca === undefined ? undefined : (await getCa(ws, input.ca)).id;
    const rows = await ws.store.findCertificates({
      now: ws.now,
      ...(issuerId === undefined ? {} : { issuerId }),
      ...(input.status ? { status: input.status } : {}),
      ...(expiringWithinSeconds === undefined ? {} : { expiringWithinSeconds }),
      ...(input.limit ? { limit: input.limit } : {}),
    });
    return rows.map((r) => certificateSummary(r, ws.now));
  });
}

export async function showCertificate(deps: Deps, input: { dir?: string; serial: string; ca?: string }) {
  const serial = normaliseSerial(input.serial, 'SERIAL');
  return withWorkspace(input.dir, deps, async (ws) => {
    const issuerId = input.ca === undefined ? undefined : (await getCa(ws, input.ca)).id;
    const rows = await ws.store.getCertificates(serial, issuerId);
    if (rows.length === 0) throw new PkiError('NOT_FOUND_SERIAL', `serial ${serial}: no such certificate${input.ca ? ` issued by CA ${input.ca}` : ''}`, { details: { serial } });
    if (rows.length > 1)
      throw new PkiError('USAGE_AMBIGUOUS_SERIAL', `serial ${serial} was issued by several CAs (${rows.map((r) => r.issuerName).join(', ')}); pass input.ca`, { details: { serial, input: 'ca' } });
    const c = rows[0]!;
    return { ...certificateSummary(c, ws.now), requestedBy: c.requestedBy, source: c.source, issuedAt: c.createdAt.toISOString(), pem: c.der.length ? toPem('CERTIFICATE', c.der) : null };
  });
}
