/**
 * A small, strict DER encoder and decoder (X.690 §10). Used on the hot paths (issuance, CSR parsing) where pkijs
 * costs about 1 ms per certificate (measured: see README "Architecture"). Only definite, minimal lengths are
 * accepted on decode; every read is bounds-checked and failures throw {@link DerError}.
 */

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export class DerError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'DerError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

function lengthBytes(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  let n = len;
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a single-byte tag. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export const seq = (...items: Uint8Array[]): Buffer => tlv(TAG.SEQUENCE, Buffer.concat(items));
/** A DER SET OF: elements sorted by their encodings (X.690 §11.6). */
export const setOf = (...items: Uint8Array[]): Buffer =>
  tlv(TAG.SET, Buffer.concat([...items].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))));
/** [n] EXPLICIT, constructed context-specific. */
export const explicit = (n: number, content: Uint8Array): Buffer => tlv(0xa0 | n, content);
export const octetString = (content: Uint8Array): Buffer => tlv(TAG.OCTET_STRING, content);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
export const bool = (value: boolean): Buffer => Buffer.from([0x01, 0x01, value ? 0xff : 0x00]);
export const utf8String = (s: string): Buffer => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
export const printableString = (s: string): Buffer => tlv(TAG.PRINTABLE_STRING, Buffer.from(s, 'latin1'));
export const ia5String = (s: string): Buffer => tlv(TAG.IA5_STRING, Buffer.from(s, 'latin1'));

/** BIT STRING with the given number of unused bits in the last octet. */
export function bitString(content: Uint8Array, unusedBits = 0): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/**
 * A named-bit BIT STRING (e.g. KeyUsage) in DER: trailing zero bits are removed and the unused-bit count is set
 * (X.690 §11.2.2). `bits` are bit numbers, 0 = most significant bit of the first octet.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(Buffer.alloc(0), 0);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  const unused = 7 - (highest & 7);
  return bitString(bytes, unused);
}

/** INTEGER from a non-negative bigint or number (minimal two's complement). */
export function integer(value: bigint | number): Buffer {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('negative INTEGER not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(TAG.INTEGER, Buffer.from(bytes));
}

/** INTEGER whose content octets are given (already minimal, positive). */
export const integerFromBytes = (content: Uint8Array): Buffer => tlv(TAG.INTEGER, content);

const oidCache = new Map<string, Buffer>();
/** OBJECT IDENTIFIER from dotted notation (cached: OIDs repeat on hot paths). */
export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map((s) => {
    if (!/^\d+$/.test(s)) throw new RangeError(`bad OID ${dotted}`);
    return BigInt(s);
  });
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const out: number[] = [];
  const first = arcs[0]! * 40n + arcs[1]!;
  for (const arc of [first, ...arcs.slice(2)]) {
    const group: number[] = [];
    let v = arc;
    do {
      group.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < group.length - 1; i++) group[i]! |= 0x80;
    out.push(...group);
  }
  const encoded = tlv(TAG.OID, Buffer.from(out));
  oidCache.set(dotted, encoded);
  return encoded;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. Fractions are truncated. */
export function time(date: Date): Buffer {
  const y = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) + pad(date.getUTCHours()) + pad(date.getUTCMinutes()) + pad(date.getUTCSeconds()) + 'Z';
  if (y >= 1950 && y < 2050) return tlv(TAG.UTC_TIME, Buffer.from(pad(y % 100) + rest, 'latin1'));
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(pad(y, 4) + rest, 'latin1'));
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

/** One decoded TLV; offsets are into the buffer it was read from. */
export interface Tlv {
  tag: number;
  constructed: boolean;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
  /** The content octets (a view, no copy). */
  content: Buffer;
  /** The whole TLV (a view, no copy). */
  raw: Buffer;
}

/**
 * The one DER length parser (X.690 §10.1: definite, minimal, here at most 4 octets): the length at `p` and the offset
 * after its octets. Used by {@link readTlv} and by the CRL codec's allocation-free entry walk.
 */
export function readLength(buf: Uint8Array, p: number, limit: number): [number, number] {
  if (p >= limit) throw new DerError('truncated length', p);
  const first = buf[p]!;
  if (first < 0x80) return [first, p + 1];
  if (first === 0x80) throw new DerError('indefinite length is not allowed in DER', p);
  const n = first & 0x7f;
  if (n > 4) throw new DerError('length field too large', p);
  if (p + 1 + n > limit) throw new DerError('truncated length', p + 1);
  if (buf[p + 1] === 0) throw new DerError('non-minimal length encoding', p + 1);
  let len = 0;
  for (let i = 1; i <= n; i++) len = len * 256 + buf[p + i]!;
  if (len < 0x80) throw new DerError('non-minimal length encoding', p + 1);
  return [len, p + 1 + n];
}

/** Reads one TLV at `offset`, checking that it fits within `limit`. */
export function readTlv(buf: Buffer, offset = 0, limit = buf.length): Tlv {
  // Bytes that crossed a worker-thread boundary arrive as plain Uint8Arrays: view them as a Buffer (no copy), so
  // toString('utf8') decodes text instead of listing numbers.
  if (!Buffer.isBuffer(buf)) buf = Buffer.from((buf as Uint8Array).buffer, (buf as Uint8Array).byteOffset, (buf as Uint8Array).byteLength);
  if (offset >= limit) throw new DerError('unexpected end of data', offset);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not supported', offset);
  if (offset + 1 >= limit) throw new DerError('truncated length', offset + 1);
  const [len, p] = readLength(buf, offset + 1, limit);
  const end = p + len;
  if (end > limit) throw new DerError(`content of ${len} bytes runs past the end of its container`, p);
  return {
    tag,
    constructed: (tag & 0x20) !== 0,
    start: offset,
    contentStart: p,
    end,
    content: buf.subarray(p, end),
    raw: buf.subarray(offset, end),
  };
}

/** Reads exactly one TLV spanning the whole buffer. */
export function readSingle(buf: Buffer): Tlv {
  const t = readTlv(buf, 0, buf.length);
  if (t.end !== buf.length) throw new DerError(`${buf.length - t.end} trailing bytes after the DER structure`, t.end);
  return t;
}

/** The children of a constructed TLV. */
export function children(parent: Tlv): Tlv[] {
  if (!parent.constructed) throw new DerError('expected a constructed value', parent.start);
  const out: Tlv[] = [];
  const buf = parent.content;
  let p = 0;
  while (p < buf.length) {
    const child = readTlv(buf, p, buf.length);
    out.push(child);
    p = child.end;
  }
  return out;
}

/** The elements of the DER SEQUENCE that `buf` consists of (the tag is checked, nothing may follow it). */
export function seqOf(buf: Buffer): Tlv[] {
  return children(expectTag(readSingle(buf), TAG.SEQUENCE, 'SEQUENCE'));
}

/** Asserts a TLV's tag. */
export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new DerError(`missing ${what}`, 0);
  if (t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`, t.start);
  return t;
}

/** Decodes an OBJECT IDENTIFIER's content to dotted notation. */
export function decodeOid(t: Tlv): string {
  expectTag(t, TAG.OID, 'OBJECT IDENTIFIER');
  const c = t.content;
  if (c.length === 0) throw new DerError('empty OBJECT IDENTIFIER', t.start);
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (v === 0n && b === 0x80) throw new DerError('non-minimal OID arc', t.contentStart + i);
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    } else if (i === c.length - 1) throw new DerError('truncated OID arc', t.contentStart + i);
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Decodes a non-negative INTEGER to bigint (negative values are rejected). */
export function decodeUnsignedInteger(t: Tlv): bigint {
  expectTag(t, TAG.INTEGER, 'INTEGER');
  const c = t.content;
  if (c.length === 0) throw new DerError('empty INTEGER', t.start);
  if (c.length > 1 && ((c[0] === 0 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0)))
    throw new DerError('non-minimal INTEGER', t.start);
  if (c[0]! & 0x80) throw new DerError('negative INTEGER', t.start);
  return c.length === 0 ? 0n : BigInt('0x' + c.toString('hex'));
}

/** Decodes UTCTime or GeneralizedTime (the forms RFC 5280 allows: seconds, 'Z'). */
export function decodeTime(t: Tlv): Date {
  const s = t.content.toString('latin1');
  let m: RegExpExecArray | null;
  if (t.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    const yy = Number(m[1]);
    return utc(yy < 50 ? 2000 + yy : 1900 + yy, m.slice(2), t);
  }
  if (t.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s))) {
    return utc(Number(m[1]), m.slice(2), t);
  }
  throw new DerError(`invalid time value "${s}"`, t.start);
}

function utc(year: number, parts: string[], t: Tlv): Date {
  const [mo, d, h, mi, se] = parts.map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59)
    throw new DerError('invalid calendar time', t.start);
  return date;
}

/** Decodes a BIT STRING: the bytes and the number of unused bits. */
export function decodeBitString(t: Tlv): { bytes: Buffer; unusedBits: number } {
  expectTag(t, TAG.BIT_STRING, 'BIT STRING');
  if (t.content.length === 0) throw new DerError('empty BIT STRING', t.start);
  const unusedBits = t.content[0]!;
  if (unusedBits > 7 || (unusedBits > 0 && t.content.length === 1)) throw new DerError('bad BIT STRING padding', t.start);
  return { bytes: t.content.subarray(1), unusedBits };
}

/** Named bits set in a BIT STRING (bit 0 = MSB of the first octet). */
export function decodeNamedBits(t: Tlv): number[] {
  const { bytes, unusedBits } = decodeBitString(t);
  const out: number[] = [];
  const total = bytes.length * 8 - unusedBits;
  for (let i = 0; i < total; i++) if (bytes[i >> 3]! & (0x80 >> (i & 7))) out.push(i);
  return out;
}

/** Decodes the string types that may appear in names. */
export function decodeString(t: Tlv): string {
  switch (t.tag) {
    case TAG.UTF8_STRING: {
      const s = t.content.toString('utf8');
      if (!Buffer.from(s, 'utf8').equals(t.content)) throw new DerError('UTF8String is not valid UTF-8', t.start);
      return s;
    }
    case TAG.PRINTABLE_STRING:
      // X.680 §41.4; '*' and '&' are tolerated as Go's crypto/x509 does (wildcards and company names in the wild).
      if (!/^[A-Za-z0-9 '()+,\-./:=?*&]*$/.test(t.content.toString('latin1'))) throw new DerError('PrintableString with a character outside its set', t.start);
      return t.content.toString('latin1');
    case TAG.IA5_STRING:
      if (t.content.some((b) => b > 0x7f)) throw new DerError('IA5String with a non-ASCII octet', t.start);
      return t.content.toString('latin1');
    case TAG.T61_STRING:
      return t.content.toString('latin1');
    case TAG.NUMERIC_STRING:
      if (!/^[0-9 ]*$/.test(t.content.toString('latin1'))) throw new DerError('NumericString with a character other than a digit or space', t.start);
      return t.content.toString('latin1');
    case TAG.BMP_STRING: {
      if (t.content.length % 2) throw new DerError('odd-length BMPString', t.start);
      const swapped = Buffer.from(t.content);
      swapped.swap16();
      return swapped.toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (t.content.length % 4) throw new DerError('bad UniversalString length', t.start);
      let s = '';
      for (let i = 0; i < t.content.length; i += 4) s += String.fromCodePoint(t.content.readUInt32BE(i));
      return s;
    }
    default:
      throw new DerError(`unsupported string type 0x${t.tag.toString(16)}`, t.start);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The strict field reader (in the style of Go's cryptobyte): one reader for every structure read from untrusted
// input. Fields are read in order, optional ones by tag, and `end()` refuses anything left over. Primitive values
// are checked against DER: BOOLEAN is one octet 00 or FF (X.690 §11.1), INTEGER is minimal (§8.3.2), BIT STRING has
// at most 7 unused bits, all of them zero (§11.2.1), and an explicitly encoded DEFAULT value is an error (§11.5).

/** Decodes a DER BOOLEAN: exactly one content octet, 0x00 or 0xFF. */
export function decodeBoolean(t: Tlv): boolean {
  expectTag(t, TAG.BOOLEAN, 'BOOLEAN');
  if (t.content.length !== 1) throw new DerError(`BOOLEAN of ${t.content.length} octets`, t.start);
  const v = t.content[0]!;
  if (v !== 0x00 && v !== 0xff) throw new DerError(`BOOLEAN encoded as 0x${v.toString(16).padStart(2, '0')} (DER allows only 00 and FF)`, t.start);
  return v === 0xff;
}

/** Decodes a DER INTEGER (minimal two's complement) to a signed bigint. */
export function decodeSignedInteger(t: Tlv): bigint {
  expectTag(t, TAG.INTEGER, 'INTEGER');
  const c = t.content;
  if (c.length === 0) throw new DerError('empty INTEGER', t.start);
  if (c.length > 1 && ((c[0] === 0 && (c[1]! & 0x80) === 0) || (c[0] === 0xff && (c[1]! & 0x80) !== 0))) throw new DerError('non-minimal INTEGER', t.start);
  const v = BigInt('0x' + c.toString('hex'));
  return c[0]! & 0x80 ? v - (1n << BigInt(c.length * 8)) : v;
}

/** A BIT STRING whose unused bits are zero (X.690 §11.2.1). */
export function decodeBitStringStrict(t: Tlv): { bytes: Buffer; unusedBits: number } {
  const r = decodeBitString(t);
  if (r.unusedBits > 0 && (r.bytes[r.bytes.length - 1]! & ((1 << r.unusedBits) - 1)) !== 0) throw new DerError('BIT STRING with non-zero padding bits', t.start);
  return r;
}

/** A signature BIT STRING: whole octets only (0 unused bits), as OpenSSL requires ("invalid bit string bits left"). */
export function decodeSignatureBits(t: Tlv, what: string): Buffer {
  const r = decodeBitString(t);
  if (r.unusedBits !== 0) throw new DerError(`${what}: BIT STRING with ${r.unusedBits} unused bits (a signature is whole octets)`, t.start);
  return r.bytes;
}

/**
 * A named-bit BIT STRING (KeyUsage, ReasonFlags) in DER: no trailing zero bits (X.690 §11.2.2), so the last octet's
 * lowest used bit is set and the padding is zero. An empty value is 03 01 00.
 */
export function decodeNamedBitsStrict(t: Tlv): number[] {
  const { bytes, unusedBits } = decodeBitStringStrict(t);
  if (bytes.length > 0 && (bytes[bytes.length - 1]! & (1 << unusedBits)) === 0) throw new DerError('named BIT STRING with trailing zero bits (not DER)', t.start);
  return decodeNamedBits(t);
}

/** Reads the children of one constructed value in order. */
export class DerReader {
  private readonly items: Tlv[];
  private i = 0;
  constructor(
    parent: Tlv,
    private readonly what: string,
  ) {
    if (!parent.constructed) throw new DerError(`${what}: expected a constructed value`, parent.start);
    this.items = children(parent);
  }
  /** A reader over the single TLV that `buf` must consist of (nothing after it). */
  static of(buf: Buffer, tag: number, what: string): DerReader {
    return new DerReader(expectTag(readSingle(buf), tag, what), what);
  }
  get remaining(): number {
    return this.items.length - this.i;
  }
  peekTag(): number | undefined {
    return this.items[this.i]?.tag;
  }
  /** The next field, which must have `tag`. */
  read(tag: number, field: string): Tlv {
    const t = this.items[this.i];
    if (!t) throw new DerError(`${this.what}: missing ${field}`, 0);
    expectTag(t, tag, `${this.what}.${field}`);
    this.i++;
    return t;
  }
  /** The next field if it has `tag`. */
  optional(tag: number): Tlv | undefined {
    if (this.items[this.i]?.tag !== tag) return undefined;
    return this.items[this.i++];
  }
  /** The next field, whatever its tag. */
  any(field: string): Tlv {
    const t = this.items[this.i];
    if (!t) throw new DerError(`${this.what}: missing ${field}`, 0);
    this.i++;
    return t;
  }
  sequence(field: string): DerReader {
    return new DerReader(this.read(TAG.SEQUENCE, field), `${this.what}.${field}`);
  }
  boolean(field: string): boolean {
    return decodeBoolean(this.read(TAG.BOOLEAN, field));
  }
  /** BOOLEAN DEFAULT FALSE: absent means false; an explicit FALSE is not DER (X.690 §11.5). */
  booleanDefaultFalse(field: string): boolean {
    const t = this.optional(TAG.BOOLEAN);
    if (!t) return false;
    if (!decodeBoolean(t)) throw new DerError(`${this.what}.${field}: DEFAULT FALSE encoded explicitly`, t.start);
    return true;
  }
  integer(field: string): bigint {
    return decodeSignedInteger(this.read(TAG.INTEGER, field));
  }
  oid(field: string): string {
    return decodeOid(this.read(TAG.OID, field));
  }
  /** Refuses anything after the fields read. */
  end(): void {
    const t = this.items[this.i];
    if (t) throw new DerError(`${this.what}: unexpected field (tag 0x${t.tag.toString(16)}) after the last one`, t.start);
  }
}
