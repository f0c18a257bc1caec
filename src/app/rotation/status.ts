/** `pki rotate status`: the phase, what still depends on the old CA, and the next step. */
import { formatDuration } from '../../domain/duration.js';
import type { Deps, RotationRecord } from '../../ports.js';
import { CLOSED_PHASES, INTERRUPTED } from '../../domain/rotation.js';
import { withWorkspace, type Workspace } from '../workspace.js';
import { dependents, leavesJson, recorded, type Analysis } from './analysis.js';
import { names, requireAnchor } from './shared.js';

function describeRotation(ws: Workspace, r: RotationRecord, a: Analysis) {
  return {
    id: r.id,
    anchor: r.anchorName,
    old: a.old.name,
    new: a.newName,
    phase: r.phase,
    anchorChange: r.anchorChange,
    bundle: { before: a.bundleBefore, during: a.bundleDuring, after: a.bundleAfter },
    crlCas: a.crlCas,
    startedAt: r.startedAt.toISOString(),
    switchedAt: r.switchedAt?.toISOString() ?? null,
    endedAt: r.endedAt?.toISOString() ?? null,
    closedForIssuance: CLOSED_PHASES.includes(r.phase) ? names(a.oldSubtree) : [],
    now: ws.now.toISOString(),
  };
}

/**
 * `pki rotate status`: the phase, what still depends on the old CA, and the next safe step. Offline (store only).
 * exitCode 10 when a step is due (switch, finish, or a step to re-run), 0 otherwise.
 */
export async function rotationStatus(deps: Deps, input: { dir?: string; anchor: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await requireAnchor(ws, input.anchor);
    const r = (await ws.store.openRotation(anchor.name)) ?? (await ws.store.listRotations(anchor.name)).pop();
    if (!r) return { anchor: anchor.name, rotation: null, oldLeaves: null, revokedUnexpired: 0, eta: null, next: null, due: false, message: `no rotation on ${anchor.name}`, exitCode: 0 };
    const a = await recorded(ws, r);
    const { live, revoked, until: eta } = await dependents(ws, a, a.oldSubtree);
    let next: string | null = null;
    let due = false;
    let message: string;
    const cmd = (s: string) => `pki rotate ${s} --anchor ${anchor.name}`;
    switch (r.phase) {
      case 'starting':
      case 'finishing':
      case 'aborting': {
        const step = INTERRUPTED[r.phase]!;
        next = step === 'start' ? `pki rotate start --anchor ${anchor.name} --new-ca ${a.newName}` : cmd(step);
        due = true;
        message = `${step} was interrupted: run it again to complete it`;
        break;
      }
      case 'started':
        next = cmd('switch');
        due = true;
        message = `both CAs are trusted; move issuance to ${a.newName}`;
        break;
      case 'switched':
        if (live.count || revoked.count) {
          next = cmd('finish');
          message = `waiting for ${live.count} live certificate(s) under ${a.old.name}${revoked.count ? ` and ${revoked.count} revoked one(s) to expire` : ''}; finish is safe after ${eta!.toISOString()} (${formatDuration(Math.ceil((eta!.getTime() - ws.now.getTime()) / 1000))} from now)`;
        } else {
          next = cmd('finish');
          due = true;
          message = `nothing depends on ${a.old.name} any more: finish is safe now`;
        }
        break;
      default:
        message = `the last rotation (${a.old.name} → ${a.newName}) is ${r.phase}`;
    }
    return {
      anchor: anchor.name,
      rotation: describeRotation(ws, r, a),
      oldLeaves: leavesJson(ws, live),
      revokedUnexpired: revoked.count,
      eta: eta?.toISOString() ?? null,
      next,
      due,
      message,
      exitCode: due ? 10 : 0,
    };
  });
}
