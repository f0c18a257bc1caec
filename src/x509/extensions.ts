/** X.509 v3 extensions (RFC 5280 §4.2): encoders and decoders for the ones the toolkit writes and checks. */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { PkiError } from '../errors.js';
import {
  DerReader,
  TAG,
  bool,
  decodeSignedInteger,
  expectTag,
  children,
  decodeBitString,
  decodeNamedBits,
  decodeOid,
  integer,
  namedBitString,
  octetString,
  oid,
  readSingle,
  seq,
  seqOf,
  tlv,
  type Tlv,
} from '../asn1/der.js';
import { decodeName, type Rdns } from './name.js';
import { EKU_OIDS, KEY_USAGE_BITS } from '../asn1/oids.js';
import { serialFromOctets } from '../domain/serial.js';

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

import type { San, SanType } from '../domain/names.js';
export type { San, SanType };

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

/** Parses "dns:name", "uri:...", "email:...", "ip:..."; errors name `flag` (the input field, `input.san`, or a file position). */
export function parseSan(text: string, flag = 'input.san'): San {
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
  const names = seqOf(value);
  // RFC 5280 §4.2.1.6: GeneralNames ::= SEQUENCE SIZE (1..MAX); an empty subjectAltName is malformed.
  if (names.length === 0) throw new PkiError('CRYPTO_BAD_DER', 'subjectAltName holds no names');
  if (names.length > MAX_SANS) throw new PkiError('CRYPTO_BAD_DER', `subjectAltName has ${names.length} names; at most ${MAX_SANS} are read`);
  for (const gn of names) {
    const n = decodeGeneralName(gn);
    if (n.form === 'directoryName') directoryNames.push(n.dn!);
    else if (n.san) sans.push(n.san);
    else others.push(n.form);
  }
  return { sans, others, directoryNames };
}

/** The GeneralName forms (RFC 5280 §4.2.1.6) by context tag number, and whether each is constructed. */
const GENERAL_NAME_FORMS: Array<[string, boolean]> = [
  ['otherName', true],
  ['rfc822Name', false],
  ['dNSName', false],
  ['x400Address', true],
  ['directoryName', true],
  ['ediPartyName', true],
  ['uniformResourceIdentifier', false],
  ['iPAddress', false],
  ['registeredID', false],
];

/**
 * One GeneralName, checked: a context tag [0]..[8] with the right form (constructed or primitive), IA5String
 * content for rfc822Name/dNSName/URI, 4 or 16 octets for iPAddress, one Name for directoryName. Anything else is
 * malformed and refused, never skipped (a name that cannot be read cannot be checked against name constraints).
 */
export function decodeGeneralName(gn: Tlv): { form: string; san?: San; dn?: Rdns } {
  const n = gn.tag & 0x1f;
  const spec = (gn.tag & 0xc0) === 0x80 ? GENERAL_NAME_FORMS[n] : undefined;
  if (!spec || spec[1] !== gn.constructed) throw new PkiError('CRYPTO_BAD_DER', `GeneralName with tag 0x${gn.tag.toString(16)} is not a valid name form`);
  const [form] = spec;
  if (form === 'directoryName') return { form, dn: decodeName(readSingle(gn.content)) };
  const type = ({ rfc822Name: 'email', dNSName: 'dns', uniformResourceIdentifier: 'uri', iPAddress: 'ip' } as Record<string, SanType>)[form];
  if (!type) return { form };
  if (type === 'ip') {
    if (gn.content.length !== 4 && gn.content.length !== 16) throw new PkiError('CRYPTO_BAD_DER', `iPAddress name of ${gn.content.length} octets (4 or 16 expected)`);
    return { form, san: { type, value: ipText(gn.content) } };
  }
  if (gn.content.some((b) => b > 0x7f)) throw new PkiError('CRYPTO_BAD_DER', `${form} with a non-ASCII octet (IA5String)`);
  return { form, san: { type, value: gn.content.toString('latin1') } };
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
  // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL }
  const r = DerReader.of(value, TAG.SEQUENCE, 'basicConstraints');
  const ca = r.booleanDefaultFalse('cA');
  const p = r.optional(TAG.INTEGER);
  r.end();
  if (!p) return { ca };
  const pathLen = decodeSignedInteger(p);
  if (pathLen < 0n || pathLen > 0x7fffffffn) throw new PkiError('CRYPTO_BAD_DER', `basicConstraints pathLenConstraint ${pathLen} is out of range`);
  return { ca, pathLen: Number(pathLen) };
}

export function ekuOid(name: string): string {
  return EKU_OIDS[name] ?? name;
}

export function encodeExtKeyUsage(names: readonly string[]): Buffer {
  return seq(...names.map((n) => oid(ekuOid(n))));
}

export function decodeExtKeyUsage(value: Buffer): string[] {
  const byOid = Object.fromEntries(Object.entries(EKU_OIDS).map(([k, v]) => [v, k]));
  return seqOf(value).map((t) => {
    const o = decodeOid(t);
    return byOid[o] ?? o;
  });
}

/** RFC 7093 §2 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, bits] = seqOf(spki);
  if (!bits) throw new PkiError('CRYPTO_BAD_DER', 'SubjectPublicKeyInfo has no subjectPublicKey');
  return createHash('sha256').update(decodeBitString(bits).bytes).digest().subarray(0, 20);
}

export function encodeAuthorityKeyIdentifier(keyId: Buffer): Buffer {
  return seq(tlv(0x80, keyId));
}

export function decodeAuthorityKeyIdentifier(value: Buffer): Buffer | undefined {
  return decodeAuthorityKeyIdentifierFull(value).keyIdentifier;
}

/**
 * AuthorityKeyIdentifier (RFC 5280 §4.2.1.1): keyIdentifier [0], authorityCertIssuer [1] and
 * authorityCertSerialNumber [2], in that order; the last two both present or both absent.
 */
export function decodeAuthorityKeyIdentifierFull(value: Buffer): { keyIdentifier?: Buffer; certIssuer?: Buffer; certSerial?: string } {
  const r = DerReader.of(value, TAG.SEQUENCE, 'authorityKeyIdentifier');
  const id = r.optional(0x80);
  const issuer = r.optional(0xa1);
  const serial = r.optional(0x82);
  r.end();
  if (!!issuer !== !!serial) throw new PkiError('CRYPTO_BAD_DER', 'authorityKeyIdentifier has only one of authorityCertIssuer and authorityCertSerialNumber');
  const out: { keyIdentifier?: Buffer; certIssuer?: Buffer; certSerial?: string } = {};
  if (id) out.keyIdentifier = id.content;
  if (issuer) {
    for (const g of children(issuer)) decodeGeneralName(g);
    out.certIssuer = issuer.content;
  }
  if (serial) {
    decodeSignedInteger({ ...serial, tag: TAG.INTEGER });
    out.certSerial = serialFromOctets(serial.content);
  }
  return out;
}

export function decodeSubjectKeyIdentifier(value: Buffer): Buffer {
  return expectTag(readSingle(value), TAG.OCTET_STRING, 'subjectKeyIdentifier').content;
}

/** CRLDistributionPoints with one fullName URI per distribution point. */
export function encodeCrlDistributionPoints(uris: readonly string[]): Buffer {
  return seq(...uris.map((u) => seq(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(u, 'latin1')))))));
}

/**
 * Parses the Extensions SEQUENCE (RFC 5280 §4.1: SIZE (1..MAX)). Each Extension has two or three fields; critical is a
 * DER BOOLEAN (one octet, FF) and an explicit FALSE is refused (DEFAULT FALSE, X.690 §11.5). Duplicate extensions
 * are an error (RFC 5280 §4.2).
 */
export function decodeExtensions(t: Tlv): Extension[] {
  const out: Extension[] = [];
  const seen = new Set<string>();
  const list = children(expectTag(t, TAG.SEQUENCE, 'Extensions'));
  if (list.length === 0) throw new PkiError('CRYPTO_BAD_DER', 'empty Extensions (SIZE 1..MAX)');
  for (const ext of list) {
    let extOid = '?';
    let critical: boolean;
    let valueTlv: Tlv;
    try {
      const r = new DerReader(expectTag(ext, TAG.SEQUENCE, 'Extension'), 'Extension');
      extOid = r.oid('extnID');
      critical = r.booleanDefaultFalse('critical');
      valueTlv = r.read(TAG.OCTET_STRING, 'extnValue');
      r.end();
    } catch (e) {
      throw new PkiError('CRYPTO_BAD_DER', `extension ${extOid}: ${(e as Error).message}`);
    }
    if (seen.has(extOid)) throw new PkiError('CRYPTO_BAD_DER', `extension ${extOid} appears twice`);
    seen.add(extOid);
    out.push({ oid: extOid, critical, value: valueTlv.content });
  }
  return out;
}
