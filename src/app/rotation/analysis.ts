/**
 * What a rotation touches, worked out from the store (never from the service): the old and new CA, the bundle before,
 * during and after, the CAs whose CRLs are published, other trust anchors that trust the old CA, and the certificates
 * that still depend on the side that leaves.
 */
import { PkiError } from '../../errors.js';
import type { AnchorRecord, CaRecord, LeafSummary, PublishedCrl, RotationRecord } from '../../ports.js';
import { checkCaCertificate } from '../ca/index.js';
import { certificateSummary } from '../query.js';
import { assertNotClosed, subtree } from '../rotation-state.js';
import { caCertificate, type Workspace } from '../workspace.js';
import { MAX_CAS_PER_ANCHOR, MAX_CRLS_PER_ANCHOR } from '../../domain/roles-anywhere.js';
import { names, requireAnchor, requireOpen } from './shared.js';
import type { Transition } from '../../domain/rotation.js';

const SAMPLE = 20;

/** What a rotation touches, worked out from the store (never from the service). */
export interface Analysis {
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

export interface OtherAnchor {
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

function findCa(all: CaRecord[], name: string, flag: string): CaRecord {
  const ca = all.find((c) => c.name === name);
  if (!ca) throw new PkiError('NOT_FOUND_CA', `${flag} ${name}: no such CA (known: ${names(all).join(', ') || 'none'})`, { details: { ca: name } });
  return ca;
}

/** Works out the rotation and refuses what Roles Anywhere (or safety) does not allow. */
export async function analyse(ws: Workspace, anchor: AnchorRecord, newName: string, oldName: string | undefined, allowMissingNew: boolean): Promise<Analysis> {
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
export async function recorded(ws: Workspace, r: RotationRecord): Promise<Analysis> {
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
export async function dependents(ws: Workspace, a: Analysis, side: CaRecord[]): Promise<{ live: LeafSummary; revoked: LeafSummary; until: Date | null }> {
  const ids = side.map((c) => c.id);
  const crlMatters = !a.anchorChange && a.published.some((p) => ids.includes(p.issuerId));
  const live = await ws.store.leafSummary(ids, ws.now, { revoked: false, sample: SAMPLE });
  const revoked = crlMatters ? await ws.store.leafSummary(ids, ws.now, { revoked: true, sample: SAMPLE }) : { count: 0, latestNotAfter: null, sample: [] };
  const until = [live.latestNotAfter, revoked.latestNotAfter].filter((d): d is Date => !!d).reduce<Date | null>((m, d) => (!m || d > m ? d : m), null);
  return { live, revoked, until };
}

export function leavesJson(ws: Workspace, s: LeafSummary) {
  return { count: s.count, latestNotAfter: s.latestNotAfter?.toISOString() ?? null, sample: s.sample.map((c) => certificateSummary(c, ws.now)) };
}

/**
 * Refuses to drop `side` (the old CA at finish, the new one at abort) while certificates depend on it. `force` must
 * equal the number of live certificates that will break: a deliberate, counted decision.
 */
export function refuseDependents(step: string, a: Analysis, sideName: string, deps: { live: LeafSummary; revoked: LeafSummary }, force: number | undefined, ws: Workspace): void {
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
 * The start of a `finish` or `abort` run: the open rotation and its transition, whether this run records the intent
 * (a first run) or completes an interrupted one, what the rotation touches, and the list of AWS calls it makes.
 */
export async function beginClosingRun(ws: Workspace, anchorName: string, step: 'finish' | 'abort') {
  const open = await requireOpen(ws, anchorName, step);
  const t = open.t as Extract<Transition, { kind: 'run' }>;
  return { r: open.r, t, fresh: t.intent !== undefined, a: await recorded(ws, open.r), calls: [] as string[] };
}
