/**
 * Distinguished names: RFC 4514 strings ("CN=web-01,O=Example") to DER and back.
 *
 * As in RFC 4514, the string lists the most specific RDN first ("CN=...,O=...,C=..."), which is the reverse of the
 * DER order. Strings are encoded as UTF8String, except countryName, serialNumber and dnQualifier (PrintableString,
 * RFC 5280 Appendix A) and domainComponent/emailAddress (IA5String).
 */
import { PkiError } from '../errors.js';
import { TAG, children, decodeOid, decodeString, ia5String, oid, printableString, readSingle, seq, setOf, utf8String, type Tlv } from '../asn1/der.js';

interface AttributeSpec {
  oid: string;
  name: string;
  /** Upper bound on characters (RFC 5280 Appendix A). */
  max: number;
  encoding: 'utf8' | 'printable' | 'ia5';
}

const ATTRIBUTES: AttributeSpec[] = [
  { oid: '2.5.4.3', name: 'CN', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.4', name: 'SN', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.5', name: 'serialNumber', max: 64, encoding: 'printable' },
  { oid: '2.5.4.6', name: 'C', max: 2, encoding: 'printable' },
  { oid: '2.5.4.7', name: 'L', max: 128, encoding: 'utf8' },
  { oid: '2.5.4.8', name: 'ST', max: 128, encoding: 'utf8' },
  { oid: '2.5.4.9', name: 'STREET', max: 128, encoding: 'utf8' },
  { oid: '2.5.4.10', name: 'O', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.11', name: 'OU', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.12', name: 'title', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.42', name: 'GN', max: 64, encoding: 'utf8' },
  { oid: '2.5.4.46', name: 'dnQualifier', max: 64, encoding: 'printable' },
  { oid: '0.9.2342.19200300.100.1.1', name: 'UID', max: 256, encoding: 'utf8' },
  { oid: '0.9.2342.19200300.100.1.25', name: 'DC', max: 63, encoding: 'ia5' },
  { oid: '1.2.840.113549.1.9.1', name: 'emailAddress', max: 255, encoding: 'ia5' },
];

const BY_NAME = new Map(ATTRIBUTES.map((a) => [a.name.toLowerCase(), a]));
const BY_OID = new Map(ATTRIBUTES.map((a) => [a.oid, a]));
BY_NAME.set('commonname', BY_NAME.get('cn')!);
BY_NAME.set('organizationname', BY_NAME.get('o')!);
BY_NAME.set('organizationalunitname', BY_NAME.get('ou')!);
BY_NAME.set('countryname', BY_NAME.get('c')!);
BY_NAME.set('localityname', BY_NAME.get('l')!);
BY_NAME.set('stateorprovincename', BY_NAME.get('st')!);
BY_NAME.set('email', BY_NAME.get('emailaddress')!);

import type { NameAttribute, Rdns } from '../domain/names.js';
export type { NameAttribute, Rdns };

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * openssl's `/C=US/O=Example/CN=web-01` form (`openssl req -subj`, `openssl ca`'s index.txt) as an RFC 4514 string.
 * The slash form is written in DER order (least specific first, as written); RFC 4514 strings are most specific
 * first, so the attributes are reversed. `\/` is a literal slash; `+` joins a multi-valued RDN as in `-multivalue-rdn`.
 */
export function slashDnToRfc4514(input: string, flag = 'input.subject'): string {
  const s = input.trim();
  const rdns: string[][] = [];
  let rdn: string[] = [];
  let cur = '';
  const flush = (end: boolean, last = false): void => {
    // A trailing slash ends the name; an empty attribute anywhere else is an error.
    if (last && cur.trim() === '' && rdn.length === 0 && rdns.length > 0) return;
    const eq = cur.indexOf('=');
    if (eq <= 0) throw new PkiError('USAGE_BAD_SUBJECT', `invalid ${flag} "${input}": "${cur}" is not TYPE=value`, { details: { flag } });
    const value = cur.slice(eq + 1);
    const escaped = value.replace(/[\\,;+"<>=]/g, (c) => `\\${c}`).replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');
    rdn.push(`${cur.slice(0, eq).trim()}=${escaped}`);
    cur = '';
    if (end) {
      rdns.push(rdn);
      rdn = [];
    }
  };
  for (let i = 1; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += s[++i];
      continue;
    }
    if (ch === '/') flush(true);
    else if (ch === '+') flush(false);
    else cur += ch;
  }
  flush(true, true);
  if (rdns.length === 0) throw new PkiError('USAGE_BAD_SUBJECT', `${flag} is empty: give at least /CN=...`, { details: { flag } });
  return rdns
    .reverse()
    .map((r) => r.join('+'))
    .join(',');
}

/**
 * Parses an RFC 4514 string. Throws USAGE_BAD_SUBJECT naming `flag` with every problem found.
 * Accepts `,` or `;` between RDNs and `+` inside multi-valued RDNs, with RFC 4514 escapes (`\,`, `\2C`, ...).
 * A string starting with `/` is openssl's slash form ({@link slashDnToRfc4514}), written least specific first.
 */
export function parseDn(input: string, flag = 'input.subject'): Rdns {
  if (input.trim().startsWith('/')) return parseDn(slashDnToRfc4514(input, flag), flag);
  const problems: string[] = [];
  const rdnsSpecificFirst: NameAttribute[][] = [];
  let current: NameAttribute[] = [];
  let i = 0;
  const s = input.trim();
  if (s === '') throw new PkiError('USAGE_BAD_SUBJECT', `${flag} is empty: give at least CN=...`, { details: { flag } });
  const readUntil = (stops: string): { text: string; stop: string | undefined } => {
    let out = '';
    const bytes: number[] = [];
    const flushBytes = (): void => {
      if (bytes.length) {
        out += Buffer.from(bytes).toString('utf8');
        bytes.length = 0;
      }
    };
    while (i < s.length) {
      const ch = s[i]!;
      if (stops.includes(ch)) {
        flushBytes();
        return { text: out, stop: ch };
      }
      if (ch === '\\') {
        const next = s.slice(i + 1, i + 3);
        if (/^[0-9a-fA-F]{2}$/.test(next)) {
          bytes.push(parseInt(next, 16));
          i += 3;
          continue;
        }
        flushBytes();
        if (i + 1 >= s.length) {
          problems.push(`dangling backslash at the end of ${flag}`);
          i++;
          continue;
        }
        out += s[i + 1];
        i += 2;
        continue;
      }
      flushBytes();
      out += ch;
      i++;
    }
    flushBytes();
    return { text: out, stop: undefined };
  };
  while (i <= s.length) {
    const typeRead = readUntil('=,;+');
    const type = typeRead.text.trim();
    if (typeRead.stop !== '=') {
      problems.push(`"${type || s.slice(i)}" in ${flag} is not TYPE=value`);
      if (typeRead.stop === undefined) break;
      i++;
      continue;
    }
    i++;
    const valueRead = readUntil(',;+');
    const value = valueRead.text.trim();
    const spec = BY_NAME.get(type.toLowerCase());
    const dotted = /^\d+(\.\d+)+$/.test(type) ? type : undefined;
    if (!spec && !dotted) problems.push(`unknown attribute type "${type}" in ${flag} (use CN, O, OU, C, ST, L, DC, UID, serialNumber, emailAddress or a dotted OID)`);
    else if (value === '') problems.push(`${type} in ${flag} has an empty value`);
    else if (spec) {
      const chars = [...value].length;
      if (chars > spec.max) problems.push(`${spec.name} in ${flag} is ${chars} characters; RFC 5280 allows at most ${spec.max}`);
      if (spec.encoding === 'printable' && !PRINTABLE.test(value)) problems.push(`${spec.name} in ${flag} must use PrintableString characters only`);
      if (spec.encoding === 'ia5' && !/^[\x20-\x7e]*$/.test(value)) problems.push(`${spec.name} in ${flag} must be ASCII`);
      if (spec.name === 'C' && !/^[A-Z]{2}$/.test(value)) problems.push(`C in ${flag} must be a two-letter ISO 3166 code, got "${value}"`);
    }
    current.push({ type: spec?.name ?? type, oid: spec?.oid ?? type, value });
    if (valueRead.stop !== '+') {
      rdnsSpecificFirst.push(current);
      current = [];
    }
    if (valueRead.stop === undefined) break;
    i++;
  }
  if (problems.length)
    throw new PkiError('USAGE_BAD_SUBJECT', `invalid ${flag} "${input}": ${problems.join('; ')}`, { details: { flag, problems } });
  return rdnsSpecificFirst.reverse();
}

function encodeValue(attr: NameAttribute): Buffer {
  const spec = BY_OID.get(attr.oid);
  switch (spec?.encoding) {
    case 'printable':
      return printableString(attr.value);
    case 'ia5':
      return ia5String(attr.value);
    default:
      return utf8String(attr.value);
  }
}

/** DER-encodes a Name (RDNSequence). */
export function encodeName(rdns: Rdns): Buffer {
  return seq(...rdns.map((rdn) => setOf(...rdn.map((a) => seq(oid(a.oid), encodeValue(a))))));
}

/** Decodes a DER Name (TLV of the RDNSequence). */
/** Most attributes a decoded Name may have (untrusted input; real names have a handful). */
export const MAX_NAME_ATTRIBUTES = 128;

export function decodeName(t: Tlv): Rdns {
  if (t.tag !== TAG.SEQUENCE) throw new PkiError('CRYPTO_BAD_DER', 'Name is not a SEQUENCE');
  const sets = children(t);
  // RFC 5280 §4.1.2.4: RelativeDistinguishedName ::= SET SIZE (1..MAX) OF AttributeTypeAndValue.
  for (const set of sets) if (set.tag !== TAG.SET || set.content.length === 0) throw new PkiError('CRYPTO_BAD_DER', set.tag !== TAG.SET ? 'an RDN of the Name is not a SET' : 'the Name has an empty RDN');
  const count = sets.reduce((n, set) => n + children(set).length, 0);
  if (count > MAX_NAME_ATTRIBUTES) throw new PkiError('CRYPTO_BAD_DER', `Name has ${count} attributes; at most ${MAX_NAME_ATTRIBUTES} are read`);
  return sets.map((set) =>
    children(set).map((atv) => {
      const parts = atv.tag === TAG.SEQUENCE ? children(atv) : [];
      const [typeTlv, valueTlv] = parts;
      if (parts.length !== 2 || !typeTlv || !valueTlv) throw new PkiError('CRYPTO_BAD_DER', 'malformed AttributeTypeAndValue in Name');
      const dotted = decodeOid(typeTlv);
      const spec = BY_OID.get(dotted);
      // AttributeValue: a directory string type (X.520), read strictly — bytes outside the type's character set are an
      // error. Any other type (an OCTET STRING, an INTEGER...) is refused, as openssl refuses it.
      if (!STRING_TAGS.has(valueTlv.tag)) throw new PkiError('CRYPTO_BAD_DER', `name attribute ${spec?.name ?? dotted} has a value of ASN.1 tag 0x${valueTlv.tag.toString(16)}, not a string type`);
      const value = decodeString(valueTlv);
      return { type: spec?.name ?? dotted, oid: dotted, value };
    }),
  );
}

const STRING_TAGS = new Set<number>([TAG.UTF8_STRING, TAG.NUMERIC_STRING, TAG.PRINTABLE_STRING, TAG.IA5_STRING, TAG.T61_STRING, TAG.BMP_STRING, TAG.UNIVERSAL_STRING]);

/** An attribute value for comparison (RFC 4518, simplified): ASCII spaces trimmed and collapsed, ASCII letters lower-cased. */
export function normaliseValue(v: string): string {
  return v.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, '').replace(/[ \t\n\r\f\v]+/g, ' ').replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export function decodeNameDer(der: Buffer): Rdns {
  return decodeName(readSingle(der));
}

function escapeValue(v: string): string {
  let out = v.replace(/([\\,+"<>;=])/g, '\\$1');
  if (out.startsWith('#') || out.startsWith(' ')) out = '\\' + out;
  if (out.endsWith(' ')) out = out.slice(0, -1) + '\\ ';
  return out;
}

/** RFC 4514 string, most specific RDN first. */
export function formatDn(rdns: Rdns): string {
  return [...rdns]
    .reverse()
    .map((rdn) => rdn.map((a) => `${a.type}=${a.value.startsWith('#') && !BY_OID.has(a.oid) ? a.value : escapeValue(a.value)}`).join('+'))
    .join(',');
}
