/**
 * An offline IAM Roles Anywhere emulator: the service's REST-JSON protocol on 127.0.0.1, so that
 * @aws-sdk/client-rolesanywhere (and other SDKs) work against it with an endpoint override. It knows only what was
 * sent to it, keeps its state in a JSON file (survives restarts), and applies the service's rules (rules.ts).
 *
 * Implemented: trust anchors and profiles (Create/Get/Update/List/Delete/Enable/Disable) and CRLs (Import/Get/Update/
 * List/Delete/Enable/Disable), the 1-request-per-second quotas (ThrottlingException, HTTP 429), SigV4 presence and scope checks.
 * Test hooks under /_emulator/: the call log, and faults (5xx, throttling, latency, drop-the-connection-after-write).
 *
 * Hostile input: resources live in Maps (an id such as "__proto__" is just an unknown id), a request target or a fault
 * value the emulator cannot use is a 400, and an unexpected error is a 500 InternalServerException carrying the
 * request id (header x-amzn-RequestId and body), logged with its stack: never a verdict, never a crash.
 *
 * The parts: http.ts (routes, the request cycle, faults, quotas, the server), state.ts (the resources and their
 * file), resources/ (trust anchors, CRLs, profiles, CreateSession), sts.ts (AssumeRole); this module wires them.
 */
import { PkiError } from '../errors.js';
import type { SessionRecord } from './sessions.js';
import { stsRequest, type AssumedRoleRecord } from './sts.js';
import type { CrlRules, MlDsaCertificates } from './rules.js';
import { BUNDLE_MAX_CHARS } from '../domain/roles-anywhere.js';
import { Router, serveHttp, type CallRecord, type Faults } from './http.js';
import { loadState, saveState, snapshot, type EmulatorState } from './state.js';
import type { ResourceContext } from './resources/context.js';
import { registerAnchors } from './resources/anchors.js';
import { registerCrls } from './resources/crls.js';
import { registerProfiles } from './resources/profiles.js';
import { registerSessions } from './resources/sessions.js';

export { checkFaults, type CallRecord, type Faults } from './http.js';
export type { EmulatorState } from './state.js';

export interface EmulatorOptions {
  /** 127.0.0.1 unless told otherwise; any other address needs allowNonLoopback. */
  host?: string;
  allowNonLoopback?: boolean;
  port?: number;
  account?: string;
  region?: string;
  /** JSON file keeping the state across restarts (none: in memory). */
  stateFile?: string;
  /** x509CertificateData limit: 16000 in the current service model, 8000 in older ones (§2.2). */
  maxCertificateDataChars?: number;
  /** Trust anchors created without `enabled`: the service's default is UNCONFIRMED (§2.2); default false. */
  defaultTrustAnchorEnabled?: boolean;
  /** Profiles created without `enabled`: the service's default is UNCONFIRMED (§7); default false. */
  defaultProfileEnabled?: boolean;
  crl?: Partial<CrlRules>;
  /** Requests per second per API group (§8: 1). 0 disables throttling. */
  ratePerSecond?: number;
  /** Require a SigV4 Authorization header scoped to this region and service (default true). */
  requireSignature?: boolean;
  /** CreateSession: largest accepted distance between X-Amz-Date and the emulator's clock (default 300 s; UNCONFIRMED). */
  clockSkewSeconds?: number;
  /** CreateSession with a CRL past its nextUpdate: 'reject' (default) or 'ignore' the CRL. The service's is UNCONFIRMED. */
  expiredCrl?: 'reject' | 'ignore';
  /** ML-DSA trust anchors, ML-DSA-signed certificates and CRLs (UNCONFIRMED in the service; see rules.ts): default 'reject'. */
  mlDsaCertificates?: MlDsaCertificates;
  /** The emulator's clock (tests move it); default the system clock. */
  now?: () => Date;
  /** Where internal errors are logged (one line each, with the request id and the stack); default stderr. */
  log?: (line: string) => void;
}

export interface Emulator {
  url: string;
  port: number;
  state(): EmulatorState;
  calls(): CallRecord[];
  /** Every session CreateSession granted: role session name, SourceIdentity, principal tags, dropped attributes. */
  sessions(): SessionRecord[];
  /** Every role STS AssumeRole granted (role chaining from Roles Anywhere credentials). */
  assumedRoles(): AssumedRoleRecord[];
  setFaults(f: Faults): void;
  close(): Promise<void>;
}

/** Starts the emulator; resolves once it listens. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!opts.allowNonLoopback && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost')
    throw new PkiError('USAGE_NON_LOOPBACK', `the emulator listens on loopback only; input.host ${host} needs input.allowNonLoopback`, { details: { input: ['host', 'allowNonLoopback'] } });
  const account = opts.account ?? '123456789012';
  const region = opts.region ?? 'us-east-1';
  const state = loadState(opts.stateFile, 'input.stateFile');
  const clock = opts.now ?? (() => new Date());
  const now = (): string => clock().toISOString();
  const sessions: SessionRecord[] = [];
  const assumed: AssumedRoleRecord[] = [];
  const router = new Router();
  const mlDsa = opts.mlDsaCertificates ?? 'reject';
  const ctx: ResourceContext = { store: state, region, account, now, router };
  registerAnchors(ctx, { maxChars: opts.maxCertificateDataChars ?? BUNDLE_MAX_CHARS, defaultEnabled: opts.defaultTrustAnchorEnabled ?? false, mlDsa });
  registerCrls(ctx, { requirePem: opts.crl?.requirePem ?? true, requireSignedByAnchor: opts.crl?.requireSignedByAnchor ?? true, mlDsaCertificates: mlDsa });
  registerProfiles(ctx, { defaultEnabled: opts.defaultProfileEnabled ?? false });
  registerSessions(ctx, { clockSkewSeconds: opts.clockSkewSeconds ?? 300, expiredCrl: opts.expiredCrl ?? 'reject', mlDsaCertificates: mlDsa, clock, sessions });
  const server = await serveHttp({
    host,
    port: opts.port ?? 0,
    region,
    rate: opts.ratePerSecond ?? 1,
    requireSignature: opts.requireSignature !== false,
    router,
    persist: () => saveState(opts.stateFile, state, 'input.stateFile'),
    now,
    log: opts.log ?? ((line: string) => void process.stderr.write(line)),
    sts: (authorization, params) =>
      stsRequest(authorization, params, {
        region,
        now: clock,
        issued: (id) => sessions.some((x) => x.accessKeyId === id) || assumed.some((x) => x.accessKeyId === id),
        record: (r) => assumed.push(r),
      }),
    hooks: { state: () => snapshot(state), sessions: () => sessions },
  });
  return {
    url: server.url,
    port: server.port,
    state: () => JSON.parse(JSON.stringify(snapshot(state))) as EmulatorState,
    calls: server.calls,
    sessions: () => structuredClone(sessions),
    assumedRoles: () => assumed.map((r) => ({ ...r })),
    setFaults: server.setFaults,
    close: server.close,
  };
}
