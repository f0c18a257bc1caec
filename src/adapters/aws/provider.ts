/**
 * Credentials that stay fresh: one CreateSession, reused until a margin before it expires, then renewed; the
 * certificate and key files are re-read when they change (a renewed certificate is used without a restart). Shared
 * by the SDK credential provider `fromRolesAnywhere`, `pki credential serve` and `pki credential update`.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { credentialProcess, isTokenKeySource, type CredentialProcessInput, type ProcessCredentials } from './create-session.js';
import { isFileSource, readSource, sourceLabel, type Source } from './inputs.js';

/** Credentials in the AWS SDK for JavaScript's shape (AwsCredentialIdentity). */
export interface RolesAnywhereCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** The default refresh margin: credentials are renewed 5 minutes before they expire, as AWS's helper does. */
export const DEFAULT_REFRESH_BEFORE_SECONDS = 300;

export type RefresherDeps = Pick<Deps, 'now' | 'randomBytes' | 'env' | 'cwd' | 'stderr'>;

export interface RefresherOptions {
  /** Seconds before expiry at which credentials are renewed (default 300). */
  refreshBeforeSeconds?: number;
  /** Called with each error once, and again only when the error changes (no log flood while the service is down). */
  onError?: (err: PkiError, servingCached: boolean) => void;
  /** After a failed renewal, seconds during which callers get the same answer without a new CreateSession (default 5). */
  retryAfterSeconds?: number;
  /** Called after a refresh succeeds (with the certificate's serial), e.g. to log it. */
  onRefresh?: (creds: ProcessCredentials, why: string) => void;
}

/** What identifies a file's content cheaply: changes with a rename over it (inode) or a rewrite (size, mtime). */
function fileStamp(path: string): string {
  try {
    const st = fs.statSync(path);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Holds one set of credentials and renews it: when it is within `refreshBeforeSeconds` of its expiration, when the
 * certificate, key or intermediates files changed, or when it has none. Concurrent callers share one CreateSession.
 * A failed renewal keeps serving the credentials it holds while they are unexpired; past their expiration the
 * error is thrown (never stale credentials).
 */
export class CredentialRefresher {
  private current: ProcessCredentials | undefined;
  private stamps = '';
  private inFlight: Promise<ProcessCredentials> | undefined;
  private lastError = '';
  /** The last failed renewal: repeated within retryAfterSeconds (files unchanged), it is answered without a call. */
  private failure: { at: number; stamps: string; err: PkiError } | undefined;
  readonly margin: number;

  private input: CredentialProcessInput;
  /** env:NAME and fd:N sources are read once (a descriptor cannot be read twice); files at every renewal. */
  private sourcesRead = false;

  constructor(
    private readonly deps: RefresherDeps,
    input: CredentialProcessInput,
    private readonly opts: RefresherOptions = {},
  ) {
    this.input = { ...input };
    this.margin = opts.refreshBeforeSeconds ?? DEFAULT_REFRESH_BEFORE_SECONDS;
    if (!Number.isFinite(this.margin) || this.margin < 0 || this.margin > 3600)
      throw new PkiError('USAGE_BAD_DURATION', `input.refreshBeforeSeconds ${this.margin}: give seconds, 0 to 3600`, { details: { flag: 'input.refreshBeforeSeconds' } });
  }

  /** The stamps of the file sources (certificate, key, intermediates). */
  private fileStamps(): string {
    return [this.input.certificate, this.input.privateKey, this.input.intermediates]
      .map((s) => (s !== undefined && isFileSource(s) && !isTokenKeySource(s) ? fileStamp(resolve(this.deps.cwd, s)) : '-'))
      .join('|');
  }

  /** Why the held credentials must be renewed now, or undefined when they are good. */
  private staleReason(now: Date): string | undefined {
    if (!this.current) return 'first request';
    if (this.fileStamps() !== this.stamps) return 'the certificate or key files changed';
    const expires = Date.parse(this.current.Expiration);
    if (now.getTime() >= expires - this.margin * 1000) return `expiring at ${this.current.Expiration}`;
    return undefined;
  }

  /** The credentials held, renewed first if needed (see the class comment). */
  async get(): Promise<ProcessCredentials> {
    const now = this.deps.now();
    const why = this.staleReason(now);
    if (!why) return this.current!;
    const f = this.failure;
    if (f && now.getTime() - f.at < (this.opts.retryAfterSeconds ?? 5) * 1000 && f.stamps === this.fileStamps()) {
      // A caller that retries at once (SDKs do) does not turn a failing service into a stream of CreateSessions.
      if (this.current && now.getTime() < Date.parse(this.current.Expiration)) return this.current;
      throw f.err;
    }
    this.inFlight ??= this.refresh(why).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refresh(why: string): Promise<ProcessCredentials> {
    const stamps = this.fileStamps();
    try {
      if (!this.sourcesRead) {
        for (const k of ['certificate', 'privateKey', 'intermediates'] as const) {
          const src = this.input[k];
          if (src !== undefined && !isFileSource(src)) this.input[k] = readSource(src, `input.${k}`, this.deps.env, this.deps.cwd);
        }
        this.sourcesRead = true;
      }
      const creds = await credentialProcess(this.deps as Deps, this.input);
      this.current = creds;
      this.stamps = stamps;
      this.lastError = '';
      this.failure = undefined;
      this.opts.onRefresh?.(creds, why);
      return creds;
    } catch (e) {
      const err = e instanceof PkiError ? e : new PkiError('INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      this.failure = { at: this.deps.now().getTime(), stamps, err };
      const held = this.current;
      const usable = held !== undefined && this.deps.now().getTime() < Date.parse(held.Expiration);
      if (err.message !== this.lastError) {
        this.lastError = err.message;
        this.opts.onError?.(err, usable);
      }
      if (usable) return held;
      throw err;
    }
  }
}

/** Options of {@link fromRolesAnywhere}. */
export interface FromRolesAnywhereOptions {
  /** The certificate: PEM text (a string holding "-----BEGIN"), bytes, a path, `env:NAME` or `fd:N`. */
  certificate: string | Buffer;
  /** Its private key, in the same forms (PKCS#8 plain or encrypted, PKCS#1 RSA, SEC1 EC). */
  privateKey: string | Buffer;
  /** Intermediate CA certificates (PEM bundle), in the same forms. */
  intermediates?: string | Buffer;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  /** Default: the trust anchor ARN's region. */
  region?: string;
  /** Default https://rolesanywhere.REGION.amazonaws.com; plain http:// only to a loopback address (the emulator). */
  endpoint?: string;
  /** Seconds, 900-43200 (default 3600). */
  sessionDuration?: number;
  roleSessionName?: string;
  /** Password of an encrypted PKCS#8 key (else PKI_KEY_PASSPHRASE in `env`). */
  pkcs8Password?: string;
  /**
   * For a `privateKey` on a PKCS#11 token (`pkcs11:token=...;object=...`): the token's module (the vendor library,
   * as `--pkcs11-lib`), used when the URI has no module-path (else PKI_PKCS11_MODULE in `env`).
   */
  pkcs11Lib?: string;
  /** The token's user PIN source, `file:PATH` or `env:NAME` (in `env`), used when the URI has no pin-source. */
  pkcs11PinSource?: string;
  /** The token's user PIN itself, when neither the URI nor `pkcs11PinSource` gives one (else PKI_PKCS11_PIN in `env`). */
  pkcs11Pin?: string;
  /** Renew this many seconds before expiry (default 300). */
  refreshBeforeSeconds?: number;
  /** Seconds one CreateSession exchange may take, retries included (default 30). */
  timeoutSeconds?: number;
  /** Variables `env:NAME` sources read (default: none; pass process.env to use the process's). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The clock (default the system clock); tests move it. */
  now?: () => Date;
  /** Receives a line when a renewal fails while unexpired credentials are still served. */
  logger?: { warn(message: string): void };
}

const asSource = (v: string | Buffer): Source => (typeof v === 'string' && v.includes('-----BEGIN') ? Buffer.from(v, 'latin1') : v);

/**
 * An AWS SDK for JavaScript (v3) credential provider backed by IAM Roles Anywhere: pass it as `credentials` to any
 * client. The first call signs CreateSession with the certificate's key; later calls return the same credentials
 * until `refreshBeforeSeconds` before they expire, then renew them (concurrent calls share one request). Certificate
 * and key files are re-read when they change. Errors are PkiError (`AWS_AccessDeniedException`, `CRYPTO_KEY_MISMATCH`,
 * ...); a failed renewal keeps returning the unexpired credentials held, never expired ones. A key on a PKCS#11 token
 * (`privateKey: 'pkcs11:token=...;object=...'`) takes its module from `pkcs11Lib` and its PIN from `pkcs11PinSource`
 * or `pkcs11Pin` (the URI's module-path and pin-source first, `env`'s PKI_PKCS11_MODULE / PKI_PKCS11_PIN last); it is
 * opened again, by its URI, at each renewal, so a key replaced on the token under the same label is used together with
 * the new certificate.
 *
 * @example
 * const s3 = new S3Client({ credentials: fromRolesAnywhere({ certificate: '/etc/app/leaf.pem', privateKey: '/etc/app/leaf.key', trustAnchorArn, profileArn, roleArn }) });
 */
export function fromRolesAnywhere(options: FromRolesAnywhereOptions): () => Promise<RolesAnywhereCredentials> {
  const env = { ...(options.env ?? {}) };
  if (options.pkcs8Password !== undefined) env.PKI_KEY_PASSPHRASE = options.pkcs8Password;
  if (options.pkcs11Pin !== undefined) env.PKI_PKCS11_PIN = options.pkcs11Pin;
  const deps: RefresherDeps = {
    now: options.now ?? (() => new Date()),
    randomBytes: (n) => cryptoRandomBytes(n),
    env,
    cwd: '',
    stderr: { write: () => true },
  };
  const input: CredentialProcessInput = {
    certificate: asSource(options.certificate),
    privateKey: asSource(options.privateKey),
    trustAnchorArn: options.trustAnchorArn,
    profileArn: options.profileArn,
    roleArn: options.roleArn,
  };
  if (options.intermediates !== undefined) input.intermediates = asSource(options.intermediates);
  if (options.region !== undefined) input.region = options.region;
  if (options.endpoint !== undefined) input.endpoint = options.endpoint;
  if (options.sessionDuration !== undefined) input.sessionDuration = options.sessionDuration;
  if (options.roleSessionName !== undefined) input.roleSessionName = options.roleSessionName;
  if (options.timeoutSeconds !== undefined) input.timeoutSeconds = options.timeoutSeconds;
  if (options.pkcs11Lib !== undefined) input.pkcs11Lib = options.pkcs11Lib;
  if (options.pkcs11PinSource !== undefined) input.pkcs11PinSource = options.pkcs11PinSource;
  const refresher = new CredentialRefresher(deps, input, {
    ...(options.refreshBeforeSeconds === undefined ? {} : { refreshBeforeSeconds: options.refreshBeforeSeconds }),
    onError: (err, cached) => {
      if (cached) options.logger?.warn(`Roles Anywhere credentials (${sourceLabel(input.certificate)}): renewal failed, still using the current ones: ${err.message}`);
    },
  });
  return async () => {
    const c = await refresher.get();
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
  };
}
