/** `pki rotate plan`: the steps of a rotation, what each changes and when it can run (nothing is changed). */
import { checkGatewayEndpoints } from '../../adapters/aws/endpoint.js';
import { PkiError } from '../../errors.js';
import type { Gateway, GatewayOptions } from '../../adapters/aws/gateway.js';
import { formatDuration } from '../../domain/duration.js';
import type { PassphraseSource } from '../../crypto/passphrase.js';
import type { Deps } from '../../ports.js';
import { loadProfile } from '../../profile/load.js';
import { transition } from '../../domain/rotation.js';
import { revokedInBundle } from '../ca-state.js';
import { caCertificate, withWorkspace, type Workspace } from '../workspace.js';
import { analyse, dependents, leavesJson } from './analysis.js';
import { gatewayFor, preflight } from './service.js';
import { names, refusal, requireAnchor } from './shared.js';

function maxLeafValidity(ws: Workspace): number | undefined {
  try {
    return loadProfile(ws.config.defaultProfile, ws.config.profilesDir, ws.deps.cwd).validity.max;
  } catch {
    return undefined;
  }
}

/** `pki rotate plan`: every step with what it changes and when it can run. Changes nothing, calls nothing. */
export async function planRotation(
  deps: Deps,
  input: GatewayOptions & PassphraseSource & { dir?: string; anchor: string; newCa: string; oldCa?: string; subject?: string; parent?: string; checkService?: boolean; gateway?: Gateway },
) {
  checkGatewayEndpoints(deps.env, input);
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await requireAnchor(ws, input.anchor);
    const open = await ws.store.openRotation(anchor.name);
    const t = transition(open?.phase ?? 'none', 'plan');
    if (t.kind === 'refuse') throw refusal('plan', t, anchor.name, open);
    const exists = !!(await ws.store.getCa(input.newCa));
    if (!exists && !input.subject)
      throw new PkiError('NOT_FOUND_CA', `input.newCa ${input.newCa}: no such CA`, { details: { ca: input.newCa, input: ['newCa', 'subject'] }, hint: 'pass input.subject "CN=..." to have start create it, or create it first with pki ca create' });
    const a = await analyse(ws, anchor, input.newCa, input.oldCa, true);
    const oldIsRoot = a.old.parentId === null;
    const parentName = input.parent ?? (oldIsRoot ? undefined : (await ws.store.getCaById(a.old.parentId!))?.name);
    const createdAs = exists ? null : parentName === undefined ? 'a new self-signed root' : `an intermediate signed by ${parentName}`;
    const { live, revoked, until: waitUntil } = await dependents(ws, a, a.oldSubtree);
    const maxValidity = maxLeafValidity(ws);
    // The checks start makes before its first write; the service's CRL slots only with --check-service.
    const reads: string[] = [];
    const preflightChecks = await preflight(ws, a, { ...input, passphraseOptional: true }, input.checkService ? await gatewayFor(deps, input, anchor) : undefined, reads);
    if (!input.checkService) preflightChecks.push({ check: 'crl-slots', ok: true, message: 'not checked against the service (pass input.checkService)' });
    const warnings: string[] = [...(await revokedInBundle(ws, anchor.name, anchor.caNames)), ...a.otherAnchors.filter((x) => !x.trustsNew).map((x) => x.message)];
    if (a.neu) {
      const newCert = caCertificate(a.neu);
      const oldCert = caCertificate(a.old);
      if (newCert.notAfter <= oldCert.notAfter) warnings.push(`${a.newName} expires ${newCert.notAfter.toISOString()}, no later than ${a.old.name} (${oldCert.notAfter.toISOString()})`);
      if (waitUntil && oldCert.notAfter < waitUntil) warnings.push(`${a.old.name} itself expires ${oldCert.notAfter.toISOString()}, before its last leaf`);
    }
    const steps = [
      {
        step: 'start',
        command: `pki rotate start --anchor ${anchor.name} --new-ca ${a.newName}${input.oldCa ? ` --old-ca ${input.oldCa}` : ''}`,
        when: 'now',
        actions: [
          ...(createdAs ? [`create CA ${a.newName}: ${createdAs}`] : []),
          a.anchorChange ? `UpdateTrustAnchor ${anchor.name}: bundle [${a.bundleBefore.join(', ')}] → [${a.bundleDuring.join(', ')}]` : `no trust-anchor change: ${a.newName} chains to ${a.bundleBefore.join(', ')}, already in the bundle`,
          ...(a.crlCas.length
            ? [`publish the CRLs of ${a.crlCas.join(' and ')} (ImportCrl for a CA that has none there yet, else UpdateCrl; at most 2 per trust anchor)`]
            : [`no CRL: ${a.old.name} has none on ${anchor.name} (the service may only accept CRLs of CAs in the bundle, UNCONFIRMED)`]),
        ],
      },
      {
        step: 'switch',
        command: `pki rotate switch --anchor ${anchor.name}`,
        when: 'after start; certificates of both CAs verify from then on',
        actions: [`issuance moves to ${a.newName}: pki issue refuses ${names(a.oldSubtree).join(', ')} (STATE_CA_RETIRED)`],
      },
      {
        step: 'finish',
        command: `pki rotate finish --anchor ${anchor.name}`,
        when: waitUntil
          ? `on or after ${waitUntil.toISOString()}, when the last current certificate under ${a.old.name} expires${maxValidity ? `; each one issued before the switch can move this by up to ${formatDuration(maxValidity)}` : ''}`
          : `as soon as switched (no live certificate under ${a.old.name})${maxValidity ? `; each one issued before the switch moves this by up to ${formatDuration(maxValidity)}` : ''}`,
        actions: [
          a.anchorChange ? `UpdateTrustAnchor ${anchor.name}: bundle → [${a.bundleAfter.join(', ')}]` : 'no trust-anchor change',
          ...(a.published.some((p) => a.oldSubtree.some((c) => c.id === p.issuerId)) || a.anchorChange ? [`DeleteCrl: the CRLs of ${names(a.oldSubtree).join(', ')} on ${anchor.name}`] : []),
          `${a.old.name} is retired: it no longer issues`,
        ],
      },
    ];
    return {
      anchor: anchor.name,
      old: a.old.name,
      new: a.newName,
      newExists: exists,
      anchorChange: a.anchorChange,
      bundle: { before: a.bundleBefore, during: a.bundleDuring, after: a.bundleAfter },
      crlCas: a.crlCas,
      oldLeaves: leavesJson(ws, live),
      revokedUnexpired: revoked.count,
      earliestFinish: (waitUntil ?? ws.now).toISOString(),
      rollback: `pki rotate abort --anchor ${anchor.name} (restores [${a.bundleBefore.join(', ')}] while no live certificate depends on ${a.newName})`,
      steps,
      preflight: preflightChecks,
      otherAnchors: a.otherAnchors,
      warnings,
    };
  });
}
