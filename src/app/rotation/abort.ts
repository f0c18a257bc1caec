/** `pki rotate abort`: back to the trust anchor as it was before the rotation. */
import { checkGatewayEndpoints } from '../../adapters/aws/endpoint.js';
import type { Deps } from '../../ports.js';
import { checkCaCertificate } from '../ca/index.js';
import { pushAnchor } from '../publish.js';
import { phasesBefore } from '../../domain/rotation.js';
import { withAnchorLease } from '../lease.js';
import { caCertificate, withWorkspace } from '../workspace.js';
import { beginClosingRun, dependents, refuseDependents } from './analysis.js';
import { gatewayFor, pushBundle, refuseLastCrl, removeCrls } from './service.js';
import type { RotateInput } from './shared.js';

/** `pki rotate abort`: back to the bundle before the rotation while no live certificate depends on the new CA. */
export async function abortRotation(deps: Deps, input: RotateInput & { force?: number }) {
  checkGatewayEndpoints(deps.env, input);
  const step = (input: RotateInput & { force?: number }) =>
    withWorkspace(input.dir, deps, async (ws) => {
      // A first run records the intent (aborting); a run from the intent phase completes an interrupted abort.
      const run = await beginClosingRun(ws, input.anchor, 'abort');
      const { t, fresh, a, calls } = run;
      let r = run.r;
      if (fresh) {
        refuseDependents('abort', a, a.newName, await dependents(ws, a, a.newSubtree), input.force, ws);
        if (r.anchorChange) checkCaCertificate(caCertificate(a.old), `CA ${a.old.name}`, ws.now);
      }
      const gw = await gatewayFor(deps, input, a.anchor);
      if (fresh) await refuseLastCrl('abort', a, a.newSubtree, a.old.name, gw, calls);
      if (input.dryRun) {
        if (r.anchorChange) calls.push(...(await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, name: a.anchor.name, cas: a.bundleBefore, gateway: gw, dryRun: true })).calls);
        const gone = a.published.filter((p) => a.newSubtree.some((c) => c.id === p.issuerId));
        calls.push(...gone.map((p) => `DeleteCrl (${a.newSubtree.find((c) => c.id === p.issuerId)!.name})`));
        return { anchor: r.anchorName, dryRun: true, phase: r.phase, old: a.old.name, new: a.newName, calls, forced: input.force ?? 0 };
      }
      if (t.intent)
        r = await ws.store.setRotationPhase(r.id, phasesBefore('abort', t.intent), t.intent, { action: 'rotate.abort', target: r.anchorName, details: { rotation: r.id, from: r.phase, forced: input.force ?? 0 } }, deps.actor, ws.now);
      if (r.anchorChange) await pushBundle(deps, input, a.anchor.name, a.bundleBefore, gw, calls);
      await removeCrls(ws, a.anchor, a.newSubtree, gw, calls);
      r = await ws.store.setRotationPhase(r.id, phasesBefore('abort', t.to), t.to, { action: 'rotate.aborted', target: r.anchorName, details: { rotation: r.id, calls } }, deps.actor, ws.now);
      return { anchor: r.anchorName, dryRun: false, phase: r.phase, old: a.old.name, new: a.newName, calls, forced: input.force ?? 0 };
    });
  return input.dryRun ? step(input) : withAnchorLease(deps, input, input.anchor, (leaseHolder) => step({ ...input, leaseHolder }));
}
