/** `pki revoke`: permanent revocation of one certificate, by serial or by certificate file. */
import { PkiError } from '../errors.js';
import { normaliseSerial, parseReason, reasonName } from '../domain/serial.js';
import { readInput } from '../fs/files.js';
import type { Deps } from '../ports.js';
import { readCertificate, verifyCertificateSignature } from '../x509/certificate.js';
import { caCertificate, getCa, withWorkspace } from './workspace.js';
import { certificateSummary } from './query.js';

export interface RevokeInput {
  dir?: string;
  ca: string;
  serial?: string;
  cert?: string;
  reason?: string;
  invalidityDate?: string;
}

function parseDate(text: string, flag: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime()))
    throw new PkiError('USAGE_BAD_DATE', `${flag} "${text}" is not an ISO 8601 date-time (e.g. 2026-11-20T08:00:00Z)`, { details: { flag } });
  return d;
}

export async function revokeCertificate(deps: Deps, input: RevokeInput) {
  if (!!input.serial === !!input.cert) throw new PkiError('USAGE_MISSING_INPUT', 'give exactly one of --serial HEX or --cert FILE');
  const reason = parseReason(input.reason ?? 'unspecified');
  const invalidityDate = input.invalidityDate ? parseDate(input.invalidityDate, '--invalidity-date') : null;
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    let serial: string;
    if (input.cert) {
      const cert = readCertificate(readInput(input.cert, '--cert'), input.cert);
      const caCert = caCertificate(ca);
      if (!verifyCertificateSignature(cert, caCert.publicKey))
        throw new PkiError('NOT_FOUND_SERIAL', `--cert ${input.cert} was not issued by CA ${ca.name} (its signature does not verify with ${ca.name}'s key)`, {
          details: { file: input.cert, ca: ca.name },
        });
      serial = cert.serialHex;
    } else serial = normaliseSerial(input.serial!);
    if (invalidityDate && invalidityDate.getTime() > ws.now.getTime())
      throw new PkiError('USAGE_BAD_DATE', `--invalidity-date ${input.invalidityDate} is in the future`, { details: { flag: '--invalidity-date' } });
    const [existing] = await ws.store.getCertificates(serial, ca.id);
    if (!existing)
      throw new PkiError('NOT_FOUND_SERIAL', `serial ${serial}: no certificate with this serial was issued by CA ${ca.name}`, {
        details: { serial, ca: ca.name },
        hint: 'pki list --ca NAME shows what a CA issued',
      });
    const record = await ws.store.revoke(ca.id, serial, { reason, revokedAt: ws.now, invalidityDate }, deps.actor, ws.now);
    return { ...certificateSummary(record, ws.now), reasonName: reasonName(reason) };
  });
}
