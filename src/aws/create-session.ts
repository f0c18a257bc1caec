/**
 * `pki credential-process`: trades a certificate and its key for temporary AWS credentials with IAM Roles Anywhere
 * CreateSession (reference §4, §5), as the official credential helper does. Kept light on imports: the AWS SDK and
 * yargs are not loaded, so an AWS SDK or CLI that runs it for every call pays little start-up.
 */
import { resolve } from 'node:path';
import { PkiError } from '../errors.js';
import { keysMatch, loadPrivateKey } from '../crypto/keys.js';
import type { Deps } from '../ports.js';
import { readInput } from '../fs/files.js';
import { parseCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { decodePemBlocks } from '../x509/pem.js';
import { signSessionRequest } from './x509-signer.js';

export interface CredentialProcessInput {
  certificate: string;
  privateKey: string;
  intermediates?: string;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  sessionDuration?: number;
  region?: string;
  endpoint?: string;
  roleSessionName?: string;
  /** File holding the password of an encrypted PKCS#8 key (else $PKI_KEY_PASSPHRASE). */
  pkcs8PasswordFile?: string;
  /** Seconds to wait for the service (default 30). */
  timeoutSeconds?: number;
}

/** The credential_process output (AWS CLI/SDK "Version 1" format). */
export interface ProcessCredentials {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken: string;
  Expiration: string;
}

const RA_ARN = /^arn:aws(?:-[a-z-]+)?:rolesanywhere:([a-z0-9-]+):(\d{12}):(trust-anchor|profile)\/[0-9a-f-]{36}$/;
const ROLE_ARN = /^arn:aws(?:-[a-z-]+)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

function arnRegion(arn: string, flag: string, kind: 'trust-anchor' | 'profile'): string {
  const m = RA_ARN.exec(arn);
  if (!m || m[3] !== kind) throw new PkiError('USAGE_BAD_ARN', `${flag} "${arn}" is not a Roles Anywhere ${kind} ARN (arn:aws:rolesanywhere:REGION:ACCOUNT:${kind}/ID)`, { details: { flag, arn } });
  return m[1]!;
}

/** The certificate (first CERTIFICATE block, or DER) and the intermediates (every block must be a CERTIFICATE). */
function readCertificates(input: CredentialProcessInput, cwd: string): { leaf: ParsedCertificate; chain: Buffer[] } {
  const certPath = resolve(cwd, input.certificate);
  const data = readInput(certPath, '--certificate');
  let leafDer: Buffer;
  if (data[0] === 0x30) leafDer = data;
  else {
    const block = decodePemBlocks(data.toString('latin1'), input.certificate).find((b) => b.label === 'CERTIFICATE');
    if (!block) throw new PkiError('CRYPTO_BAD_PEM', `--certificate ${input.certificate}: no CERTIFICATE PEM block`, { details: { file: input.certificate } });
    leafDer = block.der;
  }
  const leaf = parseCertificate(leafDer, input.certificate);
  const chain: Buffer[] = [];
  if (input.intermediates) {
    const text = readInput(resolve(cwd, input.intermediates), '--intermediates').toString('latin1');
    const blocks = decodePemBlocks(text, input.intermediates);
    const bad = blocks.find((b) => b.label !== 'CERTIFICATE');
    if (bad || !blocks.length)
      throw new PkiError('CRYPTO_BAD_CHAIN', `--intermediates ${input.intermediates}: invalid certificate chain (${bad ? `a ${bad.label} block` : 'no CERTIFICATE block'}); only CERTIFICATE PEM blocks are allowed`, {
        details: { file: input.intermediates },
      });
    for (const b of blocks) chain.push(parseCertificate(b.der, input.intermediates).der);
  }
  return { leaf, chain };
}

function readKey(input: CredentialProcessInput, deps: Deps, leaf: ParsedCertificate) {
  const path = resolve(deps.cwd, input.privateKey);
  const pem = readInput(path, '--private-key');
  const text = pem.toString('latin1');
  let passphrase: string | undefined;
  if (text.includes('ENCRYPTED PRIVATE KEY')) {
    if (input.pkcs8PasswordFile) passphrase = readInput(resolve(deps.cwd, input.pkcs8PasswordFile), '--pkcs8-password-file').toString('utf8').replace(/\r?\n$/, '');
    else passphrase = deps.env.PKI_KEY_PASSPHRASE;
    if (passphrase === undefined)
      throw new PkiError('CRYPTO_PASSPHRASE_REQUIRED', `--private-key ${input.privateKey} is encrypted`, { details: { file: input.privateKey }, hint: 'pass --pkcs8-password-file FILE or set PKI_KEY_PASSPHRASE' });
  }
  const key = loadPrivateKey(pem, input.privateKey, passphrase);
  if (!keysMatch(key, leaf.publicKey))
    throw new PkiError('CRYPTO_KEY_MISMATCH', `--private-key ${input.privateKey} does not belong to --certificate ${input.certificate}`, { details: { key: input.privateKey, certificate: input.certificate } });
  return key;
}

/** POSTs the signed request and returns status, headers and body (node:http/https, loaded on demand). */
async function send(endpoint: URL, req: ReturnType<typeof signSessionRequest>, timeoutMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const mod = endpoint.protocol === 'http:' ? await import('node:http') : await import('node:https');
  return new Promise((resolveP, reject) => {
    const r = mod.request(
      { protocol: endpoint.protocol, hostname: endpoint.hostname, port: endpoint.port || undefined, method: 'POST', path: req.url, headers: { ...req.headers, 'Content-Length': Buffer.byteLength(req.body) }, timeout: timeoutMs, minVersion: 'TLSv1.2' },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolveP({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Signs CreateSession, calls it, and returns the credentials in credential_process form. */
export async function credentialProcess(deps: Deps, input: CredentialProcessInput): Promise<ProcessCredentials> {
  const taRegion = arnRegion(input.trustAnchorArn, '--trust-anchor-arn', 'trust-anchor');
  const profileRegion = arnRegion(input.profileArn, '--profile-arn', 'profile');
  if (taRegion !== profileRegion)
    throw new PkiError('USAGE_REGION_MISMATCH', `trust anchor and profile regions don't match (${taRegion}, ${profileRegion})`, { details: { trustAnchorRegion: taRegion, profileRegion } });
  if (!ROLE_ARN.test(input.roleArn)) throw new PkiError('USAGE_BAD_ARN', `--role-arn "${input.roleArn}" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`, { details: { flag: '--role-arn' } });
  const duration = input.sessionDuration ?? 3600;
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200)
    throw new PkiError('USAGE_BAD_DURATION', `--session-duration ${duration}: Roles Anywhere accepts 900 to 43200 seconds`, { details: { flag: '--session-duration' } });
  const region = input.region ?? taRegion;
  let endpoint: URL;
  try {
    endpoint = new URL(input.endpoint ?? `https://rolesanywhere.${region}.amazonaws.com`);
  } catch {
    throw new PkiError('USAGE_BAD_ENDPOINT', `--endpoint "${input.endpoint}" is not a URL`, { details: { flag: '--endpoint' } });
  }
  const { leaf, chain } = readCertificates(input, deps.cwd);
  const key = readKey(input, deps, leaf);
  const signed = signSessionRequest({
    host: endpoint.host,
    region,
    date: deps.now(),
    trustAnchorArn: input.trustAnchorArn,
    profileArn: input.profileArn,
    roleArn: input.roleArn,
    durationSeconds: duration,
    ...(input.roleSessionName === undefined ? {} : { roleSessionName: input.roleSessionName }),
    certificate: leaf.der,
    serialHex: leaf.serialHex,
    chain,
    key,
  });
  let res;
  try {
    res = await send(endpoint, signed, (input.timeoutSeconds ?? 30) * 1000);
  } catch (e) {
    throw new PkiError('AWS_NetworkError', `CreateSession ${endpoint.origin}: ${(e as Error).message}`, { details: { endpoint: endpoint.origin }, cause: e });
  }
  let body: Record<string, any> = {};
  try {
    body = res.body ? (JSON.parse(res.body) as Record<string, any>) : {};
  } catch {
    /* not JSON: reported below */
  }
  if (res.status < 200 || res.status >= 300) {
    const header = res.headers['x-amzn-errortype'];
    const type = (Array.isArray(header) ? header[0] : header)?.split(':')[0] ?? String(body.__type ?? '').split('#').pop() ?? '';
    const name = type || `HTTP${res.status}`;
    const message = body.message ?? body.Message ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
    throw new PkiError(`AWS_${name.replace(/[^A-Za-z0-9]/g, '')}`, `${name}: ${message}`, { details: { operation: 'CreateSession', httpStatus: res.status, sdkError: name } });
  }
  const creds = body.credentialSet?.[0]?.credentials;
  if (!creds?.accessKeyId || !creds.secretAccessKey || !creds.sessionToken)
    throw new PkiError('AWS_BadResponse', `CreateSession ${endpoint.origin} answered ${res.status} without credentials`, { details: { httpStatus: res.status } });
  return { Version: 1, AccessKeyId: creds.accessKeyId, SecretAccessKey: creds.secretAccessKey, SessionToken: creds.sessionToken, Expiration: creds.expiration };
}
