/**
 * The IAM Roles Anywhere CreateSession signing process (reference §4): AWS4-X509-RSA-SHA256 and
 * AWS4-X509-ECDSA-SHA256. Unlike SigV4 there is no HMAC key derivation: the certificate's private key signs the
 * StringToSign directly, and the certificate's serial (decimal) takes the place of the access key id.
 *
 * Pure functions (no I/O): the emulator uses the same canonicalisation to check signatures, and tests cross-check it
 * against an independent implementation.
 */
import * as crypto from 'node:crypto';
import { PkiError } from '../errors.js';

export const SERVICE = 'rolesanywhere';
export type X509Algorithm = 'AWS4-X509-RSA-SHA256' | 'AWS4-X509-ECDSA-SHA256';

/** The Authorization algorithm for a key: RSA → PKCS#1 v1.5, EC (any curve) → ECDSA, both over SHA-256. */
export function algorithmForKey(key: crypto.KeyObject, source = 'the private key'): X509Algorithm {
  if (key.asymmetricKeyType === 'rsa') return 'AWS4-X509-RSA-SHA256';
  if (key.asymmetricKeyType === 'ec') return 'AWS4-X509-ECDSA-SHA256';
  throw new PkiError('CRYPTO_UNSUPPORTED_KEY', `${source} is ${key.asymmetricKeyType ?? 'an unknown'} key; Roles Anywhere signs with RSA or EC keys`, { details: { keyType: key.asymmetricKeyType ?? null } });
}

/** A certificate serial (canonical hex, optional colons) as the decimal string the Credential carries (§1.6). */
export { serialToDecimal } from '../domain/serial.js';
import { serialToDecimal } from '../domain/serial.js';
import { MAX_CHAIN_CERTIFICATES } from '../domain/roles-anywhere.js';

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

/** Task 3: the raw signature (PKCS#1 v1.5 or DER ECDSA over SHA-256 of the StringToSign), lowercase hex. */
export function signString(key: crypto.KeyObject, sts: string): string {
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
  key: crypto.KeyObject;
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
  if (input.chain.length > MAX_CHAIN_CERTIFICATES)
    throw new PkiError('POLICY_CHAIN_TOO_LONG', `--intermediates holds ${input.chain.length} certificates; Roles Anywhere accepts at most ${MAX_CHAIN_CERTIFICATES} in X-Amz-X509-Chain`, { details: { count: input.chain.length } });
  const algorithm = algorithmForKey(input.key);
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
  const sts = stringToSign(algorithm, date, input.region, canonical);
  const signature = signString(input.key, sts);
  headers.Authorization = `${algorithm} Credential=${serialToDecimal(input.serialHex)}/${date.slice(0, 8)}/${input.region}/${SERVICE}/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { method: 'POST', path: '/sessions', url: `/sessions?${canonicalQuery(query)}`, headers, body, canonical, stringToSign: sts };
}

/** The parts of an AWS4-X509 Authorization header; undefined when it is not one. */
export function parseAuthorization(value: string): { algorithm: X509Algorithm; serialDecimal: string; date: string; region: string; service: string; signedHeaders: string[]; signature: string } | undefined {
  const m = /^(AWS4-X509-(?:RSA|ECDSA)-SHA256) Credential=(\d+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]+)$/.exec(value.trim());
  if (!m) return undefined;
  return { algorithm: m[1] as X509Algorithm, serialDecimal: m[2]!, date: m[3]!, region: m[4]!, service: m[5]!, signedHeaders: m[6]!.split(';'), signature: m[7]! };
}
