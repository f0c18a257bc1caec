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
