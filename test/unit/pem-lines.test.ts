/**
 * the PEM decoder's fast path (whole base64 lines decoded natively, for 47 MB CRLs): the same blocks, the same
 * errors and the same line numbers as the byte-by-byte path. Fed one byte at a time, the decoder never has a whole
 * line at hand, so that run is the byte-by-byte path; fed whole, the fast path takes every line it can.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { PemDecoder, toPem } from '../../src/asn1/pem.js';

const BODY = toPem('X509 CRL', randomBytes(1500));
const BAD = ['_', '-', '=', '==', ' ', '\t', '\r', ':', '!', '\0', '\xff', '\n', '\n\n', 'A', 'AAA', '-----END X509 CRL-----\n', '.'];

function decode(input: Buffer, oneByte: boolean) {
  try {
    const d = new PemDecoder('f');
    if (oneByte) for (let i = 0; i < input.length; i++) d.push(input.subarray(i, i + 1));
    else d.push(input);
    return { blocks: d.end().map((b) => ({ label: b.label, der: b.der.toString('hex') })) };
  } catch (e) {
    if (!(e instanceof PkiError)) throw e;
    return { error: `${e.code} ${e.message}` };
  }
}

describe('PEM: whole lines decoded natively', () => {
  it('a large valid block decodes to its bytes, and counts its lines', () => {
    const der = randomBytes(100_000);
    const pem = Buffer.from(`text\n${toPem('X509 CRL', der)}`);
    expect(decode(pem, false)).toEqual({ blocks: [{ label: 'X509 CRL', der: der.toString('hex') }] });
    // A bad byte on the last body line is reported on that line.
    const lines = pem.toString('latin1').split('\n');
    const at = lines.length - 3;
    lines[at] = `${lines[at]!.slice(0, 10)}!${lines[at]!.slice(11)}`;
    const r = decode(Buffer.from(lines.join('\n'), 'latin1'), false);
    expect(r.error).toContain(`(line ${at + 1})`);
  });

  it('inserted or replaced bytes anywhere in the body: the same outcome as byte by byte', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), text: fc.constantFrom(...BAD), replace: fc.boolean() }), { minLength: 1, maxLength: 3 }), (ops) => {
        let s = BODY;
        for (const o of ops) {
          const at = 25 + (o.at % (s.length - 50));
          s = s.slice(0, at) + o.text + s.slice(at + (o.replace ? o.text.length : 0));
        }
        const input = Buffer.from(s, 'latin1');
        expect(decode(input, false), JSON.stringify(s)).toEqual(decode(input, true));
      }),
      { seed: 21, numRuns: 400 },
    );
  });
});
