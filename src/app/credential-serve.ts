/**
 * `pki credential serve`: the EC2 instance metadata service (IMDSv2) as the AWS SDKs and CLI use it, backed by IAM
 * Roles Anywhere, like `aws_signing_helper serve` (reference §9): `PUT /latest/api/token` (TTL header, 1-21600 s)
 * gives a session token that every GET must carry; `GET /latest/meta-data/iam/security-credentials/` names the role
 * and `GET .../<role-name>` returns the credentials JSON the SDKs parse. Credentials are renewed a margin before
 * they expire and served from memory meanwhile; the certificate and key files are re-read when they change.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PkiError } from '../errors.js';
import type { Deps } from '../ports.js';
import type { CredentialProcessInput, ProcessCredentials } from '../adapters/aws/create-session.js';
import { readWorkloadCertificates } from '../adapters/aws/create-session.js';
import { readOnceSources } from '../adapters/aws/inputs.js';
import { CredentialRefresher } from '../adapters/aws/provider.js';

export const DEFAULT_SERVE_PORT = 9911;
/** IMDS token TTL bounds (seconds) and the most tokens held, as AWS's helper has them. */
export const TOKEN_TTL_MAX = 21600;
export const MAX_TOKENS = 256;
const TOKEN_PATH = '/latest/api/token';
const CREDENTIALS_PATH = '/latest/meta-data/iam/security-credentials';
const TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';

export interface ServeInput extends CredentialProcessInput {
  /** Default 9911 (0: any free port). */
  port?: number;
  /** Default 127.0.0.1; anything else needs allowNonLoopback (and is warned about). */
  host?: string;
  allowNonLoopback?: boolean;
  /** IP hop limit of the answers (AWS's helper: default 64). Only 64 is supported (see the command's help). */
  hopLimit?: number;
  /** Renew this many seconds before expiry (default 300). */
  refreshBeforeSeconds?: number;
}

export interface CredentialServer {
  url: string;
  port: number;
  roleName: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** The role name the metadata paths use: the last segment of the role ARN (a role path is left out). */
export function roleNameOf(roleArn: string): string {
  return roleArn.split('/').pop() ?? roleArn;
}

function imdsJson(c: ProcessCredentials, lastUpdated: string): string {
  return JSON.stringify({ Code: 'Success', LastUpdated: lastUpdated, Type: 'AWS-HMAC', AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken, Expiration: c.Expiration }, null, 2);
}

export interface ServeOptions {
  /**
   * How an error is shown to the workload in the HTTP error body (`{"Code":"Failure","Message":"CODE: message"}`).
   * Errors name the typed inputs (`input.privateKey`); the CLI passes its renderer so the body names the flag the
   * operator gave, as its log lines do. Default: the error as it is.
   */
  showError?: (err: PkiError) => PkiError;
}

/**
 * Checks the inputs, reads the certificate and key once (a mismatch or a missing file stops it here), asks for the
 * first credentials (a service error is logged and served as an error until it clears), and starts listening.
 */
export async function startCredentialServer(deps: Deps, raw: ServeInput, opts: ServeOptions = {}): Promise<CredentialServer> {
  const host = raw.host ?? '127.0.0.1';
  const port = raw.port ?? DEFAULT_SERVE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PkiError('USAGE_BAD_PORT', `input.port ${port}: give 0 to 65535`, { details: { flag: 'input.port' } });
  if (!LOOPBACK.test(host) && !raw.allowNonLoopback)
    throw new PkiError('USAGE_NON_LOOPBACK', `input.host ${host} is not a loopback address: anything that can reach it would get the role's credentials`, {
      details: { flag: 'input.host', host, input: ['host', 'allowNonLoopback'] },
      hint: 'keep 127.0.0.1, or pass input.allowNonLoopback (e.g. for containers on a private bridge network) and restrict who can reach the port',
    });
  const hopLimit = raw.hopLimit ?? 64;
  if (hopLimit !== 64)
    throw new PkiError('USAGE_UNSUPPORTED_OPTION', `input.hopLimit ${hopLimit}: Node.js cannot set the IP TTL of TCP answers, so only the default 64 is accepted`, {
      details: { flag: 'input.hopLimit' },
      hint: 'keep the server on 127.0.0.1 (the default), which no other host can reach, or limit access with a firewall',
    });
  // Inherited descriptors and environment variables are read once; files are re-read when they change.
  const input: CredentialProcessInput = readOnceSources(raw, deps.env, deps.cwd);
  readWorkloadCertificates(input, deps);
  const log = (line: string) => deps.stderr.write(`${deps.now().toISOString()} ${line}\n`);
  let lastUpdated = deps.now().toISOString();
  const refresher = new CredentialRefresher(deps, input, {
    ...(raw.refreshBeforeSeconds === undefined ? {} : { refreshBeforeSeconds: raw.refreshBeforeSeconds }),
    onRefresh: (c, why) => {
      lastUpdated = deps.now().toISOString();
      log(`credentials renewed (${why}); they expire at ${c.Expiration}`);
    },
    onError: (err, cached) => log(`error: ${err.code}: ${err.message}${cached ? ' (serving the current credentials until they expire)' : ''}`),
  });
  try {
    await refresher.get();
  } catch (e) {
    // Local problems (bad flags, files, keys) stop the server; the service's errors are served until they clear.
    if (!(e instanceof PkiError) || !e.code.startsWith('AWS_')) throw e;
  }
  const roleName = roleNameOf(raw.roleArn);
  const tokens = new Map<string, number>();
  const send = (res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': body.startsWith('{') ? 'application/json' : 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    // A request relayed by a proxy is refused, as IMDS and AWS's helper do (SSRF through an open proxy).
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 403, 'Forbidden');
    const now = deps.now().getTime();
    if (path === TOKEN_PATH) {
      if (req.method !== 'PUT') return send(res, 405, 'Method Not Allowed', { allow: 'PUT' });
      const ttlText = req.headers[TTL_HEADER];
      const ttl = typeof ttlText === 'string' && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : NaN;
      if (!(ttl >= 1 && ttl <= TOKEN_TTL_MAX)) return send(res, 400, `Bad Request: ${TTL_HEADER} must be 1 to ${TOKEN_TTL_MAX}`);
      for (const [t, exp] of tokens) if (exp <= now) tokens.delete(t);
      // At most MAX_TOKENS: the oldest goes first (a Map keeps insertion order).
      while (tokens.size >= MAX_TOKENS) tokens.delete(tokens.keys().next().value!);
      const token = deps.randomBytes(32).toString('base64url');
      tokens.set(token, now + ttl * 1000);
      return send(res, 200, token, { [TTL_HEADER]: String(ttl) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed', { allow: 'GET' });
    // IMDSv2 only: every GET carries an unexpired token.
    const token = req.headers[TOKEN_HEADER];
    const expires = typeof token === 'string' ? tokens.get(token) : undefined;
    if (expires === undefined || expires <= now) return send(res, 401, 'Unauthorized');
    if (path === CREDENTIALS_PATH || path === `${CREDENTIALS_PATH}/`) return send(res, 200, roleName);
    if (path === `${CREDENTIALS_PATH}/${roleName}` || path === `${CREDENTIALS_PATH}/${roleName}/`) {
      try {
        const creds = await refresher.get();
        return send(res, 200, imdsJson(creds, lastUpdated));
      } catch (e) {
        const thrown = e instanceof PkiError ? e : new PkiError('INTERNAL', String((e as Error)?.message ?? e));
        const err = opts.showError ? opts.showError(thrown) : thrown;
        return send(res, err.code.startsWith('AWS_') ? 502 : 500, JSON.stringify({ Code: 'Failure', Message: `${err.code}: ${err.message}` }));
      }
    }
    return send(res, 404, 'Not Found');
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
      if (!res.headersSent) send(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolveP, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new PkiError('IO_PORT_IN_USE', `input.port ${port}: ${host}:${port} is already in use`, { details: { flag: 'input.port', port } })
          : new PkiError('IO_LISTEN_FAILED', `cannot listen on ${host}:${port} (${e.message})`, { details: { host, port }, cause: e }),
      ),
    );
    server.listen(port, host, () => resolveP());
  });
  if (!LOOPBACK.test(host)) log(`warning: listening on ${host}, not a loopback address: anything that can reach port ${(server.address() as AddressInfo).port} gets the role's credentials`);
  const actual = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  return {
    url,
    port: actual,
    roleName,
    close: () =>
      new Promise<void>((resolveP) => {
        server.close(() => resolveP());
        server.closeAllConnections();
      }),
  };
}
