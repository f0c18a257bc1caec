/**
 * STS AssumeRole (query protocol, XML answers), enough for role chaining from Roles Anywhere credentials: a profile
 * in ~/.aws/config with `source_profile` (credential_process) and `role_arn`. Only credentials the emulator issued
 * (CreateSession, or an earlier AssumeRole) may assume a role; every role ARN is accepted (there are no IAM trust
 * policies in the emulator). Role session names and durations are checked as STS documents them.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface AssumedRoleRecord {
  at: string;
  roleArn: string;
  roleSessionName: string;
  /** The access key id of the credentials that called AssumeRole. */
  callerAccessKeyId: string;
  accessKeyId: string;
  durationSeconds: number;
}

export interface StsContext {
  region: string;
  now: () => Date;
  /** Whether `accessKeyId` is one the emulator issued. */
  issued(accessKeyId: string): boolean;
  record(r: AssumedRoleRecord): void;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const key = (): string => `ASIA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join('')}`;
const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function error(status: number, code: string, message: string, requestId: string) {
  return {
    status,
    body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
  };
}

/** Answers one STS query-protocol request (POST / with a form body). */
export function stsRequest(authorization: string | undefined, form: URLSearchParams, ctx: StsContext): { status: number; body: string; op: string } {
  const requestId = randomUUID();
  const action = form.get('Action') ?? '';
  const fail = (status: number, code: string, message: string) => ({ ...error(status, code, message, requestId), op: action || 'Unknown' });
  if (action !== 'AssumeRole') return fail(400, 'InvalidAction', `Could not find operation ${action} for version ${form.get('Version') ?? ''}`);
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/.exec(authorization ?? '');
  if (!m) return fail(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  if (m[3] !== 'sts') return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to service sts, not ${m[3]}`);
  if (m[2] !== ctx.region) return fail(403, 'SignatureDoesNotMatch', `Credential should be scoped to region ${ctx.region}, not ${m[2]}`);
  if (!ctx.issued(m[1]!)) return fail(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  const roleArn = form.get('RoleArn') ?? '';
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(roleArn)) return fail(400, 'ValidationError', `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint`);
  const roleSessionName = form.get('RoleSessionName') ?? '';
  if (!/^[\w+=,.@-]{2,64}$/.test(roleSessionName)) return fail(400, 'ValidationError', `1 validation error detected: Value '${roleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
  const duration = Number(form.get('DurationSeconds') ?? 3600);
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200) return fail(400, 'ValidationError', `1 validation error detected: Value '${duration}' at 'durationSeconds' failed to satisfy constraint`);
  const now = ctx.now();
  const accessKeyId = key();
  ctx.record({ at: now.toISOString(), roleArn, roleSessionName, callerAccessKeyId: m[1]!, accessKeyId, durationSeconds: duration });
  const account = roleArn.split(':')[4]!;
  const roleName = roleArn.split('/').pop()!;
  const expiration = new Date(now.getTime() + duration * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const body =
    `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
    `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${randomBytes(30).toString('base64')}</SecretAccessKey>` +
    `<SessionToken>${randomBytes(64).toString('base64')}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
    `<AssumedRoleUser><AssumedRoleId>AROA${[...randomBytes(16)].map((b) => BASE32[b % 32]).join('')}:${xmlEscape(roleSessionName)}</AssumedRoleId>` +
    `<Arn>arn:aws:sts::${account}:assumed-role/${xmlEscape(roleName)}/${xmlEscape(roleSessionName)}</Arn></AssumedRoleUser>` +
    `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`;
  return { status: 200, body, op: 'AssumeRole' };
}
