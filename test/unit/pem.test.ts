/**
 * PEM decoding (RFC 7468): one pass, linear in the input, strict about boundaries and base64; the streaming
 * decoder gives the same blocks whatever the chunking.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodePemBlocks, PemDecoder, toPem } from '../../src/asn1/pem.js';

const bad = (text: string) => {
  try {
    decodePemBlocks(text, 'f.pem');
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error(`accepted: ${JSON.stringify(text.slice(0, 60))}`);
};

describe('PEM decoding', () => {
  it('round-trips blocks with explanatory text around them; CRLF, trailing spaces and short lines are read', () => {
    const a = randomBytes(1000);
    const b = randomBytes(2);
    const text = `Subject: test\n${toPem('CERTIFICATE', a)}\nnotes between\n${toPem('X509 CRL', b).replace(/\n/g, '  \r\n')}trailing text`;
    const blocks = decodePemBlocks(text, 'f.pem');
    expect(blocks.map((x) => x.label)).toEqual(['CERTIFICATE', 'X509 CRL']);
    expect(blocks[0]!.der.equals(a)).toBe(true);
    expect(blocks[1]!.der.equals(b)).toBe(true);
    const odd = `-----BEGIN X-----\n${a.toString('base64').replace(/(.{1,7})/g, '$1\n')}-----END X-----`;
    expect(decodePemBlocks(odd, 'f')[0]!.der.equals(a)).toBe(true);
    for (const n of [0, 1, 2, 3, 4, 5]) {
      const d = randomBytes(n);
      expect(decodePemBlocks(toPem('P', d), 'f')[0]!.der.equals(d)).toBe(true);
    }
  });

  it('the same blocks whatever the chunking (1 byte at a time, 7 bytes, whole)', () => {
    const text = Buffer.from(`hello\n-\n${toPem('CERTIFICATE', randomBytes(300))}${toPem('PRIVATE KEY', randomBytes(97))}`);
    const whole = decodePemBlocks(text, 'f');
    for (const size of [1, 7]) {
      const d = new PemDecoder('f');
      for (let i = 0; i < text.length; i += size) d.push(text.subarray(i, i + size));
      expect(d.end()).toEqual(whole);
    }
  });

  it('strict: mismatched labels, BEGIN inside a block, no END, END without BEGIN, bad base64, misplaced padding, headers', () => {
    const body = randomBytes(30).toString('base64');
    const cases: [string, RegExp][] = [
      [`-----BEGIN CERTIFICATE-----\n${body}\n-----END X509 CRL-----\n`, /BEGIN CERTIFICATE ends with END X509 CRL/],
      [`-----BEGIN X509 CRL-----\n-----BEGIN X509 CRL-----\n${body}\n-----END X509 CRL-----\n`, /BEGIN line inside/],
      [`-----BEGIN CERTIFICATE-----\n${body}\n`, /no END line/],
      [`text\n-----END CERTIFICATE-----\n`, /without a BEGIN/],
      [`-----BEGIN CERTIFICATE-----\n${body.slice(0, 8)}!${body.slice(8)}\n-----END CERTIFICATE-----\n`, /not valid base64 \(byte 0x21\)/],
      [`-----BEGIN CERTIFICATE-----\nQQ==QQ==\n-----END CERTIFICATE-----\n`, /data after "=" padding/],
      [`-----BEGIN CERTIFICATE-----\nQ===\n-----END CERTIFICATE-----\n`, /misplaced "="/],
      [`-----BEGIN CERTIFICATE-----\nQUJD\nQQ\n-----END CERTIFICATE-----\n`, /multiple of 4/],
      [`-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\n${body}\n-----END RSA PRIVATE KEY-----\n`, /RFC 1421 headers/],
      [`-----BEGIN lower--case-----\n${body}\n-----END lower--case-----\n`, /malformed PEM BEGIN line/],
      [`-----BEGIN CERTIFICATE-----junk\n${body}\n-----END CERTIFICATE-----\n`, /malformed PEM BEGIN line/],
    ];
    for (const [text, message] of cases) {
      const e = bad(text);
      expect(e.code, text).toBe('CRYPTO_BAD_PEM');
      expect(e.message).toMatch(message);
      expect(e.message).toContain('f.pem');
    }
  });

  it('a 2 MB file of repeated BEGIN lines (30-40 s with the old regular expression) is refused at once', () => {
    // Also the variants: BEGIN lines whose label never closes, and BEGIN lines glued on one line.
    const n = Math.ceil((2 * 1024 * 1024) / 25);
    for (const text of ['-----BEGIN X509 CRL-----\n'.repeat(n), 'x\n-----BEGIN X509 CRL--\n'.repeat(n), '-----BEGIN X509 CRL-----'.repeat(n)]) {
      expect(text.length).toBeGreaterThan(1_900_000);
      expect(bad(text).code).toBe('CRYPTO_BAD_PEM');
    }
    // Explanatory text only, 2 MB of it, in lines that look almost like boundaries: no blocks, linear.
    expect(decodePemBlocks('-----BEGI\n-- END\n'.repeat(n), 'f')).toEqual([]);
  }, 10_000);
});
