/**
 * The IAM side, generated: a role trust policy for Roles Anywhere (`pki aws trust-policy`), a Roles Anywhere profile
 * (`pki aws profile create`) and the `~/.aws/config` blocks that obtain credentials through it (`pki aws config`).
 * ARNs come from what this PKI recorded per target; tag names are the ones Roles Anywhere emits (the same rules as
 * `pki preview`), checked against a certificate when one is given.
 */
import { PkiError } from '../errors.js';
import type { AnchorRecord, Deps } from '../ports.js';
import { createGateway, type AttributeMappingView, type Gateway, type GatewayOptions } from '../adapters/aws/gateway.js';
import { checkGatewayEndpoints } from '../adapters/aws/endpoint.js';
import { parseDuration } from '../domain/duration.js';
import { previewCertificate } from './preview.js';
import { anchorRecordName, resolveTargets, targetGatewayOptions, targetLabel } from './targets.js';
import { withWorkspace, type Workspace } from './workspace.js';
import { credentialProcessLine } from './credential-process-line.js';
import type { InputDocument } from './documents.js';

/** STS session-tag value pattern (reference §6.2): the service silently drops a tag whose value does not match. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
/** Tag names Roles Anywhere emits (reference §6.1): subject/issuer RDNs, the first SAN DNS and URI, SAN DirName RDNs. */
const TAG_NAME = /^(x509Subject\/[A-Za-z][A-Za-z0-9.]*|x509Issuer\/[A-Za-z][A-Za-z0-9.]*|x509SAN\/DNS|x509SAN\/URI|x509SAN\/Name\/[A-Za-z][A-Za-z0-9.]*)$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

function checkRoleArn(arn: string, flag: string): void {
  if (!ROLE_ARN.test(arn)) throw new PkiError('USAGE_BAD_ARN', `${flag} "${arn}" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`);
}

/** The anchor record of `anchor` on `target` (undefined: the implicit target). */
async function anchorOn(ws: Workspace, anchor: string, target: string | undefined): Promise<AnchorRecord> {
  if (target) await resolveTargets(ws, [target]);
  const rec = await ws.store.getAnchor(anchorRecordName(anchor, target ?? ''));
  if (!rec)
    throw new PkiError('NOT_FOUND_ANCHOR', `trust anchor "${anchor}" is not recorded on target ${targetLabel(target ?? '')}`, {
      hint: `pki anchor push --name ${anchor} --ca CA${target ? ` --target ${target}` : ''} first`,
    });
  return rec;
}

export interface TrustPolicyInput {
  dir?: string;
  anchor: string;
  target?: string;
  /** Tag conditions: name (x509Subject/CN, ...) → value. */
  tags: Array<[string, string]>;
  /** A certificate the policy must admit (checked with the preview rules). */
  cert?: InputDocument;
  profileMapping?: InputDocument;
}

/**
 * The trust policy of a role Roles Anywhere may assume: Principal rolesanywhere.amazonaws.com; sts:AssumeRole,
 * sts:TagSession, sts:SetSourceIdentity (all three are needed, reference §1.1, §1.7); aws:SourceArn = the trust
 * anchor's ARN in that target; aws:PrincipalTag conditions.
 */
export async function trustPolicy(deps: Deps, input: TrustPolicyInput) {
  const seen = new Set<string>();
  for (const [name, value] of input.tags) {
    if (!TAG_NAME.test(name))
      throw new PkiError('USAGE_BAD_TAG', `input.tags ${name}: Roles Anywhere emits no such tag (x509Subject/RDN, x509Issuer/RDN, x509SAN/DNS, x509SAN/URI, x509SAN/Name/RDN)`, {
        details: { input: 'tags' },
        hint: 'pki preview --cert CERT shows the tags a certificate produces',
      });
    if (seen.has(name)) throw new PkiError('USAGE_CONFLICT', `two conditions on ${name}`);
    seen.add(name);
    if (!TAG_VALUE.test(value))
      throw new PkiError('POLICY_TAG_VALUE', `${name}="${value}": Roles Anywhere drops a tag with this value (characters outside [letters digits space _ . : / = + - @] or over 256), so the condition could never match`, {
        details: { tag: name, value },
      });
  }
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchor = await anchorOn(ws, input.anchor, input.target);
    const condition: Record<string, Record<string, string | string[]>> = { ArnEquals: { 'aws:SourceArn': anchor.arn } };
    if (input.tags.length) condition.StringEquals = Object.fromEntries(input.tags.map(([k, v]) => [`aws:PrincipalTag/${k}`, v]));
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RolesAnywhere',
          Effect: 'Allow',
          Principal: { Service: 'rolesanywhere.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
          Condition: condition,
        },
      ],
    };
    let checked: { serial: string; subject: string } | null = null;
    if (input.cert) {
      const p = await previewCertificate(deps, { cert: input.cert, ...(input.profileMapping ? { profileMapping: input.profileMapping } : {}) });
      const misses = input.tags.flatMap(([k, v]) => {
        if (p.tags[k] === v) return [];
        const dropped = p.dropped.find((d) => d.tag === k);
        return [`${k}: the certificate ${dropped ? `gives "${dropped.value}", dropped (${dropped.reason})` : p.tags[k] === undefined ? 'gives no such tag' : `gives "${p.tags[k]}"`}, the policy wants "${v}"`];
      });
      if (misses.length)
        throw new PkiError('POLICY_TRUST_POLICY_MISMATCH', `the trust policy would refuse ${input.cert.name} (${p.subject}): ${misses.join('; ')}`, {
          details: { cert: input.cert.name, misses, tags: p.tags },
          hint: 'pki preview --cert shows the tags it produces',
        });
      checked = { serial: p.serial, subject: p.subject };
    }
    return { anchor: input.anchor, target: targetLabel(input.target ?? ''), anchorArn: anchor.arn, policy, checked };
  });
}

const FIELDS = ['x509Subject', 'x509Issuer', 'x509SAN'] as const;
type Field = (typeof FIELDS)[number];

/** --map FIELD/SPECIFIER (repeatable): the specifiers each named field keeps (others keep the service's default). */
export function parseMaps(maps: string[]): Map<Field, string[]> {
  const out = new Map<Field, string[]>();
  for (const m of maps) {
    const i = m.indexOf('/');
    const field = (i < 0 ? m : m.slice(0, i)) as Field;
    const spec = i < 0 ? '' : m.slice(i + 1);
    if (!FIELDS.includes(field) || !spec || spec.length > 60)
      throw new PkiError('USAGE_BAD_MAPPING', `input.maps "${m}": expected FIELD/SPECIFIER with FIELD x509Subject, x509Issuer or x509SAN (e.g. x509Subject/CN, x509SAN/URI, x509SAN/Name/CN)`, { details: { input: 'maps' } });
    out.set(field, [...new Set([...(out.get(field) ?? []), spec])]);
  }
  return out;
}

export interface ProfileInput extends GatewayOptions {
  dir?: string;
  name: string;
  roleArns: string[];
  target?: string;
  duration?: string;
  maps: string[];
  enable?: boolean;
  gateway?: Gateway;
}

/**
 * Creates the Roles Anywhere profile or brings it up to date (found by name: safe to repeat), then sets the
 * attribute mappings of each field named by --map (PutAttributeMapping) and reads them back.
 */
export async function createProfile(deps: Deps, input: ProfileInput) {
  if (!/^[ a-zA-Z0-9\-_]{1,255}$/.test(input.name)) throw new PkiError('USAGE_BAD_NAME', `input.name "${input.name}": Roles Anywhere names are 1-255 characters of letters, digits, space, - and _`, { details: { input: 'name' } });
  if (!input.roleArns.length) throw new PkiError('USAGE_MISSING_ROLE', 'input.roleArns is required (once or more)', { details: { input: 'roleArns' } });
  for (const r of input.roleArns) checkRoleArn(r, 'input.roleArns');
  const durationSeconds = input.duration ? parseDuration(input.duration, 'input.duration') : undefined;
  if (durationSeconds !== undefined && (durationSeconds < 900 || durationSeconds > 43200)) throw new PkiError('USAGE_BAD_DURATION', `input.duration ${input.duration}: a profile's session duration is 15m to 12h (900-43200 s)`, { details: { input: 'duration' } });
  const maps = parseMaps(input.maps);
  checkGatewayEndpoints(deps.env, input);
  const opts = await withWorkspace(input.dir, deps, async (ws) => (input.target ? targetGatewayOptions((await resolveTargets(ws, [input.target!]))[0]!, input) : input));
  checkGatewayEndpoints(deps.env, opts);
  const gw = input.gateway ?? (await createGateway(deps, opts));
  const calls: string[] = [];
  const same = (await gw.listProfiles()).filter((p) => p.name === input.name);
  if (same.length > 1) throw new PkiError('AWS_AMBIGUOUS_PROFILE', `${same.length} profiles are named "${input.name}": ${same.map((p) => p.profileArn).join(', ')}`);
  let p = same[0];
  if (!p) {
    calls.push('CreateProfile');
    p = await gw.createProfile({ name: input.name, roleArns: input.roleArns, enabled: input.enable ?? true, ...(durationSeconds ? { durationSeconds } : {}) });
  } else {
    const roles = [...(p.roleArns ?? [])].sort().join(' ');
    if (roles !== [...input.roleArns].sort().join(' ') || (durationSeconds !== undefined && p.durationSeconds !== durationSeconds)) {
      calls.push('UpdateProfile');
      p = await gw.updateProfile(p.profileId!, { roleArns: input.roleArns, ...(durationSeconds ? { durationSeconds } : {}) });
    }
    if ((input.enable ?? true) && !p.enabled) {
      calls.push('EnableProfile');
      p = await gw.enableProfile(p.profileId!);
    }
  }
  let mappings: AttributeMappingView[] = await gw.getAttributeMappings(p.profileId!);
  for (const [field, specs] of maps) {
    const current = mappings.find((m) => m.certificateField === field)?.mappingRules.map((r) => r.specifier) ?? [];
    if ([...current].sort().join('\n') === [...specs].sort().join('\n')) continue;
    calls.push(`PutAttributeMapping ${field}`);
    mappings = await gw.putAttributeMapping(p.profileId!, field, specs);
  }
  return {
    name: input.name,
    target: targetLabel(input.target ?? ''),
    profileArn: p.profileArn!,
    roleArns: p.roleArns ?? [],
    durationSeconds: p.durationSeconds ?? null,
    enabled: p.enabled ?? false,
    attributeMappings: Object.fromEntries(mappings.map((m) => [m.certificateField, m.mappingRules.map((r) => r.specifier)])),
    calls,
  };
}

/** A word for a shell command line (credential_process runs through a shell). */

export interface AwsConfigInput extends GatewayOptions {
  dir?: string;
  anchor: string;
  target?: string;
  /** The Roles Anywhere profile: its ARN, or its name (looked up with ListProfiles in the target). */
  profile?: string;
  profileArn?: string;
  roleArn: string;
  certificate: string;
  privateKey: string;
  intermediates?: string;
  /** The ~/.aws/config profile name (default: the Roles Anywhere profile's name, else "rolesanywhere"). */
  name?: string;
  chainRoleArn?: string;
  helper?: 'pki' | 'aws';
  /** The command that runs pki (default "pki"). */
  pkiCommand?: string;
  sessionDuration?: number;
  gateway?: Gateway;
}

/**
 * `~/.aws/config` blocks: a profile whose credential_process runs `pki credential-process` (or the official
 * `aws_signing_helper credential-process`) with this target's trust anchor, profile and role ARNs; with a chain role, a
 * second profile (source_profile + role_arn) that assumes it with those credentials (the centralized pattern).
 */
export async function awsConfig(deps: Deps, input: AwsConfigInput) {
  checkRoleArn(input.roleArn, 'input.roleArn');
  if (input.chainRoleArn) checkRoleArn(input.chainRoleArn, 'input.chainRoleArn');
  if (!input.profile && !input.profileArn) throw new PkiError('USAGE_MISSING_PROFILE', 'give input.profile NAME (looked up in the target) or input.profileArn ARN', { details: { input: ['profile', 'profileArn'] } });
  if (input.profileArn && !/^arn:aws[a-z-]*:rolesanywhere:[a-z0-9-]+:\d{12}:profile\/[\w-]+$/.test(input.profileArn)) throw new PkiError('USAGE_BAD_ARN', `input.profileArn "${input.profileArn}" is not a Roles Anywhere profile ARN`, { details: { input: 'profileArn' } });
  const name = input.name ?? input.profile ?? 'rolesanywhere';
  if (!/^[\w.+@-]{1,128}$/.test(name)) throw new PkiError('USAGE_BAD_NAME', `input.name "${name}" is not a usable AWS config profile name`, { details: { input: 'name' } });
  // input.roleArn is the workload's role, not one pki assumes: only the endpoint is checked here.
  checkGatewayEndpoints(deps.env, { ...(input.endpoint !== undefined ? { endpoint: input.endpoint } : {}) });
  const { anchor, opts } = await withWorkspace(input.dir, deps, async (ws) => {
    const a = await anchorOn(ws, input.anchor, input.target);
    // The connection only (region, endpoint, pacing): the role ARN here is the workload's role, not a role pki assumes.
    const o: GatewayOptions = input.target
      ? targetGatewayOptions((await resolveTargets(ws, [input.target!]))[0]!, input)
      : { region: input.region ?? a.region, ...(input.endpoint ? { endpoint: input.endpoint } : {}), ...(input.ratePerSecond !== undefined ? { ratePerSecond: input.ratePerSecond } : {}) };
    return { anchor: a, opts: o };
  });
  // The endpoint also goes into the credential_process line: the helper would refuse it at every call.
  checkGatewayEndpoints(deps.env, opts);
  let profileArn = input.profileArn;
  if (!profileArn) {
    const gw = input.gateway ?? (await createGateway(deps, opts));
    const found = (await gw.listProfiles()).filter((p) => p.name === input.profile);
    if (found.length !== 1)
      throw new PkiError(found.length ? 'AWS_AMBIGUOUS_PROFILE' : 'NOT_FOUND_PROFILE', `${found.length ? `${found.length} profiles are` : 'no profile is'} named "${input.profile}" in target ${targetLabel(input.target ?? '')}`, {
        hint: `pki aws profile create --name ${input.profile} --role-arn ${input.roleArn}${input.target ? ` --target ${input.target}` : ''}`,
      });
    profileArn = found[0]!.profileArn!;
  }
  const region = opts.region ?? anchor.region;
  const command = input.helper === 'aws' ? 'aws_signing_helper' : (input.pkiCommand ?? 'pki');
  const process = credentialProcessLine(command, {
    certificate: input.certificate,
    privateKey: input.privateKey,
    ...(input.intermediates ? { intermediates: input.intermediates } : {}),
    trustAnchorArn: anchor.arn,
    profileArn,
    roleArn: input.roleArn,
    ...(input.sessionDuration ? { sessionDuration: input.sessionDuration } : {}),
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
  });
  let text = `[profile ${name}]\ncredential_process = ${process}\nregion = ${region}\n`;
  const chainName = `${name}-chained`;
  if (input.chainRoleArn) text += `\n[profile ${chainName}]\nsource_profile = ${name}\nrole_arn = ${input.chainRoleArn}\nregion = ${region}\n`;
  return {
    profile: name,
    ...(input.chainRoleArn ? { chainedProfile: chainName } : {}),
    trustAnchorArn: anchor.arn,
    profileArn,
    roleArn: input.roleArn,
    region,
    credentialProcess: process,
    config: text,
  };
}
