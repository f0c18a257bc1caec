/** the audit chain protocol lives in domain/audit.ts: every store adapter appends with nextAuditRow. */
import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditHash, nextAuditRow, verifyAuditChain, type AuditRow } from '../../src/domain/audit.js';

const stored = (r: AuditRow) => ({ seq: r.seq, atText: r.at, actor: r.actor, action: r.action, target: r.target, detailsText: r.details, prevHash: r.prevHash, hash: r.hash });

describe('audit chain protocol', () => {
  it('ok/rows made by nextAuditRow from the previous head form one chain that verifies', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const rows: AuditRow[] = [];
    for (let i = 0; i < 5; i++) rows.push(nextAuditRow(rows.at(-1), { action: 'certificate.issue', target: `0${i}`, details: { i } }, 'op@host', at));
    expect(rows[0]!.seq).toBe(1);
    expect(rows[0]!.prevHash).toBe(AUDIT_GENESIS_HASH);
    expect(rows[3]!.prevHash).toBe(rows[2]!.hash);
    expect(rows[4]!.hash).toBe(auditHash(rows[3]!.hash, rows[4]!));
    expect(verifyAuditChain(rows.map(stored))).toBeUndefined();
  });

  it('fail/two rows appended from the same head (a writer that did not hold the head) break the chain', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const first = nextAuditRow(undefined, { action: 'a', target: 't', details: {} }, 'x', at);
    const a = nextAuditRow(first, { action: 'b', target: 't', details: {} }, 'x', at);
    const b = nextAuditRow(first, { action: 'c', target: 't', details: {} }, 'y', at);
    expect(verifyAuditChain([first, a, { ...b, seq: 3 }].map(stored))).toEqual({ seq: 3, reason: expect.stringContaining('link to the previous row') });
  });
});
