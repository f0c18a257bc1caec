/** `pki rotate switch`: issuance moves to the new CA. */
import { checkGatewayEndpoints } from '../../adapters/aws/endpoint.js';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { pushAnchor } from '../publish.js';
import { phasesBefore } from '../../domain/rotation.js';
import { withWorkspace } from '../workspace.js';
import { recorded } from './analysis.js';
import { gatewayFor } from './service.js';
import { names, requireOpen, type RotateInput } from './shared.js';

/**
 * `pki rotate switch`: from now on the old CA (and every CA below it) refuses to issue. Checks first that the
 * service's trust anchor really holds the new CA, so that what is issued from now on works.
 */
export async function switchRotation(deps: Deps, input: RotateInput) {
  checkGatewayEndpoints(deps.env, input);
  return withWorkspace(input.dir, deps, async (ws) => {
    const { r, t } = await requireOpen(ws, input.anchor, 'switch');
    const a = await recorded(ws, r);
    if (t.kind !== 'run') return { anchor: r.anchorName, dryRun: input.dryRun ?? false, phase: r.phase, old: a.old.name, new: a.newName, closed: names(a.oldSubtree), calls: [] as string[] };
    const calls: string[] = [];
    if (r.anchorChange) {
      const gw = await gatewayFor(deps, input, a.anchor);
      const dry = await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, name: a.anchor.name, cas: a.bundleDuring, gateway: gw, dryRun: true });
      calls.push('GetTrustAnchor');
      if (dry.calls.length)
        throw new PkiError('STATE_ROTATION_DRIFT', `trust anchor ${a.anchor.name} does not hold [${a.bundleDuring.join(', ')}] on the service: certificates from ${a.newName} would be refused`, {
          details: { anchor: a.anchor.name, expected: a.bundleDuring },
          hint: `re-run pki rotate start --anchor ${a.anchor.name} --new-ca ${a.newName} to put it back`,
        });
    }
    if (input.dryRun) return { anchor: r.anchorName, dryRun: true, phase: r.phase, old: a.old.name, new: a.newName, closed: names(a.oldSubtree), calls };
    const next = await ws.store.setRotationPhase(r.id, phasesBefore('switch', t.to), t.to, { action: 'rotate.switch', target: r.anchorName, details: { rotation: r.id, closed: names(a.oldSubtree), to: a.newName } }, deps.actor, ws.now);
    return { anchor: r.anchorName, dryRun: false, phase: next.phase, old: a.old.name, new: a.newName, closed: names(a.oldSubtree), calls };
  });
}
