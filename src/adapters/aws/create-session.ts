/**
 * `pki credential-process`: trades a certificate and its key for temporary AWS credentials with IAM Roles Anywhere
 * CreateSession (reference §4, §5), as the official credential helper does. Kept light on imports: the AWS SDK and
 * yargs are not loaded, so an AWS SDK or CLI that runs it for every call pays little start-up.
 */
import { resolve } from 'node:path';
import { PkiError } from '../../errors.js';
import { readSource, sourceLabel, type Source } from './inputs.js';
import { spkiMatches } from '../../crypto/keys.js';
import { loadWorkloadKey } from '../keys/file.js';
import type { Deps } from '../../ports.js';
import { readInput } from '../../fs/files.js';
import { parseCertificate, type ParsedCertificate } from '../../x509/certificate.js';
import { decodePemBlocks } from '../../asn1/pem.js';
import { signSessionRequest, signSessionRequestWith, type RequestSigner } from './x509-signer.js';
import { MAX_CHAIN_CERTIFICATES } from '../../domain/roles-anywhere.js';
import { checkEndpointUrl } from './endpoint.js';

export interface CredentialProcessInput {
  /** A path, `env:NAME`, `fd:N` or the bytes (see inputs.ts). */
  certificate: Source;
  privateKey: Source;
  intermediates?: Source;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  sessionDuration?: number;
  region?: string;
  endpoint?: string;
  roleSessionName?: string;
  /** File holding the password of an encrypted PKCS#8 key (else $PKI_KEY_PASSPHRASE). */
  pkcs8PasswordFile?: string;
  /** Seconds the whole exchange may take, retries included (default 30). */
  timeoutSeconds?: number;
  /** Do not verify the server's TLS certificate (tests only; warned on stderr). */
  insecureSkipTlsVerify?: boolean;
  /** PKCS#11 module for a `pkcs11:` privateKey whose URI has no module-path (else $PKI_PKCS11_MODULE). */
  pkcs11Lib?: string;
  /** PIN source (`file:PATH` or `env:NAME`) for a `pkcs11:` privateKey whose URI has no pin-source (else $PKI_PKCS11_PIN). */
  pkcs11PinSource?: string;
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

/**
 * The certificate (first CERTIFICATE block, or DER) and the intermediates (every block must be a CERTIFICATE), from
 * files, environment variables, inherited descriptors or memory.
 */
export function readWorkloadCertificates(input: Pick<CredentialProcessInput, 'certificate' | 'intermediates'>, deps: Pick<Deps, 'env' | 'cwd'>): { leaf: ParsedCertificate; chain: Buffer[] } {
  const certName = sourceLabel(input.certificate);
  const data = readSource(input.certificate, 'input.certificate', deps.env, deps.cwd);
  let leafDer: Buffer;
  if (data[0] === 0x30) leafDer = data;
  else {
    const block = decodePemBlocks(data.toString('latin1'), certName).find((b) => b.label === 'CERTIFICATE');
    if (!block) throw new PkiError('CRYPTO_BAD_PEM', `input.certificate ${certName}: no CERTIFICATE PEM block`, { details: { file: certName, input: 'certificate' } });
    leafDer = block.der;
  }
  const leaf = parseCertificate(leafDer, certName);
  const chain: Buffer[] = [];
  if (input.intermediates) {
    const chainName = sourceLabel(input.intermediates);
    const text = readSource(input.intermediates, 'input.intermediates', deps.env, deps.cwd).toString('latin1');
    const blocks = decodePemBlocks(text, chainName);
    const bad = blocks.find((b) => b.label !== 'CERTIFICATE');
    if (bad || !blocks.length)
      throw new PkiError('CRYPTO_BAD_CHAIN', `input.intermediates ${chainName}: invalid certificate chain (${bad ? `a ${bad.label} block` : 'no CERTIFICATE block'}); only CERTIFICATE PEM blocks are allowed`, {
        details: { file: chainName, input: 'intermediates' },
      });
    for (const b of blocks) chain.push(parseCertificate(b.der, chainName).der);
  }
  return { leaf, chain };
}

/** The workload's private key, checked to belong to `leaf` (CRYPTO_KEY_MISMATCH otherwise). */
export function readKey(input: CredentialProcessInput, deps: Deps, leaf: ParsedCertificate) {
  const keyName = sourceLabel(input.privateKey);
  const pem = readSource(input.privateKey, 'input.privateKey', deps.env, deps.cwd);
  const text = pem.toString('latin1');
  let passphrase: string | undefined;
  if (text.includes('ENCRYPTED PRIVATE KEY')) {
    if (input.pkcs8PasswordFile) passphrase = readInput(resolve(deps.cwd, input.pkcs8PasswordFile), 'input.pkcs8PasswordFile').toString('utf8').replace(/\r?\n$/, '');
    else passphrase = deps.env.PKI_KEY_PASSPHRASE;
    if (passphrase === undefined)
      throw new PkiError('CRYPTO_PASSPHRASE_REQUIRED', `input.privateKey ${keyName} is encrypted`, { details: { file: keyName, input: ['privateKey', 'pkcs8PasswordFile'] }, hint: 'pass input.pkcs8PasswordFile FILE or set PKI_KEY_PASSPHRASE' });
  }
  // RSA, EC (Node) or ML-DSA (RFC 9881 PKCS#8, seed or both form; signed as AWS4-X509-MLDSA).
  const { key, spki } = loadWorkloadKey(pem, keyName, passphrase);
  if (!spkiMatches(spki, leaf.publicKey))
    throw new PkiError('CRYPTO_KEY_MISMATCH', `input.privateKey ${keyName} does not belong to input.certificate ${sourceLabel(input.certificate)}`, { details: { key: keyName, certificate: sourceLabel(input.certificate), input: ['privateKey', 'certificate'] } });
  return key;
}

/** True when the private key source names a key on a PKCS#11 token (an RFC 7512 `pkcs11:` URI). */
export function isTokenKeySource(source: Source): source is string {
  return typeof source === 'string' && /^pkcs11:/i.test(source);
}

/**
 * The workload key on a PKCS#11 token (`privateKey: 'pkcs11:...'`), checked to belong to `leaf`: its public key must
 * be the certificate's (or, on a token that holds only the private key, a challenge it signs must verify with it).
 * The PIN comes from pin-source in the URI, `pkcs11PinSource`, $PKI_PKCS11_PIN or a prompt; the module from
 * module-path, `pkcs11Lib` or $PKI_PKCS11_MODULE. The adapter (a native module) is loaded only here.
 */
export async function tokenRequestSigner(input: CredentialProcessInput, deps: Deps, leaf: ParsedCertificate): Promise<RequestSigner> {
  const ref = input.privateKey as string;
  const { Pkcs11KeyStore } = await import('../keys/pkcs11.js');
  const defaults = { ...(input.pkcs11Lib ? { module: resolve(deps.cwd, input.pkcs11Lib) } : {}), ...(input.pkcs11PinSource ? { pinSource: input.pkcs11PinSource } : {}) };
  const store = new Pkcs11KeyStore({ deps, moduleFrom: 'input.pkcs11Lib', pinSourceFrom: 'input.pkcs11PinSource', defaults });
  const key = await store.adoptKey(ref, 'input.privateKey', 'the workload key', leaf.spki, `input.certificate ${sourceLabel(input.certificate)}`);
  return {
    algorithm: key.signer.keyType.startsWith('rsa-') ? 'AWS4-X509-RSA-SHA256' : 'AWS4-X509-ECDSA-SHA256',
    signSha256: (data) => key.hashAndSign('sha256', data),
  };
}

/** The largest CreateSession answer read (real ones are about 2 KB): a larger body is an error, not buffered. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Attempts per call, as the AWS SDKs' standard retry mode makes (ThrottlingException, HTTP 429 and 5xx). */
export const MAX_ATTEMPTS = 3;

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The endpoint (default: the region's), checked: HTTPS, or plain HTTP to a loopback address only (see endpoint.ts). */
export function checkEndpoint(raw: string | undefined, region: string): URL {
  return checkEndpointUrl(raw ?? `https://rolesanywhere.${region}.amazonaws.com`, { input: 'endpoint' });
}

class ExchangeError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'too-large' | 'network',
  ) {
    super(message);
  }
}

/**
 * One POST of the signed request (node:http/https, loaded on demand). `timeoutMs` bounds the whole exchange: connect,
 * TLS, request and the complete response, whatever the server trickles. The body is read up to MAX_RESPONSE_BYTES.
 */
async function sendOnce(endpoint: URL, req: ReturnType<typeof signSessionRequest>, timeoutMs: number, insecure: boolean, totalSeconds: number): Promise<HttpAnswer> {
  const mod = endpoint.protocol === 'http:' ? await import('node:http') : await import('node:https');
  return new Promise((resolveP, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | undefined, value?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        reject(err);
        r.destroy();
      } else resolveP(value!);
    };
    const tooLarge = () => new ExchangeError(`the answer is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB, the most pki reads`, 'too-large');
    const r = mod.request(
      {
        protocol: endpoint.protocol,
        hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: endpoint.port || undefined,
        method: 'POST',
        path: req.url,
        headers: { ...req.headers, 'Content-Length': Buffer.byteLength(req.body) },
        minVersion: 'TLSv1.2',
        // Explicit, so that neither NODE_TLS_REJECT_UNAUTHORIZED nor anything else decides; off only for this request.
        rejectUnauthorized: !insecure,
        agent: false,
      },
      (res) => {
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) return finish(tooLarge());
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) finish(tooLarge());
          else chunks.push(c);
        });
        res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish(e));
        res.on('close', () => finish(new ExchangeError('the connection closed before the answer was complete', 'network')));
      },
    );
    timer = setTimeout(() => finish(new ExchangeError(`no complete answer within input.timeoutSeconds ${totalSeconds} s`, 'timeout')), Math.max(1, timeoutMs));
    r.on('error', (e) => finish(e));
    r.end(req.body);
  });
}

/** ThrottlingException (any status), HTTP 429 and 5xx are worth another attempt; other answers are final. */
function retryable(a: HttpAnswer): boolean {
  const header = a.headers['x-amzn-errortype'];
  const type = (Array.isArray(header) ? header[0] : header) ?? '';
  return a.status === 429 || a.status >= 500 || type.startsWith('ThrottlingException');
}

/**
 * Sends the request, retrying throttling and server errors with jittered exponential backoff (half to all of
 * 200 ms x 2^n for throttling, 100 ms x 2^n otherwise), at most MAX_ATTEMPTS attempts, all within `timeoutMs`.
 */
async function send(deps: Deps, endpoint: URL, req: ReturnType<typeof signSessionRequest>, timeoutMs: number, insecure: boolean): Promise<HttpAnswer> {
  const start = performance.now();
  const left = () => timeoutMs - (performance.now() - start);
  for (let attempt = 1; ; attempt++) {
    if (left() <= 0) throw new ExchangeError(`no complete answer within input.timeoutSeconds ${timeoutMs / 1000} s`, 'timeout');
    const answer = await sendOnce(endpoint, req, left(), insecure, timeoutMs / 1000);
    if (attempt >= MAX_ATTEMPTS || !retryable(answer)) return answer;
    const base = (answer.status === 429 || String(answer.headers['x-amzn-errortype'] ?? '').startsWith('Throttling') ? 200 : 100) * 2 ** (attempt - 1);
    const delay = base / 2 + (deps.randomBytes(4).readUInt32BE(0) / 2 ** 32) * (base / 2);
    // No time for the wait and another attempt: the answer stands.
    if (delay >= left()) return answer;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Signs CreateSession, calls it, and returns the credentials in credential_process form. */
export async function credentialProcess(deps: Deps, input: CredentialProcessInput): Promise<ProcessCredentials> {
  const taRegion = arnRegion(input.trustAnchorArn, 'input.trustAnchorArn', 'trust-anchor');
  const profileRegion = arnRegion(input.profileArn, 'input.profileArn', 'profile');
  if (taRegion !== profileRegion)
    throw new PkiError('USAGE_REGION_MISMATCH', `trust anchor and profile regions don't match (${taRegion}, ${profileRegion})`, { details: { trustAnchorRegion: taRegion, profileRegion } });
  if (!ROLE_ARN.test(input.roleArn)) throw new PkiError('USAGE_BAD_ARN', `input.roleArn "${input.roleArn}" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`, { details: { flag: 'input.roleArn', input: 'roleArn' } });
  const duration = input.sessionDuration ?? 3600;
  if (!Number.isInteger(duration) || duration < 900 || duration > 43200)
    throw new PkiError('USAGE_BAD_DURATION', `input.sessionDuration ${duration}: Roles Anywhere accepts 900 to 43200 seconds`, { details: { flag: 'input.sessionDuration', input: 'sessionDuration' } });
  const region = input.region ?? taRegion;
  const endpoint = checkEndpoint(input.endpoint, region);
  const timeout = input.timeoutSeconds ?? 30;
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 3600)
    throw new PkiError('USAGE_BAD_TIMEOUT', `input.timeoutSeconds ${timeout}: give seconds, more than 0 and at most 3600`, { details: { flag: 'input.timeoutSeconds', input: 'timeoutSeconds' } });
  // NODE_TLS_REJECT_UNAUTHORIZED=0 would make Node accept any server certificate: refuse it unless asked for.
  const insecure = input.insecureSkipTlsVerify === true;
  if (deps.env.NODE_TLS_REJECT_UNAUTHORIZED === '0' && !insecure)
    throw new PkiError('USAGE_TLS_VERIFY_DISABLED', 'NODE_TLS_REJECT_UNAUTHORIZED=0 is set: it would accept any server certificate, and the certificate signature and credentials could go to an impostor', {
      details: { env: 'NODE_TLS_REJECT_UNAUTHORIZED', input: 'insecureSkipTlsVerify' },
      hint: 'unset it (trust a private CA with NODE_EXTRA_CA_CERTS=ca.pem instead), or pass input.insecureSkipTlsVerify for a test endpoint',
    });
  if (insecure && endpoint.protocol === 'https:')
    deps.stderr.write(`warning: input.insecureSkipTlsVerify: the server certificate of ${endpoint.origin} is not verified; anyone on the path can receive the credentials\n`);
  const { leaf, chain } = readWorkloadCertificates(input, deps);
  if (chain.length > MAX_CHAIN_CERTIFICATES)
    throw new PkiError('POLICY_CHAIN_TOO_LONG', `input.intermediates holds ${chain.length} certificates; Roles Anywhere accepts at most ${MAX_CHAIN_CERTIFICATES} in X-Amz-X509-Chain`, {
      details: { count: chain.length, input: 'intermediates' },
    });
  const request = {
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
  };
  const signed = isTokenKeySource(input.privateKey) ? await signSessionRequestWith(request, await tokenRequestSigner(input, deps, leaf)) : signSessionRequest({ ...request, key: readKey(input, deps, leaf) });
  let res;
  try {
    res = await send(deps, endpoint, signed, timeout * 1000, insecure);
  } catch (e) {
    const kind = e instanceof ExchangeError ? e.kind : 'network';
    const code = kind === 'timeout' ? 'AWS_TimeoutError' : kind === 'too-large' ? 'AWS_BadResponse' : 'AWS_NetworkError';
    throw new PkiError(code, `CreateSession ${endpoint.origin}: ${(e as Error).message}`, {
      details: { endpoint: endpoint.origin, ...(kind === 'timeout' ? { input: 'timeoutSeconds' } : {}) },
      cause: e,
    });
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
