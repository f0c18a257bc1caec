/**
 * Reads cfssl's certificate database (a foreign SQLite file, opened read-only) for `pki import cfssl`: the one place
 * outside pki's own store that opens a SQLite file. The rows are returned as cfssl wrote them (untyped columns);
 * src/app/import/cfssl.ts decides what they mean.
 *
 *   certificates(serial_number, authority_key_identifier, ca_label, status, reason, expiry, revoked_at, pem, ...)
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { PkiError } from '../../errors.js';

/** One row of cfssl's `certificates` table, as stored. */
export interface CertdbRow {
  rowid: number;
  serial_number: unknown;
  authority_key_identifier: unknown;
  status: unknown;
  reason: unknown;
  revoked_at: unknown;
  pem: unknown;
}

export interface Certdb {
  /** Every row, in rowid order (a new pass each call). */
  rows(): IterableIterator<CertdbRow>;
  close(): void;
}

const REQUIRED_COLUMNS = ['serial_number', 'authority_key_identifier', 'status', 'reason', 'expiry', 'revoked_at', 'pem'];

/** Opens `file` read-only; NOT_FOUND_FILE when missing, USAGE_BAD_CERTDB when it is not a cfssl certdb. */
export function openCertdb(file: string): Certdb {
  if (!fs.existsSync(file)) throw new PkiError('NOT_FOUND_FILE', `input.certdb ${file}: no such file; nothing was imported`, { details: { file, flag: 'input.certdb', input: 'certdb' } });
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const cols = (db.prepare("SELECT name FROM pragma_table_info('certificates')").all() as Array<{ name: string }>).map((c) => c.name);
    const missing = REQUIRED_COLUMNS.filter((c) => !cols.includes(c));
    if (missing.length) {
      db.close();
      throw new PkiError('USAGE_BAD_CERTDB', `input.certdb ${file} is not a cfssl certdb: ${cols.length ? `table certificates lacks ${missing.join(', ')}` : 'no certificates table'}; nothing was imported`, {
        details: { file, missing, input: 'certdb' },
      });
    }
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('USAGE_BAD_CERTDB', `input.certdb ${file} is not a readable SQLite database: ${(e as Error).message}`, { details: { file, input: 'certdb' }, cause: e });
  }
  const opened = db;
  return {
    rows: () => opened.prepare('SELECT rowid, serial_number, authority_key_identifier, status, reason, revoked_at, pem FROM certificates ORDER BY rowid').iterate() as IterableIterator<CertdbRow>,
    close: () => opened.close(),
  };
}
