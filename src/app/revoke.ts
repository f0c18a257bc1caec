/** `pki revoke`: permanent revocation, by serial, by certificate file, or in bulk from a list (one transaction). */
import { PkiError, throwIfAny } from '../errors.js';
import { normaliseSerial, parseReason, reasonName } from '../domain/serial.js';
import type { Deps, NewRevocation } from '../ports.js';
import type { InputDocument } from './documents.js';
import { readCertificate, verifyCertificateSignature } from '../x509/certificate.js';
import { encodeCrlEntry } from '../x509/crl.js';
import { certificateSummary } from './query.js';
import { caCertificate, getCa, withWorkspace } from './workspace.js';

export interface RevokeInput {
  dir?: string;
  ca: string;
  serial?: string;
  /** The certificate to revoke (PEM or DER): its serial, once its signature shows this CA issued it. */
  cert?: InputDocument;
  /** One serial per line, optionally followed by a reason; # starts a comment. */
  batch?: InputDocument;
  reason?: string;
  invalidityDate?: string;
}

function parseDate(text: string, flag: string): Date {
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime()))
    throw new PkiError('USAGE_BAD_DATE', `${flag} "${text}" is not an ISO 8601 date-time (e.g. 2026-11-20T08:00:00Z)`, { details: { flag } });
  return d;
}

/** A revocation with its CRL entries encoded (with and without the reason code). */
export function newRevocation(serial: string, reason: number, revokedAt: Date, invalidityDate: Date | null): NewRevocation {
  const entryDer = encodeCrlEntry(serial, revokedAt, reason, invalidityDate);
  return { serial, reason, revokedAt, invalidityDate, entryDer, entryDerNoReason: reason ? encodeCrlEntry(serial, revokedAt, null, invalidityDate) : null };
}

/** Parses a serial list: every bad line is reported with its line number; nothing is returned unless all are good. */
export function parseSerialList(text: string, source: string, defaultReason: number): Array<{ serial: string; reason: number; line: number }> {
  const out: Array<{ serial: string; reason: number; line: number }> = [];
  const problems: PkiError[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [serialText, reasonText, ...rest] = line.split(/\s+/);
    const where = `${source}:${i + 1}`;
    try {
      if (rest.length) throw new PkiError('USAGE_BAD_SERIAL_LIST', `${where}: expected "SERIAL [REASON]", got "${line}"`);
      out.push({ serial: normaliseSerial(serialText!, where), reason: reasonText ? parseReason(reasonText, where) : defaultReason, line: i + 1 });
    } catch (e) {
      if (!(e instanceof PkiError)) throw e;
      problems.push(new PkiError(e.code, e.message, { details: { ...e.details, file: source, line: i + 1 } }));
    }
  });
  throwIfAny(problems, `${source}: ${problems.length} bad line(s); nothing was revoked`);
  if (out.length === 0) throw new PkiError('USAGE_EMPTY_BATCH', `${source} lists no serials`, { details: { file: source } });
  return out;
}

/** Revokes one certificate, by `serial` or by certificate file (`cert`). */
export async function revokeCertificate(deps: Deps, input: RevokeInput) {
  if (!!input.serial === !!input.cert) throw new PkiError('USAGE_MISSING_INPUT', 'give exactly one of input.serial HEX, input.cert FILE or input.batch FILE', { details: { input: ['serial', 'cert', 'batch'] } });
  const { reason, invalidityDate } = parseCommon(input);
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    checkInvalidityDate(invalidityDate, ws.now, input);
    let serial: string;
    if (input.cert) {
      const cert = readCertificate(input.cert.data, input.cert.name);
      if (!verifyCertificateSignature(cert, caCertificate(ca).publicKey))
        throw new PkiError('NOT_FOUND_SERIAL', `input.cert ${input.cert.name} was not issued by CA ${ca.name} (its signature does not verify with ${ca.name}'s key)`, {
          details: { file: input.cert.name, ca: ca.name },
        });
      serial = cert.serialHex;
    } else serial = normaliseSerial(input.serial!);
    const [record] = await ws.store.revoke(ca.id, [newRevocation(serial, reason, ws.now, invalidityDate)], deps.actor, ws.now);
    return { ...certificateSummary(record!, ws.now), reasonName: reasonName(reason) };
  });
}

/** Revokes every serial listed in `batch` in one transaction: all of them, or (with every problem reported) none. */
export async function revokeBatch(deps: Deps, input: RevokeInput & { batch: InputDocument }) {
  const { reason, invalidityDate } = parseCommon(input);
  const batchName = input.batch.name;
  const list = parseSerialList(input.batch.data.toString('utf8'), batchName, reason);
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    checkInvalidityDate(invalidityDate, ws.now, input);
    const records = await ws.store.revoke(
      ca.id,
      list.map((l) => newRevocation(l.serial, l.reason, ws.now, invalidityDate)),
      deps.actor,
      ws.now,
      (i) => `${batchName}:${list[i]!.line}`,
    );
    return { issuer: ca.name, revoked: records.length, certificates: records.map((r) => certificateSummary(r, ws.now)) };
  });
}

function parseCommon(input: RevokeInput) {
  return { reason: parseReason(input.reason ?? 'unspecified'), invalidityDate: input.invalidityDate ? parseDate(input.invalidityDate, 'input.invalidityDate') : null };
}

function checkInvalidityDate(invalidityDate: Date | null, now: Date, input: RevokeInput): void {
  if (invalidityDate && invalidityDate.getTime() > now.getTime())
    throw new PkiError('USAGE_BAD_DATE', `input.invalidityDate ${input.invalidityDate} is in the future`, { details: { flag: 'input.invalidityDate' } });
}
