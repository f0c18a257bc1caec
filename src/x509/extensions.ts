/** X.509 v3 extensions (RFC 5280 §4.2): encoders and decoders for the ones the toolkit writes and checks. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { PkiError } from '../errors.js';
import {
  TAG,
  bool,
  children,
  decodeBitString,
  decodeNamedBits,
  decodeOid,
  decodeUnsignedInteger,
  integer,
  namedBitString,
  octetString,
  oid,
  readSingle,
  seq,
  tlv,
  type Tlv,
} from './der.js';
import { decodeName, type Rdns } from './name.js';
import { EKU_OIDS, KEY_USAGE_BITS } from './oids.js';

export interface Extension {
  oid: string;
  critical: boolean;
  /** The extnValue content (the DER inside the OCTET STRING). */
  value: Buffer;
}

export function encodeExtension(extOid: string, critical: boolean, value: Uint8Array): Buffer {
  return critical ? seq(oid(extOid), bool(true), octetString(value)) : seq(oid(extOid), octetString(value));
}

// --- Subject alternative names ----------------------------------------------------------------------------------

export type SanType = 'dns' | 'email' | 'uri' | 'ip';
export interface San {
  type: SanType;
  value: string;
}

const SAN_TAGS: Record<SanType, number> = { email: 0x81, dns: 0x82, uri: 0x86, ip: 0x87 };

export function formatSan(san: San): string {
  return `${san.type}:${san.value}`;
}

const DNS_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** Problems with one SAN value, as messages (empty when it is well-formed). */
export function sanProblems(san: San): string[] {
  const v = san.value;
  switch (san.type) {
    case 'dns': {
      const name = v.startsWith('*.') ? v.slice(2) : v;
      if (v.length > 253 || !name.split('.').every((l) => DNS_LABEL.test(l))) return [`"${v}" is not a valid DNS name`];
      return [];
    }
    case 'email':
      return /^[^@\s]+@[^@\s]+$/.test(v) && /^[\x21-\x7e]+$/.test(v) ? [] : [`"${v}" is not a valid e-mail address`];
    case 'uri': {
      if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$/.test(v) || !/^[\x21-\x7e]+$/.test(v)) return [`"${v}" is not an absolute URI`];
      return [];
    }
    case 'ip':
      return isIP(v) ? [] : [`"${v}" is not an IPv4 or IPv6 address`];
  }
}

/** Parses "dns:name", "uri:...", "email:...", "ip:..." as given on the command line. */
export function parseSan(text: string, flag = '--san'): San {
  const m = /^(dns|email|uri|ip):(.+)$/i.exec(text.trim());
  if (!m) throw new PkiError('USAGE_BAD_SAN', `${flag} "${text}": expected TYPE:VALUE with TYPE one of dns, uri, email, ip`, { details: { flag, value: text } });
  const san: San = { type: m[1]!.toLowerCase() as SanType, value: m[2]! };
  const problems = sanProblems(san);
  if (problems.length) throw new PkiError('USAGE_BAD_SAN', `${flag} ${problems.join('; ')}`, { details: { flag, value: text } });
  return san;
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // Expand IPv6 (with optional embedded IPv4 tail).
  let text = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups.join(':').replace(/\b(?:0:){2,}0?\b/, '::').replace(/:{3,}/, '::');
  }
  return `#${b.toString('hex')}`;
}

export function encodeSans(sans: readonly San[]): Buffer {
  return seq(...sans.map((s) => tlv(SAN_TAGS[s.type], s.type === 'ip' ? ipBytes(s.value) : Buffer.from(s.value, 'latin1'))));
}

/** Decodes GeneralNames; unsupported name forms are returned with type 'other' in `others`. */
/** Most subjectAltName entries decoded from untrusted input (profiles allow at most 1000). */
export const MAX_SANS = 1024;

export function decodeSans(value: Buffer): { sans: San[]; others: string[]; directoryNames: Rdns[] } {
  const sans: San[] = [];
  const others: string[] = [];
  const directoryNames: Rdns[] = [];
  const names = children(readSingle(value));
  if (names.length > MAX_SANS) throw new PkiError('CRYPTO_BAD_DER', `subjectAltName has ${names.length} names; at most ${MAX_SANS} are read`);
  for (const gn of names) {
    const entry = Object.entries(SAN_TAGS).find(([, tag]) => tag === gn.tag);
    if (gn.tag === 0xa4) {
      // directoryName [4]: explicitly tagged, because Name is a CHOICE.
      directoryNames.push(decodeName(readSingle(gn.content)));
      continue;
    }
    if (!entry) {
      others.push(`[${gn.tag & 0x1f}]`);
      continue;
    }
    const type = entry[0] as SanType;
    sans.push({ type, value: type === 'ip' ? ipText(gn.content) : gn.content.toString('latin1') });
  }
  return { sans, others, directoryNames };
}

// --- Key usage, basic constraints, EKU, key identifiers -----------------------------------------------------------

export function encodeKeyUsage(names: readonly string[]): Buffer {
  return namedBitString(names.map((n) => KEY_USAGE_BITS[n]!));
}

export function decodeKeyUsage(value: Buffer): string[] {
  const bits = decodeNamedBits(readSingle(value));
  const byBit = Object.fromEntries(Object.entries(KEY_USAGE_BITS).map(([k, v]) => [v, k]));
  return bits.map((b) => byBit[b] ?? `bit${b}`);
}

export function encodeBasicConstraints(ca: boolean, pathLen?: number): Buffer {
  if (!ca) return seq();
  return pathLen === undefined ? seq(bool(true)) : seq(bool(true), integer(pathLen));
}

export function decodeBasicConstraints(value: Buffer): { ca: boolean; pathLen?: number } {
  const items = children(readSingle(value));
  let ca = false;
  let pathLen: number | undefined;
  for (const item of items) {
    if (item.tag === TAG.BOOLEAN) ca = item.content[0] === 0xff;
    else if (item.tag === TAG.INTEGER) pathLen = Number(decodeUnsignedInteger(item));
  }
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

export function ekuOid(name: string): string {
  return EKU_OIDS[name] ?? name;
}

export function encodeExtKeyUsage(names: readonly string[]): Buffer {
  return seq(...names.map((n) => oid(ekuOid(n))));
}

export function decodeExtKeyUsage(value: Buffer): string[] {
  const byOid = Object.fromEntries(Object.entries(EKU_OIDS).map(([k, v]) => [v, k]));
  return children(readSingle(value)).map((t) => {
    const o = decodeOid(t);
    return byOid[o] ?? o;
  });
}

/** RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, bits] = children(readSingle(spki));
  if (!bits) throw new PkiError('CRYPTO_BAD_DER', 'SubjectPublicKeyInfo has no subjectPublicKey');
  return createHash('sha256').update(decodeBitString(bits).bytes).digest().subarray(0, 20);
}

export function encodeAuthorityKeyIdentifier(keyId: Buffer): Buffer {
  return seq(tlv(0x80, keyId));
}

export function decodeAuthorityKeyIdentifier(value: Buffer): Buffer | undefined {
  return children(readSingle(value)).find((t) => t.tag === 0x80)?.content;
}

export function decodeSubjectKeyIdentifier(value: Buffer): Buffer {
  return readSingle(value).content;
}

/** CRLDistributionPoints with one fullName URI per distribution point. */
export function encodeCrlDistributionPoints(uris: readonly string[]): Buffer {
  return seq(...uris.map((u) => seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(u, 'latin1')))))));
}

/** Parses the Extensions SEQUENCE. Duplicate extensions are an error (RFC 5280 §4.2). */
export function decodeExtensions(t: Tlv): Extension[] {
  const out: Extension[] = [];
  const seen = new Set<string>();
  for (const ext of children(t)) {
    const parts = children(ext);
    const extOid = decodeOid(parts[0]!);
    let critical = false;
    let valueTlv = parts[1];
    if (valueTlv?.tag === TAG.BOOLEAN) {
      critical = valueTlv.content[0] === 0xff;
      valueTlv = parts[2];
    }
    if (!valueTlv || valueTlv.tag !== TAG.OCTET_STRING) throw new PkiError('CRYPTO_BAD_DER', `extension ${extOid} has no extnValue`);
    if (seen.has(extOid)) throw new PkiError('CRYPTO_BAD_DER', `extension ${extOid} appears twice`);
    seen.add(extOid);
    out.push({ oid: extOid, critical, value: valueTlv.content });
  }
  return out;
}

