/**
 * The rotation's side on the service: the gateway, the checks before the first write (preflight), and bringing the
 * trust anchor's bundle and CRLs to what a step needs (pushBundle, publishAll, removeCrls), verified with what the
 * service reports.
 */
import { PkiError } from '../../errors.js';
import { createGateway, type Gateway } from '../../adapters/aws/gateway.js';
import type { PassphraseSource } from '../../crypto/passphrase.js';
import type { AnchorRecord, CaRecord, Deps } from '../../ports.js';
import { crlResourceName, crlsOfCa, publishCrls, pushAnchor } from '../publish.js';
import { unlockCa, type Workspace } from '../workspace.js';
import { MAX_CRLS_PER_ANCHOR } from '../../domain/roles-anywhere.js';
import type { Analysis } from './analysis.js';
import type { RotateInput } from './shared.js';

/**
 * Refuses a step that would leave the trust anchor without any CRL where it had one (revocation silently off). Asks
 * the service (ListCrls): a CRL deleted out of band is not counted because the store still remembers it.
 */
export async function refuseLastCrl(step: string, a: Analysis, leaving: CaRecord[], staying: string, gw: Gateway, calls: string[]): Promise<void> {
  const ids = new Set(leaving.map((c) => c.id));
  const leavingIds = new Set(a.published.filter((p) => ids.has(p.issuerId)).map((p) => p.crlId));
  const leavingNames = new Set(leaving.map((c) => crlResourceName(c.name)));
  const remote = (await gw.listCrls()).filter((c) => c.trustAnchorArn === a.anchor.arn);
  calls.push('ListCrls');
  const goes = remote.filter((c) => leavingIds.has(c.crlId!) || leavingNames.has(c.name ?? ''));
  const stays = remote.filter((c) => !goes.includes(c));
  if (goes.length > 0 && stays.length === 0)
    throw new PkiError('STATE_ROTATION_LAST_CRL', `${step} would remove the only CRL on trust anchor ${a.anchor.name} (${goes.map((c) => c.name).join(', ')}): nothing would enforce ${staying}'s revocations`, {
      details: { anchor: a.anchor.name, crls: remote.map((c) => ({ name: c.name, id: c.crlId })) },
      hint: `publish ${staying}'s CRL first: pki crl publish --ca ${staying} --anchor ${a.anchor.name}`,
    });
}

export interface PreflightCheck {
  check: string;
  ok: boolean;
  message: string;
}

/**
 * What `rotate start` checks before its first write (shared by `plan` and `start --dry-run`): every CA whose CRL the
 * rotation publishes can sign (its key file is readable, the passphrase opens it, it matches the certificate), and,
 * with a gateway, the trust anchor has a CRL slot for each CA that has no CRL there yet (Roles Anywhere allows 2).
 * `passphraseOptional`: an encrypted key with no passphrase source is reported unchecked instead of failing (plan).
 */
export async function preflight(ws: Workspace, a: Analysis, src: PassphraseSource & { passphraseOptional?: boolean }, gw: Gateway | undefined, calls: string[]): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const failures: PkiError[] = [];
  const all = await ws.store.listCas();
  for (const name of a.crlCas) {
    const ca = all.find((c) => c.name === name);
    if (!ca) {
      checks.push({ check: `key/${name}`, ok: true, message: `${name} does not exist yet: start creates it and its key` });
      continue;
    }
    if (src.passphraseOptional && ca.keyEncrypted && !src.passphraseFile && !ws.deps.env.PKI_CA_PASSPHRASE && !ws.deps.interactive) {
      checks.push({ check: `key/${name}`, ok: true, message: `${name}'s key is encrypted and no passphrase was given: not checked (start checks it before its first write)` });
      continue;
    }
    try {
      await unlockCa(ws, ca, src);
      checks.push({ check: `key/${name}`, ok: true, message: `${name}'s key opens and matches its certificate (it signs ${name}'s CRLs)` });
    } catch (e) {
      if (!(e instanceof PkiError)) throw e;
      checks.push({ check: `key/${name}`, ok: false, message: `${name} cannot sign its CRL: ${e.message}` });
      failures.push(e);
    }
  }
  if (gw && a.crlCas.length) {
    const remote = (await gw.listCrls()).filter((c) => c.trustAnchorArn === a.anchor.arn);
    calls.push('ListCrls');
    const have = new Set<string>();
    for (const name of a.crlCas) {
      const ca = all.find((c) => c.name === name);
      const p = ca && a.published.find((x) => x.issuerId === ca.id);
      if (crlsOfCa(remote, name, ca, p?.crlId).length) have.add(name);
    }
    const needed = a.crlCas.filter((n) => !have.has(n));
    if (remote.length + needed.length > MAX_CRLS_PER_ANCHOR) {
      const e = new PkiError(
        'AWS_CRL_QUOTA',
        `trust anchor ${a.anchor.name} holds ${remote.length} CRL(s) on the service (${remote.map((c) => c.name).join(', ')}); the rotation needs ${needed.length} more (${needed.join(', ')}), and Roles Anywhere allows ${MAX_CRLS_PER_ANCHOR} per trust anchor`,
        {
          details: { anchor: a.anchor.name, crls: remote.map((c) => ({ name: c.name, id: c.crlId })), needed },
          hint: 'delete the CRL that no longer belongs on the trust anchor (aws rolesanywhere delete-crl), then run start again; nothing was changed',
        },
      );
      checks.push({ check: 'crl-slots', ok: false, message: e.message });
      failures.push(e);
    } else checks.push({ check: 'crl-slots', ok: true, message: `trust anchor ${a.anchor.name}: ${remote.length} CRL(s) on the service, ${needed.length} to import, at most 2` });
  }
  if (failures.length) {
    const first = failures[0]!;
    throw new PkiError(first.code, failures.length > 1 ? `${first.message} (and ${failures.length - 1} more problem(s): ${failures.slice(1).map((f) => f.message).join('; ')})` : first.message, {
      details: { ...(first.details ?? {}), preflight: checks },
      hint: `${first.hint ? `${first.hint}; ` : ''}nothing was changed on the service`,
    });
  }
  return checks;
}

export async function gatewayFor(deps: Deps, input: RotateInput, anchor: AnchorRecord): Promise<Gateway> {
  return input.gateway ?? createGateway(deps, { ...input, region: input.region ?? anchor.region });
}

/** Publishes (ImportCrl or UpdateCrl, verified) the CRLs of `cas` to the anchor; throws the first failure. */
export async function publishAll(deps: Deps, input: RotateInput, anchor: string, cas: string[], gw: Gateway, calls: string[]): Promise<void> {
  if (!cas.length) return;
  const r = await publishCrls(deps, { ...input, cas, anchors: [anchor], gateway: gw, dryRun: false });
  for (const x of r.results) calls.push(...x.calls.map((c) => `${c} (${x.ca})`));
  const failed = r.results.find((x) => !x.ok);
  if (failed) throw new PkiError(failed.error!.code, `publishing ${failed.ca}'s CRL: ${failed.error!.message}`, failed.error!.hint ? { hint: failed.error!.hint } : {});
}

/** Deletes the CRLs of `cas` from the anchor: found by recorded id or by name in ListCrls; absent ones are done. */
export async function removeCrls(ws: Workspace, anchor: AnchorRecord, cas: CaRecord[], gw: Gateway, calls: string[]): Promise<void> {
  const recorded = await ws.store.listPublishedCrls(anchor.name);
  const targets = cas.filter((c) => recorded.some((p) => p.issuerId === c.id));
  const wanted = new Map(cas.map((c) => [crlResourceName(c.name), c]));
  const remote = (await gw.listCrls()).filter((c) => c.trustAnchorArn === anchor.arn);
  calls.push('ListCrls');
  for (const crl of remote) {
    const rec = recorded.find((p) => p.crlId === crl.crlId);
    const ca = rec ? cas.find((c) => c.id === rec.issuerId) : wanted.get(crl.name ?? '');
    if (!ca) continue;
    try {
      await gw.deleteCrl(crl.crlId!);
      calls.push(`DeleteCrl (${ca.name})`);
    } catch (e) {
      if (!(e instanceof PkiError && e.code === 'AWS_ResourceNotFoundException')) throw e;
    }
  }
  for (const ca of targets)
    await ws.store.deletePublishedCrl(anchor.name, ca.id, { action: 'crl.unpublish', target: `${ca.name}@${anchor.name}`, details: { reason: 'rotation' } }, ws.deps.actor, ws.now);
}

/** Brings the trust anchor's bundle to `cas` (no call when it already is), verified with GetTrustAnchor. */
export async function pushBundle(deps: Deps, input: RotateInput, anchor: string, cas: string[], gw: Gateway, calls: string[]): Promise<void> {
  const r = await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, ...(input.leaseHolder ? { leaseHolder: input.leaseHolder } : {}), name: anchor, cas, gateway: gw });
  calls.push(...r.calls);
}
