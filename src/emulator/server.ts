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
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PkiError } from '../errors.js';
import { writeFileAtomic } from '../fs/files.js';
import { parseCertificate } from '../x509/certificate.js';
import { decodePemBlocks } from '../x509/pem.js';
import { DEFAULT_MAPPINGS, type AttributeMappings, type CertificateField } from '../domain/session.js';
import { createSession, type SessionContext, type SessionRecord, type SessionRequest } from './sessions.js';
import { stsRequest, type AssumedRoleRecord } from './sts.js';
import { checkBundle, checkCrl, checkName, checkTags, ServiceError, validation, type CrlRules, type MlDsaCertificates } from './rules.js';
import { BUNDLE_MAX_CHARS, MAX_CRLS_PER_ANCHOR } from '../domain/roles-anywhere.js';

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

interface TrustAnchor {
  trustAnchorId: string;
  trustAnchorArn: string;
  name: string;
  source: { sourceType: string; sourceData: { x509CertificateData: string } };
  enabled: boolean;
  notificationSettings: unknown[];
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

interface Crl {
  crlId: string;
  crlArn: string;
  name: string;
  /** base64 of the PEM bytes, as on the wire. */
  crlData: string;
  enabled: boolean;
  trustAnchorArn: string;
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

interface Profile {
  profileId: string;
  profileArn: string;
  name: string;
  roleArns: string[];
  managedPolicyArns: string[];
  sessionPolicy?: string;
  durationSeconds: number;
  requireInstanceProperties: boolean;
  acceptRoleSessionName: boolean;
  enabled: boolean;
  /** Certificate attribute mappings (§6.3); absent in state files from before they existed: the defaults. */
  attributeMappings?: AttributeMappings;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  tags: Array<{ key: string; value: string }>;
}

export interface EmulatorState {
  trustAnchors: Record<string, TrustAnchor>;
  crls: Record<string, Crl>;
  profiles: Record<string, Profile>;
}

export interface Faults {
  /** Answer the next `count` API calls with this HTTP status (500, 503, ...). */
  failNext?: { status: number; count: number };
  /** Answer the next `count` API calls with ThrottlingException. */
  throttleNext?: number;
  /** Delay every answer by this many milliseconds. */
  latencyMs?: number;
  /** For the next `count` mutating calls: apply the change, then drop the connection without answering. */
  dropAfterWrite?: number;
}

export interface CallRecord {
  op: string;
  status: number;
  at: string;
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


/** The state in memory: Maps, so that no id (not even "__proto__" or "constructor") reaches an object's prototype. */
interface Store {
  trustAnchors: Map<string, TrustAnchor>;
  crls: Map<string, Crl>;
  profiles: Map<string, Profile>;
}

const ID_FIELD = { trustAnchors: 'trustAnchorId', crls: 'crlId', profiles: 'profileId' } as const;

function loadState(file: string | undefined): Store {
  const store: Store = { trustAnchors: new Map(), crls: new Map(), profiles: new Map() };
  if (!file || !fs.existsSync(file)) return store;
  const bad = (why: string): PkiError => new PkiError('IO_EMULATOR_STATE', `--state ${file} is not an emulator state file: ${why}`, { details: { file } });
  let s: unknown;
  try {
    s = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw bad((e as Error).message);
  }
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw bad('not a JSON object');
  for (const kind of ['trustAnchors', 'crls', 'profiles'] as const) {
    const section = (s as Record<string, unknown>)[kind];
    if (section === undefined) continue;
    if (typeof section !== 'object' || section === null || Array.isArray(section)) throw bad(`${kind} is not an object`);
    // JSON.parse makes "__proto__" an own key, so Object.entries sees it; it must then be a resource with that id.
    for (const [id, r] of Object.entries(section)) {
      if (typeof r !== 'object' || r === null || (r as Record<string, unknown>)[ID_FIELD[kind]] !== id) throw bad(`${kind}.${id} is not a resource whose ${ID_FIELD[kind]} is ${id}`);
      (store[kind] as Map<string, unknown>).set(id, r);
    }
  }
  return store;
}

/** The JSON shape of the state (file, GET /_emulator/state, Emulator.state()). */
const snapshot = (store: Store): EmulatorState => ({
  trustAnchors: Object.fromEntries(store.trustAnchors),
  crls: Object.fromEntries(store.crls),
  profiles: Object.fromEntries(store.profiles),
});

const FAULT_KEYS = ['failNext', 'throttleNext', 'latencyMs', 'dropAfterWrite'];
/** A fault-hook value, checked field by field: anything else is a ValidationException naming the field. */
export function checkFaults(v: unknown): Faults {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw validation('faults must be a JSON object such as {"failNext":{"status":503,"count":1}}');
  const o = v as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !FAULT_KEYS.includes(k));
  if (unknown.length) throw validation(`unknown fault ${unknown.join(', ')}; the faults are ${FAULT_KEYS.join(', ')}`);
  const count = (x: unknown, field: string, max: number): number => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > max) throw validation(`${field} must be an integer from 0 to ${max}, not ${JSON.stringify(x)}`);
    return x;
  };
  const out: Faults = {};
  if (o.failNext !== undefined) {
    const f = o.failNext;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw validation('failNext must be {"status": 500-599 or 400-499, "count": N}');
    const { status, count: n, ...rest } = f as Record<string, unknown>;
    if (Object.keys(rest).length) throw validation(`failNext has unknown fields ${Object.keys(rest).join(', ')}`);
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) throw validation(`failNext.status must be an HTTP error status from 400 to 599, not ${JSON.stringify(status)}`);
    out.failNext = { status, count: count(n ?? 1, 'failNext.count', 1_000_000) };
  }
  if (o.throttleNext !== undefined) out.throttleNext = count(o.throttleNext, 'throttleNext', 1_000_000);
  if (o.latencyMs !== undefined) out.latencyMs = count(o.latencyMs, 'latencyMs', 60_000);
  if (o.dropAfterWrite !== undefined) out.dropAfterWrite = count(o.dropAfterWrite, 'dropAfterWrite', 1_000_000);
  return out;
}

/** Request header bytes the emulator reads (Node's default is 16 KiB; see the ML-DSA note where the server starts). */
export const MAX_REQUEST_HEADER_BYTES = 64 * 1024;

/** Starts the emulator; resolves once it listens. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const host = opts.host ?? '127.0.0.1';
  if (!opts.allowNonLoopback && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost')
    throw new PkiError('USAGE_NON_LOOPBACK', `the emulator listens on loopback only; --host ${host} needs --allow-non-loopback`);
  const account = opts.account ?? '123456789012';
  const region = opts.region ?? 'us-east-1';
  const maxChars = opts.maxCertificateDataChars ?? BUNDLE_MAX_CHARS;
  const mlDsa = opts.mlDsaCertificates ?? 'reject';
  const crlRules: CrlRules = { requirePem: opts.crl?.requirePem ?? true, requireSignedByAnchor: opts.crl?.requireSignedByAnchor ?? true, mlDsaCertificates: mlDsa };
  const rate = opts.ratePerSecond ?? 1;
  const state = loadState(opts.stateFile);
  const log = opts.log ?? ((line: string) => void process.stderr.write(line));
  const calls: CallRecord[] = [];
  let faults: Faults = {};
  const buckets = new Map<string, number>();

  const persist = (): void => {
    if (opts.stateFile) writeFileAtomic(opts.stateFile, JSON.stringify(snapshot(state), null, 2), { force: true, flag: '--state', mode: 0o600 });
  };
  const clock = opts.now ?? (() => new Date());
  const now = (): string => clock().toISOString();
  const sessions: SessionRecord[] = [];
  const assumed: AssumedRoleRecord[] = [];
  const anchorCerts = (ta: TrustAnchor) =>
    decodePemBlocks(ta.source.sourceData.x509CertificateData, 'trust anchor').map((b) => parseCertificate(b.der, 'trust anchor'));
  /** A resource by id, or ResourceNotFoundException naming what was looked for. */
  const find = <T>(collection: Map<string, T>, id: string, what: string): T => {
    const r = collection.get(id);
    if (!r) throw new ServiceError('ResourceNotFoundException', 404, `Resource not found: ${what} ${id}`);
    return r;
  };
  const findAnchor = (id: string): TrustAnchor => find(state.trustAnchors, id, 'trust anchor');
  const findCrl = (id: string): Crl => find(state.crls, id, 'CRL');
  /** What the API returns for a resource: everything but its tags (those come from ListTagsForResource). */
  const view = <T extends { tags: unknown }>(r: T): Omit<T, 'tags'> => {
    const { tags: _tags, ...rest } = r;
    return rest;
  };
  const anchorView = view<TrustAnchor>;
  const crlView = view<Crl>;
  /** POST /{path}/{id}/enable and /disable for one resource type. */
  const toggles = <T extends { enabled: boolean; updatedAt: string }>(path: string, name: string, group: string, findIt: (id: string) => T, wrap: (r: T) => unknown): void => {
    for (const [verb, value] of [['enable', true], ['disable', false]] as const)
      route('POST', new RegExp(`^/${path}/([^/]+)/${verb}$`), `${verb === 'enable' ? 'Enable' : 'Disable'}${name}`, group, (m) => {
        const r = findIt(m[1]!);
        r.enabled = value;
        r.updatedAt = now();
        return { status: 200, body: wrap(r), mutates: true };
      });
  };
  /** §8: one request per second per API group, a one-request burst. */
  const throttle = (group: string): void => {
    if (rate <= 0) return;
    // CreateSession's quota is 10 per second, the control plane's 1 (§8).
    const groupRate = group === 'session' ? rate * 10 : rate;
    const t = Date.now();
    const next = buckets.get(group) ?? 0;
    if (t < next) throw new ServiceError('ThrottlingException', 429, 'Rate exceeded');
    buckets.set(group, Math.max(next, t) + 1000 / groupRate);
  };
  const page = <T>(items: T[], query: URLSearchParams) => {
    const size = Math.min(Math.max(Number(query.get('pageSize') ?? 50) || 50, 1), 100);
    const start = Number(query.get('nextToken') ?? 0) || 0;
    const slice = items.slice(start, start + size);
    return { slice, nextToken: start + size < items.length ? String(start + size) : undefined };
  };

  type Handler = (m: RegExpMatchArray, body: Record<string, any>, query: URLSearchParams, req: SessionRequest) => { status: number; body: unknown; mutates: boolean };
  const routes: Array<{ method: string; path: RegExp; op: string; group: string; handler: Handler }> = [];
  const route = (method: string, path: RegExp, op: string, group: string, handler: Handler) => routes.push({ method, path, op, group, handler });

  // --- Trust anchors (§2.1)
  route('POST', /^\/trustanchors$/, 'CreateTrustAnchor', 'trustAnchor', (_m, b) => {
    const name = checkName(b.name);
    if (!b.source || typeof b.source !== 'object') throw validation("1 validation error detected: Value at 'source' failed to satisfy constraint: Member must not be null");
    if (b.source.sourceType !== 'CERTIFICATE_BUNDLE') throw validation(`sourceType ${b.source.sourceType} is not supported by this emulator (only CERTIFICATE_BUNDLE)`);
    checkBundle(b.source.sourceData?.x509CertificateData, maxChars, mlDsa);
    if (state.trustAnchors.size >= 50) throw validation('Trust anchors quota exceeded (50)');
    const id = randomUUID();
    const t = now();
    const ta: TrustAnchor = {
      trustAnchorId: id,
      trustAnchorArn: `arn:aws:rolesanywhere:${region}:${account}:trust-anchor/${id}`,
      name,
      source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: b.source.sourceData.x509CertificateData } },
      enabled: typeof b.enabled === 'boolean' ? b.enabled : (opts.defaultTrustAnchorEnabled ?? false),
      notificationSettings: [],
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.trustAnchors.set(id, ta);
    return { status: 201, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  route('GET', /^\/trustanchors$/, 'ListTrustAnchors', 'trustAnchor', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.trustAnchors.values()], q);
    return { status: 200, body: { trustAnchors: slice.map(anchorView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/trustanchor\/([^/]+)$/, 'GetTrustAnchor', 'trustAnchor', (m) => ({ status: 200, body: { trustAnchor: anchorView(findAnchor(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/trustanchor\/([^/]+)$/, 'UpdateTrustAnchor', 'trustAnchor', (m, b) => {
    const ta = findAnchor(m[1]!);
    if (b.name !== undefined) ta.name = checkName(b.name);
    if (b.source !== undefined) {
      if (!b.source || typeof b.source !== 'object') throw validation("1 validation error detected: Value at 'source' failed to satisfy constraint: Member must not be null");
      if (b.source.sourceType !== 'CERTIFICATE_BUNDLE') throw validation(`sourceType ${b.source.sourceType} is not supported by this emulator (only CERTIFICATE_BUNDLE)`);
      checkBundle(b.source.sourceData?.x509CertificateData, maxChars, mlDsa);
      ta.source = { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: b.source.sourceData.x509CertificateData } };
    }
    ta.updatedAt = now();
    return { status: 200, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  route('DELETE', /^\/trustanchor\/([^/]+)$/, 'DeleteTrustAnchor', 'trustAnchor', (m) => {
    const ta = findAnchor(m[1]!);
    state.trustAnchors.delete(ta.trustAnchorId);
    for (const c of [...state.crls.values()]) if (c.trustAnchorArn === ta.trustAnchorArn) state.crls.delete(c.crlId);
    return { status: 200, body: { trustAnchor: anchorView(ta) }, mutates: true };
  });
  toggles('trustanchor', 'TrustAnchor', 'trustAnchor', findAnchor, (ta) => ({ trustAnchor: anchorView(ta) }));

  // --- CRLs (§3)
  const decodeCrlData = (v: unknown): Buffer => {
    if (typeof v !== 'string' || v.length === 0) throw validation("1 validation error detected: Value at 'crlData' failed to satisfy constraint: Member must not be null");
    return Buffer.from(v, 'base64');
  };
  route('POST', /^\/crls$/, 'ImportCrl', 'crl', (_m, b) => {
    const name = checkName(b.name);
    const data = decodeCrlData(b.crlData);
    const ta = [...state.trustAnchors.values()].find((t) => t.trustAnchorArn === b.trustAnchorArn);
    if (!ta) throw new ServiceError('ResourceNotFoundException', 404, `Resource not found: trust anchor ${String(b.trustAnchorArn)}`);
    checkCrl(data, anchorCerts(ta), crlRules);
    if ([...state.crls.values()].filter((c) => c.trustAnchorArn === ta.trustAnchorArn).length >= MAX_CRLS_PER_ANCHOR)
      throw validation(`CRLs per trust anchor quota exceeded: the trust anchor already has ${MAX_CRLS_PER_ANCHOR} CRLs`);
    const id = randomUUID();
    const t = now();
    const crl: Crl = {
      crlId: id,
      crlArn: `arn:aws:rolesanywhere:${region}:${account}:crl/${id}`,
      name,
      crlData: data.toString('base64'),
      enabled: b.enabled === true,
      trustAnchorArn: ta.trustAnchorArn,
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.crls.set(id, crl);
    return { status: 201, body: { crl: crlView(crl) }, mutates: true };
  });
  route('GET', /^\/crls$/, 'ListCrls', 'crl', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.crls.values()], q);
    return { status: 200, body: { crls: slice.map(crlView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/crl\/([^/]+)$/, 'GetCrl', 'crl', (m) => ({ status: 200, body: { crl: crlView(findCrl(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/crl\/([^/]+)$/, 'UpdateCrl', 'crl', (m, b) => {
    const crl = findCrl(m[1]!);
    if (b.name !== undefined) crl.name = checkName(b.name);
    if (b.crlData !== undefined) {
      const data = decodeCrlData(b.crlData);
      const ta = [...state.trustAnchors.values()].find((t) => t.trustAnchorArn === crl.trustAnchorArn);
      checkCrl(data, ta ? anchorCerts(ta) : [], crlRules);
      crl.crlData = data.toString('base64');
    }
    crl.updatedAt = now();
    return { status: 200, body: { crl: crlView(crl) }, mutates: true };
  });
  route('DELETE', /^\/crl\/([^/]+)$/, 'DeleteCrl', 'crl', (m) => {
    const crl = findCrl(m[1]!);
    state.crls.delete(crl.crlId);
    return { status: 200, body: { crl: crlView(crl) }, mutates: true };
  });
  toggles('crl', 'Crl', 'crl', findCrl, (crl) => ({ crl: crlView(crl) }));

  // --- Profiles (§7)
  const ROLE_ARN = /^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$/;
  const checkProfileFields = (b: Record<string, any>, creating: boolean): void => {
    if (creating || b.roleArns !== undefined) {
      if (!Array.isArray(b.roleArns)) throw validation("1 validation error detected: Value at 'roleArns' failed to satisfy constraint: Member must not be null");
      if (b.roleArns.length > 250) throw validation("1 validation error detected: Value at 'roleArns' failed to satisfy constraint: Member must have length less than or equal to 250");
      const bad = b.roleArns.find((r: unknown) => typeof r !== 'string' || !ROLE_ARN.test(r));
      if (bad !== undefined) throw validation(`1 validation error detected: Value '${String(bad)}' at 'roleArns' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws(-[^:]+)?:iam(:.*){2}(:role.*)$`);
    }
    if (b.durationSeconds !== undefined && (!Number.isInteger(b.durationSeconds) || b.durationSeconds < 900 || b.durationSeconds > 43200))
      throw validation("1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200");
    if (b.managedPolicyArns !== undefined && (!Array.isArray(b.managedPolicyArns) || b.managedPolicyArns.length > 50 || b.managedPolicyArns.some((a: unknown) => typeof a !== 'string' || a.length < 1 || a.length > 200)))
      throw validation("1 validation error detected: Value at 'managedPolicyArns' failed to satisfy constraint: at most 50 ARNs of 1 to 200 characters");
    if (!creating && b.sessionPolicy !== undefined && (typeof b.sessionPolicy !== 'string' || b.sessionPolicy.length < 1 || b.sessionPolicy.length > 100000))
      throw validation("1 validation error detected: Value at 'sessionPolicy' failed to satisfy constraint: Member must have length between 1 and 100000");
  };
  const findProfile = (id: string): Profile => find(state.profiles, id, 'profile');
  const mappingsOf = (p: Profile): AttributeMappings => p.attributeMappings ?? structuredClone(DEFAULT_MAPPINGS);
  /** The API shape: attributeMappings as [{certificateField, mappingRules: [{specifier}]}]. */
  const profileView = (p: Profile) => {
    const { tags: _tags, attributeMappings: _m, ...rest } = p;
    return { ...rest, attributeMappings: Object.entries(mappingsOf(p)).map(([certificateField, specs]) => ({ certificateField, mappingRules: specs.map((specifier) => ({ specifier })) })) };
  };
  route('POST', /^\/profiles$/, 'CreateProfile', 'profile', (_m, b) => {
    const name = checkName(b.name);
    checkProfileFields(b, true);
    if (state.profiles.size >= 250) throw validation('Profiles quota exceeded (250)');
    const id = randomUUID();
    const t = now();
    const p: Profile = {
      profileId: id,
      profileArn: `arn:aws:rolesanywhere:${region}:${account}:profile/${id}`,
      name,
      roleArns: b.roleArns,
      managedPolicyArns: b.managedPolicyArns ?? [],
      ...(typeof b.sessionPolicy === 'string' ? { sessionPolicy: b.sessionPolicy } : {}),
      durationSeconds: b.durationSeconds ?? 3600,
      requireInstanceProperties: b.requireInstanceProperties === true,
      acceptRoleSessionName: b.acceptRoleSessionName === true,
      enabled: typeof b.enabled === 'boolean' ? b.enabled : (opts.defaultProfileEnabled ?? false),
      createdBy: `arn:aws:sts::${account}:assumed-role/emulator`,
      createdAt: t,
      updatedAt: t,
      tags: checkTags(b.tags),
    };
    state.profiles.set(id, p);
    return { status: 201, body: { profile: profileView(p) }, mutates: true };
  });
  route('GET', /^\/profiles$/, 'ListProfiles', 'profile', (_m, _b, q) => {
    const { slice, nextToken } = page([...state.profiles.values()], q);
    return { status: 200, body: { profiles: slice.map(profileView), ...(nextToken ? { nextToken } : {}) }, mutates: false };
  });
  route('GET', /^\/profile\/([^/]+)$/, 'GetProfile', 'profile', (m) => ({ status: 200, body: { profile: profileView(findProfile(m[1]!)) }, mutates: false }));
  route('PATCH', /^\/profile\/([^/]+)$/, 'UpdateProfile', 'profile', (m, b) => {
    const p = findProfile(m[1]!);
    if (b.requireInstanceProperties !== undefined) throw validation('requireInstanceProperties cannot be updated');
    checkProfileFields(b, false);
    if (b.name !== undefined) p.name = checkName(b.name);
    if (b.roleArns !== undefined) p.roleArns = b.roleArns;
    if (b.managedPolicyArns !== undefined) p.managedPolicyArns = b.managedPolicyArns;
    if (b.sessionPolicy !== undefined) p.sessionPolicy = b.sessionPolicy;
    if (b.durationSeconds !== undefined) p.durationSeconds = b.durationSeconds;
    if (b.acceptRoleSessionName !== undefined) p.acceptRoleSessionName = b.acceptRoleSessionName === true;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  route('DELETE', /^\/profile\/([^/]+)$/, 'DeleteProfile', 'profile', (m) => {
    const p = findProfile(m[1]!);
    state.profiles.delete(p.profileId);
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  toggles('profile', 'Profile', 'profile', findProfile, (p) => ({ profile: profileView(p) }));
  // Attribute mappings (§6.3): Put replaces the field's specifiers; Delete removes some, or all of the field's.
  const FIELDS = ['x509Subject', 'x509Issuer', 'x509SAN'];
  const checkField = (f: unknown): CertificateField => {
    if (typeof f !== 'string' || !FIELDS.includes(f)) throw validation(`1 validation error detected: Value at 'certificateField' failed to satisfy constraint: Member must satisfy enum value set: [${FIELDS.join(', ')}]`);
    return f as CertificateField;
  };
  /** "Name" and "Name/" mean "Name/*" and are shown so (§6.3). */
  const normalise = (field: CertificateField, s: string): string => (field === 'x509SAN' && (s === 'Name' || s === 'Name/') ? 'Name/*' : s);
  route('PUT', /^\/profiles\/([^/]+)\/mappings$/, 'PutAttributeMapping', 'profile', (m, b) => {
    const p = findProfile(m[1]!);
    const field = checkField(b.certificateField);
    if (!Array.isArray(b.mappingRules) || b.mappingRules.some((r: { specifier?: unknown }) => typeof r?.specifier !== 'string' || r.specifier.length > 60))
      throw validation("1 validation error detected: Value at 'mappingRules' failed to satisfy constraint: a list of {specifier} of at most 60 characters");
    const mappings = mappingsOf(p);
    mappings[field] = [...new Set((b.mappingRules as Array<{ specifier: string }>).map((r) => normalise(field, r.specifier)))];
    p.attributeMappings = mappings;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });
  route('DELETE', /^\/profiles\/([^/]+)\/mappings$/, 'DeleteAttributeMapping', 'profile', (m, _b, q) => {
    const p = findProfile(m[1]!);
    const field = checkField(q.get('certificateField'));
    const specifiers = q.getAll('specifiers').map((s) => normalise(field, s));
    const mappings = mappingsOf(p);
    mappings[field] = specifiers.length ? mappings[field].filter((s) => !specifiers.includes(s)) : [];
    p.attributeMappings = mappings;
    p.updatedAt = now();
    return { status: 200, body: { profile: profileView(p) }, mutates: true };
  });

  // --- CreateSession (§4): authenticated by the certificate's signature, not SigV4.
  const sessionContext: SessionContext = {
    region,
    account,
    clockSkewSeconds: opts.clockSkewSeconds ?? 300,
    expiredCrl: opts.expiredCrl ?? 'reject',
    mlDsaCertificates: mlDsa,
    anchors: () => [...state.trustAnchors.values()],
    crls: () => [...state.crls.values()],
    profiles: () => [...state.profiles.values()].map((p) => ({ ...p, attributeMappings: mappingsOf(p) })),
    now: clock,
  };
  route('POST', /^\/sessions$/, 'CreateSession', 'session', (_m, _b, _q, req) => {
    const { body, record } = createSession(req, sessionContext);
    sessions.push(record);
    return { status: 201, body, mutates: false };
  });

  /** SigV4 presence and scope: the emulator cannot know secret keys, so the signature itself is not recomputed. */
  const checkAuth = (req: http.IncomingMessage): void => {
    if (opts.requireSignature === false) return;
    const auth = req.headers.authorization ?? '';
    const m = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/.exec(auth);
    if (!m) throw new ServiceError('AccessDeniedException', 403, 'Missing or malformed SigV4 Authorization header');
    if (m[2] !== 'rolesanywhere') throw new ServiceError('AccessDeniedException', 403, `Credential should be scoped to service rolesanywhere, not ${m[2]}`);
    if (m[1] !== region) throw new ServiceError('AccessDeniedException', 403, `Credential should be scoped to region ${region}, not ${m[1]}`);
  };

  const send = (res: http.ServerResponse, requestId: string, status: number, body: unknown, errorType?: string): void => {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': requestId };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    res.writeHead(status, headers);
    res.end(text);
  };

  const control = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, path: string, body: unknown): void => {
    if (req.method === 'GET' && path === '/_emulator/calls') return send(res, requestId, 200, calls);
    if (req.method === 'GET' && path === '/_emulator/state') return send(res, requestId, 200, snapshot(state));
    if (req.method === 'GET' && path === '/_emulator/sessions') return send(res, requestId, 200, sessions);
    if (req.method === 'POST' && path === '/_emulator/faults') {
      faults = checkFaults(body);
      return send(res, requestId, 200, faults);
    }
    send(res, requestId, 404, { message: 'no such control endpoint' });
  };

  /** The request target as a URL; an absolute-form or origin-form target the URL parser refuses is a 400. */
  const target = (req: http.IncomingMessage): URL => {
    try {
      return new URL(req.url ?? '/', 'http://emulator');
    } catch {
      throw validation(`Malformed request target ${JSON.stringify((req.url ?? '').slice(0, 200))}: not a path or an absolute http URL`);
    }
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, bytes: Buffer): void => {
    let op = 'Unknown';
    try {
      const url = target(req);
      const raw = bytes.toString('utf8');
      // STS (query protocol): AssumeRole for role chaining.
      if (req.method === 'POST' && url.pathname === '/' && /application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
        const out = stsRequest(req.headers.authorization, new URLSearchParams(raw), {
          region,
          now: clock,
          issued: (id) => sessions.some((x) => x.accessKeyId === id) || assumed.some((x) => x.accessKeyId === id),
          record: (r) => assumed.push(r),
        });
        op = out.op;
        calls.push({ op, status: out.status, at: now() });
        res.writeHead(out.status, { 'content-type': 'text/xml', 'content-length': String(Buffer.byteLength(out.body)), 'x-amzn-requestid': randomUUID() });
        res.end(out.body);
        return;
      }
      let body: Record<string, any> = {};
      if (raw) {
        try {
          body = JSON.parse(raw) as Record<string, any>;
        } catch {
          throw validation('Request body is not valid JSON');
        }
      }
      if (url.pathname.startsWith('/_emulator/')) return control(req, res, requestId, url.pathname, raw ? body : {});
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validation('Request body must be a JSON object');
      const r = routes.find((x) => x.method === req.method && x.path.test(url.pathname));
      if (!r) throw new ServiceError('ResourceNotFoundException', 404, `No route for ${req.method} ${url.pathname}`);
      op = r.op;
      if (r.op !== 'CreateSession') checkAuth(req);
      if (faults.failNext && faults.failNext.count > 0) {
        faults.failNext.count--;
        throw new ServiceError('InternalServerException', faults.failNext.status, 'Injected failure');
      }
      if (faults.throttleNext && faults.throttleNext > 0) {
        faults.throttleNext--;
        throw new ServiceError('ThrottlingException', 429, 'Rate exceeded');
      }
      throttle(r.group);
      const out = r.handler(url.pathname.match(r.path)!, body, url.searchParams, { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, rawQuery: url.search.replace(/^\?/, ''), headers: req.headers, rawHeaders: req.rawHeaders, raw: bytes });
      if (out.mutates) persist();
      calls.push({ op, status: out.status, at: now() });
      if (out.mutates && faults.dropAfterWrite && faults.dropAfterWrite > 0) {
        faults.dropAfterWrite--;
        req.socket.destroy();
        return;
      }
      send(res, requestId, out.status, out.body);
    } catch (e) {
      if (e instanceof ServiceError) {
        calls.push({ op, status: e.status, at: now() });
        return send(res, requestId, e.status, { message: e.message }, e.type);
      }
      // Not a verdict: a defect or an environment failure (a state file that cannot be written, ...).
      log(`pki emulator: internal error in ${op} (request ${requestId}): ${(e as Error)?.stack ?? String(e)}\n`);
      calls.push({ op, status: 500, at: now() });
      send(res, requestId, 500, { message: `Internal error; the emulator logged it with request id ${requestId}`, requestId }, 'InternalServerException');
    }
  };

  // ML-DSA requests carry large headers (an ML-DSA-65 chain and signature: over Node's 16 KiB default); the service's
  // own header limit is UNCONFIRMED.
  const server = http.createServer({ maxHeaderSize: MAX_REQUEST_HEADER_BYTES }, (req, res) => {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('error', () => req.socket.destroy());
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 2_000_000) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      /** The last line of defence: whatever escapes handle() is logged and answered, never left to crash the process. */
      const respond = (): void => {
        try {
          handle(req, res, requestId, Buffer.concat(chunks));
        } catch (e) {
          log(`pki emulator: internal error answering request ${requestId}: ${(e as Error)?.stack ?? String(e)}\n`);
          if (!res.headersSent) send(res, requestId, 500, { message: `Internal error; the emulator logged it with request id ${requestId}`, requestId }, 'InternalServerException');
          else res.destroy();
        }
      };
      if (faults.latencyMs) setTimeout(respond, faults.latencyMs);
      else respond();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PkiError('IO_EMULATOR_LISTEN', `cannot listen on ${host}:${opts.port ?? 0}: ${e.message}`, { cause: e })));
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    state: () => JSON.parse(JSON.stringify(snapshot(state))) as EmulatorState,
    calls: () => [...calls],
    sessions: () => structuredClone(sessions),
    assumedRoles: () => assumed.map((r) => ({ ...r })),
    setFaults: (f) => {
      try {
        faults = checkFaults(f);
      } catch (e) {
        throw new PkiError('USAGE_EMULATOR_FAULTS', `setFaults: ${(e as Error).message}`);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
