/**
 * Publishing to IAM Roles Anywhere: trust-anchor bundles (`pki anchor bundle | push | status`) and CRLs
 * (`pki crl publish`). Every step is safe to repeat: what is already there is found (by recorded id, else by name) and
 * updated instead of created again, so a crash between a call and recording its result never duplicates anything.
 */
import { createHash } from 'node:crypto';
import { PkiError } from '../errors.js';
import type { TrustAnchorDetail } from '@aws-sdk/client-rolesanywhere';
import { createGateway, type Gateway, type GatewayOptions } from '../aws/gateway.js';
import type { AnchorRecord, Deps } from '../ports.js';
import { checkOutput, writeFileAtomic } from '../fs/files.js';
import { crlDerFromFile, decodeCrl } from '../x509/crl.js';
import { toPem } from '../x509/pem.js';
import { checkCaCertificate } from './ca.js';
import { exportCrl, generateCrl } from './crl.js';
import { assertPublishable } from './rotation-state.js';
import { assertCaUsable, revokedInBundle } from './ca-state.js';
import { caCertificate, getCa, withWorkspace, type Workspace } from './workspace.js';

/** Roles Anywhere's x509CertificateData limit (16000 in the current model; 8000 in older ones, reference §2.2). */
const BUNDLE_MAX_CHARS = 16000;
const BUNDLE_OLD_MAX_CHARS = 8000;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const samePem = (a: string, b: string): boolean => a.replace(/\r\n/g, '\n').trim() === b.replace(/\r\n/g, '\n').trim();

/** The PEM bundle a CERTIFICATE_BUNDLE trust anchor holds ('' for other source types). */
function bundleOf(ta: TrustAnchorDetail): string {
  const data = ta.source?.sourceData;
  return data && 'x509CertificateData' in data ? (data.x509CertificateData ?? '') : '';
}

/** Roles Anywhere resource names: 1-255 characters of [ a-zA-Z0-9-_]. */
function checkResourceName(name: string, flag: string): void {
  if (!/^[ a-zA-Z0-9\-_]{1,255}$/.test(name)) throw new PkiError('USAGE_BAD_NAME', `${flag} "${name}": Roles Anywhere names are 1-255 characters of letters, digits, space, - and _`);
}

/** The CRL's name on the trust anchor: one per issuing CA. */
export const crlResourceName = (caName: string): string => `pki-${caName.replace(/[^a-zA-Z0-9\-_]/g, '-')}`;

async function bundlePem(ws: Workspace, caNames: string[]): Promise<string> {
  if (caNames.length < 1 || caNames.length > 2)
    throw new PkiError('POLICY_BUNDLE_SIZE', `a trust anchor holds 1 or 2 CA certificates (Roles Anywhere quota), got ${caNames.length}`, { details: { cas: caNames } });
  if (new Set(caNames).size !== caNames.length) throw new PkiError('USAGE_CONFLICT', '--ca names the same CA twice');
  const pems: string[] = [];
  for (const name of caNames) {
    const cert = caCertificate(await getCa(ws, name));
    checkCaCertificate(cert, `CA ${name}`, ws.now);
    pems.push(toPem('CERTIFICATE', cert.der));
  }
  const pem = pems.join('');
  if (pem.length > BUNDLE_MAX_CHARS)
    throw new PkiError('POLICY_BUNDLE_TOO_LARGE', `the bundle is ${pem.length} characters; Roles Anywhere accepts at most ${BUNDLE_MAX_CHARS}`, { details: { chars: pem.length } });
  return pem;
}

export async function anchorBundle(deps: Deps, input: { dir?: string; cas: string[]; out?: string; force?: boolean }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const pem = await bundlePem(ws, input.cas);
    if (input.out) {
      checkOutput(input.out, '--out', input.force ?? false);
      writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: '--out' });
    }
    const warnings = pem.length > BUNDLE_OLD_MAX_CHARS ? [`the bundle is ${pem.length} characters: over the ${BUNDLE_OLD_MAX_CHARS} older API models accepted`] : [];
    return { cas: input.cas, chars: pem.length, sha256: sha256(pem), out: input.out ?? null, warnings, pem };
  });
}

export interface PushInput extends GatewayOptions {
  dir?: string;
  name: string;
  cas: string[];
  enable?: boolean;
  dryRun?: boolean;
  /** For tests: a gateway instead of the SDK one. */
  gateway?: Gateway;
}

/** Creates the trust anchor or brings it up to date, records it, and checks the result with GetTrustAnchor. */
export async function pushAnchor(deps: Deps, input: PushInput) {
  checkResourceName(input.name, '--name');
  return withWorkspace(input.dir, deps, async (ws) => {
    for (const name of new Set(input.cas)) await assertCaUsable(ws, await getCa(ws, name), 'anchor');
    const pem = await bundlePem(ws, input.cas);
    const gw = input.gateway ?? (await createGateway(deps, input));
    const calls: string[] = [];
    const recorded = await ws.store.getAnchor(input.name);
    let ta = recorded ? await gw.getTrustAnchor(recorded.trustAnchorId).catch((e: PkiError) => (e.code === 'AWS_ResourceNotFoundException' ? undefined : Promise.reject(e))) : undefined;
    if (!ta) {
      // Not recorded (or deleted out of band): an earlier run may have created it and died before recording it.
      const same = (await gw.listTrustAnchors()).filter((t) => t.name === input.name);
      if (same.length > 1)
        throw new PkiError('AWS_AMBIGUOUS_TRUST_ANCHOR', `${same.length} trust anchors are named "${input.name}": ${same.map((t) => t.trustAnchorArn).join(', ')}`, {
          hint: 'delete the extra ones (aws rolesanywhere delete-trust-anchor) and run again',
        });
      ta = same[0];
    }
    if (!ta) {
      calls.push('CreateTrustAnchor');
      if (input.dryRun) return { name: input.name, dryRun: true, calls, arn: null, enabled: input.enable ?? false };
      ta = await gw.createTrustAnchor(input.name, pem, input.enable ?? false);
    } else {
      if (!samePem(bundleOf(ta), pem)) {
        calls.push('UpdateTrustAnchor');
        if (!input.dryRun) ta = await gw.updateTrustAnchorSource(ta.trustAnchorId!, pem);
      }
      if (input.enable && !ta.enabled) {
        calls.push('EnableTrustAnchor');
        if (!input.dryRun) ta = await gw.enableTrustAnchor(ta.trustAnchorId!);
      }
      if (input.dryRun) return { name: input.name, dryRun: true, calls, arn: ta.trustAnchorArn ?? null, enabled: ta.enabled ?? false };
    }
    const check = await gw.getTrustAnchor(ta.trustAnchorId!);
    const remote = bundleOf(check);
    if (!samePem(remote, pem)) throw new PkiError('AWS_VERIFY_MISMATCH', `GetTrustAnchor ${check.trustAnchorArn} does not return the bundle just pushed`);
    const record: AnchorRecord = { name: input.name, arn: check.trustAnchorArn!, trustAnchorId: check.trustAnchorId!, region: gw.region, caNames: input.cas, bundleSha256: sha256(pem), updatedAt: ws.now };
    await ws.store.saveAnchor(record, { action: 'anchor.push', target: input.name, details: { arn: record.arn, cas: input.cas, calls } }, deps.actor, ws.now);
    return { name: input.name, dryRun: false, calls, arn: record.arn, enabled: check.enabled ?? false };
  });
}

export interface PublishInput extends GatewayOptions {
  dir?: string;
  cas: string[];
  anchors: string[];
  renewBefore?: string;
  passphraseFile?: string;
  dryRun?: boolean;
  gateway?: Gateway;
}

export interface PublishResult {
  ca: string;
  anchor: string;
  ok: boolean;
  action?: 'imported' | 'updated' | 'unchanged' | 'recovered' | 'dry-run';
  crlNumber?: number;
  crlId?: string;
  calls: string[];
  error?: { code: string; message: string; hint: string | null };
}

/** Publishes each CA's latest CRL to each trust anchor; one failing does not stop the others. */
export async function publishCrls(deps: Deps, input: PublishInput): Promise<{ results: PublishResult[]; exitCode: number }> {
  const results: PublishResult[] = [];
  let gw = input.gateway;
  for (const anchorName of input.anchors)
    for (const caName of input.cas) {
      try {
        gw ??= await createGateway(deps, input);
        results.push(await publishOne(deps, { ...input, anchor: anchorName }, caName, gw));
      } catch (e) {
        if (!(e instanceof PkiError)) throw e;
        results.push({ ca: caName, anchor: anchorName, ok: false, calls: [], error: { code: e.code, message: e.message, hint: e.hint ?? null } });
      }
    }
  const failed = results.find((r) => !r.ok);
  return { results, exitCode: failed ? new PkiError(failed.error!.code, '').exitCode : 0 };
}

async function publishOne(deps: Deps, input: PublishInput & { anchor: string }, caName: string, gw: Gateway): Promise<PublishResult> {
  await withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, caName);
    if (!(await ws.store.getAnchor(input.anchor)))
      throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${input.anchor}" is not known to this PKI`, { hint: `run pki anchor push --name ${input.anchor} --ca ... first` });
    await assertPublishable(ws, input.anchor, ca);
  });
  // A fresh CRL when one is due (revocations since the last one, expiry within --renew-before, or none yet). A dry
  // run changes nothing, not even the store: it compares the latest CRL there is.
  if (!input.dryRun)
    await generateCrl(deps, {
      ...(input.dir ? { dir: input.dir } : {}),
      ca: caName,
      renewBefore: input.renewBefore ?? '1s',
      ...(input.passphraseFile ? { passphraseFile: input.passphraseFile } : {}),
    });
  const latest = await exportCrl(deps, { ...(input.dir ? { dir: input.dir } : {}), ca: caName }).catch((e: PkiError) => {
    if (input.dryRun && e.code === 'NOT_FOUND_CRL') return undefined;
    throw e;
  });
  if (!latest) return { ca: caName, anchor: input.anchor, ok: true, action: 'dry-run', calls: ['(generate the first CRL)', 'ImportCrl'] };
  const pem = latest.pem!;
  const digest = sha256(pem);
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, caName);
    const anchor = (await ws.store.getAnchor(input.anchor))!;
    const published = await ws.store.getPublishedCrl(anchor.name, ca.id);
    if (published?.sha256 === digest) return { ca: caName, anchor: input.anchor, ok: true, action: 'unchanged', crlNumber: published.crlNumber, crlId: published.crlId, calls: [] };
    const calls: string[] = [];
    const name = crlResourceName(caName);
    let crlId = published?.crlId;
    let action: PublishResult['action'] = 'updated';
    if (!crlId) {
      // Not recorded: an earlier run may have imported it and died before recording the id. Never import twice.
      const onAnchor = (await gw.listCrls()).filter((c) => c.trustAnchorArn === anchor.arn);
      calls.push('ListCrls');
      const mine = onAnchor.find((c) => c.name === name);
      if (mine) {
        crlId = mine.crlId!;
        action = 'recovered';
      } else if (onAnchor.length >= 2)
        throw new PkiError('AWS_CRL_QUOTA', `trust anchor ${anchor.name} already holds 2 CRLs (${onAnchor.map((c) => c.name).join(', ')}); Roles Anywhere allows no more`, {
          details: { anchor: anchor.arn, crls: onAnchor.map((c) => ({ name: c.name, id: c.crlId })) },
          hint: 'a trust anchor takes the CRLs of at most 2 issuing CAs: publish this CA\'s CRL to another anchor, or delete an unused CRL',
        });
    }
    if (input.dryRun) return { ca: caName, anchor: input.anchor, ok: true, action: 'dry-run', crlNumber: latest.crlNumber, calls: [...calls, crlId ? 'UpdateCrl' : 'ImportCrl'] };
    let detail;
    if (crlId) {
      const current = await gw.getCrl(crlId);
      calls.push('GetCrl');
      if (!current.crlData || Buffer.from(current.crlData).toString() !== pem) {
        detail = await gw.updateCrl(crlId, pem);
        calls.push('UpdateCrl');
      } else detail = current;
    } else {
      detail = await gw.importCrl(name, anchor.arn, pem);
      calls.push('ImportCrl');
      crlId = detail.crlId!;
      action = 'imported';
    }
    // Verify: the same bytes, enforced.
    let check = await gw.getCrl(crlId);
    calls.push('GetCrl');
    if (!check.enabled) {
      check = await gw.enableCrl(crlId);
      calls.push('EnableCrl');
    }
    if (!check.crlData || Buffer.from(check.crlData).toString() !== pem) throw new PkiError('AWS_VERIFY_MISMATCH', `GetCrl ${crlId} does not return the CRL just published`);
    const number = Number(decodeCrl(crlDerFromFile(Buffer.from(pem), 'published CRL'), 'published CRL').crlNumber ?? 0);
    await ws.store.savePublishedCrl(
      { anchorName: anchor.name, issuerId: ca.id, crlId, crlArn: check.crlArn ?? detail.crlArn ?? '', crlNumber: number, sha256: digest, publishedAt: ws.now },
      { action: 'crl.publish', target: `${caName}@${anchor.name}`, details: { crlId, crlNumber: number, calls } },
      deps.actor,
      ws.now,
    );
    return { ca: caName, anchor: input.anchor, ok: true, action, crlNumber: number, crlId, calls };
  });
}

/** What Roles Anywhere holds for a trust anchor against what this PKI last pushed and published. */
export async function anchorStatus(deps: Deps, input: GatewayOptions & { dir?: string; name: string; gateway?: Gateway }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await ws.store.getAnchor(input.name);
    if (!anchor) throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${input.name}" is not known to this PKI`, { hint: `run pki anchor push --name ${input.name} --ca ... first` });
    const gw = input.gateway ?? (await createGateway(deps, { ...input, region: input.region ?? anchor.region }));
    const ta = await gw.getTrustAnchor(anchor.trustAnchorId);
    const remotePem = bundleOf(ta);
    const problems: string[] = [];
    if (sha256(remotePem) !== anchor.bundleSha256 && !samePem(remotePem, await bundlePem(ws, anchor.caNames))) problems.push('the trust anchor\'s bundle differs from what pki pushed');
    if (!ta.enabled) problems.push('the trust anchor is disabled');
    problems.push(...(await revokedInBundle(ws, anchor.name, anchor.caNames)));
    const crls = [];
    const remote = (await gw.listCrls()).filter((x) => x.trustAnchorArn === anchor.arn);
    // What this PKI published must still be there, and no older than the CA's latest CRL.
    for (const p of await ws.store.listPublishedCrls(anchor.name)) {
      const ca = await ws.store.getCaById(p.issuerId);
      const latest = (await ws.store.listCrls(p.issuerId)).pop();
      if (!remote.some((r) => r.crlId === p.crlId)) problems.push(`the CRL of CA ${ca?.name} (${p.crlId}) is no longer on the trust anchor`);
      else if (latest && latest.crlNumber > p.crlNumber) problems.push(`CA ${ca?.name}'s CRL #${latest.crlNumber} is not published yet (the anchor has #${p.crlNumber})`);
    }
    for (const c of remote) {
      const pem = c.crlData ? Buffer.from(c.crlData) : Buffer.alloc(0);
      const decoded = pem.length ? decodeCrl(crlDerFromFile(pem, c.name ?? 'CRL'), c.name ?? 'CRL') : undefined;
      crls.push({ name: c.name, crlId: c.crlId, enabled: c.enabled, crlNumber: decoded?.crlNumber === undefined ? null : Number(decoded.crlNumber), nextUpdate: decoded?.nextUpdate?.toISOString() ?? null });
      if (!c.enabled) problems.push(`CRL ${c.name} is disabled`);
      if (decoded?.nextUpdate && decoded.nextUpdate.getTime() <= ws.now.getTime()) problems.push(`CRL ${c.name} expired at ${decoded.nextUpdate.toISOString()}`);
    }
    return { name: anchor.name, arn: anchor.arn, enabled: ta.enabled ?? false, cas: anchor.caNames, crls, problems, exitCode: problems.length ? 10 : 0 };
  });
}
