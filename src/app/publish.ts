/**
 * Publishing to IAM Roles Anywhere: trust-anchor bundles (`pki anchor bundle | push | status`) and CRLs
 * (`pki crl publish`). Every step is safe to repeat: what is already there is found (by recorded id, else by name) and
 * updated instead of created again, so a crash between a call and recording its result never duplicates anything.
 */
import { createHash } from 'node:crypto';
import { PkiError } from '../errors.js';
import { createGateway, type CrlView, type Gateway, type GatewayOptions, type TrustAnchorView } from '../adapters/aws/gateway.js';
import { checkGatewayEndpoints } from '../adapters/aws/endpoint.js';
import type { AnchorRecord, CaRecord, Deps, TargetRecord } from '../ports.js';
import { anchorNameOf, anchorRecordName, arnParts, resolveTargets, targetGatewayOptions, targetLabel, targetOf } from './targets.js';
import { parseDuration } from '../domain/duration.js';
import type { ParsedCertificate } from '../x509/certificate.js';
import { withAnchorLease, type LeaseOptions } from './lease.js';
import { checkOutput, writeFileAtomic } from '../fs/files.js';
import { crlDerFromFile, decodeCrl, type DecodedCrl } from '../x509/crl.js';
import { toPem } from '../asn1/pem.js';
import { checkCaCertificate } from './ca/index.js';
import { exportCrl, generateCrl } from './crl/index.js';
import { BUNDLE_MAX_CHARS, BUNDLE_MAX_CHARS_OLD_MODEL, MAX_CAS_PER_ANCHOR, MAX_CRLS_PER_ANCHOR } from '../domain/roles-anywhere.js';
import { assertPublishable, expectedBundles } from './rotation-state.js';
import { assertCaUsable, revokedInBundle } from './ca-state.js';
import { caCertificate, getCa, withWorkspace, type Workspace } from './workspace.js';


const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const samePem = (a: string, b: string): boolean => a.replace(/\r\n/g, '\n').trim() === b.replace(/\r\n/g, '\n').trim();

/** The PEM bundle a CERTIFICATE_BUNDLE trust anchor holds ('' for other source types). */
function bundleOf(ta: TrustAnchorView): string {
  return ta.bundlePem ?? '';
}

/** Roles Anywhere resource names: 1-255 characters of [ a-zA-Z0-9-_]. */
function checkResourceName(name: string, flag: string): void {
  if (!/^[ a-zA-Z0-9\-_]{1,255}$/.test(name)) throw new PkiError('USAGE_BAD_NAME', `${flag} "${name}": Roles Anywhere names are 1-255 characters of letters, digits, space, - and _`);
}

/** The CRL's name on the trust anchor: one per issuing CA. */
export const crlResourceName = (caName: string): string => `pki-${caName.replace(/[^a-zA-Z0-9\-_]/g, '-')}`;

async function bundlePem(ws: Workspace, caNames: string[]): Promise<string> {
  if (caNames.length < 1 || caNames.length > MAX_CAS_PER_ANCHOR)
    throw new PkiError('POLICY_BUNDLE_SIZE', `a trust anchor holds 1 or ${MAX_CAS_PER_ANCHOR} CA certificates (Roles Anywhere quota), got ${caNames.length}`, { details: { cas: caNames } });
  if (new Set(caNames).size !== caNames.length) throw new PkiError('USAGE_CONFLICT', 'input.cas names the same CA twice', { details: { input: 'cas' } });
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
      checkOutput(input.out, 'input.out', input.force ?? false);
      writeFileAtomic(input.out, pem, { force: input.force ?? false, flag: 'input.out' });
    }
    const warnings = pem.length > BUNDLE_MAX_CHARS_OLD_MODEL ? [`the bundle is ${pem.length} characters: over the ${BUNDLE_MAX_CHARS_OLD_MODEL} older API models accepted`] : [];
    return { cas: input.cas, chars: pem.length, sha256: sha256(pem), out: input.out ?? null, warnings, pem };
  });
}

/** The PEM of CA certificates as bundled, without the CA checks (for comparing with what the service holds). */
async function rawBundlePem(ws: Workspace, caNames: string[]): Promise<string | undefined> {
  const pems: string[] = [];
  for (const name of caNames) {
    const ca = await ws.store.getCa(name);
    if (!ca?.certDer) return undefined;
    pems.push(toPem('CERTIFICATE', ca.certDer));
  }
  return pems.join('');
}

export interface PushInput extends GatewayOptions, LeaseOptions {
  dir?: string;
  name: string;
  cas: string[];
  enable?: boolean;
  dryRun?: boolean;
  /** Override an open rotation's ownership of the anchor's bundle (`--force`). */
  force?: boolean;
  /** Set by the rotation steps: the push is the rotation's own. */
  fromRotation?: boolean;
  /** For tests: a gateway instead of the SDK one. */
  gateway?: Gateway;
  /** A named target (pki target add): the anchor is recorded as NAME@TARGET, reached with the target's settings. */
  target?: TargetRecord;
}

/** Refuses a trust anchor the service returned from another account or region than the target's. */
function checkPlacement(arn: string | undefined, gw: Gateway, opts: GatewayOptions, what: string): void {
  if (!arn) return;
  const { account, region } = arnParts(arn);
  if (opts.account && account !== opts.account)
    throw new PkiError('AWS_WRONG_ACCOUNT', `${what} ${arn} is in account ${account}, not the target's ${opts.account}: the credentials reach another account`, {
      details: { arn, expected: opts.account, actual: account },
      hint: 'check the target\'s AWS profile or role ARN (pki target list)',
    });
  if (region && region !== gw.region) throw new PkiError('AWS_WRONG_REGION', `${what} ${arn} is in region ${region}, not ${gw.region}`, { details: { arn, expected: gw.region, actual: region } });
}

/**
 * Creates the trust anchor or brings it up to date, records it, and checks the result with GetTrustAnchor. Holds the
 * anchor's lease (one writer per anchor, so two runs never create two anchors of the same name). While a rotation is
 * open the rotation owns the bundle: a different bundle is refused (STATE_ROTATION_OPEN) unless `force`.
 */
export async function pushAnchor(deps: Deps, input: PushInput) {
  checkResourceName(input.name, 'input.name');
  const recordName = anchorRecordName(input.name, input.target?.name ?? '');
  const gwOpts: GatewayOptions = input.target ? targetGatewayOptions(input.target, input) : input;
  // Before the lease or anything else is written: no signed request in clear over a network.
  checkGatewayEndpoints(deps.env, gwOpts);
  const body = () =>
    withWorkspace(input.dir, deps, async (ws) => {
      for (const name of new Set(input.cas)) await assertCaUsable(ws, await getCa(ws, name), 'anchor');
      const pem = await bundlePem(ws, input.cas);
      const recorded = await ws.store.getAnchor(recordName);
      // A rotation of the anchor (by its name) owns its bundle in every target, the first push to a new target included.
      if ((recorded || input.target) && !input.fromRotation) {
        const { bundles, rotation, oldName, newName } = await expectedBundles(ws, { ...(recorded ?? { arn: '', trustAnchorId: '', region: '', bundleSha256: '', updatedAt: ws.now }), name: input.name, caNames: recorded?.caNames ?? input.cas });
        if (rotation && !bundles.some((b) => b.length === input.cas.length && b.every((n, i) => n === input.cas[i])) && !input.force)
          throw new PkiError(
            'STATE_ROTATION_OPEN',
            `trust anchor ${input.name} is being rotated from ${oldName} to ${newName} (phase ${rotation.phase}): the rotation owns its bundle [${bundles[0]!.join(', ')}], and [${input.cas.join(', ')}] would override it`,
            {
              details: { anchor: input.name, phase: rotation.phase, expected: bundles[0], requested: input.cas, input: 'force' },
              hint: `use pki rotate (status/finish/abort --anchor ${input.name}); input.force overrides the rotation's bundle`,
            },
          );
      }
      const gw = input.gateway ?? (await createGateway(deps, gwOpts));
      const calls: string[] = [];
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
      checkPlacement(ta?.trustAnchorArn, gw, gwOpts, 'trust anchor');
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
      checkPlacement(check.trustAnchorArn, gw, gwOpts, 'trust anchor');
      const remote = bundleOf(check);
      if (!samePem(remote, pem)) throw new PkiError('AWS_VERIFY_MISMATCH', `GetTrustAnchor ${check.trustAnchorArn} does not return the bundle just pushed`);
      const record: AnchorRecord = {
        name: recordName,
        arn: check.trustAnchorArn!,
        trustAnchorId: check.trustAnchorId!,
        region: gw.region,
        caNames: input.cas,
        bundleSha256: sha256(pem),
        updatedAt: ws.now,
        target: input.target?.name ?? '',
        anchorName: input.name,
      };
      await ws.store.saveAnchor(record, { action: 'anchor.push', target: recordName, details: { arn: record.arn, cas: input.cas, calls, ...(input.force ? { forced: true } : {}) } }, deps.actor, ws.now);
      return { name: input.name, dryRun: false, calls, arn: record.arn, enabled: check.enabled ?? false };
    });
  return input.dryRun ? body() : withAnchorLease(deps, input, recordName, () => body());
}

export interface TargetPushResult {
  target: string;
  ok: boolean;
  name: string;
  dryRun?: boolean;
  calls: string[];
  arn: string | null;
  enabled?: boolean;
  error?: { code: string; message: string; hint: string | null; details: Record<string, unknown> };
}

/**
 * `pki anchor push --target T [--target U | --target all]`: the same push to every target, concurrently (each with
 * its own gateway, so each is paced to its own account/region quota, and its own lease). One target failing does not
 * stop the others; every target is in the result.
 */
export async function pushAnchorToTargets(deps: Deps, input: PushInput & { targets: string[] }): Promise<{ name: string; results: TargetPushResult[]; ok: boolean; exitCode: number }> {
  checkResourceName(input.name, 'input.name');
  const targets = await withWorkspace(input.dir, deps, (ws) => resolveTargets(ws, input.targets));
  const results = await Promise.all(
    targets.map(async (t): Promise<TargetPushResult> => {
      try {
        return { target: t.name, ok: true, ...(await pushAnchor(deps, { ...input, target: t })) };
      } catch (e) {
        if (!(e instanceof PkiError)) throw e;
        return { target: t.name, ok: false, name: input.name, calls: [], arn: null, error: { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details } };
      }
    }),
  );
  const failed = results.find((r) => !r.ok);
  return { name: input.name, results, ok: !failed, exitCode: failed ? new PkiError(failed.error!.code, '').exitCode : 0 };
}

export interface PublishInput extends GatewayOptions, LeaseOptions {
  dir?: string;
  cas: string[];
  anchors: string[];
  /** Only these targets (names; "all" = every named target). Default: every target holding the anchor. */
  targets?: string[];
  /** Set by publishCrls once it generated the CA's due CRL before fanning out. */
  generated?: boolean;
  renewBefore?: string;
  passphraseFile?: string;
  dryRun?: boolean;
  gateway?: Gateway;
}

export type PublishAction = 'imported' | 're-imported' | 'updated' | 'replaced' | 're-enabled' | 'unchanged' | 'recovered' | 'dry-run';

export interface PublishResult {
  ca: string;
  anchor: string;
  /** The target ("(default)": the command line's region/endpoint) and the trust anchor's ARN there. */
  target?: string;
  arn?: string | null;
  ok: boolean;
  action?: PublishAction;
  crlNumber?: number;
  crlId?: string;
  calls: string[];
  /** What the service held that differed from the store (changed out of band, or a run that died). */
  found?: string[];
  error?: { code: string; message: string; hint: string | null; details: Record<string, unknown> };
}

/** A CRL on the service, decoded (undefined `crl` when its bytes are not a CRL). */
interface RemoteCrl {
  detail: CrlView;
  pem: string;
  crl: DecodedCrl | undefined;
}

function readRemote(c: CrlView): RemoteCrl {
  const bytes = c.crlData ? Buffer.from(c.crlData) : Buffer.alloc(0);
  let crl: DecodedCrl | undefined;
  try {
    crl = bytes.length ? decodeCrl(crlDerFromFile(bytes, c.name ?? 'CRL'), c.name ?? 'CRL') : undefined;
  } catch {
    crl = undefined;
  }
  return { detail: c, pem: bytes.toString('latin1'), crl };
}

/** Whether `crl` was issued by the CA with certificate `cert` (issuer name and, when present, key identifier). */
function issuedBy(crl: DecodedCrl | undefined, cert: ParsedCertificate): boolean {
  if (!crl || !crl.issuerDer.equals(cert.subjectDer)) return false;
  return !crl.authorityKeyId || !cert.subjectKeyId || crl.authorityKeyId.equals(cert.subjectKeyId);
}

/** The CRLs among `remote` that are CA `caName`'s: the recorded id, its resource name, or signed by it. */
export function crlsOfCa(remote: CrlView[], caName: string, ca: CaRecord | undefined, recordedId: string | undefined): CrlView[] {
  const cert = ca?.certDer ? caCertificate(ca) : undefined;
  return remote.filter((c) => c.crlId === recordedId || c.name === crlResourceName(caName) || (cert && issuedBy(readRemote(c).crl, cert)));
}

const numberOf = (r: RemoteCrl): bigint | undefined => r.crl?.crlNumber;

/** A trust anchor on one target: its store record, and how to reach the target. */
interface AnchorJob {
  anchor: string;
  record: string;
  target: string;
  arn: string | null;
  opts: GatewayOptions;
}

/** The records of `anchors` on the selected targets (every target holding each anchor by default). */
async function anchorJobs(ws: Workspace, anchors: string[], targets: string[] | undefined, base: GatewayOptions, implicitOnly = false): Promise<AnchorJob[]> {
  // A caller with its own gateway (a rotation step on the implicit target) reaches one place only: the implicit target.
  const selected = implicitOnly ? new Set(['']) : targets?.length ? new Set((await resolveTargets(ws, targets)).map((t) => t.name)) : undefined;
  const records = await ws.store.listAnchors();
  const all = await ws.store.listTargets();
  const jobs: AnchorJob[] = [];
  for (const name of anchors) {
    const held = records.filter((a) => anchorNameOf(a) === name && (!selected || selected.has(targetOf(a))));
    // None recorded: the implicit record name, which fails with NOT_FOUND_ANCHOR as before targets existed.
    if (!held.length && (!selected || implicitOnly)) jobs.push({ anchor: name, record: name, target: '', arn: null, opts: base });
    for (const a of held) {
      const t = all.find((x) => x.name === targetOf(a));
      jobs.push({ anchor: name, record: a.name, target: targetOf(a), arn: a.arn, opts: t ? targetGatewayOptions(t, base) : base });
    }
    // A --target that does not hold the anchor: that target fails with NOT_FOUND_ANCHOR (never another target instead).
    for (const t of all.filter((x) => selected?.has(x.name) && !held.some((a) => targetOf(a) === x.name)))
      jobs.push({ anchor: name, record: anchorRecordName(name, t.name), target: t.name, arn: null, opts: targetGatewayOptions(t, base) });
  }
  return jobs;
}

/**
 * Publishes each CA's latest CRL to each trust anchor on every target holding it (or the --target ones): targets
 * concurrently, each with its own gateway (paced to its own account/region quota) and its own lease; anchors of one
 * target one after the other. One CA, anchor or target failing does not stop the others.
 */
export async function publishCrls(deps: Deps, input: PublishInput): Promise<{ results: PublishResult[]; exitCode: number; ok: boolean }> {
  const failure = (caName: string, job: AnchorJob, e: unknown): PublishResult => {
    if (!(e instanceof PkiError)) throw e;
    return { ca: caName, anchor: job.anchor, ok: false, calls: [], error: { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details } };
  };
  checkGatewayEndpoints(deps.env, input);
  const jobs = await withWorkspace(input.dir, deps, (ws) => anchorJobs(ws, input.anchors, input.targets, input, input.gateway !== undefined));
  // Each due CRL is generated once, before fanning out (publishOne generates it itself when this failed, and fails).
  const generated = new Set<string>();
  if (!input.dryRun && new Set(jobs.map((j) => j.target)).size > 1)
    for (const caName of input.cas) {
      try {
        await generateCrl(deps, { ...(input.dir ? { dir: input.dir } : {}), ca: caName, renewBefore: input.renewBefore ?? '1s', ...(input.passphraseFile ? { passphraseFile: input.passphraseFile } : {}) });
        generated.add(caName);
      } catch {
        // reported per target below
      }
    }
  const byTarget = new Map<string, AnchorJob[]>();
  for (const j of jobs) byTarget.set(j.target, [...(byTarget.get(j.target) ?? []), j]);
  const runTarget = async (targetJobs: AnchorJob[]): Promise<PublishResult[]> => {
    const results: PublishResult[] = [];
    let gw = input.gateway;
    for (const job of targetJobs) {
      const mine: PublishResult[] = [];
      // What the service holds on this anchor: read once (ListCrls), kept up to date with every write of this run.
      const view: { list?: CrlView[] } = {};
      try {
        // A target whose endpoint is refused fails here, before its lease is taken; the other targets go on.
        if (!input.gateway) checkGatewayEndpoints(deps.env, job.opts);
      } catch (e) {
        results.push(...input.cas.map((caName) => ({ ...failure(caName, job, e), anchor: job.anchor, target: targetLabel(job.target), arn: job.arn })));
        continue;
      }
      const each = async (holder?: string) => {
        for (const caName of input.cas) {
          try {
            gw ??= await createGateway(deps, job.opts);
            mine.push(await publishOne(deps, { ...input, ...job.opts, generated: generated.has(caName), ...(holder ? { leaseHolder: holder } : {}) }, job.record, caName, gw, view));
          } catch (e) {
            mine.push(failure(caName, job, e));
          }
        }
      };
      if (input.dryRun) await each();
      else
        await withAnchorLease(deps, input, job.record, each).catch((e) => {
          for (const caName of input.cas) if (!mine.some((r) => r.ca === caName)) mine.push(failure(caName, job, e));
        });
      results.push(...mine.map((r) => ({ ...r, anchor: job.anchor, target: targetLabel(job.target), arn: job.arn })));
    }
    return results;
  };
  const results = (await Promise.all([...byTarget.values()].map(runTarget))).flat();
  const failed = results.find((r) => !r.ok);
  return { results, exitCode: failed ? new PkiError(failed.error!.code, '').exitCode : 0, ok: !failed };
}

/** Whether `generate --renew-before` would make a new CRL now (for a dry run, which makes none). */
async function crlDue(ws: Workspace, ca: CaRecord, renewBefore: string | undefined): Promise<string | undefined> {
  const { last, epoch } = await ws.store.crlStatus(ca.id);
  if (!last) return 'generate the first CRL';
  if (epoch > last.revocationEpoch) return `generate CRL #${last.crlNumber + 1} (certificates were revoked after #${last.crlNumber})`;
  const before = parseDuration(renewBefore ?? '1s', 'input.renewBefore');
  if (last.nextUpdate.getTime() - ws.now.getTime() <= before * 1000) return `generate CRL #${last.crlNumber + 1} (#${last.crlNumber} expires ${last.nextUpdate.toISOString()})`;
  return undefined;
}

/**
 * One CA's CRL on one anchor. Reads what the service holds first (ListCrls: id, enabled flag, bytes, hence number
 * and issuer) and acts on the difference from the store: re-imports a missing CRL, re-enables a disabled one,
 * replaces an older or foreign one with the store's latest, never uploads anything older than the store's latest,
 * removes a second copy of this CA's CRL, and refuses to replace a newer one from this CA. Reads back and records.
 */
async function publishOne(deps: Deps, input: PublishInput, anchorName: string, caName: string, gw: Gateway, view: { list?: CrlView[] }): Promise<PublishResult> {
  const dir = input.dir ? { dir: input.dir } : {};
  const prep = await withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, caName);
    const anchor = await ws.store.getAnchor(anchorName);
    if (!anchor) throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${anchorName}" is not known to this PKI`, { hint: `run pki anchor push --name ${anchorName} --ca ... first` });
    await assertPublishable(ws, anchorNameOf(anchor), ca);
    return { ca, anchor, cert: caCertificate(ca), published: await ws.store.getPublishedCrl(anchorName, ca.id), due: input.dryRun ? await crlDue(ws, ca, input.renewBefore) : undefined };
  });
  const { ca, anchor, cert, published } = prep;
  // A fresh CRL when one is due (revocations since the last one, expiry within --renew-before, or none yet). A dry
  // run changes nothing, not even the store: it says which CRL it would make.
  if (!input.dryRun && !input.generated) await generateCrl(deps, { ...dir, ca: caName, renewBefore: input.renewBefore ?? '1s', ...(input.passphraseFile ? { passphraseFile: input.passphraseFile } : {}) });
  const latestOf = async () => {
    const x = await exportCrl(deps, { ...dir, ca: caName }).catch((e: PkiError) => (e.code === 'NOT_FOUND_CRL' && input.dryRun ? undefined : Promise.reject(e)));
    return x ? { pem: x.pem!, number: x.crlNumber } : undefined;
  };
  let latest = await latestOf();
  const calls: string[] = [];
  const found: string[] = [];
  if (!view.list) {
    view.list = await gw.listCrls();
    calls.push('ListCrls');
  }
  const onAnchor = () => view.list!.filter((c) => c.trustAnchorArn === anchor.arn).map(readRemote);
  const name = crlResourceName(caName);
  const mineOf = (all: RemoteCrl[]) => all.filter((r) => r.detail.crlId === published?.crlId || r.detail.name === name || issuedBy(r.crl, cert));
  const all = onAnchor();
  const mine = mineOf(all);
  const primary = mine.find((r) => r.detail.crlId === published?.crlId) ?? mine.find((r) => r.detail.name === name) ?? mine[0];
  const extras = mine.filter((r) => r !== primary);
  const quota = () =>
    new PkiError('AWS_CRL_QUOTA', `trust anchor ${anchor.name} already holds ${MAX_CRLS_PER_ANCHOR} CRLs (${all.map((c) => c.detail.name).join(', ')}); Roles Anywhere allows no more`, {
      details: { anchor: anchor.arn, crls: all.map((c) => ({ name: c.detail.name, id: c.detail.crlId })) },
      hint: `a trust anchor takes the CRLs of at most ${MAX_CRLS_PER_ANCHOR} issuing CAs: publish this CA's CRL to another anchor, or delete an unused CRL`,
    });
  const describe = (r: RemoteCrl) => `${r.detail.name} (${r.detail.crlId}${numberOf(r) !== undefined ? `, CRL #${numberOf(r)}` : ''}${r.detail.enabled ? '' : ', disabled'})`;
  if (published && !primary) found.push(`the CRL recorded as published (${published.crlId}) is not on the trust anchor`);
  if (primary && !primary.detail.enabled) found.push(`${describe(primary)} is disabled`);
  if (primary && !issuedBy(primary.crl, cert)) found.push(`${describe(primary)} is not a CRL of ${caName}`);
  if (primary && latest && issuedBy(primary.crl, cert) && numberOf(primary)! > BigInt(latest.number))
    throw new PkiError('STATE_CRL_SERVICE_NEWER', `trust anchor ${anchor.name} holds CRL #${numberOf(primary)} of ${caName}, newer than the store's latest (#${latest.number}): it was not made from this store`, {
      details: { anchor: anchor.name, ca: caName, service: String(numberOf(primary)), store: latest.number, crlId: primary.detail.crlId },
      hint: 'is this store a restored backup, or does another copy of the CA sign CRLs? Nothing was uploaded',
    });
  if (primary && latest && issuedBy(primary.crl, cert) && numberOf(primary)! < BigInt(latest.number) && published && sha256(primary.pem) !== published.sha256)
    found.push(`${describe(primary)} is older than the CRL #${published.crlNumber} recorded as published`);
  for (const x of extras) found.push(`a second CRL of ${caName} on the anchor: ${describe(x)}`);

  if (input.dryRun) {
    const plan: string[] = [...calls];
    if (prep.due) plan.push(`(${prep.due})`);
    const content = prep.due || !latest || !primary || primary.pem !== latest.pem;
    if (!primary) {
      if (all.length >= MAX_CRLS_PER_ANCHOR) throw quota();
      plan.push('ImportCrl');
    } else {
      if (content) plan.push('UpdateCrl');
      if (!primary.detail.enabled) plan.push('EnableCrl');
    }
    plan.push(...extras.map(() => 'DeleteCrl'));
    const changes = plan.some((c) => !c.startsWith('ListCrls'));
    return { ca: caName, anchor: anchorName, ok: true, action: changes ? 'dry-run' : 'unchanged', ...(latest ? { crlNumber: latest.number } : {}), ...(primary?.detail.crlId ? { crlId: primary.detail.crlId } : {}), calls: plan, ...(found.length ? { found } : {}) };
  }

  if (!latest) throw new PkiError('NOT_FOUND_CRL', `CA ${caName} has no CRL yet`);
  let action: PublishAction = 'unchanged';
  let crlId = primary?.detail.crlId;
  let detail: CrlView | undefined = primary?.detail;
  const remember = (d: CrlView) => {
    view.list = [...view.list!.filter((c) => c.crlId !== d.crlId), d];
  };
  // The service may only accept CRLs of CAs in the trust anchor's bundle (UNCONFIRMED; the emulator requires it).
  const explain = (e: unknown) => {
    if (e instanceof PkiError && e.code === 'AWS_ValidationException' && !anchor.caNames.includes(caName))
      throw new PkiError(e.code, `${e.message} (trust anchor ${anchor.name} holds [${anchor.caNames.join(', ')}], not ${caName})`, {
        details: e.details,
        hint: `put the CA whose CRL you publish in the trust anchor: pki anchor push --name ${anchor.name} --ca ${caName}`,
      });
    throw e;
  };
  // Upload the store's latest CRL until the service holds it.
  for (let round = 0; round < 3; round++) {
    let wrote = false;
    if (!crlId) {
      if (all.length - extras.length >= MAX_CRLS_PER_ANCHOR) throw quota();
      detail = await gw.importCrl(name, anchor.arn, latest.pem).catch(explain);
      calls.push('ImportCrl');
      crlId = detail.crlId!;
      action = published ? 're-imported' : 'imported';
      wrote = true;
    } else if (readRemote(detail!).pem !== latest.pem) {
      detail = await gw.updateCrl(crlId, latest.pem).catch(explain);
      calls.push('UpdateCrl');
      if (action === 'unchanged') action = primary && published && sha256(primary.pem) !== published.sha256 ? 'replaced' : 'updated';
      wrote = true;
    } else if (action === 'unchanged' && !published) action = 'recovered';
    if (!detail!.enabled) {
      detail = await gw.enableCrl(crlId);
      calls.push('EnableCrl');
      if (action === 'unchanged') action = 're-enabled';
      wrote = true;
    }
    remember(detail!);
    if (!wrote) break;
    // Read back: the same bytes, enabled.
    const check = await gw.getCrl(crlId);
    calls.push('GetCrl');
    remember(check);
    detail = check;
    if (!check.crlData || Buffer.from(check.crlData).toString('latin1') !== latest.pem || !check.enabled)
      throw new PkiError('AWS_VERIFY_MISMATCH', `GetCrl ${crlId} does not return the CRL just published, enabled`, { details: { crlId } });
    // A CRL generated meanwhile (by `crl generate`, outside the lease) goes up in this run too.
    const newest = await withWorkspace(input.dir, deps, async (ws) => (await ws.store.crlStatus(ca.id)).last?.crlNumber);
    if (newest === undefined || newest <= latest.number) break;
    latest = (await latestOf())!;
  }
  // A second CRL of this CA on the anchor (two imports that raced, or another client's upload): the service may
  // consult either, so only the up-to-date one stays.
  for (const x of extras) {
    await gw.deleteCrl(x.detail.crlId!).catch((e: PkiError) => (e.code === 'AWS_ResourceNotFoundException' ? undefined : Promise.reject(e)));
    calls.push('DeleteCrl');
    view.list = view.list!.filter((c) => c.crlId !== x.detail.crlId);
  }
  const digest = sha256(latest.pem);
  if (published?.crlId !== crlId || published?.sha256 !== digest || action !== 'unchanged' || extras.length)
    await withWorkspace(input.dir, deps, (ws) =>
      ws.store.savePublishedCrl(
        { anchorName: anchor.name, issuerId: ca.id, crlId: crlId!, crlArn: detail?.crlArn ?? '', crlNumber: latest!.number, sha256: digest, publishedAt: ws.now },
        { action: 'crl.publish', target: `${caName}@${anchor.name}`, details: { crlId, crlNumber: latest!.number, action, calls, ...(found.length ? { found } : {}) } },
        deps.actor,
        ws.now,
      ),
    );
  return { ca: caName, anchor: anchorName, ok: true, action, crlNumber: latest.number, crlId: crlId!, calls, ...(found.length ? { found } : {}) };
}

export interface StatusFinding {
  level: 'warning' | 'critical';
  message: string;
}

/**
 * What Roles Anywhere holds for a trust anchor against what it should hold. Critical (exit 11) when the service would
 * refuse valid certificates or accept revoked ones: the anchor disabled, a bundle other than the recorded one (or,
 * while a rotation is open, the rotation's), a CRL this PKI publishes there missing, disabled, expired or older than
 * the store's latest. Warning (exit 10): a CRL expiring within `warn`, a CRL not from this PKI, a second CRL of a CA.
 */
export async function anchorStatus(deps: Deps, input: GatewayOptions & { dir?: string; name: string; warn?: string; gateway?: Gateway }) {
  checkGatewayEndpoints(deps.env, input);
  const warn = parseDuration(input.warn ?? '48h', 'input.warn');
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await ws.store.getAnchor(input.name);
    if (!anchor) throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${input.name}" is not known to this PKI`, { hint: `run pki anchor push --name ${input.name} --ca ... first` });
    const target = targetOf(anchor) ? await ws.store.getTarget(targetOf(anchor)) : undefined;
    const gw = input.gateway ?? (await createGateway(deps, target ? targetGatewayOptions(target, input) : { ...input, region: input.region ?? anchor.region }));
    const findings: StatusFinding[] = [];
    const critical = (message: string) => findings.push({ level: 'critical', message });
    const warning = (message: string) => findings.push({ level: 'warning', message });
    const ta = await gw.getTrustAnchor(anchor.trustAnchorId).catch((e: PkiError) => (e.code === 'AWS_ResourceNotFoundException' ? undefined : Promise.reject(e)));
    if (!ta) {
      critical(`trust anchor ${anchor.name} (${anchor.arn}) no longer exists on the service`);
      return { name: anchor.name, arn: anchor.arn, enabled: false, cas: anchor.caNames, expected: [anchor.caNames], rotation: null, crls: [], findings, problems: findings.map((f) => f.message), exitCode: 11 };
    }
    const remotePem = bundleOf(ta);
    const { bundles, rotation, oldName, newName } = await expectedBundles(ws, { ...anchor, name: anchorNameOf(anchor) });
    let bundleOk = false;
    for (const b of bundles) {
      const pem = await rawBundlePem(ws, b);
      if (pem !== undefined && samePem(remotePem, pem)) bundleOk = true;
    }
    if (!bundleOk)
      critical(
        rotation
          ? `the trust anchor's bundle is not the rotation's [${bundles[0]!.join(', ')}] (${oldName} → ${newName}, phase ${rotation.phase}): certificates of a CA it should trust are refused`
          : `the trust anchor's bundle differs from what pki pushed [${anchor.caNames.join(', ')}]`,
      );
    if (!ta.enabled) critical('the trust anchor is disabled: every certificate is refused');
    for (const m of await revokedInBundle(ws, anchor.name, anchor.caNames)) warning(m);
    const remote = (await gw.listCrls()).filter((x) => x.trustAnchorArn === anchor.arn).map(readRemote);
    const cas = await ws.store.listCas();
    const owner = (r: RemoteCrl) => cas.find((c) => c.certDer && issuedBy(r.crl, caCertificate(c)));
    const crls = remote.map((r) => ({
      name: r.detail.name,
      crlId: r.detail.crlId,
      enabled: r.detail.enabled,
      ca: owner(r)?.name ?? null,
      crlNumber: r.crl?.crlNumber === undefined ? null : Number(r.crl.crlNumber),
      nextUpdate: r.crl?.nextUpdate?.toISOString() ?? null,
    }));
    const now = ws.now.getTime();
    for (const r of remote) {
      const label = `CRL ${r.detail.name}`;
      if (!r.crl) {
        critical(`${label} (${r.detail.crlId}) is not a readable CRL`);
        continue;
      }
      if (!r.detail.enabled) critical(`${label} is disabled: what ${owner(r)?.name ?? 'its CA'} revoked is accepted`);
      if (r.crl.nextUpdate && r.crl.nextUpdate.getTime() <= now) critical(`${label} expired at ${r.crl.nextUpdate.toISOString()}: the service either refuses every certificate of its CA or ignores the CRL (which one is UNCONFIRMED)`);
      else if (r.crl.nextUpdate && r.crl.nextUpdate.getTime() - now <= warn * 1000) warning(`${label} expires ${r.crl.nextUpdate.toISOString()} (within input.warn)`);
      if (!owner(r)) warning(`${label} (${r.detail.crlId}) is not a CRL of a CA of this PKI`);
    }
    // Every CA this PKI publishes to the anchor: its CRL there, and no older than the store's latest.
    for (const p of await ws.store.listPublishedCrls(anchor.name)) {
      const ca = cas.find((c) => c.id === p.issuerId)!;
      const latest = (await ws.store.crlStatus(ca.id)).last;
      const theirs = remote.filter((r) => r.detail.crlId === p.crlId || r.detail.name === crlResourceName(ca.name) || (ca.certDer && issuedBy(r.crl, caCertificate(ca))));
      if (!theirs.length) {
        critical(`the CRL of CA ${ca.name} (${p.crlId}) is no longer on the trust anchor: what ${ca.name} revoked is accepted`);
        continue;
      }
      if (theirs.length > 1) warning(`${theirs.length} CRLs of CA ${ca.name} are on the trust anchor`);
      for (const r of theirs) {
        const n = r.crl?.crlNumber;
        if (latest && n !== undefined && n < BigInt(latest.crlNumber))
          critical(`CA ${ca.name}'s CRL on the trust anchor is #${n}, older than the store's #${latest.crlNumber}: run pki crl publish --ca ${ca.name} --anchor ${anchor.name}`);
      }
    }
    const exitCode = findings.some((f) => f.level === 'critical') ? 11 : findings.length ? 10 : 0;
    return {
      name: anchor.name,
      arn: anchor.arn,
      enabled: ta.enabled ?? false,
      cas: anchor.caNames,
      expected: bundles,
      rotation: rotation ? { phase: rotation.phase, old: oldName, new: newName } : null,
      crls,
      findings,
      problems: findings.map((f) => f.message),
      exitCode,
    };
  });
}

/**
 * `pki anchor status --anchor NAME` across targets: the status of the trust anchor on every target holding it (or the
 * --target ones), concurrently; a target that cannot be read is critical (exit 11) and does not stop the others.
 */
export async function anchorStatusByTarget(deps: Deps, input: GatewayOptions & { dir?: string; name: string; warn?: string; targets?: string[] }) {
  checkGatewayEndpoints(deps.env, input);
  const jobs = await withWorkspace(input.dir, deps, (ws) => anchorJobs(ws, [input.name], input.targets, input));
  const targets = await Promise.all(
    jobs.map(async (j) => {
      const place = { target: targetLabel(j.target), ...(j.arn ? arnParts(j.arn) : { region: j.opts.region ?? null, account: null }) };
      try {
        const r = await anchorStatus(deps, { ...input, name: j.record });
        return { ...place, ...r, name: j.anchor, error: null };
      } catch (e) {
        if (!(e instanceof PkiError)) throw e;
        const message = `${e.code}: ${e.message}`;
        return { ...place, name: j.anchor, arn: j.arn, enabled: null, crls: [], findings: [{ level: 'critical' as const, message }], problems: [message], exitCode: 11, error: { code: e.code, message: e.message } };
      }
    }),
  );
  return { name: input.name, targets, exitCode: Math.max(0, ...targets.map((t) => t.exitCode)) };
}
