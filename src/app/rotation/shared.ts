/**
 * What the rotation steps share: their common input, the trust anchor they name, and whether the rotation's recorded
 * phase lets a step run (the table in domain/rotation.ts), with the error of a step it refuses.
 */
import { PkiError } from '../../errors.js';
import type { Gateway, GatewayOptions } from '../../adapters/aws/gateway.js';
import type { PassphraseSource } from '../../crypto/passphrase.js';
import type { AnchorRecord, CaRecord, RotationRecord } from '../../ports.js';
import { NEXT_STEP, transition, type RotationStep, type Transition } from '../../domain/rotation.js';
import type { LeaseOptions } from '../lease.js';
import type { Workspace } from '../workspace.js';

export const names = (cas: CaRecord[]): string[] => cas.map((c) => c.name);

export async function requireAnchor(ws: Workspace, name: string): Promise<AnchorRecord> {
  const anchor = await ws.store.getAnchor(name);
  if (!anchor) throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${name}" is not known to this PKI`, { hint: `run pki anchor push --name ${name} --ca ... first` });
  return anchor;
}

export interface RotateInput extends GatewayOptions, PassphraseSource, LeaseOptions {
  dir?: string;
  anchor: string;
  /** `dryRun`: report the calls a step would make and change nothing. */
  dryRun?: boolean;
  /** For tests: a gateway instead of the SDK one. */
  gateway?: Gateway;
}

/** The open rotation on `anchorName`, with what `step` does in its phase; refuses (from the table) when it does nothing. */
export async function requireOpen(ws: Workspace, anchorName: string, step: RotationStep): Promise<{ r: RotationRecord; t: Exclude<Transition, { kind: 'refuse' }> }> {
  await requireAnchor(ws, anchorName);
  const r = await ws.store.openRotation(anchorName);
  const t = transition(r?.phase ?? 'none', step);
  if (t.kind === 'refuse' || !r) throw refusal(step, t.kind === 'refuse' ? t : { kind: 'refuse', code: 'STATE_NO_ROTATION' }, anchorName, r);
  return { r, t };
}

/** The error for a step the state machine refuses (domain/rotation.ts), with the code the table gives. */
export function refusal(step: RotationStep, t: Extract<Transition, { kind: 'refuse' }>, anchorName: string, r: RotationRecord | undefined): PkiError {
  if (t.code === 'STATE_NO_ROTATION' || !r)
    return new PkiError('STATE_NO_ROTATION', `trust anchor ${anchorName} has no rotation in progress`, { hint: `start one: pki rotate plan --anchor ${anchorName} --new-ca NAME` });
  if (t.code === 'STATE_ROTATION_IN_PROGRESS') return inProgress(anchorName, r);
  if (step === 'start')
    return new PkiError('STATE_ROTATION_PHASE', `the rotation on ${anchorName} is already ${r.phase}; start is behind it`, { details: { phase: r.phase }, hint: `pki rotate status --anchor ${anchorName}` });
  const next = NEXT_STEP[r.phase];
  return new PkiError('STATE_ROTATION_PHASE', `cannot ${step}: the rotation on ${r.anchorName} is ${r.phase}; ${step} needs it ${t.need}`, {
    details: { anchor: r.anchorName, phase: r.phase },
    hint: next ? `next step: pki rotate ${next} --anchor ${r.anchorName}` : `pki rotate status --anchor ${r.anchorName}`,
  });
}

function inProgress(anchor: string, r: RotationRecord): PkiError {
  return new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${anchor} already has a rotation in progress (phase ${r.phase})`, {
    details: { anchor, rotation: r.id, phase: r.phase },
    hint: `see pki rotate status --anchor ${anchor}; finish or abort it first`,
  });
}
