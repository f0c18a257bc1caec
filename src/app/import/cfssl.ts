/**
 * `pki import cfssl`: a cfssl CA with its certificate database (cfssl's SQLite certdb, certdb/sqlite/migrations):
 *
 *   certificates(serial_number, authority_key_identifier, ca_label, status, reason, expiry, revoked_at, pem, ...)
 *
 * cfssl writes serial_number as the decimal serial, authority_key_identifier as the lowercase hex AKI, status "good"
 * or "revoked", reason as the RFC 5280 code, times as text (Go's "2006-01-02 15:04:05.999999999-07:00") and the
 * certificate as PEM. Rows of other CAs (another AKI) are left out and counted; a certdb with none of this CA's rows
 * is refused. The certdb is opened read-only and read twice (checked, then recorded in one transaction).
 */
import { PkiError } from '../../errors.js';
import { openCertdb, type CertdbRow } from '../../adapters/import/cfssl-certdb.js';
import { REVOCATION_REASONS } from '../../domain/serial.js';
import type { Deps, ImportedEntry } from '../../ports.js';
import { readCertificate } from '../../x509/certificate.js';
import { keyIdentifier } from '../../x509/extensions.js';
import { withWorkspace } from '../workspace.js';
import { checkImportName, commitImport, importedCertificate, importedRevocation, type ImportCommonInput, issuedBy, loadLegacyCa, nextCrlNumberFrom, Problems, readOldCrl } from './common.js';

export interface CfsslImportInput extends ImportCommonInput {
  cert: string;
  key: string;
  certdb: string;
  crl?: string;
}


const text = (v: unknown): string => (Buffer.isBuffer(v) ? v.toString('utf8') : v === null || v === undefined ? '' : String(v));

/** A certdb time: Go's text form (with or without fraction and zone), ISO 8601, or unix seconds. */
export function parseCertdbTime(v: unknown): Date | undefined {
  // Seconds since the epoch, within what a Date can hold and a CRL can carry (years 1950-9999).
  const fromSeconds = (n: number) => (Number.isFinite(n) && n >= -631152000 && n <= 253402300799 ? new Date(n * 1000) : undefined);
  if (typeof v === 'number' || typeof v === 'bigint') return fromSeconds(Number(v));
  const s = text(v).trim();
  if (/^\d+$/.test(s)) return fromSeconds(Number(s));
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?(?:\s+[A-Z]{3,5})?$/.exec(s);
  if (!m) return undefined;
  const zone = !m[4] || m[4] === 'Z' ? 'Z' : m[4].includes(':') ? m[4] : `${m[4].slice(0, 3)}:${m[4].slice(3)}`;
  const d = new Date(`${m[1]}T${m[2]}${m[3] ? m[3].slice(0, 4) : ''}${zone}`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export async function importCfssl(deps: Deps, input: CfsslImportInput) {
  return withWorkspace(input.dir, deps, async (ws) => {
    await checkImportName(ws, input.name);
    const legacy = await loadLegacyCa(ws, deps, input, input.cert, 'input.cert', input.key, 'input.key');
    const aki = (legacy.cert.subjectKeyId ?? keyIdentifier(legacy.cert.spki)).toString('hex');
    const oldCrl = input.crl ? readOldCrl(input.crl, 'input.crl', legacy.cert) : undefined;
    const db = openCertdb(input.certdb);
    try {
      const rows = () => db.rows();
      // A row is this CA's when its AKI column says so, or — whatever that (untrusted) column says — when its
      // certificate was signed by this CA: a revoked certificate of this CA is never left out over a bad column.
      const signedHere = (r: CertdbRow) => {
        try {
          return issuedBy(readCertificate(Buffer.isBuffer(r.pem) ? r.pem : Buffer.from(text(r.pem)), 'row'), legacy.cert);
        } catch {
          return false;
        }
      };
      const mine = (r: CertdbRow) => text(r.authority_key_identifier).toLowerCase().replace(/:/g, '') === aki || signedHere(r);
      const where = (r: CertdbRow) => `${input.certdb} row ${r.rowid}`;

      /** One row, checked: its certificate (issued by this CA, the serial column its serial) and its status. */
      const readRow = (r: CertdbRow) => {
        const w = where(r);
        const pem = Buffer.isBuffer(r.pem) ? r.pem : Buffer.from(text(r.pem));
        const cert = readCertificate(pem, w);
        if (!issuedBy(cert, legacy.cert))
          throw new PkiError('CRYPTO_CHAIN_MISMATCH', `${w}: the certificate (serial ${cert.serialHex}, issuer "${cert.issuerDn}") was not issued by the CA being imported although its AKI is the CA's`, { details: { where: w } });
        if (cert.serialHex.startsWith('-'))
          throw new PkiError('USAGE_BAD_CERTDB', `${w}: serial ${cert.serialHex} is negative (RFC 5280 requires positive serials); pki cannot keep it on a CRL`, { details: { where: w } });
        const serialText = text(r.serial_number).trim();
        const decimal = BigInt(`0x${cert.serialHex.replace(/^-/, '')}`) * (cert.serialHex.startsWith('-') ? -1n : 1n);
        if (serialText !== decimal.toString(10) && serialText.toLowerCase() !== cert.serialHex)
          throw new PkiError('STATE_IMPORT_INCONSISTENT', `${w}: serial_number "${serialText}" is not the certificate's serial (${decimal})`, { details: { where: w } });
        const status = text(r.status).toLowerCase();
        if (status !== 'good' && status !== 'revoked') throw new PkiError('USAGE_BAD_CERTDB', `${w}: status "${text(r.status)}" is not good or revoked`, { details: { where: w } });
        let revocation = null;
        if (status === 'revoked') {
          const revokedAt = parseCertdbTime(r.revoked_at);
          if (!revokedAt) throw new PkiError('USAGE_BAD_CERTDB', `${w}: revoked_at "${text(r.revoked_at)}" is not a time`, { details: { where: w } });
          const reason = r.reason === null || r.reason === undefined ? 0 : Number(r.reason);
          if (!Number.isInteger(reason) || !Object.values(REVOCATION_REASONS).includes(reason) || reason === REVOCATION_REASONS.removeFromCRL)
            throw new PkiError('USAGE_BAD_CERTDB', `${w}: reason ${text(r.reason)} is not an RFC 5280 revocation reason pki keeps`, { details: { where: w } });
          revocation = importedRevocation(cert.serialHex, reason, revokedAt, null);
        }
        return { cert, revocation };
      };

      // Pass 1: every row of this CA, all problems together.
      const problems = new Problems();
      const onCrl = new Set(oldCrl?.entries.keys() ?? []);
      let count = 0;
      let others = 0;
      for (const r of rows()) {
        if (!mine(r)) {
          others++;
          continue;
        }
        count++;
        try {
          const { cert, revocation } = readRow(r);
          if (onCrl.delete(cert.serialHex) && !revocation)
            problems.add(new PkiError('STATE_IMPORT_INCONSISTENT', `${where(r)}: serial ${cert.serialHex} is revoked on ${input.crl} but "good" in the certdb`, { details: { serial: cert.serialHex } }));
        } catch (e) {
          if (!(e instanceof PkiError)) throw e;
          problems.add(e);
        }
      }
      if (count === 0 && others > 0)
        throw new PkiError('CRYPTO_CHAIN_MISMATCH', `input.certdb ${input.certdb} holds ${others} certificate(s), none of them issued by input.cert ${input.cert} (no row has its key identifier ${aki}); nothing was imported`, {
          details: { file: input.certdb, aki, input: ['certdb', 'cert'] },
          hint: 'give the certdb of this CA, or the CA certificate and key that go with this certdb',
        });
      for (const serial of onCrl) problems.add(new PkiError('STATE_IMPORT_INCONSISTENT', `serial ${serial} is revoked on ${input.crl} but not in ${input.certdb}`, { details: { serial } }));
      problems.throwIfAny(`cfssl import of ${input.certdb}`);
      if (others) deps.stderr.write(`note: ${others} certificate(s) of other CAs in ${input.certdb} were left out\n`);

      // cfssl's own CRLs (cfssl gencrl / crl) carry no CRL Number.
      const crl = nextCrlNumberFrom(
        oldCrl ? [oldCrl.crlNumber !== undefined ? { next: oldCrl.crlNumber + 1n, source: oldCrl.file } : { next: 1n, source: `${oldCrl.file} (no CRL Number: the old CA did not number its CRLs)` }] : [],
      );
      function* entries(): Generator<ImportedEntry> {
        for (const r of rows()) {
          if (!mine(r)) continue;
          const { cert, revocation } = readRow(r);
          yield { where: where(r), cert: importedCertificate(deps, cert, 'cfssl', where(r)), revocation };
        }
      }
      const result = await commitImport(ws, deps, input, legacy, 'cfssl', entries(), crl, { certdb: input.certdb, otherCas: others });
      if (crl.nextCrlNumber === null)
        deps.stderr.write(`note: cfssl keeps no CRL number: pki crl generate --ca ${input.name} needs --previous LAST.crl or --first-crl-number N\n`);
      return { ...result, otherCas: others };
    } finally {
      db.close();
    }
  });
}
