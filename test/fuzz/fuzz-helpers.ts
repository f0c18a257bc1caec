/** Shared by the fuzz tests: the seed and budget, and the "settles" property. */
import fc from 'fast-check';
import { EXIT_CODES, PkiError } from '../../src/errors.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const PREFIXES = EXIT_CODES.map((e) => e.prefix).filter((p) => p && p !== 'INTERNAL');

/** Runs `fn`; anything but a return or a PkiError with a documented, non-internal code is a failure. */
export function settles(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof PkiError)) throw new Error(`not a PkiError: ${(e as Error)?.stack ?? String(e)}`);
    if (!PREFIXES.some((p) => e.code.startsWith(p))) throw new Error(`undocumented code ${e.code}: ${e.message}`);
    return true;
  }
}

/** A mutation of `seed`: flips, truncations, insertions, length-field damage, indefinite lengths, deep nesting. */
export function mutated(seed: () => Buffer): fc.Arbitrary<Buffer> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: fc.constantFrom(0x80, 0x84, 0x85, 0x8f, 0xff, 0x00, 0x7f) }),
    fc.record({ kind: fc.constant('huge' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('nest' as const), depth: fc.integer({ min: 1, max: 5000 }) }),
  );
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    let b = Buffer.from(seed());
    for (const o of ops) {
      const at = b.length ? ('at' in o ? o.at % b.length : 0) : 0;
      if (o.kind === 'flip' && b.length) b[at] = b[at]! ^ (1 << o.bit);
      else if (o.kind === 'truncate') b = b.subarray(0, at);
      else if (o.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from(o.bytes), b.subarray(at)]);
      else if (o.kind === 'length' && b.length > 1) b[Math.min(at + 1, b.length - 1)] = o.value;
      else if (o.kind === 'huge') b = Buffer.concat([b.subarray(0, at), Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), b.subarray(at)]);
      else if (o.kind === 'nest') b = Buffer.concat([Buffer.alloc(o.depth * 2, Buffer.from([0x30, 0x80])), b]);
    }
    return b;
  });
}

