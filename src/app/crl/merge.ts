/**
 * The comparison of a new CRL with the previous one (`pki crl generate`): cursors over the previous CRL's serials (an
 * external file's, sorted; or a stored CRL's, walked in place, chunk by chunk), merged with the entries streamed from
 * the store. The merge only finds candidates that left the CRL; the caller confirms each one in the store.
 */
import * as fs from 'node:fs';
import { PkiError } from '../../errors.js';
import type { CrlTransaction } from '../../ports.js';
import { decodeCrl, decodeCrlPrefix, entrySerialKeys, stepEntry, type CrlPrefix, type DecodedCrl } from '../../x509/crl.js';

/** Serial keys of a CRL (see entrySerialKeys), sorted the way the store orders serials. */
export function sortedSerials(crl: DecodedCrl, source: string): Buffer[] {
  return [...entrySerialKeys(crl.der, source, crl.entriesStart, crl.entriesEnd)].sort(Buffer.compare);
}

/** A position in an ascending list of serials (content octets), compared in place with a serial in another buffer. */
export interface SerialCursor {
  done(): boolean;
  /** Compares the current serial with buf[start, end): <0, 0, >0. */
  compare(buf: Buffer, start: number, end: number): number;
  hex(): string;
  next(): void;
}

/** Byte-order comparison of a[as, ae) and b[bs, be), as Buffer.compare; a JS loop beats a native call for 16 bytes. */
function compareBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

export function arrayCursor(keys: Buffer[]): SerialCursor {
  let i = 0;
  return {
    done: () => i >= keys.length,
    compare: (buf, start, end) => compareBytes(keys[i]!, 0, keys[i]!.length, buf, start, end),
    hex: () => keys[i]!.toString('hex'),
    next: () => void i++,
  };
}

/** Walks a CRL's own entries in place (no per-entry allocation). */
function derCursor(der: Buffer, start: number, end: number, source: string): SerialCursor {
  const at = new Int32Array(3);
  let p = start;
  const load = (): void => {
    if (p < end) step(der, p, end, at, source);
  };
  load();
  return {
    done: () => p >= end,
    compare: (buf, s, e) => compareBytes(der, at[0]!, at[1]!, buf, s, e),
    hex: () => der.toString('hex', at[0], at[1]),
    next: () => {
      p = at[2]!;
      load();
    },
  };
}

/**
 * A stored CRL's issuer and a cursor over its serials. With a store that hands out a CRL chunk by chunk, the CRL is
 * walked a chunk at a time (a 1M-entry CRL is 35 MB: it is never whole in memory); else it is read whole.
 */
export async function storedCrlCursor(tx: CrlTransaction, crlNumber: number, source: string): Promise<{ issuerDer: Buffer; issuerDn: string; cursor: SerialCursor } | undefined> {
  if (!tx.crlChunks) {
    const der = await tx.crlDer(crlNumber);
    if (!der) return undefined;
    const prev = decodeCrl(der, source);
    return { issuerDer: prev.issuerDer, issuerDn: prev.issuerDn, cursor: derCursor(prev.der, prev.entriesStart, prev.entriesEnd, source) };
  }
  const chunks = tx.crlChunks(crlNumber)[Symbol.iterator]();
  // The bytes at hand: win[0] is the CRL's byte winStart. pull() appends the next chunk, dropping bytes before `keep`,
  // in one buffer that is reused (it grows only for a chunk larger than any before).
  let space = Buffer.alloc(0);
  let win = space;
  let winStart = 0;
  const pull = (keep: number): boolean => {
    const r = chunks.next();
    if (r.done) return false;
    const kept = win.length - (keep - winStart);
    if (kept + r.value.length > space.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * space.length, kept + r.value.length));
      win.copy(grown, 0, keep - winStart);
      space = grown;
    } else space.copy(space, 0, win.byteOffset - space.byteOffset + (keep - winStart), win.byteOffset - space.byteOffset + win.length);
    r.value.copy(space, kept);
    win = space.subarray(0, kept + r.value.length);
    winStart = keep;
    return true;
  };
  if (!pull(0)) return undefined;
  let prefix: CrlPrefix;
  for (;;) {
    try {
      prefix = decodeCrlPrefix(win, source);
      break;
    } catch (e) {
      // The header is a few hundred bytes: past 1 MiB it is not a truncated header but a broken CRL.
      if (win.length > 1 << 20 || !pull(0)) throw e;
    }
  }
  const end = prefix.entriesEnd;
  const at = new Int32Array(3);
  let p = prefix.entriesStart;
  const load = (): void => {
    if (p >= end) return;
    for (;;) {
      try {
        // An entry cut by the end of the bytes at hand fails to step: read on, then step it again.
        stepEntry(win, p - winStart, Math.min(win.length, end - winStart), at);
        return;
      } catch (e) {
        if (winStart + win.length < end && pull(p)) continue;
        throw new PkiError('CRYPTO_BAD_CRL', `${source}: ${(e as Error).message}`, { details: { file: source }, cause: e });
      }
    }
  };
  load();
  return {
    issuerDer: prefix.issuerDer,
    issuerDn: prefix.issuerDn,
    cursor: {
      done: () => p >= end,
      compare: (buf, s, e) => compareBytes(win, at[0]!, at[1]!, buf, s, e),
      hex: () => win.toString('hex', at[0], at[1]),
      next: () => {
        p = winStart + at[2]!;
        load();
      },
    },
  };
}

function step(buf: Buffer, p: number, end: number, out: Int32Array, source: string): void {
  try {
    stepEntry(buf, p, end, out);
  } catch (e) {
    throw new PkiError('CRYPTO_BAD_CRL', `${source}: ${(e as Error).message}`, { details: { file: source }, cause: e });
  }
}

/**
 * Writes the entry blocks to `path`, counting entries and bytes, and merges their serials with `previous` (both
 * ascending): serials of `previous` not met are returned as `dropped` (hex) for the caller to confirm.
 */
export async function streamEntries(blocks: AsyncIterable<Buffer>, path: string, previous: SerialCursor | undefined): Promise<{ count: number; bytes: number; dropped: string[] }> {
  const fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  const at = new Int32Array(3);
  const dropped: string[] = [];
  let count = 0;
  let bytes = 0;
  try {
    for await (const block of blocks) {
      for (let p = 0; p < block.length; p = at[2]!) {
        step(block, p, block.length, at, 'the store');
        count++;
        if (!previous) continue;
        while (!previous.done() && previous.compare(block, at[0]!, at[1]!) < 0) {
          dropped.push(previous.hex());
          previous.next();
        }
        if (!previous.done() && previous.compare(block, at[0]!, at[1]!) === 0) previous.next();
      }
      fs.writeSync(fd, block);
      bytes += block.length;
    }
    while (previous && !previous.done()) {
      dropped.push(previous.hex());
      previous.next();
    }
  } finally {
    fs.closeSync(fd);
  }
  return { count, bytes, dropped };
}
