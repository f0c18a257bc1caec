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

/** The last row of the chain: all an adapter has to find (and hold locked) to append the next one. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** A row to append: its content, the previous row's hash and its own. */
export interface AuditRow extends AuditContent {
  prevHash: string;
  hash: string;
}

/**
 * The chain protocol, in one place for every store adapter: the row that follows `head` (undefined: the log is
 * empty). The adapter reads the head and appends the row in the transaction of the change it records, holding the
 * head against concurrent writers (SQLite's write lock, PostgreSQL's advisory lock) so the log stays one chain.
 */
export function nextAuditRow(head: AuditHead | undefined, event: { action: string; target: string; details: Record<string, unknown> }, actor: string, at: Date): AuditRow {
  const content: AuditContent = {
    seq: (head?.seq ?? 0) + 1,
    at: at.toISOString(),
    actor,
    action: event.action,
    target: event.target,
    details: JSON.stringify(event.details),
  };
  const prevHash = head?.hash ?? AUDIT_GENESIS_HASH;
  return { ...content, prevHash, hash: auditHash(prevHash, content) };
}

/** A stored row as read back (`at` and `details` exactly as stored). */
export interface StoredAuditRow {
  seq: number;
  atText: string;
  actor: string;
  action: string;
  target: string;
  detailsText: string;
  prevHash: string;
  hash: string;
}

/** Recomputes the chain from the first row; returns the first row where it breaks, if any. */
export function verifyAuditChain(rows: readonly StoredAuditRow[]): { seq: number; reason: string } | undefined {
  let prev = AUDIT_GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of rows) {
    if (r.seq !== expectedSeq) return { seq: r.seq, reason: `row ${expectedSeq} is missing (rows ${expectedSeq}..${r.seq - 1} were deleted)` };
    if (r.prevHash !== prev) return { seq: r.seq, reason: 'its link to the previous row does not match (the previous row was changed or replaced)' };
    const hash = auditHash(prev, { seq: r.seq, at: r.atText, actor: r.actor, action: r.action, target: r.target, details: r.detailsText });
    if (hash !== r.hash) return { seq: r.seq, reason: 'its content does not match its hash (the row was changed)' };
    prev = r.hash;
    expectedSeq++;
  }
  return undefined;
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
