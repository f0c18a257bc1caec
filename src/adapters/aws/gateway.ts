/**
 * The Roles Anywhere gateway: @aws-sdk/client-rolesanywhere with the SDK's standard credential chain and retry
 * strategy (exponential backoff with jitter on throttling, 5xx and dropped connections), errors mapped to AWS_*
 * PkiErrors (exit 9) that keep the SDK error name.
 */
import type { CrlDetail, ProfileDetail, TrustAnchorDetail } from '@aws-sdk/client-rolesanywhere';
import { PkiError } from '../../errors.js';
import type { Deps } from '../../ports.js';
import { checkGatewayEndpoints, type EndpointSource } from './endpoint.js';

export interface GatewayOptions {
  region?: string;
  /** HTTPS, or http:// to a loopback host only (checkEndpointUrl); default https://rolesanywhere.REGION.amazonaws.com. */
  endpoint?: string;
  /** Where `endpoint` came from, for errors (default: input.endpoint; a target's: that target). */
  endpointSource?: EndpointSource;
  /** Total attempts per call, first one included (default 6). */
  maxAttempts?: number;
  /**
   * Calls per second per API group (trust anchors, CRLs): Roles Anywhere's quota is 1 (reference §8). Pacing keeps
   * a run within it; throttling from other clients sharing the quota is still retried. 0 disables pacing.
   */
  ratePerSecond?: number;
  /** Credentials from this AWS shared-config profile (a target's --aws-profile) instead of the default chain. */
  awsProfile?: string;
  /** Credentials from STS AssumeRole of this role (a target's --role-arn), with the default chain's as the source. */
  roleArn?: string;
  /** The account the target is in: the ARNs the service returns must name it. */
  account?: string;
}

/**
 * A trust anchor as the service reports it, in pki's terms (the SDK's TrustAnchorDetail stays in src/aws): the PEM
 * bundle of a CERTIFICATE_BUNDLE source, or none for another source type.
 */
export interface TrustAnchorView {
  trustAnchorId?: string;
  trustAnchorArn?: string;
  name?: string;
  enabled?: boolean;
  sourceType?: string;
  /** The CERTIFICATE_BUNDLE's PEM; undefined for another source type (ACM PCA). */
  bundlePem?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

/** A CRL as the service reports it (the SDK's CrlDetail stays in src/aws). */
export interface CrlView {
  crlId?: string;
  crlArn?: string;
  name?: string;
  enabled?: boolean;
  /** The bytes uploaded (pki uploads PEM). */
  crlData?: Uint8Array;
  trustAnchorArn?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

/** The SDK's TrustAnchorDetail as a {@link TrustAnchorView}. */
export function trustAnchorView(ta: TrustAnchorDetail): TrustAnchorView {
  const data = ta.source?.sourceData;
  const bundlePem = data && 'x509CertificateData' in data ? data.x509CertificateData : undefined;
  return {
    ...(ta.trustAnchorId !== undefined ? { trustAnchorId: ta.trustAnchorId } : {}),
    ...(ta.trustAnchorArn !== undefined ? { trustAnchorArn: ta.trustAnchorArn } : {}),
    ...(ta.name !== undefined ? { name: ta.name } : {}),
    ...(ta.enabled !== undefined ? { enabled: ta.enabled } : {}),
    ...(ta.source?.sourceType !== undefined ? { sourceType: ta.source.sourceType } : {}),
    ...(bundlePem !== undefined ? { bundlePem } : {}),
    ...(ta.createdAt !== undefined ? { createdAt: ta.createdAt } : {}),
    ...(ta.updatedAt !== undefined ? { updatedAt: ta.updatedAt } : {}),
  };
}

/** The SDK's CrlDetail as a {@link CrlView}. */
export function crlView(c: CrlDetail): CrlView {
  return {
    ...(c.crlId !== undefined ? { crlId: c.crlId } : {}),
    ...(c.crlArn !== undefined ? { crlArn: c.crlArn } : {}),
    ...(c.name !== undefined ? { name: c.name } : {}),
    ...(c.enabled !== undefined ? { enabled: c.enabled } : {}),
    ...(c.crlData !== undefined ? { crlData: c.crlData } : {}),
    ...(c.trustAnchorArn !== undefined ? { trustAnchorArn: c.trustAnchorArn } : {}),
    ...(c.createdAt !== undefined ? { createdAt: c.createdAt } : {}),
    ...(c.updatedAt !== undefined ? { updatedAt: c.updatedAt } : {}),
  };
}

export interface Gateway {
  region: string;
  listTrustAnchors(): Promise<TrustAnchorView[]>;
  getTrustAnchor(id: string): Promise<TrustAnchorView>;
  createTrustAnchor(name: string, pem: string, enabled: boolean): Promise<TrustAnchorView>;
  updateTrustAnchorSource(id: string, pem: string): Promise<TrustAnchorView>;
  enableTrustAnchor(id: string): Promise<TrustAnchorView>;
  listCrls(): Promise<CrlView[]>;
  getCrl(id: string): Promise<CrlView>;
  importCrl(name: string, trustAnchorArn: string, pem: string): Promise<CrlView>;
  updateCrl(id: string, pem: string): Promise<CrlView>;
  enableCrl(id: string): Promise<CrlView>;
  deleteCrl(id: string): Promise<CrlView>;
  listProfiles(): Promise<ProfileDetail[]>;
  getProfile(id: string): Promise<ProfileDetail>;
  createProfile(input: { name: string; roleArns: string[]; durationSeconds?: number; enabled: boolean }): Promise<ProfileDetail>;
  updateProfile(id: string, input: { roleArns: string[]; durationSeconds?: number }): Promise<ProfileDetail>;
  enableProfile(id: string): Promise<ProfileDetail>;
  /** PutAttributeMapping (newer than the SDK version in use: sent as a signed request). Returns the profile's mappings. */
  putAttributeMapping(id: string, certificateField: 'x509Subject' | 'x509Issuer' | 'x509SAN', specifiers: string[]): Promise<AttributeMappingView[]>;
  /** GetProfile's attributeMappings, read raw (the SDK version in use does not model them). */
  getAttributeMappings(id: string): Promise<AttributeMappingView[]>;
}

export interface AttributeMappingView {
  certificateField: string;
  mappingRules: Array<{ specifier: string }>;
}

function awsError(op: string, e: unknown): PkiError {
  const err = e as Error & { name?: string; $metadata?: { httpStatusCode?: number } };
  const name = err.name && err.name !== 'Error' ? err.name : 'Error';
  if (name === 'CredentialsProviderError')
    return new PkiError('AWS_CREDENTIALS_MISSING', `${op}: no AWS credentials found (${err.message})`, {
      hint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE (any values work with the emulator)',
      cause: e,
    });
  const netCode = (e as { code?: string }).code;
  if (name === 'Error' && netCode && ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(netCode))
    return new PkiError('AWS_UNREACHABLE', `${op} failed: the endpoint cannot be reached (${netCode}: ${err.message})`, {
      details: { operation: op, sdkError: netCode, httpStatus: null },
      hint: 'check the network path, the region and the endpoint (pki target list shows each target\'s); the next run retries',
      cause: e,
    });
  return new PkiError(`AWS_${name.replace(/[^A-Za-z0-9]/g, '')}`, `${op} failed: ${name}: ${err.message}`, {
    details: { operation: op, sdkError: name, httpStatus: err.$metadata?.httpStatusCode ?? null },
    cause: e,
  });
}

/**
 * Credentials for a target reached through a shared-config profile or a role to assume (STS AssumeRole). Uses the
 * packages the Roles Anywhere client itself depends on (credential-provider-ini, client-sts).
 */
async function targetCredentials(deps: Deps, opts: GatewayOptions, region: string, source: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined) {
  const { fromIni } = await import('@aws-sdk/credential-provider-ini');
  const { AssumeRoleCommand, STSClient } = await import('@aws-sdk/client-sts');
  const stsEndpoint = deps.env.PKI_STS_ENDPOINT;
  type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
  /** STS AssumeRole with `from` (the SDK's default chain when undefined). */
  const assume = async (from: Creds | undefined, params: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number; ExternalId?: string }): Promise<Creds> => {
    const sts = new STSClient({ region, ...(stsEndpoint ? { endpoint: stsEndpoint } : {}), ...(from ? { credentials: from } : {}) });
    const { Credentials: c } = await sts.send(new AssumeRoleCommand(params));
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new PkiError('AWS_ASSUME_ROLE_FAILED', `STS AssumeRole ${params.RoleArn} returned no credentials`);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) };
  };
  // The shared files the injected environment names (the SDK would read the process's own environment).
  const files = {
    ...(deps.env.AWS_CONFIG_FILE ? { configFilepath: deps.env.AWS_CONFIG_FILE } : {}),
    ...(deps.env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: deps.env.AWS_SHARED_CREDENTIALS_FILE } : {}),
  };
  const provider: () => Promise<Creds> = opts.awsProfile
    ? fromIni({ profile: opts.awsProfile, ...files, roleAssumer: (from, params) => assume(from, params) })
    : () => assume(source, { RoleArn: opts.roleArn!, RoleSessionName: 'pki-publish', DurationSeconds: 3600 });
  // One set of credentials for the gateway's clients (each client would otherwise resolve them itself), renewed
  // 5 minutes before they expire.
  let cached: Promise<Creds> | undefined;
  return async (): Promise<Creds> => {
    const c = cached ? await cached.catch(() => undefined) : undefined;
    if (c && (!c.expiration || c.expiration.getTime() - Date.now() > 300_000)) return c;
    cached = provider();
    return cached;
  };
}

/** Loads the AWS SDK (~0.4 s of module loading: only commands that talk to AWS pay it) and builds the gateway. */
export async function createGateway(deps: Deps, opts: GatewayOptions): Promise<Gateway> {
  // No signed request in clear over a network: the Roles Anywhere endpoint and, for a role to assume, the STS one.
  checkGatewayEndpoints(deps.env, opts);
  const {
    CreateProfileCommand,
    CreateTrustAnchorCommand,
    DeleteCrlCommand,
    EnableProfileCommand,
    GetProfileCommand,
    ListProfilesCommand,
    UpdateProfileCommand,
    EnableCrlCommand,
    EnableTrustAnchorCommand,
    GetCrlCommand,
    GetTrustAnchorCommand,
    ImportCrlCommand,
    ListCrlsCommand,
    ListTrustAnchorsCommand,
    RolesAnywhereClient,
    UpdateCrlCommand,
    UpdateTrustAnchorCommand,
  } = await import('@aws-sdk/client-rolesanywhere');
  const region = opts.region ?? deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION;
  if (!region) throw new PkiError('USAGE_MISSING_REGION', 'no AWS region: pass input.region or set AWS_REGION', { details: { input: 'region' } });
  const accessKeyId = deps.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = deps.env.AWS_SECRET_ACCESS_KEY;
  const maxAttempts = opts.maxAttempts ?? 6;
  const envCredentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(deps.env.AWS_SESSION_TOKEN ? { sessionToken: deps.env.AWS_SESSION_TOKEN } : {}) } : undefined;
  const common = {
    region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // A target's profile or role; else credentials from the injected environment when present; otherwise the SDK's
    // default chain (profiles, SSO, IMDS...).
    ...(opts.awsProfile || opts.roleArn ? { credentials: await targetCredentials(deps, opts, region, envCredentials) } : envCredentials ? { credentials: envCredentials } : {}),
  };
  const client = new RolesAnywhereClient({ ...common, maxAttempts });
  // Creating calls are never re-sent by the SDK: it re-sends a POST whose connection dropped after the service had
  // written it (whatever maxAttempts says), which would create a second trust anchor or import a second CRL.
  const once = new RolesAnywhereClient({ ...common, retryStrategy: { mode: 'none', retry: (next, args) => next(args) } });
  /**
   * A creating call, made safe to retry: after any failure, look for what it would have created (by name); if it is
   * there, the write happened; otherwise retry transient failures with exponential backoff and jitter.
   */
  const createOnce = async <T>(op: string, send: () => Promise<T>, findExisting: () => Promise<T | undefined>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await pace(op);
        return await send();
      } catch (e) {
        const existing = await findExisting();
        if (existing) return existing;
        const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
        const status = err.$metadata?.httpStatusCode ?? 0;
        const transient = status === 429 || status >= 500 || ['ThrottlingException', 'TimeoutError', 'TooManyRequestsException'].includes(err.name ?? '') || ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'].includes(err.code ?? '');
        if (!transient || attempt >= maxAttempts) throw awsError(op, e);
        const jitter = (deps.randomBytes(1)[0]! / 255) * 0.5 + 0.75;
        await new Promise((r) => setTimeout(r, Math.min(20_000, 200 * 2 ** (attempt - 1)) * jitter));
      }
    }
  };
  /** A SigV4-signed JSON request with the client's own credentials, for operations the SDK version does not model. */
  const signedJson = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const { SignatureV4 } = await import('@aws-sdk/signature-v4');
    const base = new URL(opts.endpoint ?? `https://rolesanywhere.${region}.amazonaws.com`);
    const text = body === undefined ? undefined : JSON.stringify(body);
    const signer = new SignatureV4({ service: 'rolesanywhere', region, credentials: client.config.credentials, sha256: client.config.sha256 });
    const signed = await signer.sign({
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port ? { port: Number(base.port) } : {}),
      path: `${base.pathname.replace(/\/$/, '')}${path}`,
      query: {},
      headers: { host: base.host, ...(text !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(text !== undefined ? { body: text } : {}),
    });
    const res = await fetch(new URL(signed.path, base), { method, headers: signed.headers, ...(text !== undefined ? { body: text } : {}) });
    const json = (await res.json().catch(() => ({}))) as { message?: string };
    if (!res.ok) {
      const e = new Error(json.message ?? `HTTP ${res.status}`) as Error & { $metadata: { httpStatusCode: number } };
      e.name = (res.headers.get('x-amzn-errortype') ?? 'Error').split(':')[0]!;
      e.$metadata = { httpStatusCode: res.status };
      throw e;
    }
    return json;
  };
  const rate = opts.ratePerSecond ?? 1;
  const nextSlot = new Map<string, number>();
  /** Waits for this API group's next slot (1 call per second by default), then takes it. */
  const pace = async (op: string): Promise<void> => {
    if (rate <= 0) return;
    const group = /Crl/.test(op) ? 'crl' : /Profile|AttributeMapping/.test(op) ? 'profile' : 'trustAnchor';
    const now = Date.now();
    const slot = Math.max(now, nextSlot.get(group) ?? 0);
    // A 10% margin: a request's latency varies, and arriving early at the quota means a throttle and a long backoff.
    nextSlot.set(group, slot + 1100 / rate);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  };
  const call = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    await pace(op);
    try {
      return await fn();
    } catch (e) {
      throw awsError(op, e);
    }
  };
  const listAll = async <T>(op: string, page: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> => {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const r = await call(op, () => page(token));
      out.push(...r.items);
      token = r.next;
    } while (token);
    return out;
  };
  const gateway: Gateway = {
    region,
    listTrustAnchors: () =>
      listAll('ListTrustAnchors', async (nextToken) => {
        const r = await client.send(new ListTrustAnchorsCommand({ ...(nextToken ? { nextToken } : {}) }));
        return { items: (r.trustAnchors ?? []).map(trustAnchorView), ...(r.nextToken ? { next: r.nextToken } : {}) };
      }),
    getTrustAnchor: (id) => call('GetTrustAnchor', async () => trustAnchorView((await client.send(new GetTrustAnchorCommand({ trustAnchorId: id }))).trustAnchor!)),
    createTrustAnchor: (name, pem, enabled) =>
      createOnce(
        'CreateTrustAnchor',
        async () => trustAnchorView((await once.send(new CreateTrustAnchorCommand({ name, enabled, source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem } } }))).trustAnchor!),
        async () => (await gateway.listTrustAnchors()).find((t) => t.name === name),
      ),
    updateTrustAnchorSource: (id, pem) =>
      call('UpdateTrustAnchor', async () => trustAnchorView((await client.send(new UpdateTrustAnchorCommand({ trustAnchorId: id, source: { sourceType: 'CERTIFICATE_BUNDLE', sourceData: { x509CertificateData: pem } } }))).trustAnchor!)),
    enableTrustAnchor: (id) => call('EnableTrustAnchor', async () => trustAnchorView((await client.send(new EnableTrustAnchorCommand({ trustAnchorId: id }))).trustAnchor!)),
    listCrls: () =>
      listAll('ListCrls', async (nextToken) => {
        const r = await client.send(new ListCrlsCommand({ ...(nextToken ? { nextToken } : {}) }));
        return { items: (r.crls ?? []).map(crlView), ...(r.nextToken ? { next: r.nextToken } : {}) };
      }),
    getCrl: (id) => call('GetCrl', async () => crlView((await client.send(new GetCrlCommand({ crlId: id }))).crl!)),
    importCrl: (name, trustAnchorArn, pem) =>
      createOnce(
        'ImportCrl',
        async () => crlView((await once.send(new ImportCrlCommand({ name, trustAnchorArn, enabled: true, crlData: Buffer.from(pem) }))).crl!),
        async () => (await gateway.listCrls()).find((c) => c.trustAnchorArn === trustAnchorArn && c.name === name),
      ),
    updateCrl: (id, pem) => call('UpdateCrl', async () => crlView((await client.send(new UpdateCrlCommand({ crlId: id, crlData: Buffer.from(pem) }))).crl!)),
    enableCrl: (id) => call('EnableCrl', async () => crlView((await client.send(new EnableCrlCommand({ crlId: id }))).crl!)),
    deleteCrl: (id) => call('DeleteCrl', async () => crlView((await client.send(new DeleteCrlCommand({ crlId: id }))).crl!)),
    listProfiles: () =>
      listAll('ListProfiles', async (nextToken) => {
        const r = await client.send(new ListProfilesCommand({ ...(nextToken ? { nextToken } : {}) }));
        return { items: r.profiles ?? [], ...(r.nextToken ? { next: r.nextToken } : {}) };
      }),
    getProfile: (id) => call('GetProfile', async () => (await client.send(new GetProfileCommand({ profileId: id }))).profile!),
    createProfile: (p) =>
      createOnce(
        'CreateProfile',
        async () => (await once.send(new CreateProfileCommand({ name: p.name, roleArns: p.roleArns, enabled: p.enabled, ...(p.durationSeconds ? { durationSeconds: p.durationSeconds } : {}) }))).profile!,
        async () => (await gateway.listProfiles()).find((x) => x.name === p.name),
      ),
    updateProfile: (id, p) =>
      call('UpdateProfile', async () => (await client.send(new UpdateProfileCommand({ profileId: id, roleArns: p.roleArns, ...(p.durationSeconds ? { durationSeconds: p.durationSeconds } : {}) }))).profile!),
    enableProfile: (id) => call('EnableProfile', async () => (await client.send(new EnableProfileCommand({ profileId: id }))).profile!),
    putAttributeMapping: (id, certificateField, specifiers) =>
      call('PutAttributeMapping', async () => {
        const r = (await signedJson('PUT', `/profiles/${encodeURIComponent(id)}/mappings`, { certificateField, mappingRules: specifiers.map((specifier) => ({ specifier })) })) as { profile?: { attributeMappings?: AttributeMappingView[] } };
        return r.profile?.attributeMappings ?? [];
      }),
    getAttributeMappings: (id) =>
      call('GetProfile', async () => ((await signedJson('GET', `/profile/${encodeURIComponent(id)}`)) as { profile?: { attributeMappings?: AttributeMappingView[] } }).profile?.attributeMappings ?? []),
  };
  return gateway;
}
