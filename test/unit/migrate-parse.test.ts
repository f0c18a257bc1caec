import { describe, expect, it } from 'vitest';
import { parseAsn1Time, parseIndexLine } from '../../src/app/import/openssl-ca.js';
import { checkCountry, parseCfsslCsr } from '../../src/app/csr.js';
import { formatDn, parseDn, slashDnToRfc4514 } from '../../src/x509/name.js';

const line = (...f: string[]) => f.join('\t');

describe('openssl index.txt lines', () => {
  it('reads V, R (with reason) and E lines, UTCTime and GeneralizedTime, any serial case', () => {
    expect(parseIndexLine(line('V', '270301120000Z', '', '0A1B', 'unknown', '/O=Example/CN=web-01'), 'index.txt', 1)).toEqual({
      line: 1, status: 'V', notAfter: new Date('2027-03-01T12:00:00Z'), revokedAt: null, reason: 0, invalidityDate: null, serial: '0a1b', subject: 'CN=web-01,O=Example',
    });
    const r = parseIndexLine(line('R', '20510101000000Z', '260115083000Z,keyCompromise', '00FF01', 'unknown', '/CN=x'), 'index.txt', 2);
    expect(r).toMatchObject({ status: 'R', notAfter: new Date('2051-01-01T00:00:00Z'), revokedAt: new Date('2026-01-15T08:30:00Z'), reason: 1, serial: 'ff01' });
    expect(parseIndexLine(line('E', '990101000000Z', '', '01', 'unknown', '/CN=y'), 'f', 3)).toMatchObject({ status: 'E', notAfter: new Date('1999-01-01T00:00:00Z') });
  });

  it('maps openssl\'s reason extensions: keyTime keeps the compromise time, holdInstruction is a hold', () => {
    expect(parseIndexLine(line('R', '270301120000Z', '260115083000Z,keyTime,20260110000000Z', '01', 'unknown', '/CN=x'), 'f', 1)).toMatchObject({ reason: 1, invalidityDate: new Date('2026-01-10T00:00:00Z') });
    expect(parseIndexLine(line('R', '270301120000Z', '260115083000Z,CAkeyTime,20260110000000Z', '01', 'unknown', '/CN=x'), 'f', 1)).toMatchObject({ reason: 2 });
    expect(parseIndexLine(line('R', '270301120000Z', '260115083000Z,holdInstruction,1.2.840.10040.2.2', '01', 'unknown', '/CN=x'), 'f', 1)).toMatchObject({ reason: 6 });
    expect(parseIndexLine(line('R', '270301120000Z', '260115083000Z,CACompromise', '01', 'unknown', '/CN=x'), 'f', 1)).toMatchObject({ reason: 2 });
  });

  it.each([
    [line('V', '271301000000Z', '', '01', 'unknown', '/CN=x'), /f:7: expiry "271301000000Z" is not a date/],
    [line('V', '270230000000Z', '', '01', 'unknown', '/CN=x'), /expiry "270230000000Z" is not a date/],
    [line('X', '270101000000Z', '', '01', 'unknown', '/CN=x'), /status "X" is not V, R or E/],
    [line('V', '270101000000Z', '260101000000Z', '01', 'unknown', '/CN=x'), /status V with a revocation field/],
    [line('R', '270101000000Z', '', '01', 'unknown', '/CN=x'), /status R without a revocation date/],
    [line('R', '270101000000Z', '260101000000Z,removeFromCRL', '01', 'unknown', '/CN=x'), /removeFromCRL cannot be imported/],
    [line('R', '270101000000Z', '260101000000Z,keyTime', '01', 'unknown', '/CN=x'), /keyTime needs a compromise time/],
    [line('V', '270101000000Z', '', 'XYZ', 'unknown', '/CN=x'), /serial "XYZ" is not hexadecimal/],
    [line('R', '270101000000Z', '260101000000Z', '-0A', 'unknown', '/CN=x'), /serial "-0A" is negative/],
    ['V 270101000000Z  01 unknown /CN=x', /expected 6 tab-separated fields/],
  ])('refuses %j naming file:line', (text, msg) => {
    expect(() => parseIndexLine(text, 'f', 7)).toThrow(msg);
    try {
      parseIndexLine(text, 'f', 7);
    } catch (e: any) {
      expect(e.code).toBe('USAGE_BAD_INDEX_LINE');
      expect(e.details).toEqual({ file: 'f', line: 7 });
    }
  });

  it('checks ASN.1 times strictly', () => {
    expect(parseAsn1Time('491231235959Z')).toEqual(new Date('2049-12-31T23:59:59Z'));
    expect(parseAsn1Time('500101000000Z')).toEqual(new Date('1950-01-01T00:00:00Z'));
    for (const bad of ['2701010000Z', '270101000000', '270101246000Z', '270101000060Z', '20270101000000+0100']) expect(parseAsn1Time(bad)).toBeUndefined();
  });
});

describe('subjects in openssl\'s slash form', () => {
  it('is written least specific first and converts to RFC 4514 (most specific first)', () => {
    expect(slashDnToRfc4514('/C=US/O=Example/CN=web-01')).toBe('CN=web-01,O=Example,C=US');
    expect(formatDn(parseDn('/C=US/O=Example/CN=web-01'))).toBe(formatDn(parseDn('CN=web-01,O=Example,C=US')));
    expect(formatDn(parseDn('/O=A\\/B, Inc./CN=x+UID=7'))).toBe(formatDn(parseDn('CN=x+UID=7,O=A/B\\, Inc.')));
    expect(parseDn('/O=Example/CN=web-01/')).toEqual(parseDn('CN=web-01,O=Example'));
  });

  it.each([['/'], ['/CN'], ['/O=Example//CN=x'], ['/C=USA/CN=x']])('refuses %s with USAGE_BAD_SUBJECT', (s) => {
    expect(() => parseDn(s)).toThrow(expect.objectContaining({ code: 'USAGE_BAD_SUBJECT' }));
  });
});

describe('cfssl CSR JSON', () => {
  it('suggests a country code for a country name', () => {
    expect(checkCountry('India', 'csr.json: names[0].C')?.message).toBe('csr.json: names[0].C: C must be a two-letter ISO 3166 code: did you mean "IN"?');
    expect(checkCountry('United States', 'x')?.message).toContain('did you mean "US"?');
    expect(checkCountry('us', 'x')?.message).toContain('did you mean "US"?');
    expect(checkCountry('Atlantis', 'x')?.message).toContain('got "Atlantis"');
    expect(checkCountry('DE', 'x')).toBeUndefined();
  });

  it('defaults the key as cfssl does (ecdsa 256, rsa 2048) and refuses odd sizes by name', () => {
    expect(parseCfsslCsr('{"CN":"a"}', 'f').keyType).toBeUndefined();
    expect(parseCfsslCsr('{"CN":"a","key":{"algo":"rsa"}}', 'f').keyType).toBe('rsa-2048');
    expect(parseCfsslCsr('{"CN":"a","key":{"algo":"ecdsa"}}', 'f').keyType).toBe('ecdsa-p256');
    expect(() => parseCfsslCsr('{"CN":"a","key":{"algo":"rsa","size":1024}}', 'f')).toThrow(/key.size: 1024 is not a rsa size/);
    expect(() => parseCfsslCsr('{}', 'f')).toThrow(/subject is empty/);
    expect(() => parseCfsslCsr('{"CN":', 'f')).toThrow(/is not JSON/);
  });
});
