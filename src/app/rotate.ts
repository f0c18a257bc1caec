/**
 * Two-certificate CA rotation on a Roles Anywhere trust anchor (`pki rotate plan | start | switch | status | finish |
 * abort`). A trust anchor holds at most 2 CA certificates and 2 CRLs (reference §2.3, §3.3): the new CA goes in beside
 * the old one, issuance moves to it, and the old one leaves once no live certificate depends on it.
 *
 * The state lives in the store (table `rotation`). A step that talks to AWS first records its intent (phase
 * `starting`, `finishing`, `aborting`), then brings the service to the state the step needs, checking what the service
 * reports (GetTrustAnchor, ListCrls) rather than assuming, then records the new phase. A step that died half-way is
 * completed by running it again.
 */
import { PkiError } from '../errors.js';
import { createGateway, type Gateway, type GatewayOptions } from '../adapters/aws/gateway.js';
import { formatDuration } from '../domain/duration.js';
import type { PassphraseSource } from '../crypto/passphrase.js';
import type { AnchorRecord, CaRecord, Deps, LeafSummary, PublishedCrl, RotationRecord } from '../ports.js';
import { loadProfile } from '../profile/load.js';
import { checkCaCertificate, createCa, retireCas } from './ca/index.js';
import { crlResourceName, crlsOfCa, publishCrls, pushAnchor } from './publish.js';
import { certificateSummary } from './query.js';
import { assertNotClosed, subtree } from './rotation-state.js';
import { CLOSED_PHASES, INTERRUPTED, NEXT_STEP, phasesBefore, startTransition, transition, type RotationStep, type Transition } from '../domain/rotation.js';
import { revokedInBundle } from './ca-state.js';
import { withAnchorLease, type LeaseOptions } from './lease.js';
import { caCertificate, unlockCa, withWorkspace, type Workspace } from './workspace.js';
import { MAX_CAS_PER_ANCHOR, MAX_CRLS_PER_ANCHOR } from '../domain/roles-anywhere.js';

const SAMPLE = 20;

export interface RotateInput extends GatewayOptions, PassphraseSource, LeaseOptions {
  dir?: string;
  anchor: string;
  /** `dryRun`: report the calls a step would make and change nothing. */
  dryRun?: boolean;
  /** For tests: a gateway instead of the SDK one. */
  gateway?: Gateway;
}

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

/** What a rotation touches, worked out from the store (never from the service). */
interface Analysis {
  anchor: AnchorRecord;
  old: CaRecord;
  /** Undefined only in a plan or dry run whose new CA does not exist yet. */
  neu: CaRecord | undefined;
  newName: string;
  anchorChange: boolean;
  bundleBefore: string[];
  bundleDuring: string[];
  bundleAfter: string[];
  /** CAs whose CRLs are published to the anchor during the overlap. */
  crlCas: string[];
  oldSubtree: CaRecord[];
  newSubtree: CaRecord[];
  published: PublishedCrl[];
  /** Other trust anchors of this PKI that trust the old CA (it or a CA above it is in their bundle). */
  otherAnchors: OtherAnchor[];
}

interface OtherAnchor {
  name: string;
  bundle: string[];
  /** Whether the new CA is trusted there too (it, or a CA above it, is in that bundle). */
  trustsNew: boolean;
  message: string;
}

/** Every other anchor that trusts `old`: a rotation on one anchor changes what issues for all of them. */
async function otherAnchorsTrusting(ws: Workspace, all: CaRecord[], anchorName: string, old: CaRecord, newName: string): Promise<OtherAnchor[]> {
  const neu = all.find((c) => c.name === newName);
  const out: OtherAnchor[] = [];
  for (const x of await ws.store.listAnchors()) {
    if (x.name === anchorName) continue;
    const through = [old, ...ancestors(all, old)].find((c) => x.caNames.includes(c.name));
    if (!through) continue;
    const trustsNew = !!neu && [neu, ...ancestors(all, neu)].some((c) => x.caNames.includes(c.name));
    out.push({
      name: x.name,
      bundle: x.caNames,
      trustsNew,
      message: trustsNew
        ? `trust anchor ${x.name} [${x.caNames.join(', ')}] also trusts ${old.name}, and trusts ${newName} too`
        : `trust anchor ${x.name} [${x.caNames.join(', ')}] also trusts ${old.name} but not ${newName}: after switch it trusts no CA that issues; rotate it too (pki rotate start --anchor ${x.name} --new-ca ${newName}${through.id === old.id ? '' : ` --old-ca ${old.name}`})`,
    });
  }
  return out;
}

const names = (cas: CaRecord[]): string[] => cas.map((c) => c.name);

/** `ca`'s ancestors, nearest first. */
function ancestors(all: CaRecord[], ca: CaRecord): CaRecord[] {
  const out: CaRecord[] = [];
  let cur = ca;
  while (cur.parentId !== null && cur.parentId !== cur.id) {
    const p = all.find((c) => c.id === cur.parentId);
    if (!p || out.includes(p)) break;
    out.push(p);
    cur = p;
  }
  return out;
}

async function requireAnchor(ws: Workspace, name: string): Promise<AnchorRecord> {
  const anchor = await ws.store.getAnchor(name);
  if (!anchor) throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${name}" is not known to this PKI`, { hint: `run pki anchor push --name ${name} --ca ... first` });
  return anchor;
}

function findCa(all: CaRecord[], name: string, flag: string): CaRecord {
  const ca = all.find((c) => c.name === name);
  if (!ca) throw new PkiError('NOT_FOUND_CA', `${flag} ${name}: no such CA (known: ${names(all).join(', ') || 'none'})`, { details: { ca: name } });
  return ca;
}

/** Works out the rotation and refuses what Roles Anywhere (or safety) does not allow. */
async function analyse(ws: Workspace, anchor: AnchorRecord, newName: string, oldName: string | undefined, allowMissingNew: boolean): Promise<Analysis> {
  const all = await ws.store.listCas();
  const neu = all.find((c) => c.name === newName);
  if (!neu && !allowMissingNew)
    throw new PkiError('NOT_FOUND_CA', `input.newCa ${newName}: no such CA`, { details: { ca: newName, input: ['newCa', 'subject'] }, hint: 'pass input.subject "CN=..." to create it, or create it first with pki ca create' });
  // A bundle that already holds the new CA beside the old one (pushed by hand) is a rotation half-way through start.
  const bundleBefore = anchor.caNames.filter((n) => n !== newName);
  let old: CaRecord;
  if (oldName !== undefined) old = findCa(all, oldName, 'input.oldCa');
  else if (bundleBefore.length === 1 && !(neu && ancestors(all, neu).some((a) => a.name === bundleBefore[0]))) old = findCa(all, bundleBefore[0]!, 'the trust anchor\'s CA');
  else
    throw new PkiError('USAGE_MISSING_OLD_CA', `name the CA that ${newName} replaces with input.oldCa (trust anchor ${anchor.name} holds ${anchor.caNames.join(', ')})`, {
      details: { anchor: anchor.name, bundle: anchor.caNames, input: 'oldCa' },
    });
  if (old.name === newName) throw new PkiError('USAGE_CONFLICT', `input.newCa and input.oldCa are the same CA (${newName})`, { details: { input: ['newCa', 'oldCa'] } });
  const oldSubtree = subtree(all, old);
  if (neu && oldSubtree.some((c) => c.id === neu.id))
    throw new PkiError('STATE_ROTATION_NEW_UNDER_OLD', `${newName} is signed by ${old.name} (directly or through other CAs): it cannot outlive the CA it replaces`, {
      details: { old: old.name, new: newName },
    });
  if (neu) {
    // Roles Anywhere's CA rules (reference §1.3): the new CA would be refused in a bundle, or could not sign leaves.
    checkCaCertificate(caCertificate(neu), `input.newCa ${newName}`, ws.now);
    // A CA another rotation closed for issuance cannot take over.
    await assertNotClosed(ws, neu, 'input.newCa');
  }
  const anchorChange = bundleBefore.includes(old.name);
  const { bundleDuring, bundleAfter } = bundles(bundleBefore, old.name, newName, anchorChange);
  if (anchorChange && bundleDuring.length > MAX_CAS_PER_ANCHOR)
    throw new PkiError('POLICY_BUNDLE_SIZE', `trust anchor ${anchor.name} already holds ${bundleBefore.length} CA certificates (${bundleBefore.join(', ')}): adding ${newName} would make a bundle of ${bundleDuring.length === 3 ? 'three' : bundleDuring.length}, and Roles Anywhere allows ${MAX_CAS_PER_ANCHOR}`, {
      details: { anchor: anchor.name, bundle: bundleBefore, new: newName },
      hint: `first take the other CA out of the bundle (pki anchor push --name ${anchor.name} --ca ${old.name}), or rotate it instead`,
    });
  if (!anchorChange) {
    const inBundle = (ca: CaRecord) => [ca, ...ancestors(all, ca)].find((c) => bundleBefore.includes(c.name));
    if (!inBundle(old))
      throw new PkiError('STATE_ROTATION_NOT_ON_ANCHOR', `input.oldCa ${old.name} is not trusted through trust anchor ${anchor.name} (${bundleBefore.join(', ')})`, {
        details: { anchor: anchor.name, bundle: bundleBefore, old: old.name },
      });
    if (neu && !inBundle(neu))
      throw new PkiError('STATE_ROTATION_NEW_UNTRUSTED', `${newName} does not chain to a CA of trust anchor ${anchor.name} (${bundleBefore.join(', ')}), and ${old.name} is not in the bundle to be replaced`, {
        details: { anchor: anchor.name, bundle: bundleBefore, new: newName, input: 'oldCa' },
        hint: `to put a new CA into the bundle, rotate the bundle's CA: input.oldCa ${bundleBefore.join(' or input.oldCa ')}`,
      });
  }
  const published = await ws.store.listPublishedCrls(anchor.name);
  const oldPublished = published.some((p) => p.issuerId === old.id);
  // A CA in the bundle signs a CRL the service accepts; a CA below the bundle only where the old one already had one.
  const crlCas = anchorChange || oldPublished ? [old.name, newName] : [];
  const byId = new Map(all.map((c) => [c.id, c.name]));
  const slots = new Set([...published.map((p) => byId.get(p.issuerId)!), ...crlCas]);
  if (slots.size > MAX_CRLS_PER_ANCHOR)
    throw new PkiError('STATE_ROTATION_CRL_SLOTS', `trust anchor ${anchor.name} would need ${slots.size} CRLs (${[...slots].join(', ')}) during the rotation; Roles Anywhere allows ${MAX_CRLS_PER_ANCHOR} per trust anchor`, {
      details: { anchor: anchor.name, crls: [...slots] },
      hint: 'delete the CRL of a CA that no longer issues from the trust anchor first',
    });
  return {
    anchor,
    old,
    neu,
    newName,
    anchorChange,
    bundleBefore,
    bundleDuring,
    bundleAfter,
    crlCas,
    oldSubtree,
    newSubtree: neu ? subtree(all, neu) : [],
    published,
    otherAnchors: await otherAnchorsTrusting(ws, all, anchor.name, old, newName),
  };
}

/** Rebuilds the analysis of a recorded rotation (the CAs and bundles it was started with). */
async function recorded(ws: Workspace, r: RotationRecord): Promise<Analysis> {
  const anchor = await requireAnchor(ws, r.anchorName);
  const all = await ws.store.listCas();
  const old = all.find((c) => c.id === r.oldCaId)!;
  const neu = all.find((c) => c.id === r.newCaId)!;
  const published = await ws.store.listPublishedCrls(anchor.name);
  const oldPublished = published.some((p) => p.issuerId === old.id);
  const newPublished = published.some((p) => p.issuerId === neu.id);
  return {
    anchor,
    old,
    neu,
    newName: neu.name,
    anchorChange: r.anchorChange,
    bundleBefore: r.bundleBefore,
    ...bundles(r.bundleBefore, old.name, neu.name, r.anchorChange),
    crlCas: r.anchorChange || oldPublished || newPublished ? [old.name, neu.name] : [],
    oldSubtree: subtree(all, old),
    newSubtree: subtree(all, neu),
    published,
    otherAnchors: await otherAnchorsTrusting(ws, all, anchor.name, old, neu.name),
  };
}

/** The bundle while both CAs are trusted, and after the old one left (unchanged when the old CA is not in it). */
function bundles(before: string[], oldName: string, newName: string, anchorChange: boolean): { bundleDuring: string[]; bundleAfter: string[] } {
  return anchorChange ? { bundleDuring: [...before, newName], bundleAfter: before.map((n) => (n === oldName ? newName : n)) } : { bundleDuring: before, bundleAfter: before };
}

/**
 * The certificates that leaving `side` would hurt: unexpired and unrevoked ones always; also revoked ones when the
 * side's CAs stay trusted through the bundle but their CRL leaves the anchor (they would work again). `until`: when
 * the last of them expires.
 */
async function dependents(ws: Workspace, a: Analysis, side: CaRecord[]): Promise<{ live: LeafSummary; revoked: LeafSummary; until: Date | null }> {
  const ids = side.map((c) => c.id);
  const crlMatters = !a.anchorChange && a.published.some((p) => ids.includes(p.issuerId));
  const live = await ws.store.leafSummary(ids, ws.now, { revoked: false, sample: SAMPLE });
  const revoked = crlMatters ? await ws.store.leafSummary(ids, ws.now, { revoked: true, sample: SAMPLE }) : { count: 0, latestNotAfter: null, sample: [] };
  const until = [live.latestNotAfter, revoked.latestNotAfter].filter((d): d is Date => !!d).reduce<Date | null>((m, d) => (!m || d > m ? d : m), null);
  return { live, revoked, until };
}

function leavesJson(ws: Workspace, s: LeafSummary) {
  return { count: s.count, latestNotAfter: s.latestNotAfter?.toISOString() ?? null, sample: s.sample.map((c) => certificateSummary(c, ws.now)) };
}

/**
 * Refuses to drop `side` (the old CA at finish, the new one at abort) while certificates depend on it. `force` must
 * equal the number of live certificates that will break: a deliberate, counted decision.
 */
function refuseDependents(step: string, a: Analysis, sideName: string, deps: { live: LeafSummary; revoked: LeafSummary }, force: number | undefined, ws: Workspace): void {
  const { live, revoked } = deps;
  if (revoked.count > 0)
    throw new PkiError(
      'STATE_ROTATION_REVOKED_LIVE',
      `${step} would delete ${sideName}'s CRL from trust anchor ${a.anchor.name} while ${revoked.count} certificate(s) it revoked are unexpired (the last until ${revoked.latestNotAfter!.toISOString()}): they chain to ${a.bundleBefore.join(', ')} and would work again`,
      { details: { anchor: a.anchor.name, ca: sideName, revoked: leavesJson(ws, revoked) }, hint: `wait until ${revoked.latestNotAfter!.toISOString()}` },
    );
  if (live.count === 0) return;
  const effect = a.anchorChange ? 'stop working (their CA leaves the trust anchor)' : 'lose revocation (their CA\'s CRL leaves the trust anchor)';
  if (force === undefined)
    throw new PkiError(
      'STATE_ROTATION_LIVE_LEAVES',
      `${live.count} unexpired, unrevoked certificate(s) under ${sideName} would ${effect}; the last expires ${live.latestNotAfter!.toISOString()}:\n` +
        live.sample.map((c) => `  ${c.serial}  ${c.subjectDn}  (${c.issuerName}, until ${c.notAfter.toISOString()})`).join('\n') +
        (live.count > live.sample.length ? `\n  ... and ${live.count - live.sample.length} more` : ''),
      { details: { anchor: a.anchor.name, ca: sideName, leaves: leavesJson(ws, live), input: 'force' }, hint: `wait until ${live.latestNotAfter!.toISOString()}, revoke them, or pass input.force ${live.count} to break them deliberately` },
    );
  if (force !== live.count)
    throw new PkiError('USAGE_FORCE_COUNT', `input.force ${force} does not match the ${live.count} live certificate(s) under ${sideName} that would ${effect}`, {
      details: { expected: live.count, given: force },
    });
}

/**
 * Refuses a step that would leave the trust anchor without any CRL where it had one (revocation silently off). Asks
 * the service (ListCrls): a CRL deleted out of band is not counted because the store still remembers it.
 */
async function refuseLastCrl(step: string, a: Analysis, leaving: CaRecord[], staying: string, gw: Gateway, calls: string[]): Promise<void> {
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

function maxLeafValidity(ws: Workspace): number | undefined {
  try {
    return loadProfile(ws.config.defaultProfile, ws.config.profilesDir, ws.deps.cwd).validity.max;
  } catch {
    return undefined;
  }
}

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
async function preflight(ws: Workspace, a: Analysis, src: PassphraseSource & { passphraseOptional?: boolean }, gw: Gateway | undefined, calls: string[]): Promise<PreflightCheck[]> {
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

/** `pki rotate plan`: every step with what it changes and when it can run. Changes nothing, calls nothing. */
export async function planRotation(
  deps: Deps,
  input: GatewayOptions & PassphraseSource & { dir?: string; anchor: string; newCa: string; oldCa?: string; subject?: string; parent?: string; checkService?: boolean; gateway?: Gateway },
) {
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

function inProgress(anchor: string, r: RotationRecord): PkiError {
  return new PkiError('STATE_ROTATION_IN_PROGRESS', `trust anchor ${anchor} already has a rotation in progress (phase ${r.phase})`, {
    details: { anchor, rotation: r.id, phase: r.phase },
    hint: `see pki rotate status --anchor ${anchor}; finish or abort it first`,
  });
}

async function gatewayFor(deps: Deps, input: RotateInput, anchor: AnchorRecord): Promise<Gateway> {
  return input.gateway ?? createGateway(deps, { ...input, region: input.region ?? anchor.region });
}

/** Publishes (ImportCrl or UpdateCrl, verified) the CRLs of `cas` to the anchor; throws the first failure. */
async function publishAll(deps: Deps, input: RotateInput, anchor: string, cas: string[], gw: Gateway, calls: string[]): Promise<void> {
  if (!cas.length) return;
  const r = await publishCrls(deps, { ...input, cas, anchors: [anchor], gateway: gw, dryRun: false });
  for (const x of r.results) calls.push(...x.calls.map((c) => `${c} (${x.ca})`));
  const failed = r.results.find((x) => !x.ok);
  if (failed) throw new PkiError(failed.error!.code, `publishing ${failed.ca}'s CRL: ${failed.error!.message}`, failed.error!.hint ? { hint: failed.error!.hint } : {});
}

/** Deletes the CRLs of `cas` from the anchor: found by recorded id or by name in ListCrls; absent ones are done. */
async function removeCrls(ws: Workspace, anchor: AnchorRecord, cas: CaRecord[], gw: Gateway, calls: string[]): Promise<void> {
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
async function pushBundle(deps: Deps, input: RotateInput, anchor: string, cas: string[], gw: Gateway, calls: string[]): Promise<void> {
  const r = await pushAnchor(deps, { ...(input.dir ? { dir: input.dir } : {}), fromRotation: true, ...(input.leaseHolder ? { leaseHolder: input.leaseHolder } : {}), name: anchor, cas, gateway: gw });
  calls.push(...r.calls);
}

/** `pki rotate start`: the new CA goes into the bundle beside the old one; both CRLs are published. */
export async function startRotation(deps: Deps, input: StartInput) {
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

/** The open rotation on `anchorName`, with what `step` does in its phase; refuses (from the table) when it does nothing. */
async function requireOpen(ws: Workspace, anchorName: string, step: RotationStep): Promise<{ r: RotationRecord; t: Exclude<Transition, { kind: 'refuse' }> }> {
  await requireAnchor(ws, anchorName);
  const r = await ws.store.openRotation(anchorName);
  const t = transition(r?.phase ?? 'none', step);
  if (t.kind === 'refuse' || !r) throw refusal(step, t.kind === 'refuse' ? t : { kind: 'refuse', code: 'STATE_NO_ROTATION' }, anchorName, r);
  return { r, t };
}

/** The error for a step the state machine refuses (domain/rotation.ts), with the code the table gives. */
function refusal(step: RotationStep, t: Extract<Transition, { kind: 'refuse' }>, anchorName: string, r: RotationRecord | undefined): PkiError {
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

/**
 * `pki rotate switch`: from now on the old CA (and every CA below it) refuses to issue. Checks first that the
 * service's trust anchor really holds the new CA, so that what is issued from now on works.
 */
export async function switchRotation(deps: Deps, input: RotateInput) {
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

/** `pki rotate finish`: bundle = [new], the old side's CRLs deleted, the old CA retired. */
export async function finishRotation(deps: Deps, input: RotateInput & { force?: number }) {
  const step = (input: RotateInput & { force?: number }) =>
    withWorkspace(input.dir, deps, async (ws) => {
      const open = await requireOpen(ws, input.anchor, 'finish');
      let r = open.r;
      const t = open.t as Extract<Transition, { kind: 'run' }>;
      // A first run records the intent (finishing); a run from the intent phase completes an interrupted finish.
      const fresh = t.intent !== undefined;
      const a = await recorded(ws, r);
      const calls: string[] = [];
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
      r = await ws.store.setRotationPhase(r.id, phasesBefore('finish', t.to), t.to, { action: 'rotate.finished', target: r.anchorName, details: { rotation: r.id, retired: a.old.name, calls } }, deps.actor, ws.now);
      await retireCas(ws, a.oldSubtree, { rotation: r.id, anchor: r.anchorName });
      return { anchor: r.anchorName, dryRun: false, phase: r.phase, old: a.old.name, new: a.newName, calls, forced: input.force ?? 0 };
    });
  return input.dryRun ? step(input) : withAnchorLease(deps, input, input.anchor, (leaseHolder) => step({ ...input, leaseHolder }));
}

/** `pki rotate abort`: back to the bundle before the rotation while no live certificate depends on the new CA. */
export async function abortRotation(deps: Deps, input: RotateInput & { force?: number }) {
  const step = (input: RotateInput & { force?: number }) =>
    withWorkspace(input.dir, deps, async (ws) => {
      const open = await requireOpen(ws, input.anchor, 'abort');
      let r = open.r;
      const t = open.t as Extract<Transition, { kind: 'run' }>;
      // A first run records the intent (aborting); a run from the intent phase completes an interrupted abort.
      const fresh = t.intent !== undefined;
      const a = await recorded(ws, r);
      const calls: string[] = [];
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
