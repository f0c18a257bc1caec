/** `pki rotate finish`: the old CA leaves the trust anchor and is retired. */
import { checkGatewayEndpoints } from '../../adapters/aws/endpoint.js';
import type { Deps } from '../../ports.js';
import { checkCaCertificate, retireCas } from '../ca/index.js';
import { pushAnchor } from '../publish.js';
import { phasesBefore } from '../../domain/rotation.js';
import { withAnchorLease } from '../lease.js';
import { caCertificate, withWorkspace } from '../workspace.js';
import { beginClosingRun, dependents, refuseDependents } from './analysis.js';
import { gatewayFor, pushBundle, refuseLastCrl, removeCrls } from './service.js';
import type { RotateInput } from './shared.js';

/** `pki rotate finish`: bundle = [new], the old side's CRLs deleted, the old CA retired. */
export async function finishRotation(deps: Deps, input: RotateInput & { force?: number }) {
  checkGatewayEndpoints(deps.env, input);
  const step = (input: RotateInput & { force?: number }) =>
    withWorkspace(input.dir, deps, async (ws) => {
      // A first run records the intent (finishing); a run from the intent phase completes an interrupted finish.
      const run = await beginClosingRun(ws, input.anchor, 'finish');
      const { t, fresh, a, calls } = run;
      let r = run.r;
      if (fresh) {
        refuseDependents('finish', a, a.old.name, await dependents(ws, a, a.oldSubtree), input.force, ws);
        checkCaCertificate(caCertificate(a.neu!), `CA ${a.newName}`, ws.now);
      }
      const gw = await gatewayFor(deps, input, a.anchor);
      if (fresh) await refuseLastCrl('finish', a, a.oldSubtree, a.newName, gw, calls);
      if (input.dryRun) {
        if (r.anchorChange) calls.push(...(await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, name: a.anchor.name, cas: a.bundleAfter, gateway: gw, dryRun: true })).calls);
        const gone = a.published.filter((p) => a.oldSubtree.some((c) => c.id === p.issuerId));
        calls.push(...gone.map((p) => `DeleteCrl (${a.oldSubtree.find((c) => c.id === p.issuerId)!.name})`));
        return { anchor: r.anchorName, dryRun: true, phase: r.phase, old: a.old.name, new: a.newName, calls, forced: input.force ?? 0 };
      }
      if (t.intent)
        r = await ws.store.setRotationPhase(r.id, phasesBefore('finish', t.intent), t.intent, { action: 'rotate.finish', target: r.anchorName, details: { rotation: r.id, forced: input.force ?? 0 } }, deps.actor, ws.now);
      // The bundle first: while the old CA is still trusted its CRL must stay, or what it revoked would work again.
      if (r.anchorChange) await pushBundle(deps, input, a.anchor.name, a.bundleAfter, gw, calls);
      await removeCrls(ws, a.anchor, a.oldSubtree, gw, calls);
      // Finished and the old side retired in one transaction: never a finished rotation whose old CAs still issue.
      const finishing = r;
      r = await ws.store.transaction(async (tx) => {
        const done = await tx.setRotationPhase(finishing.id, phasesBefore('finish', t.to), t.to, { action: 'rotate.finished', target: finishing.anchorName, details: { rotation: finishing.id, retired: a.old.name, calls } }, deps.actor, ws.now);
        // ws.store, called from the body, joins the transaction.
        await retireCas(ws, a.oldSubtree, { rotation: done.id, anchor: done.anchorName });
        return done;
      });
      return { anchor: r.anchorName, dryRun: false, phase: r.phase, old: a.old.name, new: a.newName, calls, forced: input.force ?? 0 };
    });
  return input.dryRun ? step(input) : withAnchorLease(deps, input, input.anchor, (leaseHolder) => step({ ...input, leaseHolder }));
}
