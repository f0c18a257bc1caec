/**
 * A CA's effective lifecycle state: its stored status, what the store proves beyond it (its certificate revoked by
 * its parent; the old CA of a finished rotation) and what it inherits from the CAs above it (a CA below a revoked
 * or retired CA is revoked or retired too: nothing it signs can be used).
 */
import { PkiError } from '../errors.js';
import type { CaRecord, CaStatus, Revocation } from '../ports.js';
import { reasonName } from '../domain/serial.js';
import type { Workspace } from './workspace.js';

export interface CaState {
  /** `revoked` wins over `retired`, which wins over the stored `active` / `pending`. */
  state: CaStatus;
  /** The CA above this one whose state it inherits (null: its own). */
  via: string | null;
  /** The revocation of the CA certificate that makes it revoked (this CA's or the one named by `via`). */
  revocation: Revocation | null;
  /** Retired, or revoked and then retired (the incident acknowledged: `pki status` no longer alarms on it). */
  retired: boolean;
  retiredAt: Date | null;
}

interface Own {
  revocation: Revocation | null;
  retired: boolean;
  retiredAt: Date | null;
}

/** Every CA's effective state, by id. */
export async function caStates(ws: Workspace, all?: CaRecord[]): Promise<Map<number, CaState>> {
  const cas = all ?? (await ws.store.listCas());
  const byId = new Map(cas.map((c) => [c.id, c]));
  const finished = (await ws.store.listRotations()).filter((r) => r.phase === 'finished');
  const own = new Map<number, Own>();
  for (const ca of cas) {
    let revocation: Revocation | null = null;
    if (ca.serial) {
      // The CA certificate's row: issued by the parent (or by itself, for a root made here).
      const issuerId = ca.parentId ?? ca.id;
      const [cert] = await ws.store.getCertificates(ca.serial, issuerId);
      revocation = cert?.revocation ?? null;
    }
    if (!revocation && ca.status === 'revoked') revocation = { reason: 0, revokedAt: ca.createdAt, invalidityDate: null };
    const rotation = finished.filter((r) => r.oldCaId === ca.id).pop();
    const retiredAt = ca.retiredAt ?? rotation?.endedAt ?? null;
    own.set(ca.id, { revocation, retired: ca.status === 'retired' || retiredAt !== null, retiredAt });
  }
  const out = new Map<number, CaState>();
  for (const ca of cas) {
    // This CA, then its issuers up to the root.
    const line: CaRecord[] = [];
    for (let c: CaRecord | undefined = ca; c && !line.includes(c); c = c.parentId === null ? undefined : byId.get(c.parentId)) line.push(c);
    const revokedBy = line.find((c) => own.get(c.id)!.revocation);
    const retiredBy = line.find((c) => own.get(c.id)!.retired);
    const retired = !!retiredBy;
    const retiredAt = retiredBy ? own.get(retiredBy.id)!.retiredAt : null;
    if (revokedBy) out.set(ca.id, { state: 'revoked', via: revokedBy === ca ? null : revokedBy.name, revocation: own.get(revokedBy.id)!.revocation, retired, retiredAt });
    else if (retiredBy) out.set(ca.id, { state: 'retired', via: retiredBy === ca ? null : retiredBy.name, revocation: null, retired, retiredAt });
    else out.set(ca.id, { state: ca.status, via: null, revocation: null, retired: false, retiredAt: null });
  }
  return out;
}

/** "revoked (cACompromise, 2026-03-01T12:00:00.000Z)" / "revoked with its issuer root (...)". */
export function describeState(s: CaState): string {
  if (s.state === 'revoked') {
    const r = s.revocation!;
    return `revoked${s.via ? ` with its issuer ${s.via}` : ''} (${reasonName(r.reason)}, ${r.revokedAt.toISOString()})`;
  }
  if (s.state === 'retired') return `retired${s.via ? ` with its issuer ${s.via}` : ''}${s.retiredAt ? ` on ${s.retiredAt.toISOString()}` : ''}`;
  return s.state;
}

/**
 * Refuses to use a revoked CA (STATE_CA_REVOKED) for anything that extends trust in it: issuance, CRL generation,
 * a trust-anchor bundle. With `issue`, a retired CA is refused too (STATE_CA_RETIRED).
 */
export async function assertCaUsable(ws: Workspace, ca: CaRecord, use: 'issue' | 'crl' | 'anchor'): Promise<void> {
  const s = (await caStates(ws)).get(ca.id)!;
  const what = { issue: 'issue certificates', crl: 'sign CRLs', anchor: 'go into a trust anchor' }[use];
  if (s.state === 'revoked')
    throw new PkiError('STATE_CA_REVOKED', `CA ${ca.name} is ${describeState(s)}: it may not ${what}`, {
      details: { ca: ca.name, via: s.via, reason: s.revocation!.reason, revokedAt: s.revocation!.revokedAt.toISOString() },
      hint:
        use === 'anchor'
          ? `leave ${ca.name} out of the bundle; publish the CRL of ${s.via ?? 'its issuer'} so that Roles Anywhere refuses its certificates`
          : `use another CA; create a replacement with: pki ca create NAME --parent PARENT --subject ...`,
    });
  if (use === 'issue' && s.state === 'retired')
    throw new PkiError('STATE_CA_RETIRED', `CA ${ca.name} is ${describeState(s)}: it may not ${what}`, {
      details: { ca: ca.name, via: s.via, retiredAt: s.retiredAt?.toISOString() ?? null },
      hint: 'issue from an active CA (pki ca list)',
    });
}

/** Warnings for the revoked CAs among a trust anchor's bundle (`pki anchor status`, `pki rotate plan`). */
export async function revokedInBundle(ws: Workspace, anchorName: string, caNames: string[]): Promise<string[]> {
  const all = await ws.store.listCas();
  const states = await caStates(ws, all);
  const out: string[] = [];
  for (const name of caNames) {
    const ca = all.find((c) => c.name === name);
    const s = ca && states.get(ca.id);
    if (s?.state === 'revoked')
      out.push(`trust anchor ${anchorName}'s bundle holds CA ${name}, which is ${describeState(s)}: push a bundle without it (pki anchor push --name ${anchorName} --ca ...)`);
  }
  return out;
}
