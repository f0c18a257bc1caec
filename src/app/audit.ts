/** `pki audit verify` and `pki audit log`: the tamper-evident history of every state change. */
import { SerialSetDigest } from '../domain/audit.js';
import { verifyAuditChain as verifyChain } from '../domain/audit.js';
import type { AuditRecord, Deps } from '../ports.js';
import { PkiError } from '../errors.js';
import { withWorkspace, type Workspace } from './workspace.js';

export interface AuditBreak {
  seq: number;
  reason: string;
}

/** Recomputes the chain from the first row; returns the first row where it breaks, if any (domain/audit.ts). */
export function verifyAuditChain(rows: readonly AuditRecord[]): AuditBreak | undefined {
  return verifyChain(rows);
}

export const AUDIT_EXIT = { intact: 0, broken: 11 } as const;

/** "SEQ:HASH": what `pki audit head` prints and `pki audit verify --head` takes. */
export const formatHead = (r: { seq: number; hash: string }): string => `${r.seq}:${r.hash}`;

/** Parses `--head` ("SEQ:HASH" or a bare HASH). */
export function parseHead(text: string): { seq?: number; hash: string } {
  const m = /^(?:(\d+):)?([0-9a-f]{64})$/i.exec(text.trim());
  if (!m) throw new PkiError('USAGE_BAD_HEAD', `input.head "${text}" is not a head printed by pki audit head (SEQ:HASH, 64 hex digits)`, { details: { flag: 'input.head' } });
  return { ...(m[1] ? { seq: Number(m[1]) } : {}), hash: m[2]!.toLowerCase() };
}

/** Whether the recorded head `h` is still in the chain: absent means the log was truncated below it or replaced. */
export function checkHead(rows: readonly AuditRecord[], h: { seq?: number; hash: string }): string | null {
  const at = rows.find((r) => r.hash === h.hash);
  const last = rows.at(-1);
  if (at && (h.seq === undefined || at.seq === h.seq)) return null;
  if (h.seq !== undefined && last && last.seq < h.seq)
    return `the recorded head #${h.seq} is gone: the log now ends at row #${last.seq} (rows were removed from its end)`;
  if (h.seq !== undefined && !last) return `the recorded head #${h.seq} is gone: the log is empty`;
  return `the recorded head ${h.seq === undefined ? '' : `#${h.seq} `}${h.hash} is not in the log: it was truncated and rewritten, or replaced`;
}

const key = (issuerId: unknown, serial: unknown) => `${String(issuerId)}:${String(serial)}`;

/**
 * Cross-checks the store's certificate and revocation rows against the audit events that recorded them (each was
 * written in the same transaction as its row): a row without its event was added behind pki's back, an event without
 * its row means the row was deleted (e.g. a revocation, after dropping its trigger). Returns the problems found.
 */
export async function crossCheckAudit(ws: Workspace, rows: readonly AuditRecord[]): Promise<string[]> {
  const cas = await ws.store.listCas();
  const caName = (id: number) => cas.find((c) => c.id === id)?.name ?? `#${id}`;
  const issued = new Map<string, number>();
  const revoked = new Map<string, number>();
  for (const r of rows) {
    if (r.action === 'certificate.issue') issued.set(key(r.details.issuerId, r.target), r.seq);
    else if (r.action === 'certificate.revoke') revoked.set(key(r.details.issuerId, r.target), r.seq);
    else if ((r.action === 'ca.init' || r.action === 'ca.create') && typeof r.details.serial === 'string') {
      // The CA's own certificate, recorded as issued by its parent (or by itself, for a root).
      const ca = cas.find((c) => c.name === r.target);
      if (ca) issued.set(key(ca.parentId ?? ca.id, r.details.serial), r.seq);
    }
  }
  const problems: string[] = [];
  // A CA imported with its history (pki import) records its old certificates and revocations in one event, with
  // their count and an order-independent digest; rows of that CA without their own event are checked against it.
  const imports = new Map<number, { seq: number; serials: number; serialsDigest: string; revocations: number; revocationsDigest: string }>();
  for (const r of rows)
    if (r.action === 'ca.import-history' && typeof r.details.serialsDigest === 'string') {
      const ca = cas.find((c) => c.name === r.target);
      if (ca)
        imports.set(ca.id, {
          seq: r.seq,
          serials: Number(r.details.certificates ?? 0) + Number(r.details.knownSerials ?? 0),
          serialsDigest: r.details.serialsDigest,
          revocations: Number(r.details.revocations ?? 0),
          revocationsDigest: String(r.details.revocationsDigest),
        });
    }
  const importedCerts = new Map<number, { n: number; digest: SerialSetDigest }>();
  const importedRevs = new Map<number, { n: number; digest: SerialSetDigest }>();
  const tally = (m: Map<number, { n: number; digest: SerialSetDigest }>, id: number, serial: string) => {
    const t = m.get(id) ?? { n: 0, digest: new SerialSetDigest() };
    t.n++;
    t.digest.add(serial);
    m.set(id, t);
  };
  const certs = new Set<string>();
  for (const c of await ws.store.certificateKeys()) {
    const k = key(c.issuerId, c.serial);
    certs.add(k);
    if (issued.has(k)) continue;
    if (imports.has(c.issuerId)) tally(importedCerts, c.issuerId, c.serial);
    else problems.push(`certificate ${c.serial} of CA ${caName(c.issuerId)} has no audit event: it was added to the store behind pki's back`);
  }
  for (const [k, seq] of issued) {
    if (certs.has(k)) continue;
    const [issuerId, serial] = k.split(':');
    problems.push(`certificate ${serial} of CA ${caName(Number(issuerId))} (audit row #${seq}) is missing from the store: its row was deleted`);
  }
  const revs = new Set<string>();
  for (const r of await ws.store.revocationKeys()) {
    const k = key(r.issuerId, r.serial);
    revs.add(k);
    if (revoked.has(k)) continue;
    if (imports.has(r.issuerId)) tally(importedRevs, r.issuerId, r.serial);
    else problems.push(`the revocation of ${r.serial} by CA ${caName(r.issuerId)} has no audit event: it was added to the store behind pki's back`);
  }
  for (const [caId, ev] of imports) {
    const c = importedCerts.get(caId) ?? { n: 0, digest: new SerialSetDigest() };
    const v = importedRevs.get(caId) ?? { n: 0, digest: new SerialSetDigest() };
    if (c.n !== ev.serials || c.digest.hex !== ev.serialsDigest)
      problems.push(`the certificates imported into CA ${caName(caId)} (audit row #${ev.seq}: ${ev.serials}) no longer match the store (${c.n}): rows were added, removed or changed`);
    if (v.n !== ev.revocations || v.digest.hex !== ev.revocationsDigest)
      problems.push(`the revocations imported into CA ${caName(caId)} (audit row #${ev.seq}: ${ev.revocations}) no longer match the store (${v.n}): rows were added, removed or changed, so the next CRL would be wrong`);
  }
  for (const [k, seq] of revoked) {
    if (revs.has(k)) continue;
    const [issuerId, serial] = k.split(':');
    problems.push(`the revocation of ${serial} by CA ${caName(Number(issuerId))} (audit row #${seq}) is missing from the store: its row was deleted, so the next CRL would leave it out`);
  }
  return problems;
}

export async function verifyAudit(deps: Deps, input: { dir?: string; head?: string }) {
  const recorded = input.head === undefined ? undefined : parseHead(input.head);
  return withWorkspace(input.dir, deps, async (ws) => {
    const rows = await ws.store.auditLog();
    const broken = verifyAuditChain(rows);
    const mismatches = await crossCheckAudit(ws, rows);
    const headProblem = recorded ? checkHead(rows, recorded) : null;
    const intact = !broken && !mismatches.length && !headProblem;
    const last = rows.at(-1);
    return {
      intact,
      rows: rows.length,
      head: last ? { seq: last.seq, hash: last.hash, text: formatHead(last) } : null,
      firstBroken: broken ?? null,
      /** Certificate and revocation rows that do not match their audit events. */
      mismatches,
      /** With --head: null when the recorded head is still in the chain, else why not. */
      headCheck: recorded ? { head: input.head!.trim(), problem: headProblem } : null,
      exitCode: intact ? AUDIT_EXIT.intact : AUDIT_EXIT.broken,
    };
  });
}

/** `pki audit head`: the last row's sequence number and hash, to record somewhere else. */
export async function auditHead(deps: Deps, input: { dir?: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const last = (await ws.store.auditLog()).at(-1);
    return last ? { seq: last.seq, hash: last.hash, at: last.at.toISOString(), head: formatHead(last) } : { seq: 0, hash: null, at: null, head: null };
  });
}

export async function auditLog(deps: Deps, input: { dir?: string; limit?: number }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const rows = await ws.store.auditLog();
    const shown = input.limit ? rows.slice(-input.limit) : rows;
    return shown.map((r) => ({ seq: r.seq, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details, hash: r.hash }));
  });
}
