import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { DerError, decodeOid, decodeTime, decodeUnsignedInteger, integer, namedBitString, oid, readSingle, readTlv, time } from '../../src/asn1/der.js';
import { decodeNameDer, encodeName, formatDn, parseDn } from '../../src/x509/name.js';
import { parseSan } from '../../src/x509/extensions.js';
import { normaliseSerial, newSerial, parseReason } from '../../src/domain/serial.js';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';
import { seededRandom } from '../helpers.js';

describe('DER', () => {
  it.each([
    ['1.2.840.10045.4.3.2', '06082a8648ce3d040302'],
    ['2.5.29.19', '0603551d13'],
    ['1.3.6.1.4.1.311.21.7', '06092b0601040182371507'],
  ])('ok/OID %s encodes to %s and back', (dotted, hex) => {
    expect(oid(dotted).toString('hex')).toBe(hex);
    expect(decodeOid(readSingle(Buffer.from(hex, 'hex')))).toBe(dotted);
  });

  it.each([
    [0, '020100'],
    [127, '02017f'],
    [128, '02020080'],
    [65535, '020300ffff'],
  ])('ok/INTEGER %i is minimal two\'s complement', (n, hex) => {
    expect(integer(n).toString('hex')).toBe(hex);
    expect(decodeUnsignedInteger(readSingle(Buffer.from(hex, 'hex')))).toBe(BigInt(n));
  });

  it('ok/KeyUsage bits drop trailing zeros and set the unused-bit count (X.690 §11.2.2)', () => {
    expect(namedBitString([0]).toString('hex')).toBe('03020780'); // digitalSignature
    expect(namedBitString([5, 6]).toString('hex')).toBe('03020106'); // keyCertSign, cRLSign
  });

  it.each([
    ['2049-12-31T23:59:59Z', '170d3439313233313233353935395a'],
    ['2050-01-01T00:00:00Z', '180f32303530303130313030303030305a'],
  ])('ok/%s uses UTCTime before 2050 and GeneralizedTime from 2050', (iso, hex) => {
    expect(time(new Date(iso)).toString('hex')).toBe(hex);
    expect(decodeTime(readSingle(Buffer.from(hex, 'hex'))).toISOString()).toBe(new Date(iso).toISOString());
  });

  it.each([
    ['indefinite length', '3080'],
    ['non-minimal long length', '30810100'],
    ['length past the end', '300500'],
    ['truncated length', '3082'],
    ['huge length field', '3085ffffffffff'],
  ])('fail/%s is rejected', (_what, hex) => {
    expect(() => readTlv(Buffer.from(hex, 'hex'))).toThrow(DerError);
  });

  it('fail/trailing bytes after a single structure', () => {
    expect(() => readSingle(Buffer.from('30000000', 'hex'))).toThrow(/trailing/);
  });
});

describe('distinguished names', () => {
  it('ok/RFC 4514 order: the first RDN in the string is the last in DER (as openssl prints it)', () => {
    const der = encodeName(parseDn('CN=web-01,OU=Platform,O=Example,C=DE'));
    expect(formatDn(decodeNameDer(der))).toBe('CN=web-01,OU=Platform,O=Example,C=DE');
    // openssl agrees on the order and the string types.
    const dump = execFileSync('openssl', ['asn1parse', '-inform', 'DER'], { input: der }).toString();
    expect(dump.indexOf('countryName')).toBeGreaterThan(0);
    expect(dump.indexOf('countryName')).toBeLessThan(dump.indexOf('commonName'));
    expect(dump).toMatch(/PRINTABLESTRING\s+:DE/);
    expect(dump).toMatch(/UTF8STRING\s+:web-01/);
  });

  it('ok/escapes and multi-valued RDNs round-trip', () => {
    const dn = 'CN=Smith\\, John+UID=jsmith,O=Acme \\"Labs\\",DC=example,DC=com';
    expect(formatDn(parseDn(dn))).toBe(dn);
    expect(formatDn(parseDn('CN=caf\\C3\\A9'))).toBe('CN=café');
  });

  it.each([
    ['CN=', 'empty value'],
    ['XX=1', 'unknown attribute type'],
    ['C=Germany', 'two-letter'],
    [`CN=${'a'.repeat(65)}`, 'at most 64'],
    ['justtext', 'not TYPE=value'],
  ])('fail/%s → USAGE_BAD_SUBJECT (%s)', (dn, why) => {
    try {
      parseDn(dn);
      expect.unreachable();
    } catch (e) {
      expect((e as PkiError).code).toBe('USAGE_BAD_SUBJECT');
      expect((e as PkiError).message).toContain(why);
    }
  });
});

describe('SANs, serials, reasons, durations', () => {
  it.each([
    ['dns:web-01.example.com', 'dns', 'web-01.example.com'],
    ['URI:spiffe://example.com/ns/web', 'uri', 'spiffe://example.com/ns/web'],
    ['ip:2001:db8::1', 'ip', '2001:db8::1'],
    ['email:ops@example.com', 'email', 'ops@example.com'],
  ])('ok/--san %s', (text, type, value) => {
    expect(parseSan(text)).toEqual({ type, value });
  });

  it.each(['dns:-bad-.example', 'ip:999.1.1.1', 'uri:no-scheme', 'other:x', 'email:nobody'])('fail/--san %s → USAGE_BAD_SAN', (text) => {
    expect(() => parseSan(text)).toThrow(expect.objectContaining({ code: 'USAGE_BAD_SAN' }));
  });

  it('ok/new serials are 16 octets, positive, with no leading zero octet', () => {
    const rnd = seededRandom('serials');
    for (let i = 0; i < 1000; i++) {
      const s = newSerial(rnd);
      expect(s.length).toBe(16);
      expect(s[0]! & 0x80).toBe(0);
      expect(s[0]).toBeGreaterThanOrEqual(0x40);
    }
  });

  it.each([
    ['4F:2A:00:C1', '4f2a00c1'],
    ['0x00ff', 'ff'],
    ['abc', '0abc'],
  ])('ok/serial %s normalises to %s', (text, hex) => {
    expect(normaliseSerial(text)).toBe(hex);
  });

  it('fail/non-hex serial → USAGE_BAD_SERIAL', () => {
    expect(() => normaliseSerial('12g4')).toThrow(expect.objectContaining({ code: 'USAGE_BAD_SERIAL' }));
  });

  it('ok/reasons are case-insensitive; holds are refused', () => {
    expect(parseReason('KEYCOMPROMISE')).toBe(1);
    expect(parseReason('cessationOfOperation')).toBe(5);
    expect(() => parseReason('certificateHold')).toThrow(/permanent/);
  });

  it('ok/durations', () => {
    expect(parseDuration('1d12h', 'x')).toBe(129600);
    expect(parseDuration('10y', 'x')).toBe(315360000);
    expect(formatDuration(129600)).toBe('1d12h');
    expect(() => parseDuration('7 days', '--validity')).toThrow(/--validity/);
  });
});
