/** What a recorded CA rotation means for the rest of the PKI: which CAs may still issue and publish. */
import { PkiError } from '../errors.js';
import type { AnchorRecord, CaRecord, RotationPhase, RotationRecord } from '../ports.js';
import { BUNDLES_IN_PHASE, CLOSED_PHASES, type RotationPhase as DomainRotationPhase } from '../domain/rotation.js';
import type { Workspace } from './workspace.js';
import { assertCaUsable } from './ca-state.js';

export { CLOSED_PHASES };

/** The store's phase type and the state machine's are the same set (a compile-time check). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const samePhases: Same<RotationPhase, DomainRotationPhase> = true;
void samePhases;

/** `ca` and every CA below it. */
export function subtree(all: CaRecord[], ca: CaRecord): CaRecord[] {
  const out = [ca];
  for (let i = 0; i < out.length; i++) for (const c of all) if (c.parentId === out[i]!.id && c.id !== out[i]!.id && !out.includes(c)) out.push(c);
  return out;
}

/**
 * Refuses issuance from a CA that a rotation moved issuance away from: the old CA and every CA below it, from
 * `pki rotate switch` on; and a revoked or retired CA (ca-state.ts). Used by `pki issue` and `pki ca create | sign`.
 */
export async function assertIssuing(ws: Workspace, ca: CaRecord): Promise<void> {
  await assertCaUsable(ws, ca, 'issue');
  const rotations = (await ws.store.listRotations()).filter((r) => CLOSED_PHASES.includes(r.phase));
  if (!rotations.length) return;
  const all = await ws.store.listCas();
  for (const r of rotations) {
    const old = all.find((c) => c.id === r.oldCaId)!;
    if (!subtree(all, old).some((c) => c.id === ca.id)) continue;
    const neu = all.find((c) => c.id === r.newCaId)!;
    const when = r.phase === 'finished' ? `retired (rotated out of trust anchor ${r.anchorName} on ${r.endedAt!.toISOString()})` : `being rotated out of trust anchor ${r.anchorName} (issuance switched on ${r.switchedAt!.toISOString()})`;
    throw new PkiError('STATE_CA_RETIRED', `CA ${ca.name} is ${when}: issue from ${neu.name}${ca.id === old.id ? '' : ' or a CA below it'} instead`, {
      details: { ca: ca.name, anchor: r.anchorName, replacement: neu.name, phase: r.phase },
      hint: r.phase === 'finished' ? `certificates from ${ca.name} no longer verify against ${r.anchorName}` : `pki rotate abort --anchor ${r.anchorName} reopens it while that is safe`,
    });
  }
}

/** Refuses to publish to `anchorName` the CRL of a CA that a finished rotation took off it (a stale cron entry). */
export async function assertPublishable(ws: Workspace, anchorName: string, ca: CaRecord): Promise<void> {
  const all = await ws.store.listCas();
  for (const r of await ws.store.listRotations(anchorName)) {
    if (r.phase !== 'finished') continue;
    const old = all.find((c) => c.id === r.oldCaId)!;
    if (subtree(all, old).some((c) => c.id === ca.id))
      throw new PkiError('STATE_CA_RETIRED', `CA ${ca.name} was rotated out of trust anchor ${anchorName} on ${r.endedAt!.toISOString()}: its CRL no longer goes there`, {
        details: { ca: ca.name, anchor: anchorName, input: 'cas' },
        hint: `remove "input.cas ${ca.name}" from the publishing job for ${anchorName}`,
      });
  }
}

/**
 * The bundles (CA names) the service may hold for `anchor` right now: the recorded one, or, while a rotation is open,
 * what the rotation put there (both ends of a step that was interrupted). A rotation owns its anchor's bundle.
 */
export async function expectedBundles(ws: Workspace, anchor: AnchorRecord): Promise<{ bundles: string[][]; rotation: RotationRecord | undefined; oldName?: string; newName?: string }> {
  const r = await ws.store.openRotation(anchor.name);
  if (!r) return { bundles: [anchor.caNames], rotation: undefined };
  const oldName = (await ws.store.getCaById(r.oldCaId))!.name;
  const newName = (await ws.store.getCaById(r.newCaId))!.name;
  if (!r.anchorChange) return { bundles: [r.bundleBefore], rotation: r, oldName, newName };
  const before = r.bundleBefore;
  const during = [...before, newName];
  const after = before.map((n) => (n === oldName ? newName : n));
  const byName = { before, during, after };
  return { bundles: BUNDLES_IN_PHASE[r.phase].map((b) => byName[b]), rotation: r, oldName, newName };
}

/** Refuses a new CA that a rotation already closed for issuance (the old CA of a switched or finished rotation, or below it). */
export async function assertNotClosed(ws: Workspace, ca: CaRecord, flag: string): Promise<void> {
  const all = await ws.store.listCas();
  for (const r of (await ws.store.listRotations()).filter((x) => CLOSED_PHASES.includes(x.phase))) {
    const old = all.find((c) => c.id === r.oldCaId)!;
    if (!subtree(all, old).some((c) => c.id === ca.id)) continue;
    throw new PkiError('STATE_CA_RETIRED', `${flag} ${ca.name} is closed for issuance: the rotation on trust anchor ${r.anchorName} moved issuance from ${old.name} to ${all.find((c) => c.id === r.newCaId)!.name} (${r.phase})`, {
      details: { ca: ca.name, anchor: r.anchorName, phase: r.phase },
      hint: 'rotate to a CA that may still issue',
    });
  }
}
