/** `pki ca retire`, and the retiring of CAs that `pki rotate finish` shares. */
import { PkiError } from '../../errors.js';
import type { CaRecord, Deps } from '../../ports.js';
import { caStates, describeState } from '../ca-state.js';
import { subtree } from '../rotation-state.js';
import { getCa, withWorkspace, type Workspace } from '../workspace.js';

/**
 * Records `cas` as retired in one transaction with one `ca.retire` audit row each (`why` goes into its details).
 * Returns the names of the CAs whose state changed (already retired ones are left alone).
 */
export async function retireCas(ws: Workspace, cas: CaRecord[], why: Record<string, unknown>): Promise<string[]> {
  const changed = await ws.store.retireCas(
    cas.map((c) => c.id),
    cas.map((c) => ({ action: 'ca.retire', target: c.name, details: { status: c.status, ...why } })),
    ws.deps.actor,
    ws.now,
  );
  return cas.filter((c) => changed.includes(c.id)).map((c) => c.name);
}

/**
 * `pki ca retire NAME`: NAME and every CA below it stop issuing (STATE_CA_RETIRED) and leave monitoring (no CRL or
 * expiry alarms in `pki status`); their certificates, revocations and CRLs stay on record. A revoked CA keeps the
 * status `revoked`; retiring it acknowledges the incident (`pki status` stops reporting it as critical).
 */
export async function retireCa(deps: Deps, input: { dir?: string; name: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.name, 'CA');
    if (ca.status === 'pending')
      throw new PkiError('STATE_CA_PENDING', `CA ${ca.name} has no certificate yet: nothing to retire`, {
        details: { ca: ca.name },
        hint: 'a pending CA never issued anything; leave it, or import its certificate first',
      });
    const all = await ws.store.listCas();
    const below = subtree(all, ca).filter((c) => c.status !== 'pending');
    const retired = await retireCas(ws, below, { requestedFor: ca.name });
    const anchors = (await ws.store.listAnchors()).filter((a) => a.caNames.some((n) => below.some((c) => c.name === n)));
    const warnings = anchors.map(
      (a) => `trust anchor ${a.name} still holds ${a.caNames.filter((n) => below.some((c) => c.name === n)).join(', ')}: pki status no longer watches its CRL; push a bundle without it (pki anchor push --name ${a.name} --ca ...)`,
    );
    const states = await caStates(ws);
    return {
      name: ca.name,
      retired,
      unchanged: below.map((c) => c.name).filter((n) => !retired.includes(n)),
      cas: below.map((c) => ({ name: c.name, status: describeState(states.get(c.id)!) })),
      warnings,
    };
  });
}
