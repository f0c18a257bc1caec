/**
 * `pki import openssl-ca`: an `openssl ca` CA with its history. openssl's database (`index.txt`, the `database` of
 * openssl.cnf) has one tab-separated line per certificate it issued:
 *
 *   STATUS  EXPIRY  REVOCATION  SERIAL  FILENAME  SUBJECT
 *
 * STATUS is V (valid), R (revoked) or E (expired); EXPIRY and the revocation time are ASN.1 times (YYMMDDHHMMSSZ or
 * YYYYMMDDHHMMSSZ); REVOCATION is `time[,reason[,extra]]` (extra: the compromise time of keyTime/CAkeyTime, the hold
 * instruction of holdInstruction); SERIAL is hex; SUBJECT is openssl's /C=../CN=.. form. `newcerts/` holds the
 * certificates as SERIAL.pem. The `crlnumber` file holds the number the next CRL would get (hex).
 *
 * The index is read twice as a stream (bounded memory at a million lines): once to check every line and every
 * certificate file, then inside the one transaction that records the CA, its certificates and revocations.
 */
import { PkiError } from '../../errors.js';
import { normaliseSerial, REVOCATION_REASONS } from '../../domain/serial.js';
import { INPUT_LIMITS, readInput, readInputChunks } from '../../fs/files.js';
import type { Deps, ImportedEntry } from '../../ports.js';
import { readCertificate, type ParsedCertificate } from '../../x509/certificate.js';
import { formatDn, parseDn } from '../../x509/name.js';
import { withWorkspace } from '../workspace.js';
import {
  certificateFiles,
  type CertificateFile,
  checkImportName,
  commitImport,
  importedCertificate,
  importedRevocation,
  type ImportCommonInput,
  indexCertificateFiles,
  inputFieldsOf,
  issuedBy,
  knownSerial,
  loadLegacyCa,
  nextCrlNumberFrom,
  Problems,
  readOldCrl,
  type OldCrl,
} from './common.js';

export interface OpensslCaImportInput extends ImportCommonInput {
  cert: string;
  key: string;
  index: string;
  crlnumber?: string;
  certs?: string;
  crl?: string;
}

export interface IndexLine {
  line: number;
  status: 'V' | 'R' | 'E';
  notAfter: Date;
  revokedAt: Date | null;
  reason: number;
  invalidityDate: Date | null;
  serial: string;
  subject: string;
}

/** The lines of a text file, streamed (a line is decoded as UTF-8 once whole). Blank lines are skipped. */
export function* textLines(file: string, flag: string, maxBytes = INPUT_LIMITS.list): Generator<{ text: string; line: number }> {
  let rest = Buffer.alloc(0);
  let line = 0;
  for (const chunk of readInputChunks(file, flag, maxBytes, 'an index file')) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      line++;
      const text = buf.toString('utf8', start, nl > start && buf[nl - 1] === 13 ? nl - 1 : nl);
      start = nl + 1;
      if (text.trim() !== '') yield { text, line };
    }
    rest = Buffer.from(buf.subarray(start));
  }
  if (rest.length) {
    line++;
    const text = rest.toString('utf8').replace(/\r$/, '');
    if (text.trim() !== '') yield { text, line };
  }
}

/** An ASN.1 UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ) string, checked. */
export function parseAsn1Time(text: string): Date | undefined {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const year = m[1]!.length === 2 ? (Number(m[1]) < 50 ? 2000 : 1900) + Number(m[1]) : Number(m[1]);
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const t = new Date(Date.UTC(year, mo - 1, d, h, mi, s));
  if (t.getUTCFullYear() !== year || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return undefined;
  return t;
}

/** openssl ca's revocation reasons (crl_reasons in apps/ca.c), case-insensitive, to RFC 5280 codes. */
const OPENSSL_REASONS: Record<string, number> = {
  unspecified: REVOCATION_REASONS.unspecified!,
  keycompromise: REVOCATION_REASONS.keyCompromise!,
  cacompromise: REVOCATION_REASONS.cACompromise!,
  affiliationchanged: REVOCATION_REASONS.affiliationChanged!,
  superseded: REVOCATION_REASONS.superseded!,
  cessationofoperation: REVOCATION_REASONS.cessationOfOperation!,
  certificatehold: REVOCATION_REASONS.certificateHold!,
  holdinstruction: REVOCATION_REASONS.certificateHold!,
  keytime: REVOCATION_REASONS.keyCompromise!,
  cakeytime: REVOCATION_REASONS.cACompromise!,
  privilegewithdrawn: REVOCATION_REASONS.privilegeWithdrawn!,
  aacompromise: REVOCATION_REASONS.aACompromise!,
};

function bad(where: string, message: string, file: string, line: number): PkiError {
  return new PkiError('USAGE_BAD_INDEX_LINE', `${where}: ${message}`, { details: { file, line } });
}

/** Parses one index.txt line; throws USAGE_BAD_INDEX_LINE naming `file:line`. */
export function parseIndexLine(text: string, file: string, line: number, withSubject = true): IndexLine {
  const where = `${file}:${line}`;
  const f = text.split('\t');
  if (f.length !== 6) throw bad(where, `expected 6 tab-separated fields (status, expiry, revocation, serial, file name, subject), got ${f.length}`, file, line);
  const [status, expiry, revocation, serialText, , subjectText] = f as [string, string, string, string, string, string];
  if (status !== 'V' && status !== 'R' && status !== 'E') throw bad(where, `status "${status}" is not V, R or E`, file, line);
  const notAfter = parseAsn1Time(expiry);
  if (!notAfter) throw bad(where, `expiry "${expiry}" is not a date (YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)`, file, line);
  let serial: string;
  try {
    serial = normaliseSerial(serialText, `${where}: serial`);
  } catch (e) {
    throw bad(where, `serial "${serialText}" is not hexadecimal`, file, line);
  }
  // RFC 5280 §4.1.2.2: serials are positive. pki's CRLs list revocations by their positive serial octets, so a
  // negative one would be left off every CRL: refused rather than imported and silently never revoked.
  if (serial.startsWith('-')) throw bad(where, `serial "${serialText}" is negative (RFC 5280 requires positive serials); pki cannot keep it on a CRL`, file, line);
  let revokedAt: Date | null = null;
  let reason = 0;
  let invalidityDate: Date | null = null;
  if (status === 'R') {
    if (revocation === '') throw bad(where, 'status R without a revocation date', file, line);
    const [timeText, reasonText, extra] = revocation.split(',');
    revokedAt = parseAsn1Time(timeText!) ?? null;
    if (!revokedAt) throw bad(where, `revocation date "${timeText}" is not a date (YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)`, file, line);
    if (reasonText !== undefined) {
      const code = OPENSSL_REASONS[reasonText.toLowerCase()];
      if (code === undefined)
        throw bad(where, `revocation reason "${reasonText}" is not one openssl ca writes${reasonText.toLowerCase() === 'removefromcrl' ? ' (removeFromCRL cannot be imported: revocation here is permanent)' : ''}`, file, line);
      reason = code;
      if (/^(ca)?keytime$/i.test(reasonText)) {
        invalidityDate = extra === undefined ? null : (parseAsn1Time(extra) ?? null);
        if (!invalidityDate) throw bad(where, `${reasonText} needs a compromise time after it ("${extra ?? ''}" is not a date)`, file, line);
      }
    }
  } else if (revocation !== '') throw bad(where, `status ${status} with a revocation field "${revocation}" (only R lines have one)`, file, line);
  let subject = subjectText;
  if (withSubject && subjectText.startsWith('/'))
    try {
      subject = formatDn(parseDn(subjectText, `${where}: subject`));
    } catch {
      // Kept as openssl wrote it: the subject of a known serial is informational.
    }
  return { line, status, notAfter, revokedAt, reason, invalidityDate, serial, subject };
}

/** Where the certificates and the history of an openssl-format CA come from (openssl ca, easy-rsa). */
export interface IndexSources {
  tool: string;
  index: string;
  indexFlag: string;
  certDirs: Array<{ dir: string; flag: string }>;
  crl?: { file: string; flag: string } | undefined;
  crlnumber?: { file: string; flag: string } | undefined;
}

/** The `crlnumber` file: the hex number openssl ca gives its next CRL. */
export function readCrlNumberFile(file: string, flag: string): bigint {
  const text = readInput(file, flag, 1024).toString('latin1').trim();
  if (!/^[0-9A-Fa-f]{1,40}$/.test(text))
    throw new PkiError('USAGE_BAD_CRL_NUMBER', `${flag} ${file}: "${text.slice(0, 40)}" is not a hexadecimal CRL number (openssl's crlnumber file); nothing was imported`, { details: { file, input: inputFieldsOf(flag) } });
  return BigInt(`0x${text}`);
}

/**
 * Checks and imports an openssl-format CA: every index line, every certificate file (issued by this CA, listed
 * in the index with the same expiry), the old CRL (its entries revoked in the index); then one transaction.
 */
export async function importIndexedCa(deps: Deps, input: ImportCommonInput, certFile: string, certFlag: string, keyFile: string, keyFlag: string, src: IndexSources) {
  return withWorkspace(input.dir, deps, async (ws) => {
    await checkImportName(ws, input.name);
    const legacy = await loadLegacyCa(ws, deps, input, certFile, certFlag, keyFile, keyFlag);
    const problems = new Problems();
    const files = new Map<string, CertificateFile>();
    for (const { dir, flag } of src.certDirs) for (const [serial, f] of indexCertificateFiles(certificateFiles(dir, flag), flag, legacy.cert, problems)) if (!files.has(serial)) files.set(serial, f);
    const oldCrl: OldCrl | undefined = src.crl ? readOldCrl(src.crl.file, src.crl.flag, legacy.cert) : undefined;
    const crlNumberFile = src.crlnumber ? readCrlNumberFile(src.crlnumber.file, src.crlnumber.flag) : undefined;

    // Pass 1: every line and every certificate file, all problems reported together.
    const onCrl = new Set(oldCrl?.entries.keys() ?? []);
    const used = new Set<string>();
    let lines = 0;
    for (const { text, line } of textLines(src.index, src.indexFlag)) {
      lines++;
      let l: IndexLine;
      try {
        l = parseIndexLine(text, src.index, line, false);
      } catch (e) {
        if (!(e instanceof PkiError)) throw e;
        problems.add(e);
        // Its certificate file is not also "not listed": the line's own problem says it all.
        try {
          used.add(normaliseSerial(text.split('\t')[3] ?? ''));
        } catch {
          // no serial on the line
        }
        continue;
      }
      const f = files.get(l.serial);
      if (f) {
        used.add(l.serial);
        if (Math.floor(f.notAfter.getTime() / 1000) !== Math.floor(l.notAfter.getTime() / 1000))
          problems.add(bad(`${src.index}:${line}`, `serial ${l.serial} expires ${l.notAfter.toISOString()} here but ${f.file} says ${f.notAfter.toISOString()}`, src.index, line));
      }
      if (onCrl.has(l.serial)) {
        onCrl.delete(l.serial);
        if (l.status !== 'R')
          problems.add(new PkiError('STATE_IMPORT_INCONSISTENT', `${src.index}:${line}: serial ${l.serial} is on ${oldCrl!.file} (revoked) but its status here is ${l.status}`, { details: { serial: l.serial, file: src.index, line } }));
      }
    }
    if (lines === 0 && files.size === 0) deps.stderr.write(`note: ${src.index} lists no certificates; only the CA is imported\n`);
    for (const [serial, { file }] of files)
      if (!used.has(serial)) problems.add(new PkiError('STATE_IMPORT_INCONSISTENT', `${file} (serial ${serial}) is not listed in ${src.index}`, { details: { file, serial } }));
    for (const serial of onCrl)
      problems.add(new PkiError('STATE_IMPORT_INCONSISTENT', `serial ${serial} is revoked on ${oldCrl!.file} but not listed in ${src.index}`, { details: { serial, file: oldCrl!.file } }));
    problems.throwIfAny(`${src.tool} import of ${src.index}`);

    const candidates: Array<{ next: bigint; source: string }> = [];
    if (crlNumberFile !== undefined) candidates.push({ next: crlNumberFile, source: src.crlnumber!.file });
    if (oldCrl?.crlNumber !== undefined) candidates.push({ next: oldCrl.crlNumber + 1n, source: oldCrl.file });
    // A CRL without a CRL Number (easy-rsa 3.1 makes them) cannot be compared by number: any number follows it.
    else if (oldCrl && crlNumberFile === undefined) candidates.push({ next: 1n, source: `${oldCrl.file} (no CRL Number: the old CA did not number its CRLs)` });
    const crl = nextCrlNumberFrom(candidates);

    // Pass 2, inside the transaction.
    const tool = src.tool;
    function* entries(): Generator<ImportedEntry> {
      for (const { text, line } of textLines(src.index, src.indexFlag)) {
        const l = parseIndexLine(text, src.index, line);
        const where = `${src.index}:${line}`;
        const file = files.get(l.serial)?.file;
        let cert;
        if (file) {
          const parsed: ParsedCertificate = readCertificate(readInput(file, 'certificate'), file);
          // Checked in pass 1; a file changed since then aborts the transaction.
          if (parsed.serialHex !== l.serial || !issuedBy(parsed, legacy.cert))
            throw new PkiError('STATE_IMPORT_INCONSISTENT', `${file} changed during the import (serial ${parsed.serialHex}, expected ${l.serial}); nothing was imported`, { details: { file } });
          cert = importedCertificate(deps, parsed, tool, file);
        } else cert = knownSerial(deps, legacy.cert, l.serial, l.subject, l.notAfter, tool, `${where} (no certificate file)`);
        yield { where, cert, revocation: l.revokedAt ? importedRevocation(l.serial, l.reason, l.revokedAt, l.invalidityDate) : null };
      }
    }
    const r = await commitImport(ws, deps, input, legacy, tool, entries(), crl, { index: src.index, lines });
    if (crl.nextCrlNumber === null)
      deps.stderr.write(`note: the old CA's last CRL number is unknown: pki crl generate --ca ${input.name} needs --first-crl-number N (above the old CA's last) or --previous OLD.crl\n`);
    return r;
  });
}

/** `pki import openssl-ca`. */
export async function importOpensslCa(deps: Deps, input: OpensslCaImportInput) {
  return importIndexedCa(deps, input, input.cert, 'input.cert', input.key, 'input.key', {
    tool: 'openssl-ca',
    index: input.index,
    indexFlag: 'input.index',
    certDirs: input.certs ? [{ dir: input.certs, flag: 'input.certs' }] : [],
    crl: input.crl ? { file: input.crl, flag: 'input.crl' } : undefined,
    crlnumber: input.crlnumber ? { file: input.crlnumber, flag: 'input.crlnumber' } : undefined,
  });
}
