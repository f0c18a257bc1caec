/** Serial numbers (RFC 5280 §4.1.2.2) and revocation reasons (RFC 5280 §5.3.1). */
import { PkiError } from '../errors.js';

/**
 * A fresh serial: 16 random octets with the top bits set to 01, so it is positive, exactly 16 octets in minimal
 * DER (no 00 pad), and carries 126 random bits (CA/B Forum asks for at least 64).
 */
export function newSerial(randomBytes: (n: number) => Buffer): Buffer {
  const b = Buffer.from(randomBytes(16));
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b;
}

/**
 * {@link newSerial} for many certificates: the random octets are drawn `perDraw` serials at a time (one call of
 * `randomBytes` instead of one per certificate), each serial made from its own 16 octets exactly as newSerial does.
 */
export function serialSource(randomBytes: (n: number) => Buffer, perDraw: number): () => Buffer {
  const per = Math.max(1, Math.floor(perDraw));
  let pool = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at === pool.length) {
      pool = Buffer.from(randomBytes(16 * per));
      at = 0;
    }
    const b = pool.subarray(at, at + 16);
    at += 16;
    b[0] = (b[0]! & 0x3f) | 0x40;
    return b;
  };
}

/**
 * The one serial-number form used everywhere (store, CRL codec, path validation, emulator, revoke, inspect): the
 * INTEGER's value as lowercase hex of even length without a leading zero octet, with `-` before the magnitude for
 * the negative serials some other CAs issued (RFC 5280 §4.1.2.2 forbids them, but they exist and must still be
 * matched). Two serials are the same certificate serial exactly when their canonical forms are equal: `00 80 11`
 * (DER of 0x8011) and a CRL's `80 11` read as unsigned are both "8011", while `ff` (-1) is "-01", never "ff" (255).
 * Non-minimal encodings (`00 7f`) are normalised to their value, as certificate readers elsewhere do.
 */
export function serialFromOctets(content: Uint8Array, start = 0, end = content.length): string {
  if (end <= start) return '00';
  if (content[start]! & 0x80) {
    // Negative: two's complement → magnitude. Rare (other CAs' mistakes), so bigint is fine.
    const v = BigInt('0x' + Buffer.from(content.subarray(start, end)).toString('hex')) - (1n << BigInt((end - start) * 8));
    const hex = (-v).toString(16);
    return `-${hex.length % 2 ? '0' : ''}${hex}`;
  }
  let s = start;
  while (s < end - 1 && content[s] === 0) s++;
  return Buffer.from(content.buffer, content.byteOffset + s, end - s).toString('hex');
}

/** The minimal DER INTEGER content octets of a canonical serial ({@link serialFromOctets}). */
export function serialToOctets(canonical: string): Buffer {
  if (canonical.startsWith('-')) {
    let v = -BigInt('0x' + canonical.slice(1));
    const bytes: number[] = [];
    do {
      bytes.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (!(v === -1n && bytes[0]! & 0x80));
    return Buffer.from(bytes);
  }
  const b = Buffer.from(canonical.length % 2 ? `0${canonical}` : canonical, 'hex');
  return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b;
}

/** The serial's value in decimal (the form AWS4-X509's `Credential=` carries). */
export function serialToDecimal(canonical: string): string {
  const neg = canonical.startsWith('-');
  const v = BigInt(`0x${canonical.replace(/^-/, '').replace(/:/g, '') || '0'}`);
  return (neg ? -v : v).toString(10);
}

/**
 * Normalises a user-typed serial (hex with optional 0x, colons, spaces; any case; `-` for a negative serial) to the
 * canonical form ({@link serialFromOctets}).
 */
export function normaliseSerial(text: string, flag = 'input.serial'): string {
  const trimmed = text.trim();
  const negative = trimmed.startsWith('-');
  const hex = trimmed.replace(/^-/, '').replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 42)
    throw new PkiError('USAGE_BAD_SERIAL', `${flag} "${text}" is not a hexadecimal serial number`, { details: { flag, serial: text } });
  const stripped = hex.replace(/^(00)+/, '');
  const even = stripped.length % 2 ? `0${stripped}` : stripped;
  if (even === '' || /^0*$/.test(even)) return '00';
  return negative ? `-${even}` : even;
}

export const REVOCATION_REASONS: Record<string, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

export function reasonName(code: number): string {
  return Object.entries(REVOCATION_REASONS).find(([, v]) => v === code)?.[0] ?? `reason${code}`;
}

/** Reasons `pki revoke` accepts: revocation here is permanent, so hold/removeFromCRL are refused. */
export const ACCEPTED_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn', 'aACompromise'];

export function parseReason(text: string, flag = 'input.reason'): number {
  const name = Object.keys(REVOCATION_REASONS).find((k) => k.toLowerCase() === text.trim().toLowerCase());
  if (name === 'certificateHold' || name === 'removeFromCRL')
    throw new PkiError('USAGE_BAD_REASON', `${flag} ${name} is not supported: revocation is permanent here (no holds)`, {
      details: { flag, reason: text },
      hint: `use one of ${ACCEPTED_REASONS.join(', ')}`,
    });
  if (!name) throw new PkiError('USAGE_BAD_REASON', `${flag} "${text}" is not a revocation reason (use one of ${ACCEPTED_REASONS.join(', ')})`, { details: { flag, reason: text } });
  return REVOCATION_REASONS[name]!;
}
