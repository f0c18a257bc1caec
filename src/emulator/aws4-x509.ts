/**
 * The emulator's own check of an AWS4-X509 CreateSession signature (AWS4-X509-RSA-SHA256, AWS4-X509-ECDSA-SHA256,
 * AWS4-X509-MLDSA),
 * written from the published signing process (IAM Roles Anywhere user guide, "Signing process", tasks 1-4):
 *
 *   Task 1  CanonicalRequest = Method \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n
 *           hex(SHA-256(payload)), where CanonicalHeaders is one "name:trimall(value)\n" per signed header
 *           (lowercase names, sorted; several values joined with ",") and the query string's names and values are
 *           RFC 3986-encoded ("%20", never "+") and sorted by name, then value.
 *   Task 2  StringToSign = Algorithm \n X-Amz-Date \n YYYYMMDD/region/rolesanywhere/aws4_request \n
 *           hex(SHA-256(CanonicalRequest)); no HMAC key derivation.
 *   Task 3  Signature = hex(sign(StringToSign)): RSASSA-PKCS1-v1_5 or DER ECDSA, always over SHA-256; for an ML-DSA
 *           key (ML-DSA-44/65/87, RFC 9881 OIDs 2.16.840.1.101.3.4.3.17-19) pure ML-DSA over the StringToSign bytes
 *           with an empty context (reference §4.4: the official helper uses circl's SignTo(key, msg, nil, false)).
 *   Task 4  Authorization: Algorithm Credential=<serial in decimal>/<date>/<region>/rolesanywhere/aws4_request,
 *           SignedHeaders=<a;b;c>, Signature=<hex>. X-Amz-X509 (and X-Amz-X509-Chain when sent) must be signed.
 *
 * It reads the request as received (raw headers, raw query string, body bytes) and shares no code with pki's signer
 * (src/adapters/aws): a defect there cannot be mirrored here. A test fails if any file of src/emulator reaches src/adapters/aws.
 */
import { constants, createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';

export type Aws4X509Algorithm = 'AWS4-X509-RSA-SHA256' | 'AWS4-X509-ECDSA-SHA256' | 'AWS4-X509-MLDSA';
const ALGORITHMS: readonly string[] = ['AWS4-X509-RSA-SHA256', 'AWS4-X509-ECDSA-SHA256', 'AWS4-X509-MLDSA'];

/**
 * ML-DSA parameter sets by the DER of their OID (FIPS 204 sizes): read here, from the certificate's
 * SubjectPublicKeyInfo bytes, independently of pki's X.509 and ML-DSA modules.
 */
const ML_DSA_SETS: ReadonlyArray<{ name: string; oidDer: string; impl: typeof ml_dsa65; publicKey: number; signature: number }> = [
  { name: 'ml-dsa-44', oidDer: '0609608648016503040311', impl: ml_dsa44, publicKey: 1312, signature: 2420 },
  { name: 'ml-dsa-65', oidDer: '0609608648016503040312', impl: ml_dsa65, publicKey: 1952, signature: 3309 },
  { name: 'ml-dsa-87', oidDer: '0609608648016503040313', impl: ml_dsa87, publicKey: 2592, signature: 4627 },
];

/** The key of the request's certificate, as the emulator reads it. */
type SignerKey = { kind: 'node'; type: string | undefined; key: KeyObject } | { kind: 'ml-dsa'; type: string; set: (typeof ML_DSA_SETS)[number]; raw: Buffer } | { kind: 'unreadable' };

/**
 * An SPKI holding an ML-DSA key: SEQUENCE { SEQUENCE { OID } (no parameters, RFC 9881 §2), BIT STRING { 00, key } }.
 * Undefined when it is not one of ours; `unreadable` when the OID is ML-DSA but the structure or length is wrong.
 */
function mlDsaKeyOf(spki: Buffer): SignerKey | undefined {
  try {
    const top = tlv(spki, 0);
    if (top.tag !== 0x30 || top.end !== spki.length) return undefined;
    const alg = tlv(spki, top.start);
    if (alg.tag !== 0x30) return undefined;
    const set = ML_DSA_SETS.find((s) => spki.subarray(alg.start, alg.end).toString('hex') === s.oidDer);
    if (!set) return spki.subarray(alg.start, alg.end).toString('hex').startsWith('060960864801650304031') ? { kind: 'unreadable' } : undefined;
    const bits = tlv(spki, alg.end);
    if (bits.tag !== 0x03 || bits.end !== top.end || spki[bits.start] !== 0 || bits.end - bits.start - 1 !== set.publicKey) return { kind: 'unreadable' };
    return { kind: 'ml-dsa', type: set.name, set, raw: spki.subarray(bits.start + 1, bits.end) };
  } catch {
    return { kind: 'unreadable' };
  }
}

function signerKeyOf(signer: SignerCertificate): SignerKey {
  if (signer.publicKey) return { kind: 'node', type: signer.publicKey.asymmetricKeyType, key: signer.publicKey };
  const mlDsa = mlDsaKeyOf(signer.spki!);
  if (mlDsa) return mlDsa;
  try {
    const key = createPublicKey({ key: signer.spki!, format: 'der', type: 'spki' });
    return { kind: 'node', type: key.asymmetricKeyType, key };
  } catch {
    return { kind: 'unreadable' };
  }
}

/** A request as it arrived. */
export interface ReceivedRequest {
  method: string;
  /** The path the request was routed on (the canonical URI). */
  path: string;
  /** The query string as received, without "?". */
  rawQuery: string;
  /** Names and values alternating, as received (Node's IncomingMessage.rawHeaders). */
  rawHeaders: string[];
  body: Buffer;
}

export interface SignerCertificate {
  /** The DER of the certificate sent in X-Amz-X509. */
  der: Buffer;
  /** Its DER SubjectPublicKeyInfo (read here with the emulator's own code), or the key itself as a Node KeyObject. */
  spki?: Buffer;
  publicKey?: KeyObject;
}

export interface VerifyOptions {
  region: string;
  now: Date;
  /** Largest accepted distance between X-Amz-Date and `now`. */
  clockSkewSeconds: number;
}

export type Verdict = { ok: true; algorithm: Aws4X509Algorithm; signedHeaders: string[] } | { ok: false; reason: string };

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Every value received for a header name (case-insensitive), in order. */
function headerValues(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

/** Trimall: no leading or trailing white space, runs of spaces and tabs as one space. */
const trimAll = (v: string): string => v.replace(/^[ \t]+|[ \t]+$/g, '').replace(/[ \t]+/g, ' ');

/** RFC 3986 percent-encoding of the UTF-8 bytes: only A-Z a-z 0-9 - . _ ~ stay as they are; hex digits uppercase. */
export function rfc3986(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The canonical query string of a query string as received: each name and value decoded as the emulator reads
 * parameters ("+" is a space, %XX a byte), then RFC 3986-encoded and sorted by name, then value. Undefined when a
 * %-escape is malformed.
 */
export function canonicalQueryString(rawQuery: string): string | undefined {
  const pairs: Array<[string, string]> = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    try {
      const decode = (x: string) => decodeURIComponent(x.replace(/\+/g, ' '));
      pairs.push([rfc3986(decode(k)), rfc3986(decode(v))]);
    } catch {
      return undefined;
    }
  }
  pairs.sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Task 1 for the signed headers `signed` (lowercase, sorted); undefined when one of them was not sent. */
export function canonicalRequestOf(req: ReceivedRequest, signed: string[]): string | undefined {
  const query = canonicalQueryString(req.rawQuery);
  if (query === undefined) return undefined;
  const lines: string[] = [];
  for (const name of signed) {
    const values = headerValues(req.rawHeaders, name);
    if (!values.length) return undefined;
    lines.push(`${name}:${values.map(trimAll).join(',')}`);
  }
  return [req.method, req.path, query, ...lines, '', signed.join(';'), sha256Hex(req.body)].join('\n');
}

/** Task 2. */
export function stringToSignOf(algorithm: Aws4X509Algorithm, amzDate: string, region: string, canonical: string): string {
  return `${algorithm}\n${amzDate}\n${amzDate.slice(0, 8)}/${region}/rolesanywhere/aws4_request\n${sha256Hex(canonical)}`;
}

interface ParsedAuthorization {
  algorithm: Aws4X509Algorithm;
  serial: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: Buffer;
}

/** Task 4 read back: the Authorization header's parts, or why it is not an AWS4-X509 one. */
export function parseAws4X509Authorization(value: string): ParsedAuthorization | string {
  const sp = value.indexOf(' ');
  if (sp < 0) return 'the Authorization header has no credential';
  const algorithm = value.slice(0, sp);
  if (!ALGORITHMS.includes(algorithm)) return `algorithm ${algorithm} is not AWS4-X509-RSA-SHA256, AWS4-X509-ECDSA-SHA256 or AWS4-X509-MLDSA`;
  const fields = new Map<string, string>();
  for (const part of value.slice(sp + 1).split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (eq < 0 || fields.has(name) || !['Credential', 'SignedHeaders', 'Signature'].includes(name)) return `unexpected Authorization component "${p.slice(0, 40)}"`;
    fields.set(name, p.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return 'Credential, SignedHeaders and Signature are all required';
  const scope = credential.split('/');
  if (scope.length !== 5) return 'Credential is not serial/date/region/service/aws4_request';
  const [serial, date, region, service, terminator] = scope as [string, string, string, string, string];
  if (!/^-?(?:0|[1-9][0-9]*)$/.test(serial)) return 'the Credential serial is not a decimal number';
  if (!/^[0-9]{8}$/.test(date)) return 'the Credential date is not YYYYMMDD';
  const names = signedHeaders.split(';');
  if (names.some((n) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(n))) return 'SignedHeaders holds a name that is empty or not lowercase';
  if (names.some((n, i) => i > 0 && names[i - 1]! >= n)) return 'SignedHeaders is not sorted or repeats a name';
  if (!/^(?:[0-9a-f]{2})+$/.test(signature)) return 'Signature is not lowercase hex';
  return { algorithm: algorithm as Aws4X509Algorithm, serial, date, region, service, terminator, signedHeaders: names, signature: Buffer.from(signature, 'hex') };
}

/** One DER TLV header at `p`: tag, content start and end. */
function tlv(der: Buffer, p: number): { tag: number; start: number; end: number } {
  const tag = der[p]!;
  let len = der[p + 1]!;
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  if (start + len > der.length) throw new Error('truncated DER');
  return { tag, start, end: start + len };
}

/**
 * The certificate's serial number in decimal, read from its DER (Certificate → TBSCertificate → [0] version? →
 * serialNumber), as the INTEGER's two's-complement value: what Task 4 puts in the Credential.
 */
export function serialDecimalOf(der: Buffer): string {
  const cert = tlv(der, 0);
  const tbs = tlv(der, cert.start);
  let p = tbs.start;
  let field = tlv(der, p);
  if (field.tag === 0xa0) {
    p = field.end;
    field = tlv(der, p);
  }
  if (field.tag !== 0x02 || field.end === field.start) throw new Error('no serialNumber INTEGER');
  const octets = der.subarray(field.start, field.end);
  let v = BigInt(`0x${octets.toString('hex')}`);
  if (octets[0]! & 0x80) v -= 1n << BigInt(octets.length * 8);
  return v.toString(10);
}

function checkSignatureBytes(algorithm: Aws4X509Algorithm, signer: SignerKey, sts: string, signature: Buffer): boolean {
  try {
    if (signer.kind === 'ml-dsa')
      return algorithm === 'AWS4-X509-MLDSA' && signature.length === signer.set.signature && signer.set.impl.verify(signature, Buffer.from(sts, 'utf8'), signer.raw);
    if (signer.kind !== 'node') return false;
    const key = signer.key;
    if (algorithm === 'AWS4-X509-RSA-SHA256') return verify('sha256', Buffer.from(sts, 'utf8'), { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    return verify('sha256', Buffer.from(sts, 'utf8'), { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

/** Tasks 1-4 recomputed from the request received; any failure says why (the service answers "Invalid signature"). */
export function verifyAws4X509(req: ReceivedRequest, signer: SignerCertificate, opts: VerifyOptions): Verdict {
  const auths = headerValues(req.rawHeaders, 'authorization');
  if (auths.length !== 1) return { ok: false, reason: auths.length ? 'more than one Authorization header' : 'no Authorization header' };
  const auth = parseAws4X509Authorization(auths[0]!.trim());
  if (typeof auth === 'string') return { ok: false, reason: auth };
  const key = signerKeyOf(signer);
  const keyType = key.kind === 'unreadable' ? undefined : key.type;
  const wanted = key.kind === 'ml-dsa' ? 'AWS4-X509-MLDSA' : keyType === 'rsa' ? 'AWS4-X509-RSA-SHA256' : keyType === 'ec' ? 'AWS4-X509-ECDSA-SHA256' : undefined;
  if (auth.algorithm !== wanted) return { ok: false, reason: `${auth.algorithm} does not match the certificate's ${keyType ?? 'unknown'} key` };
  let serial: string;
  try {
    serial = serialDecimalOf(signer.der);
  } catch (e) {
    return { ok: false, reason: `the certificate's serial cannot be read (${(e as Error).message})` };
  }
  if (auth.serial !== serial) return { ok: false, reason: `the Credential serial ${auth.serial} is not the certificate's ${serial}` };
  if (auth.region !== opts.region || auth.service !== 'rolesanywhere' || auth.terminator !== 'aws4_request')
    return { ok: false, reason: `the credential scope ${auth.region}/${auth.service}/${auth.terminator} is not ${opts.region}/rolesanywhere/aws4_request` };
  const dates = headerValues(req.rawHeaders, 'x-amz-date');
  if (dates.length !== 1) return { ok: false, reason: 'X-Amz-Date must be sent once' };
  const amzDate = dates[0]!.trim();
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return { ok: false, reason: 'X-Amz-Date is not YYYYMMDDTHHMMSSZ' };
  const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (auth.date !== amzDate.slice(0, 8)) return { ok: false, reason: 'the Credential date is not the day of X-Amz-Date' };
  if (!Number.isFinite(at) || Math.abs(at - opts.now.getTime()) > opts.clockSkewSeconds * 1000) return { ok: false, reason: `X-Amz-Date is more than ${opts.clockSkewSeconds} s from the clock` };
  const required = ['host', 'x-amz-date', 'x-amz-x509', ...(headerValues(req.rawHeaders, 'x-amz-x509-chain').length ? ['x-amz-x509-chain'] : [])];
  const unsigned = required.filter((h) => !auth.signedHeaders.includes(h));
  if (unsigned.length) return { ok: false, reason: `${unsigned.join(', ')} must be signed` };
  const canonical = canonicalRequestOf(req, auth.signedHeaders);
  if (canonical === undefined) return { ok: false, reason: 'a signed header was not sent, or the query string has a malformed %-escape' };
  const sts = stringToSignOf(auth.algorithm, amzDate, auth.region, canonical);
  if (!checkSignatureBytes(auth.algorithm, key, sts, auth.signature)) return { ok: false, reason: 'the signature does not verify with the certificate\'s key' };
  return { ok: true, algorithm: auth.algorithm, signedHeaders: auth.signedHeaders };
}
