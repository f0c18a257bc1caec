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

/** Normalises a user-typed serial (hex with optional 0x, colons, spaces; any case) to our stored form. */
export function normaliseSerial(text: string, flag = '--serial'): string {
  const hex = text.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 42)
    throw new PkiError('USAGE_BAD_SERIAL', `${flag} "${text}" is not a hexadecimal serial number`, { details: { flag, serial: text } });
  const stripped = hex.replace(/^(00)+/, '');
  const even = stripped.length % 2 ? `0${stripped}` : stripped;
  return even === '' ? '00' : even;
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

export function parseReason(text: string, flag = '--reason'): number {
  const name = Object.keys(REVOCATION_REASONS).find((k) => k.toLowerCase() === text.trim().toLowerCase());
  if (name === 'certificateHold' || name === 'removeFromCRL')
    throw new PkiError('USAGE_BAD_REASON', `${flag} ${name} is not supported: revocation is permanent here (no holds)`, {
      details: { flag, reason: text },
      hint: `use one of ${ACCEPTED_REASONS.join(', ')}`,
    });
  if (!name) throw new PkiError('USAGE_BAD_REASON', `${flag} "${text}" is not a revocation reason (use one of ${ACCEPTED_REASONS.join(', ')})`, { details: { flag, reason: text } });
  return REVOCATION_REASONS[name]!;
}
