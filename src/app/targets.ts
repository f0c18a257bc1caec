/**
 * Publishing targets: the account/region pairs trust anchors and CRLs go to (`pki target add | list | remove`), and
 * how each is reached (an AWS shared-config profile, a role to assume, or an endpoint). An anchor pushed to target T
 * is recorded as "NAME@T"; its published CRLs and its lease are keyed by that record, so each target is reconciled
 * and leased on its own. Without --target the command line's region and endpoint form the implicit target (records
 * named plainly, as before targets existed).
 */
import { PkiError } from '../errors.js';
import type { AnchorRecord, Deps, TargetRecord } from '../ports.js';
import type { GatewayOptions } from '../adapters/aws/gateway.js';
import { checkEndpointUrl } from '../adapters/aws/endpoint.js';
import { withWorkspace, type Workspace } from './workspace.js';

/** The label the implicit target (command-line region/endpoint) is shown with. */
export const IMPLICIT_TARGET = '(default)';

const TARGET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,63}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

export function checkTargetName(name: string, flag = 'NAME'): void {
  if (name === 'all') throw new PkiError('USAGE_BAD_NAME', `${flag} "all" is reserved (input.targets all means every target)`, { details: { input: 'targets' } });
  if (!TARGET_NAME.test(name)) throw new PkiError('USAGE_BAD_NAME', `${flag} "${name}": a target name is 1-64 characters of letters, digits, - and _, starting with a letter or digit`);
}

/** The store record name of anchor `anchor` on target `target` ('' : the implicit target). */
export const anchorRecordName = (anchor: string, target: string): string => (target ? `${anchor}@${target}` : anchor);

/** The trust anchor's own name of a record (its name on the service). */
export const anchorNameOf = (a: AnchorRecord): string => a.anchorName ?? a.name;
export const targetOf = (a: AnchorRecord): string => a.target ?? '';
export const targetLabel = (t: string): string => t || IMPLICIT_TARGET;

export interface TargetInput {
  dir?: string;
  name: string;
  region: string;
  account?: string;
  awsProfile?: string;
  roleArn?: string;
  endpoint?: string;
}

export async function addTarget(deps: Deps, input: TargetInput): Promise<TargetRecord> {
  checkTargetName(input.name);
  if (!REGION.test(input.region)) throw new PkiError('USAGE_BAD_REGION', `input.region "${input.region}" is not an AWS region name (e.g. eu-west-1)`, { details: { input: 'region' } });
  if (input.account !== undefined && !ACCOUNT.test(input.account)) throw new PkiError('USAGE_BAD_ACCOUNT', `input.account "${input.account}" is not a 12-digit AWS account id`, { details: { input: 'account' } });
  if (input.awsProfile !== undefined && input.roleArn !== undefined) throw new PkiError('USAGE_CONFLICT', 'input.awsProfile and input.roleArn are alternatives: give one', { details: { input: ['awsProfile', 'roleArn'] } });
  if (input.awsProfile !== undefined && !/^[\w.+@-]{1,128}$/.test(input.awsProfile)) throw new PkiError('USAGE_BAD_NAME', `input.awsProfile "${input.awsProfile}" is not a profile name`, { details: { input: 'awsProfile' } });
  if (input.roleArn !== undefined) {
    if (!ROLE_ARN.test(input.roleArn)) throw new PkiError('USAGE_BAD_ARN', `input.roleArn "${input.roleArn}" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`, { details: { input: 'roleArn' } });
    const roleAccount = input.roleArn.split(':')[4];
    if (input.account !== undefined && roleAccount !== input.account)
      throw new PkiError('USAGE_CONFLICT', `input.roleArn is in account ${roleAccount}, input.account says ${input.account}`, { details: { input: ['roleArn', 'account'] } });
  }
  // HTTPS, or plain HTTP to a loopback host (the emulator) only: never recorded otherwise.
  if (input.endpoint !== undefined) checkEndpointUrl(input.endpoint, { input: 'endpoint' });
  return withWorkspace(input.dir, deps, async (ws) => {
    const t: TargetRecord = {
      name: input.name,
      region: input.region,
      account: input.account ?? (input.roleArn ? input.roleArn.split(':')[4]! : null),
      awsProfile: input.awsProfile ?? null,
      roleArn: input.roleArn ?? null,
      endpoint: input.endpoint ?? null,
      createdAt: ws.now,
    };
    await ws.store.addTarget(t, { action: 'target.add', target: t.name, details: { region: t.region, account: t.account, awsProfile: t.awsProfile, roleArn: t.roleArn, endpoint: t.endpoint } }, deps.actor, ws.now);
    return t;
  });
}

export async function listTargets(deps: Deps, input: { dir?: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const anchors = await ws.store.listAnchors();
    return (await ws.store.listTargets()).map((t) => ({ ...t, anchors: anchors.filter((a) => targetOf(a) === t.name).map(anchorNameOf) }));
  });
}

export async function removeTarget(deps: Deps, input: { dir?: string; name: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const t = await ws.store.getTarget(input.name);
    if (!t) throw new PkiError('NOT_FOUND_TARGET', `target "${input.name}" does not exist`, { hint: 'pki target list shows the targets' });
    const held = (await ws.store.listAnchors()).filter((a) => targetOf(a) === t.name).map(anchorNameOf);
    if (held.length)
      throw new PkiError('STATE_TARGET_IN_USE', `target ${t.name} holds trust anchor(s) ${held.join(', ')} recorded by this PKI`, {
        details: { target: t.name, anchors: held },
        hint: 'the records (and the CRLs published there) would be lost; delete the trust anchors on the service first, or keep the target',
      });
    await ws.store.removeTarget(t.name, { action: 'target.remove', target: t.name, details: { region: t.region, account: t.account } }, deps.actor, ws.now);
    return { name: t.name, removed: true };
  });
}

/**
 * The targets named by --target (repeatable; "all" = every target). Unknown names fail before anything is sent.
 */
export async function resolveTargets(ws: Workspace, names: string[]): Promise<TargetRecord[]> {
  const all = await ws.store.listTargets();
  if (names.includes('all')) {
    if (!all.length) throw new PkiError('NOT_FOUND_TARGET', 'input.targets all: no targets are defined', { details: { input: 'targets' }, hint: 'pki target add NAME --region REGION ...' });
    return all;
  }
  const out: TargetRecord[] = [];
  for (const n of new Set(names)) {
    const t = all.find((x) => x.name === n);
    if (!t) throw new PkiError('NOT_FOUND_TARGET', `input.targets "${n}" does not exist`, { details: { input: 'targets' }, hint: `pki target list shows the targets; pki target add ${n} --region REGION adds it` });
    out.push(t);
  }
  return out;
}

/**
 * Gateway options for a target: its region, endpoint and credentials (profile or role), the run's pacing. An endpoint
 * recorded before plain HTTP to other hosts was refused is refused when the gateway is checked, naming the target.
 */
export function targetGatewayOptions(t: TargetRecord, base: GatewayOptions): GatewayOptions {
  return {
    ...(base.maxAttempts !== undefined ? { maxAttempts: base.maxAttempts } : {}),
    ...(base.ratePerSecond !== undefined ? { ratePerSecond: base.ratePerSecond } : {}),
    region: t.region,
    ...(t.endpoint ? { endpoint: t.endpoint, endpointSource: { target: t.name } } : {}),
    ...(t.awsProfile ? { awsProfile: t.awsProfile } : {}),
    ...(t.roleArn ? { roleArn: t.roleArn } : {}),
    ...(t.account ? { account: t.account } : {}),
  };
}

/** The account and region an ARN names (arn:aws:rolesanywhere:REGION:ACCOUNT:...). */
export function arnParts(arn: string): { region: string; account: string } {
  const p = arn.split(':');
  return { region: p[3] ?? '', account: p[4] ?? '' };
}
