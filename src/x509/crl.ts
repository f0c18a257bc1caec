/**
 * The CRL codec (RFC 5280 §5). Hand-written for size: pkijs needs 78 s and 4.7 GiB to build a 1M-entry CRL and
 * cannot parse one past ~3,300 entries with its defaults (shared perf baselines), while a CRL is a long run of small,
 * identical-shaped entries that a streaming encoder writes at hashing speed.
 *
 * Encoding: each revocation's entry is encoded once, when it is revoked, and kept in the store; a CRL is a header,
 * the concatenated entries (streamed from a store cursor) and the extensions. Decoding: the header is parsed with
 * the strict DER reader; entries are walked by a tight loop that allocates nothing per entry unless asked for it.
 */
import { PkiError } from '../errors.js';
import { TAG, DerError, bool, children, decodeSignatureBits, decodeOid, decodeSignedInteger, decodeTime, decodeUnsignedInteger, expectTag, integer, integerFromBytes, octetString, oid, readLength, readSingle, readTlv, seq, time, tlv, explicit, type Tlv } from '../asn1/der.js';
import { serialFromOctets, serialToOctets } from '../domain/serial.js';
import { decodeAuthorityKeyIdentifier, decodeExtensions, encodeAuthorityKeyIdentifier, type Extension } from './extensions.js';
import { decodeName, formatDn } from './name.js';
import { OID, SIGNATURE_ALGORITHM_NAMES } from '../asn1/oids.js';
import { decodePemBlocks } from '../asn1/pem.js';
import { mlDsaTypeForOid } from '../crypto/mldsa.js';

// ----------------------------------------------------------------------------------------------------------------
// Encoding

/** RFC 5280 §5.3.2: invalidityDate is always GeneralizedTime. */
function generalizedTime(d: Date): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const s = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(TAG.GENERALIZED_TIME, Buffer.from(s, 'latin1'));
}

function extension(extOid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(extOid), bool(true), octetString(value)) : seq(oid(extOid), octetString(value));
}

/**
 * One revokedCertificates entry. `reason` 0 (unspecified) is omitted, as RFC 5280 §5.3.1 recommends.
 * `serialHex` is the canonical serial (src/domain/serial.ts).
 */
export function encodeCrlEntry(serialHex: string, revocationDate: Date, reason: number | null, invalidityDate: Date | null): Buffer {
  const serial = serialToOctets(serialHex);
  const exts: Buffer[] = [];
  if (reason) exts.push(extension(OID.crlReason, false, tlv(TAG.ENUMERATED, Buffer.from([reason]))));
  if (invalidityDate) exts.push(extension(OID.invalidityDate, false, generalizedTime(invalidityDate)));
  return exts.length ? seq(integerFromBytes(serial), time(revocationDate), seq(...exts)) : seq(integerFromBytes(serial), time(revocationDate));
}

/** The length-prefix bytes of a DER TLV with `len` content bytes and single-byte `tag`. */
export function tlvHeader(tag: number, len: number): Buffer {
  if (len < 0x80) return Buffer.from([tag, len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
}

export interface CrlHeaderFields {
  algorithmIdentifier: Buffer;
  issuerName: Buffer;
  issuerKeyId: Buffer;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: bigint;
}

/**
 * The parts of a TBSCertList around the entries: everything before them (up to and including the
 * revokedCertificates header, absent when there are no entries) and the extensions after them.
 */
export function crlTbsParts(f: CrlHeaderFields, entryBytes: number): { before: Buffer; after: Buffer; tbsLength: number } {
  const head = Buffer.concat([integer(1), f.algorithmIdentifier, f.issuerName, time(f.thisUpdate), time(f.nextUpdate)]);
  const revokedHeader = entryBytes > 0 ? tlvHeader(TAG.SEQUENCE, entryBytes) : Buffer.alloc(0);
  const after = explicit(0, seq(extension(OID.authorityKeyIdentifier, false, encodeAuthorityKeyIdentifier(f.issuerKeyId)), extension(OID.crlNumber, false, integer(f.crlNumber))));
  const content = head.length + revokedHeader.length + entryBytes + after.length;
  const before = Buffer.concat([tlvHeader(TAG.SEQUENCE, content), head, revokedHeader]);
  return { before, after, tbsLength: before.length + entryBytes + after.length };
}

/** Exact length of a PEM "X509 CRL" for `derLength` DER bytes (64-character lines, LF endings). */
export function pemLength(derLength: number, label = 'X509 CRL'): number {
  const b64 = 4 * Math.ceil(derLength / 3);
  const lines = Math.ceil(b64 / 64);
  return `-----BEGIN ${label}-----\n`.length + b64 + lines + `-----END ${label}-----\n`.length;
}

// ----------------------------------------------------------------------------------------------------------------
// Decoding

export interface CrlEntry {
  /** The canonical serial (src/domain/serial.ts): compare it with a certificate's `serialHex`. */
  serialHex: string;
  revocationDate: Date;
  /** RFC 5280 reason code; absent means unspecified. */
  reason?: number;
  invalidityDate?: Date;
}

export interface DecodedCrl {
  der: Buffer;
  tbs: Buffer;
  version: number;
  signatureAlgorithm: string;
  signatureAlgorithmName: string;
  issuerDer: Buffer;
  issuerDn: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  authorityKeyId?: Buffer;
  extensions: Extension[];
  signature: Buffer;
  /** Offset and end of the revokedCertificates content within `der` (equal when there are none). */
  entriesStart: number;
  entriesEnd: number;
}

/** Reads PEM ("X509 CRL") or DER bytes into DER; CRYPTO_BAD_CRL naming `source` on failure. */
export function crlDerFromFile(data: Buffer, source: string): Buffer {
  if (data.length > 0 && data[0] === 0x30) return data;
  const text = data.toString('latin1');
  const blocks = text.includes('-----BEGIN') ? decodePemBlocks(text, source).filter((b) => b.label === 'X509 CRL') : [];
  if (!blocks.length) throw new PkiError('CRYPTO_BAD_CRL', `${source}: neither a PEM "X509 CRL" block nor DER`, { details: { file: source } });
  // One CRL here: using the first of several would silently ignore the revocations the others list.
  if (blocks.length > 1) throw new PkiError('CRYPTO_BAD_CRL', `${source}: holds ${blocks.length} CRLs; give one CRL per file`, { details: { file: source } });
  return blocks[0]!.der;
}

/** Parses the CRL's structure and header (not the entries). Throws CRYPTO_BAD_CRL naming `source`. */
export function decodeCrl(der: Buffer, source: string): DecodedCrl {
  try {
    const outer = readTlv(der, 0, der.length);
    if (outer.tag !== TAG.SEQUENCE) throw new DerError('CertificateList is not a SEQUENCE', 0);
    if (outer.end !== der.length) throw new DerError(`${der.length - outer.end} trailing bytes`, outer.end);
    const tbsT = readTlv(der, outer.contentStart, outer.end);
    expectTag(tbsT, TAG.SEQUENCE, 'TBSCertList');
    const algT = readTlv(der, tbsT.end, outer.end);
    const sigT = readTlv(der, algT.end, outer.end);
    if (sigT.end !== outer.end) throw new DerError('extra data after signatureValue', sigT.end);
    // TBSCertList fields, in order (RFC 5280 §5.1), each at most once, nothing after the extensions. The entries are
    // skipped here, not parsed.
    let p = tbsT.contentStart;
    const peek = (): Tlv | undefined => (p < tbsT.end ? readTlv(der, p, tbsT.end) : undefined);
    const next = (what: string) => {
      const t = peek();
      if (!t) throw new DerError(`TBSCertList: missing ${what}`, p);
      p = t.end;
      return t;
    };
    let version = 1;
    if (peek()?.tag === TAG.INTEGER) {
      const v = decodeSignedInteger(next('version'));
      if (v !== 1n) throw new DerError(`CRL version ${v} (only v2, encoded as 1, may be given)`, tbsT.contentStart);
      version = 2;
    }
    const innerAlg = expectTag(next('signature'), TAG.SEQUENCE, 'signature');
    if (!innerAlg.raw.equals(algT.raw)) throw new DerError('the two signature algorithms differ', innerAlg.start);
    const issuerT = expectTag(next('issuer'), TAG.SEQUENCE, 'issuer');
    const thisUpdate = decodeTime(next('thisUpdate'));
    let nextUpdate: Date | undefined;
    let entriesStart = p;
    let entriesEnd = p;
    let extensions: Extension[] = [];
    let t = peek();
    if (t && (t.tag === TAG.UTC_TIME || t.tag === TAG.GENERALIZED_TIME)) {
      nextUpdate = decodeTime(next('nextUpdate'));
      t = peek();
    }
    if (t?.tag === TAG.SEQUENCE) {
      next('revokedCertificates');
      // §5.1.2.6: when there are no revoked certificates, the list MUST be absent.
      if (t.content.length === 0) throw new DerError('empty revokedCertificates (it must be absent when there are none)', t.start);
      entriesStart = t.contentStart;
      entriesEnd = t.end;
      t = peek();
    }
    if (t?.tag === 0xa0) {
      next('crlExtensions');
      if (version !== 2) throw new DerError('crlExtensions in a v1 CRL', t.start);
      const wrapper = children(t);
      if (wrapper.length !== 1) throw new DerError('crlExtensions must hold exactly one Extensions SEQUENCE', t.start);
      extensions = decodeExtensions(expectTag(wrapper[0], TAG.SEQUENCE, 'crlExtensions'));
      t = peek();
    }
    if (t) throw new DerError(`unexpected field (tag 0x${t.tag.toString(16)}) in TBSCertList`, t.start);
    if (entriesStart === entriesEnd) entriesStart = entriesEnd = p;
    const [sigOidT, sigParamsT] = children(expectTag(algT, TAG.SEQUENCE, 'signatureAlgorithm'));
    const sigAlg = decodeOid(sigOidT!);
    const mlDsa = mlDsaTypeForOid(sigAlg);
    if (mlDsa && sigParamsT) throw new DerError(`${mlDsa} signatureAlgorithm with parameters (RFC 9881 §3: parameters MUST be absent)`, sigParamsT.start);
    const numberExt = extensions.find((e) => e.oid === OID.crlNumber);
    const akiExt = extensions.find((e) => e.oid === OID.authorityKeyIdentifier);
    const out: DecodedCrl = {
      der,
      tbs: tbsT.raw,
      version,
      signatureAlgorithm: sigAlg,
      signatureAlgorithmName: SIGNATURE_ALGORITHM_NAMES[sigAlg] ?? sigAlg,
      issuerDer: Buffer.from(issuerT.raw),
      issuerDn: formatDn(decodeName(issuerT)),
      thisUpdate,
      extensions,
      signature: decodeSignatureBits(expectTag(sigT, TAG.BIT_STRING, 'signatureValue'), 'signatureValue'),
      entriesStart,
      entriesEnd,
    };
    if (nextUpdate) out.nextUpdate = nextUpdate;
    if (numberExt) out.crlNumber = decodeUnsignedInteger(readSingle(numberExt.value));
    if (akiExt) {
      const id = decodeAuthorityKeyIdentifier(akiExt.value);
      if (id) out.authorityKeyId = id;
    }
    return out;
  } catch (e) {
    if (e instanceof PkiError) throw new PkiError('CRYPTO_BAD_CRL', `${source}: ${e.message}`, { details: { file: source }, cause: e });
    throw new PkiError('CRYPTO_BAD_CRL', `${source}: not a valid CRL (${(e as Error).message})`, { details: { file: source }, cause: e });
  }
}

/** What the start of a CRL says: its issuer and where its entries lie (offsets into the whole DER). */
export interface CrlPrefix {
  issuerDer: Buffer;
  issuerDn: string;
  /** Length of the whole CRL's DER. */
  derLength: number;
  entriesStart: number;
  entriesEnd: number;
}

/**
 * Reads the header of a CRL from the first bytes of its DER (`prefix`, up to at least the revokedCertificates
 * header): the issuer and the range of the entries, without the rest of the CRL in memory. Throws CRYPTO_BAD_CRL
 * naming `source`, also when the prefix is too short to hold the header.
 */
export function decodeCrlPrefix(prefix: Buffer, source: string): CrlPrefix {
  try {
    if (prefix[0] !== TAG.SEQUENCE) throw new DerError('CertificateList is not a SEQUENCE', 0);
    const [outerLen, outerStart] = readLength(prefix, 1, prefix.length);
    if (prefix[outerStart] !== TAG.SEQUENCE) throw new DerError('TBSCertList is not a SEQUENCE', outerStart);
    const [tbsLen, tbsStart] = readLength(prefix, outerStart + 1, prefix.length);
    const tbsEnd = tbsStart + tbsLen;
    if (tbsEnd > outerStart + outerLen) throw new DerError('TBSCertList runs past the CRL', outerStart);
    const limit = Math.min(prefix.length, tbsEnd);
    // An optional field is told apart by its first byte: that byte must be at hand (a short prefix is an error).
    const peek = (at: number): number | undefined => {
      if (at >= tbsEnd) return undefined;
      if (at >= prefix.length) throw new DerError('the CRL header is cut short', at);
      return prefix[at];
    };
    let p = tbsStart;
    if (peek(p) === TAG.INTEGER) p = readTlv(prefix, p, limit).end;
    p = expectTag(readTlv(prefix, p, limit), TAG.SEQUENCE, 'signature').end;
    const issuerT = expectTag(readTlv(prefix, p, limit), TAG.SEQUENCE, 'issuer');
    p = issuerT.end;
    const thisUpdate = readTlv(prefix, p, limit);
    if (thisUpdate.tag !== TAG.UTC_TIME && thisUpdate.tag !== TAG.GENERALIZED_TIME) throw new DerError('thisUpdate is not a time', p);
    p = thisUpdate.end;
    if (peek(p) === TAG.UTC_TIME || peek(p) === TAG.GENERALIZED_TIME) p = readTlv(prefix, p, limit).end;
    let entriesStart = p;
    let entriesEnd = p;
    if (peek(p) === TAG.SEQUENCE) {
      const [len, start] = readLength(prefix, p + 1, limit);
      if (start + len > tbsEnd) throw new DerError('revokedCertificates runs past the TBSCertList', p);
      entriesStart = start;
      entriesEnd = start + len;
    }
    return { issuerDer: Buffer.from(issuerT.raw), issuerDn: formatDn(decodeName(issuerT)), derLength: outerStart + outerLen, entriesStart, entriesEnd };
  } catch (e) {
    if (e instanceof PkiError) throw new PkiError('CRYPTO_BAD_CRL', `${source}: ${e.message}`, { details: { file: source }, cause: e });
    throw new PkiError('CRYPTO_BAD_CRL', `${source}: not a valid CRL (${(e as Error).message})`, { details: { file: source }, cause: e });
  }
}

/**
 * Steps over one CRL entry at `p` in `buf[.., end)` without allocating: writes the serial's content range (leading
 * zero octets skipped) to out[0], out[1] and the next entry's offset to out[2]. Throws DerError on malformed input.
 */
export function stepEntry(buf: Buffer, p: number, end: number, out: Int32Array): void {
  if (buf[p] !== TAG.SEQUENCE) throw new DerError('entry is not a SEQUENCE', p);
  const [entryLen, entryStart] = readLength(buf, p + 1, end);
  const entryEnd = entryStart + entryLen;
  if (entryEnd > end) throw new DerError('entry runs past the list', p);
  if (buf[entryStart] !== TAG.INTEGER) throw new DerError('entry serial is not an INTEGER', entryStart);
  const [serialLen, serialStart] = readLength(buf, entryStart + 1, entryEnd);
  if (serialLen === 0 || serialStart + serialLen > entryEnd) throw new DerError('bad serial', entryStart);
  let s = serialStart;
  while (s < serialStart + serialLen - 1 && buf[s] === 0) s++;
  out[0] = s;
  out[1] = serialStart + serialLen;
  out[2] = entryEnd;
  if (out.length > 3) out[3] = serialStart;
}

/**
 * The serials of concatenated CRL entries in `buf[start, end)`, in order, as views of the serial's content octets
 * without leading zero octets. Byte order of these views equals the order of the lowercase hex serials the store
 * keeps, so the two can be merged. Nothing is allocated per entry but the view.
 */
export function* entrySerialKeys(buf: Buffer, source: string, start = 0, end = buf.length): Generator<Buffer> {
  const at = new Int32Array(3);
  let n = 0;
  for (let p = start; p < end; p = at[2]!) {
    try {
      stepEntry(buf, p, end, at);
    } catch (e) {
      throw new PkiError('CRYPTO_BAD_CRL', `${source}: entry ${n + 1}: ${(e as Error).message}`, { details: { file: source }, cause: e });
    }
    n++;
    yield buf.subarray(at[0]!, at[1]!);
  }
}

const REASON_EXT = Buffer.from('0603551d15', 'hex');
const INVALIDITY_EXT = Buffer.from('0603551d18', 'hex');

/**
 * Walks the entries. With `decode` false only structure, count and reason codes are read (no allocation per
 * entry): the fast path for `crl inspect` and counting. Calls `onEntry` for each entry when `decode` is true.
 * Returns the count and a histogram of reason codes (key -1 = no reason code).
 */
export function walkCrlEntries(crl: DecodedCrl, source: string, onEntry?: (e: CrlEntry) => void): { count: number; reasons: Map<number, number> } {
  const der = crl.der;
  const reasons = new Map<number, number>();
  let count = 0;
  let p = crl.entriesStart;
  const end = crl.entriesEnd;
  const at = new Int32Array(4);
  try {
    while (p < end) {
      stepEntry(der, p, end, at);
      const serialEnd = at[1]!;
      const entryEnd = at[2]!;
      // revocationDate
      const timeTag = der[serialEnd];
      if (timeTag !== TAG.UTC_TIME && timeTag !== TAG.GENERALIZED_TIME) throw new DerError('entry revocationDate is not a time', serialEnd);
      const [timeLen, timeStart] = readLength(der, serialEnd + 1, entryEnd);
      const timeEnd = timeStart + timeLen;
      if (timeEnd > entryEnd) throw new DerError('bad revocationDate', serialEnd);
      let reason = -1;
      let invalidity: Date | undefined;
      if (timeEnd < entryEnd) {
        // crlEntryExtensions: find reasonCode (and invalidityDate when decoding).
        const ext = readTlv(der, timeEnd, entryEnd);
        if (ext.tag !== TAG.SEQUENCE || ext.end !== entryEnd) throw new DerError('bad crlEntryExtensions', timeEnd);
        for (const e of children(ext)) {
          const parts = children(e);
          const id = parts[0]!.raw;
          const value = parts[parts.length - 1]!;
          if (id.equals(REASON_EXT)) {
            const en = readTlv(value.content);
            if (en.tag !== TAG.ENUMERATED || en.content.length !== 1) throw new DerError('bad reasonCode', e.start);
            reason = en.content[0]!;
          } else if (onEntry && id.equals(INVALIDITY_EXT)) invalidity = decodeTime(readTlv(value.content));
        }
      }
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      if (onEntry) {
        const entry: CrlEntry = {
          serialHex: serialFromOctets(der, at[3]!, serialEnd),
          revocationDate: decodeTime(readTlv(der, serialEnd, entryEnd)),
        };
        if (reason >= 0) entry.reason = reason;
        if (invalidity) entry.invalidityDate = invalidity;
        onEntry(entry);
      }
      count++;
      p = entryEnd;
    }
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_CRL', `${source}: entry ${count + 1}: ${(e as Error).message}`, { details: { file: source, entry: count + 1 }, cause: e });
  }
  return { count, reasons };
}
