/**
 * The IAM Roles Anywhere CreateSession signing process (reference §4): AWS4-X509-RSA-SHA256,
 * AWS4-X509-ECDSA-SHA256 and AWS4-X509-MLDSA (ML-DSA-44/65/87 over the StringToSign bytes themselves, no hash). Unlike SigV4 there is no HMAC key derivation: the certificate's private key signs the
 * StringToSign directly, and the certificate's serial (decimal) takes the place of the access key id.
 *
 * Pure functions (no I/O): the emulator uses the same canonicalisation to check signatures, and tests cross-check it
 * against an independent implementation.
 */
import * as crypto from 'node:crypto';
import { PkiError } from '../../errors.js';

export const SERVICE = 'rolesanywhere';
export type X509Algorithm = 'AWS4-X509-RSA-SHA256' | 'AWS4-X509-ECDSA-SHA256' | 'AWS4-X509-MLDSA';

/**
 * An ML-DSA workload key (Node 20 has no ML-DSA KeyObject): its parameter set and a pure ML-DSA signature (FIPS 204,
 * empty context) over the given bytes.
 */
export interface MlDsaRequestKey {
  readonly kind: 'ml-dsa';
  readonly keyType: 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87';
  sign(data: Uint8Array): Buffer;
}
/** The key a CreateSession request is signed with. */
export type RequestKey = crypto.KeyObject | MlDsaRequestKey;

const isMlDsaRequestKey = (key: RequestKey): key is MlDsaRequestKey => !(key instanceof crypto.KeyObject) && (key as MlDsaRequestKey).kind === 'ml-dsa';

/**
 * The Authorization algorithm for a key: RSA → PKCS#1 v1.5, EC (any curve) → ECDSA, both over SHA-256; ML-DSA
 * (any parameter set) → AWS4-X509-MLDSA (reference §1.1, §4.4).
 */
export function algorithmForKey(key: RequestKey, source = 'the private key'): X509Algorithm {
  if (isMlDsaRequestKey(key)) return 'AWS4-X509-MLDSA';
  if (key.asymmetricKeyType === 'rsa') return 'AWS4-X509-RSA-SHA256';
  if (key.asymmetricKeyType === 'ec') return 'AWS4-X509-ECDSA-SHA256';
  throw new PkiError('CRYPTO_UNSUPPORTED_KEY', `${source} is ${key.asymmetricKeyType ?? 'an unknown'} key; Roles Anywhere signs with RSA, EC or ML-DSA keys`, { details: { keyType: key.asymmetricKeyType ?? null } });
}

/** A certificate serial (canonical hex, optional colons) as the decimal string the Credential carries (§1.6). */
export { serialToDecimal } from '../../domain/serial.js';
import { serialToDecimal } from '../../domain/serial.js';
import { MAX_CHAIN_CERTIFICATES } from '../../domain/roles-anywhere.js';

/** RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ (so "%20", never "+"). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Query parameters sorted by name (then value), each name and value RFC 3986-encoded. */
export function canonicalQuery(params: Array<[string, string]>): string {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** `YYYYMMDDTHHMMSSZ` (X-Amz-Date). */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface CanonicalInput {
  method: string;
  path: string;
  query: Array<[string, string]>;
  /** Header name → value; every one listed is signed. */
  headers: Record<string, string>;
  body: string | Buffer;
}

const sha256Hex = (data: string | Buffer): string => crypto.createHash('sha256').update(data).digest('hex');

/** Task 1: the canonical request and the signed-header list (lowercase names, sorted, ";"-joined). */
export function canonicalRequest(input: CanonicalInput): { canonical: string; signedHeaders: string } {
  const entries = Object.entries(input.headers)
    .map(([k, v]) => [k.toLowerCase(), v.trim().replace(/\s+/g, ' ')] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const signedHeaders = entries.map(([k]) => k).join(';');
  const canonical = [input.method, input.path, canonicalQuery(input.query), ...entries.map(([k, v]) => `${k}:${v}`), '', signedHeaders, sha256Hex(input.body)].join('\n');
  return { canonical, signedHeaders };
}

/** Task 2. */
export function stringToSign(algorithm: X509Algorithm, date: string, region: string, canonical: string): string {
  return [algorithm, date, `${date.slice(0, 8)}/${region}/${SERVICE}/aws4_request`, sha256Hex(canonical)].join('\n');
}

/**
 * Task 3: the raw signature, lowercase hex: PKCS#1 v1.5 or DER ECDSA over SHA-256 of the StringToSign, or ML-DSA over
 * the StringToSign's bytes (the official helper signs ML-DSA deterministically; pki's signatures are hedged, FIPS 204's
 * default: both verify the same way).
 */
export function signString(key: RequestKey, sts: string): string {
  if (isMlDsaRequestKey(key)) return key.sign(Buffer.from(sts, 'utf8')).toString('hex');
  return crypto.sign('sha256', Buffer.from(sts), key).toString('hex');
}

export function verifyString(publicKey: crypto.KeyObject, sts: string, signatureHex: string): boolean {
  if (!/^(?:[0-9a-f]{2})+$/.test(signatureHex)) return false;
  try {
    return crypto.verify('sha256', Buffer.from(sts), publicKey, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

export interface SessionRequestInput {
  /** The `host` header value: host[:port] of the endpoint. */
  host: string;
  region: string;
  date: Date;
  trustAnchorArn: string;
  profileArn: string;
  roleArn: string;
  durationSeconds: number;
  roleSessionName?: string;
  /** DER of the signing certificate. */
  certificate: Buffer;
  /** Serial of the signing certificate, hex. */
  serialHex: string;
  /** DER of the intermediates, issuer first (at most 5). */
  chain: Buffer[];
  key: RequestKey;
}

export interface SignedSessionRequest {
  method: 'POST';
  path: string;
  /** Path with the canonical query string: what goes on the request line. */
  url: string;
  headers: Record<string, string>;
  body: string;
  canonical: string;
  stringToSign: string;
}

/** Builds and signs a CreateSession request the way the official credential helper sends it (§4.2, §4.5). */
export function signSessionRequest(input: SessionRequestInput): SignedSessionRequest {
  const algorithm = algorithmForKey(input.key);
  const u = unsignedSessionRequest(input, algorithm);
  return withSignature(input, u, signString(input.key, u.stringToSign));
}

/**
 * A key that signs elsewhere (a PKCS#11 token): the Authorization algorithm for it, and a signature over SHA-256 of
 * the data (PKCS#1 v1.5, or DER ECDSA), made asynchronously.
 */
export interface RequestSigner {
  algorithm: X509Algorithm;
  signSha256(data: Buffer): Promise<Buffer>;
}

/** {@link signSessionRequest} for a key held by a {@link RequestSigner} (a token key never becomes a KeyObject). */
export async function signSessionRequestWith(input: Omit<SessionRequestInput, 'key'>, signer: RequestSigner): Promise<SignedSessionRequest> {
  const u = unsignedSessionRequest(input, signer.algorithm);
  return withSignature(input, u, (await signer.signSha256(Buffer.from(u.stringToSign))).toString('hex'));
}

interface UnsignedSessionRequest {
  algorithm: X509Algorithm;
  date: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body: string;
  canonical: string;
  signedHeaders: string;
  stringToSign: string;
}

function unsignedSessionRequest(input: Omit<SessionRequestInput, 'key'>, algorithm: X509Algorithm): UnsignedSessionRequest {
  if (input.chain.length > MAX_CHAIN_CERTIFICATES)
    throw new PkiError('POLICY_CHAIN_TOO_LONG', `input.chain holds ${input.chain.length} certificates; Roles Anywhere accepts at most ${MAX_CHAIN_CERTIFICATES} in X-Amz-X509-Chain`, { details: { count: input.chain.length, input: 'chain' } });
  const date = amzDate(input.date);
  const query: Array<[string, string]> = [
    ['profileArn', input.profileArn],
    ['roleArn', input.roleArn],
    ['trustAnchorArn', input.trustAnchorArn],
  ];
  const body = JSON.stringify({ durationSeconds: input.durationSeconds, ...(input.roleSessionName === undefined ? {} : { roleSessionName: input.roleSessionName }) });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    Host: input.host,
    'X-Amz-Date': date,
    'X-Amz-X509': input.certificate.toString('base64'),
    ...(input.chain.length ? { 'X-Amz-X509-Chain': input.chain.map((c) => c.toString('base64')).join(',') } : {}),
  };
  const { canonical, signedHeaders } = canonicalRequest({ method: 'POST', path: '/sessions', query, headers, body });
  return { algorithm, date, query, headers, body, canonical, signedHeaders, stringToSign: stringToSign(algorithm, date, input.region, canonical) };
}

function withSignature(input: Omit<SessionRequestInput, 'key'>, u: UnsignedSessionRequest, signature: string): SignedSessionRequest {
  const headers = { ...u.headers };
  headers.Authorization = `${u.algorithm} Credential=${serialToDecimal(input.serialHex)}/${u.date.slice(0, 8)}/${input.region}/${SERVICE}/aws4_request, SignedHeaders=${u.signedHeaders}, Signature=${signature}`;
  return { method: 'POST', path: '/sessions', url: `/sessions?${canonicalQuery(u.query)}`, headers, body: u.body, canonical: u.canonical, stringToSign: u.stringToSign };
}

/** The parts of an AWS4-X509 Authorization header; undefined when it is not one. */
export function parseAuthorization(value: string): { algorithm: X509Algorithm; serialDecimal: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } | undefined {
  const m = /^(AWS4-X509-(?:RSA-SHA256|ECDSA-SHA256|MLDSA)) Credential=(\d+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]+)$/.exec(value.trim());
  if (!m) return undefined;
  return { algorithm: m[1] as X509Algorithm, serialDecimal: m[2]!, date: m[3]!, region: m[4]!, service: m[5]!, signedHeaders: m[6]!.split(';'), signature: m[7]! };
}
