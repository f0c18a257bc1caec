/** `pki audit verify` and `pki audit log`: the tamper-evident history of every state change. */
import { AUDIT_GENESIS_HASH, auditHash } from '../domain/audit.js';
import type { AuditRecord, Deps } from '../ports.js';
import { withWorkspace } from './workspace.js';

export interface AuditBreak {
  seq: number;
  reason: string;
}

/** Recomputes the chain from the first row; returns the first row where it breaks, if any. */
export function verifyAuditChain(rows: readonly AuditRecord[]): AuditBreak | undefined {
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

export const AUDIT_EXIT = { intact: 0, broken: 11 } as const;

export async function verifyAudit(deps: Deps, input: { dir?: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const rows = await ws.store.auditLog();
    const broken = verifyAuditChain(rows);
    return {
      intact: !broken,
      rows: rows.length,
      head: rows.length ? { seq: rows[rows.length - 1]!.seq, hash: rows[rows.length - 1]!.hash } : null,
      firstBroken: broken ?? null,
      exitCode: broken ? AUDIT_EXIT.broken : AUDIT_EXIT.intact,
    };
  });
}

export async function auditLog(deps: Deps, input: { dir?: string; limit?: number }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const rows = await ws.store.auditLog();
    const shown = input.limit ? rows.slice(-input.limit) : rows;
    return shown.map((r) => ({ seq: r.seq, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details, hash: r.hash }));
  });
}
