/** The tamper-evident audit chain: each row's hash covers the previous row's hash and the row's own content. */
import { createHash } from 'node:crypto';

export const AUDIT_GENESIS_HASH = '0'.repeat(64);

export interface AuditContent {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  /** JSON text exactly as stored. */
  details: string;
}

/** SHA-256 over the previous hash and the row's fields, newline-separated, as lowercase hex. */
export function auditHash(prevHash: string, row: AuditContent): string {
  return createHash('sha256')
    .update([prevHash, String(row.seq), row.at, row.actor, row.action, row.target, row.details].join('\n'))
    .digest('hex');
}

/**
 * An order-independent digest of a set of serials (the sum of their SHA-256 values modulo 2^256), for audit events
 * that record many rows at once (an imported CA's history): a row added, removed or changed behind pki's back
 * changes the sum. `add` one serial at a time; `hex` reads the digest.
 */
export class SerialSetDigest {
  private sum = 0n;
  private static readonly MOD = 1n << 256n;
  add(serial: string): void {
    this.sum = (this.sum + BigInt('0x' + createHash('sha256').update(serial).digest('hex'))) % SerialSetDigest.MOD;
  }
  get hex(): string {
    return this.sum.toString(16).padStart(64, '0');
  }
}
