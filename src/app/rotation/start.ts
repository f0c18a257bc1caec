/** `pki rotate start`: the new CA (created if asked) goes into the trust anchor beside the old one. */
import { checkGatewayEndpoints } from '../../adapters/aws/endpoint.js';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { createCa } from '../ca/index.js';
import { publishCrls, pushAnchor } from '../publish.js';
import { INTERRUPTED, phasesBefore, startTransition } from '../../domain/rotation.js';
import { withAnchorLease } from '../lease.js';
import { withWorkspace } from '../workspace.js';
import { analyse, recorded } from './analysis.js';
import { gatewayFor, preflight, publishAll, pushBundle } from './service.js';
import { refusal, requireAnchor, type RotateInput } from './shared.js';

export interface StartInput extends RotateInput {
  newCa: string;
  oldCa?: string;
  /** Creates the new CA when it does not exist yet. */
  subject?: string;
  /** With `subject`: the parent of a new intermediate (default: the old CA's parent); a root when the old CA is one. */
  parent?: string;
  keyType?: string;
  validity?: string;
  noPassphrase?: boolean;
  newPassphraseFile?: string;
  /** With `subject`: a pkcs11: URI naming the token on which the new CA's key is generated. */
  keyStore?: string;
}

/** `pki rotate start`: the new CA goes into the bundle beside the old one; both CRLs are published. */
export async function startRotation(deps: Deps, input: StartInput) {
  checkGatewayEndpoints(deps.env, input);
  const created = await withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await requireAnchor(ws, input.anchor);
    const open = await ws.store.openRotation(anchor.name);
    if (open) {
      const neu = await ws.store.getCaById(open.newCaId);
      const t = startTransition(open.phase, neu?.name === input.newCa);
      if (t.kind === 'refuse') throw refusal('start', t, anchor.name, open);
      return null;
    }
    if (await ws.store.getCa(input.newCa)) return null;
    if (!input.subject)
      throw new PkiError('NOT_FOUND_CA', `input.newCa ${input.newCa}: no such CA`, { details: { ca: input.newCa, input: ['newCa', 'subject'] }, hint: 'pass input.subject "CN=..." to create it, or create it first with pki ca create' });
    // Check everything that does not need the new CA before creating it.
    const a = await analyse(ws, anchor, input.newCa, input.oldCa, true);
    const parent = input.parent ?? (a.old.parentId === null ? undefined : (await ws.store.getCaById(a.old.parentId))?.name);
    // Preflight before anything is written (the new CA included): keys that sign CRLs, CRL slots on the service.
    const reads: string[] = [];
    const preflightChecks = await preflight(ws, a, input, await gatewayFor(deps, input, anchor), reads);
    // What a dry run can tell without the new CA: the calls that would change something.
    const calls = [
      ...reads,
      ...(a.anchorChange ? ['UpdateTrustAnchor'] : []),
      ...a.crlCas.map((n) => (n === a.old.name && a.published.some((p) => p.issuerId === a.old.id) ? `UpdateCrl when changed (${n})` : `ImportCrl (${n})`)),
    ];
    return { root: parent === undefined, parent, old: a.old.name, calls, preflight: preflightChecks, otherAnchors: a.otherAnchors.map((x) => x.message) };
  });
  if (created && input.dryRun)
    return {
      anchor: input.anchor,
      dryRun: true,
      phase: null,
      old: created.old,
      new: input.newCa,
      calls: created.calls,
      created: { ca: input.newCa, root: created.root, parent: created.parent ?? null },
      preflight: created.preflight,
      otherAnchors: created.otherAnchors,
    };
  if (created)
    await createCa(deps, {
      ...(input.dir ? { dir: input.dir } : {}),
      name: input.newCa,
      ...(created.root ? { root: true } : { parent: created.parent! }),
      subject: input.subject!,
      ...(input.keyType ? { keyType: input.keyType } : {}),
      ...(input.validity ? { validity: input.validity } : {}),
      ...(input.noPassphrase ? { noPassphrase: true } : {}),
      ...(input.passphraseFile ? { passphraseFile: input.passphraseFile } : {}),
      ...(input.newPassphraseFile ? { newPassphraseFile: input.newPassphraseFile } : {}),
      ...(input.keyStore ? { keyStore: input.keyStore } : {}),
    });
  const step = (input: StartInput) =>
    withWorkspace(input.dir, deps, async (ws) => {
      const anchor = await requireAnchor(ws, input.anchor);
      let rotation = await ws.store.openRotation(anchor.name);
      const t = startTransition(rotation?.phase ?? 'none', true);
      if (t.kind !== 'run') throw refusal('start', t.kind === 'refuse' ? t : { kind: 'refuse', code: 'STATE_ROTATION_PHASE' }, anchor.name, rotation);
      const a = rotation ? await recorded(ws, rotation) : await analyse(ws, anchor, input.newCa, input.oldCa, false);
      const calls: string[] = [];
      const gw = await gatewayFor(deps, input, anchor);
      // Preflight before the first write (and in a dry run): a failure here leaves the service and the store as they were.
      const preflightChecks = !rotation || INTERRUPTED[rotation.phase] === 'start' ? await preflight(ws, a, input, gw, calls) : [];
      const otherAnchors = a.otherAnchors.map((x) => x.message);
      if (input.dryRun) {
        const dry = await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, name: anchor.name, cas: a.bundleDuring, gateway: gw, dryRun: true });
        calls.push(...dry.calls);
        if (a.crlCas.length) {
          const r = await publishCrls(deps, { ...input, cas: a.crlCas, anchors: [anchor.name], gateway: gw, dryRun: true });
          for (const x of r.results) calls.push(...(x.ok ? x.calls.map((c) => `${c} (${x.ca})`) : [`refused (${x.ca}): ${x.error!.code}`]));
        }
        return { anchor: anchor.name, dryRun: true, phase: rotation?.phase ?? null, old: a.old.name, new: a.newName, calls, created: null, preflight: preflightChecks, otherAnchors };
      }
      rotation ??= await ws.store.createRotation(
        { anchorName: anchor.name, oldCaId: a.old.id, newCaId: a.neu!.id, anchorChange: a.anchorChange, bundleBefore: a.bundleBefore, startedAt: ws.now },
        { action: 'rotate.start', target: anchor.name, details: { old: a.old.name, new: a.newName, anchorChange: a.anchorChange, bundle: a.bundleDuring } },
        deps.actor,
        ws.now,
      );
      if (a.anchorChange) await pushBundle(deps, input, anchor.name, a.bundleDuring, gw, calls);
      await publishAll(deps, input, anchor.name, a.crlCas, gw, calls);
      if (rotation.phase !== t.to)
        rotation = await ws.store.setRotationPhase(rotation.id, phasesBefore('start', t.to), t.to, { action: 'rotate.started', target: anchor.name, details: { rotation: rotation.id, calls } }, deps.actor, ws.now);
      return {
        anchor: anchor.name,
        dryRun: false,
        phase: rotation.phase,
        old: a.old.name,
        new: a.newName,
        calls,
        created: created ? { ca: input.newCa, root: created.root, parent: created.parent ?? null } : null,
        preflight: preflightChecks,
        otherAnchors,
      };
    });
  return input.dryRun ? step(input) : withAnchorLease(deps, input, input.anchor, (leaseHolder) => step({ ...input, leaseHolder }));
}
