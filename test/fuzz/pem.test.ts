/**
 * fuzzing the PEM decoder: mutated bundles (bit flips, truncations, boundary fragments, padding, whitespace)
 * always end in blocks or CRYPTO_BAD_PEM; feeding the same bytes in random chunks gives the same answer; what is
 * accepted re-encodes to the same blocks.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PkiError } from '../../src/errors.js';
import { decodePemBlocks, PemDecoder, toPem } from '../../src/asn1/pem.js';
import { RUNS, SEED } from './fuzz-helpers.js';

const SEEDS = [
  Buffer.from(`comment\n${toPem('CERTIFICATE', randomBytes(200))}\n${toPem('X509 CRL', randomBytes(61))}`),
  Buffer.from(toPem('PRIVATE KEY', randomBytes(47)).replace(/\n/g, '\r\n')),
];
const FRAGMENTS = ['-', '-----', '-----BEGIN ', '-----END ', '-----BEGIN X509 CRL-----\n', '-----END CERTIFICATE-----\n', '=', '==', '\n', '\r\n', ' ', '\t', ':', 'A', '/', '\0', '\xff'];

const mutation = fc.record({
  seed: fc.constantFrom(...SEEDS),
  ops: fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...FRAGMENTS) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

function apply(seed: Buffer, ops: { kind: string; at: number; bit?: number; text?: string; n?: number }[]): Buffer {
  let b = Buffer.from(seed);
  for (const o of ops) {
    const at = b.length ? o.at % b.length : 0;
    if (o.kind === 'flip' && b.length) b[at] = b[at]! ^ (1 << o.bit!);
    else if (o.kind === 'truncate') b = b.subarray(0, at);
    else if (o.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.text!, 'latin1'), b.subarray(at)]);
    else if (o.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + o.n!)]);
  }
  return b;
}

const outcome = (f: () => { label: string; der: Buffer }[]) => {
  try {
    return { blocks: f().map((x) => ({ label: x.label, der: x.der.toString('hex') })) };
  } catch (e) {
    if (!(e instanceof PkiError) || e.code !== 'CRYPTO_BAD_PEM') throw e;
    return { error: e.message };
  }
};

describe('fuzz: PEM decoder', () => {
  it('mutated PEM: blocks or CRYPTO_BAD_PEM, the same in any chunking; accepted blocks round-trip', () => {
    fc.assert(
      fc.property(mutation, ({ seed, ops, cuts }) => {
        const input = apply(seed, ops);
        const whole = outcome(() => decodePemBlocks(input, 'f'));
        const points = [...new Set(cuts.map((c) => (input.length ? c % input.length : 0)))].sort((a, b) => a - b);
        const chunked = outcome(() => {
          const d = new PemDecoder('f');
          let last = 0;
          for (const p of [...points, input.length]) {
            d.push(input.subarray(last, p));
            last = p;
          }
          return d.end();
        });
        expect(chunked, JSON.stringify([input.toString('latin1'), points])).toEqual(whole);
        if (whole.blocks) {
          const again = decodePemBlocks(whole.blocks.map((x) => toPem(x.label, Buffer.from(x.der, 'hex'))).join(''), 'f');
          expect(again.map((x) => ({ label: x.label, der: x.der.toString('hex') }))).toEqual(whole.blocks);
        }
      }),
      { seed: SEED, numRuns: RUNS * 10 },
    );
  });
});
