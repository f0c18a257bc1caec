/**
 * The tables of the store schema in an order that satisfies their references, with the columns that order their rows:
 * what `pki store migrate` copies row by row and then compares row by row. Both adapters have these tables with the
 * same columns (postgres-migrations.ts mirrors migrations.ts).
 */
export interface CopyTable {
  name: string;
  /** The primary key: rows are read and compared in this order on both sides. */
  key: readonly string[];
  /** An integer id column filled from a sequence on PostgreSQL (set past the copied ids afterwards). */
  serial?: string;
}

export const COPY_TABLES: readonly CopyTable[] = [
  { name: 'ca', key: ['id'], serial: 'id' },
  { name: 'ca_key', key: ['ca_id'] },
  { name: 'certificate', key: ['id'], serial: 'id' },
  { name: 'revocation', key: ['issuer_id', 'serial'] },
  { name: 'crl', key: ['issuer_id', 'crl_number'] },
  { name: 'crl_chunk', key: ['issuer_id', 'crl_number', 'seq'] },
  { name: 'crl_reservation', key: ['issuer_id', 'crl_number'] },
  { name: 'anchor', key: ['name'] },
  { name: 'published_crl', key: ['anchor_name', 'issuer_id'] },
  { name: 'target', key: ['name'] },
  { name: 'anchor_lease', key: ['anchor_name'] },
  { name: 'rotation', key: ['id'], serial: 'id' },
  { name: 'issue_batch', key: ['id'], serial: 'id' },
  { name: 'issue_batch_item', key: ['batch_id', 'file'] },
  { name: 'ca_history', key: ['ca_id'] },
  { name: 'audit', key: ['seq'] },
];

export type Row = Record<string, unknown>;

/** Equal values as both drivers return them (numbers, strings, Buffers, null). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b);
  return a === b;
}
