/**
 * CRLs: `pki crl generate | check | inspect | list | export`.
 *
 * generate runs in two short store transactions around the signature. The first checks the new CRL against the
 * previous one (number increases, issuer unchanged, no unexpired revoked serial disappears), checks the size budget,
 * streams the entries from the store into a temporary file, frames the TBSCertList and reserves the CRL Number. The
 * signature is made outside any transaction (through the CA's Signer, which may be asynchronous), then the second
 * transaction records the signed CRL. A run that dies between the two leaves a reserved number without a CRL: the
 * next run skips it (a gap in the numbering, never a number used twice). Output files are put in place only after
 * the second transaction commits.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PkiError } from '../errors.js';
import { addDuration, parseDuration, parseDurationParts } from '../domain/duration.js';
import { reasonName } from '../domain/serial.js';
import { CRL_DATA_MAX_BYTES, CRL_SIZE_WARNING_FRACTION } from '../domain/roles-anywhere.js';
import { checkOutput, probeWritableDir, readCrlFile, readInput, removeQuietly, writeFileAtomic } from '../fs/files.js';
import type { CrlRecord, CrlTransaction, Deps } from '../ports.js';
import { readCertificate, type ParsedCertificate } from '../x509/certificate.js';
import { crlTbsParts, decodeCrl, decodeCrlPrefix, entrySerialKeys, stepEntry, pemLength, tlvHeader, walkCrlEntries, type CrlEntry, type CrlPrefix, type DecodedCrl } from '../x509/crl.js';
import { bitString, TAG } from '../asn1/der.js';
import { keyIdentifier } from '../x509/extensions.js';
import { toPem } from '../asn1/pem.js';
import { caCertificate, getCa, unlockCa, withWorkspace, type Workspace } from './workspace.js';
import { assertCaUsable } from './ca-state.js';
import { crlHistoryFacts, nextCrlNumber } from './import/continuity.js';


/**
 * Completes a CRL file whose TBSCertList was written at offset `reserved` (room kept for the largest outer header):
 * appends `tail` (algorithm + signature) and writes the real outer header. When the real header is shorter than the
 * room kept (a short ECDSA signature that crosses a length boundary), the body is moved down once.
 */
export function finishCrlFile(fd: number, reserved: number, tbsLength: number, tail: Buffer): void {
  fs.writeSync(fd, tail, 0, tail.length, reserved + tbsLength);
  const total = tbsLength + tail.length;
  const header = tlvHeader(TAG.SEQUENCE, total);
  if (header.length === reserved) {
    fs.writeSync(fd, header, 0, header.length, 0);
    return;
  }
  const body = Buffer.alloc(total);
  fs.readSync(fd, body, 0, total, reserved);
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, Buffer.concat([header, body]), 0, header.length + total, 0);
}

export interface GenerateCrlInput {
  dir?: string;
  ca: string;
  nextUpdate?: string;
  out?: string;
  format?: 'pem' | 'der';
  renewBefore?: string;
  reasons?: 'include' | 'omit';
  previous?: string;
  /** The first CRL's number for a CA made elsewhere (above the old CA's last CRL): see import/continuity.ts. */
  firstCrlNumber?: number;
  keepExpired?: boolean;
  maxPemBytes?: number;
  force?: boolean;
  passphraseFile?: string;
}

function crlSummary(c: CrlRecord, ca: string, maxPemBytes: number) {
  return {
    ca,
    crlNumber: c.crlNumber,
    thisUpdate: c.thisUpdate.toISOString(),
    nextUpdate: c.nextUpdate.toISOString(),
    entries: c.entries,
    pruned: c.pruned,
    reasons: c.reasons ? 'include' : 'omit',
    derBytes: c.derSize,
    pemBytes: c.pemSize,
    budgetBytes: maxPemBytes,
    budgetPercent: Math.round((1000 * c.pemSize) / maxPemBytes) / 10,
    sha256: c.sha256,
  };
}

/** Checks a CRL's signature with an issuer certificate; issuer name and AKI must match too. */
function crlMatchesIssuer(crl: DecodedCrl, issuer: ParsedCertificate): { nameOk: boolean; akiOk: boolean; signatureOk: boolean } {
  const issuerKeyId = issuer.subjectKeyId ?? keyIdentifier(issuer.spki);
  return {
    nameOk: crl.issuerDer.equals(issuer.subjectDer),
    akiOk: !crl.authorityKeyId || crl.authorityKeyId.equals(issuerKeyId),
    signatureOk: issuer.publicKey.verify(crl.signatureAlgorithm, crl.tbs, crl.signature),
  };
}

/** Serial keys of a CRL (see entrySerialKeys), sorted the way the store orders serials. */
function sortedSerials(crl: DecodedCrl, source: string): Buffer[] {
  return [...entrySerialKeys(crl.der, source, crl.entriesStart, crl.entriesEnd)].sort(Buffer.compare);
}

/**
 * Writes the store's CRL `last` to `out` unless the file there already holds it (same DER, in either encoding).
 * Returns why it wrote (`missing`, `different`), or null when the file was up to date.
 */
async function rewriteIfStale(ws: Workspace, issuerId: number, last: CrlRecord, out: string, format: 'pem' | 'der', force: boolean): Promise<'missing' | 'different' | null> {
  let why: 'missing' | 'different' = 'missing';
  if (fs.existsSync(out)) {
    try {
      if (fileSha256Of(readCrlFile(out, 'input.out')) === last.sha256) return null;
    } catch {
      /* unreadable or not a CRL: replace it */
    }
    why = 'different';
  }
  const der = (await ws.store.crlDer(issuerId, last.crlNumber))!;
  writeFileAtomic(out, format === 'pem' ? toPem('X509 CRL', der) : der, { force, flag: 'input.out' });
  return why;
}

function fileSha256Of(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * A CRL is stored in pieces of this size. Small pieces keep the memory of reading one back (for the comparison with
 * the next CRL) small: a 1 MiB piece each from SQLite left ~50 MB more resident at 1M entries than 64 KiB pieces.
 */
const STORED_CRL_CHUNK = 64 * 1024;

export async function generateCrl(deps: Deps, input: GenerateCrlInput) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    await assertCaUsable(ws, ca, 'crl');
    const caCert = caCertificate(ca);
    if (caCert.keyUsage && !caCert.keyUsage.includes('cRLSign'))
      throw new PkiError('POLICY_NO_CRL_SIGN', `CA ${ca.name}'s certificate has no cRLSign key usage: it cannot sign CRLs`, { details: { ca: ca.name } });
    const maxPemBytes = input.maxPemBytes ?? ws.config.crl.maxPemBytes;
    const withReasons = input.reasons === undefined ? ws.config.crl.reasons : input.reasons === 'include';
    const validity = input.nextUpdate === undefined ? ws.config.crl.nextUpdate : parseDurationParts(input.nextUpdate, 'input.nextUpdate');
    const renewBefore = input.renewBefore === undefined ? undefined : parseDuration(input.renewBefore, 'input.renewBefore');
    const format = input.format ?? 'pem';
    const thisUpdate = new Date(Math.floor(ws.now.getTime() / 1000) * 1000);
    const nextUpdate = addDuration(thisUpdate, validity);
    if (nextUpdate.getTime() > caCert.notAfter.getTime())
      throw new PkiError('POLICY_CRL_PAST_CA', `nextUpdate ${nextUpdate.toISOString()} would be after CA ${ca.name} expires (${caCert.notAfter.toISOString()})`, {
        details: { ca: ca.name, input: 'nextUpdate' },
        hint: 'use a shorter input.nextUpdate, or rotate the CA',
      });
    if (input.out) {
      checkOutput(input.out, 'input.out', input.force ?? false);
      probeWritableDir(dirname(input.out), 'input.out');
    }

    // Cron: nothing to do while the current CRL is fresh enough and nothing was revoked since it was made.
    const fresh = (last: CrlRecord | undefined, epoch: number): boolean =>
      renewBefore !== undefined &&
      last !== undefined &&
      last.revocationEpoch === epoch &&
      last.reasons === withReasons &&
      last.nextUpdate.getTime() - thisUpdate.getTime() > renewBefore * 1000;
    const peek = await ws.store.crlStatus(ca.id);
    if (fresh(peek.last, peek.epoch)) {
      const last = peek.last!;
      const reason = `CRL #${last.crlNumber} is valid until ${last.nextUpdate.toISOString()}, more than ${input.renewBefore} away, and nothing was revoked since`;
      // No new CRL is due, but the served file must still be the latest one (an earlier write may have failed, or the
      // file was removed or replaced): write it again from the store.
      const rewrote = input.out ? await rewriteIfStale(ws, ca.id, last, input.out, format, input.force ?? false) : null;
      return { generated: false as const, reason, crl: crlSummary(last, ca.name, maxPemBytes), out: input.out ?? null, format, rewrote };
    }

    // An external previous CRL (e.g. the one currently published) must come from this CA.
    let previousFile: { crl: DecodedCrl; serials: Buffer[] } | undefined;
    if (input.previous) {
      const prev = decodeCrl(readCrlFile(input.previous, 'input.previous'), input.previous);
      const m = crlMatchesIssuer(prev, caCert);
      if (!m.nameOk || !m.akiOk)
        throw new PkiError('STATE_CRL_ISSUER_CHANGED', `input.previous ${input.previous} was issued by "${prev.issuerDn}", not by CA ${ca.name} ("${caCert.subjectDn}")`, {
          details: { file: input.previous, issuer: prev.issuerDn, input: 'previous' },
        });
      if (!m.signatureOk)
        throw new PkiError('CRYPTO_BAD_CRL_SIGNATURE', `input.previous ${input.previous}: its signature does not verify with CA ${ca.name}'s key`, { details: { file: input.previous, input: 'previous' } });
      previousFile = { crl: prev, serials: sortedSerials(prev, input.previous) };
    }

    // CRL continuity for a CA made elsewhere (import/continuity.ts): read before the transaction, never changes.
    const history = await crlHistoryFacts(ws.store, ca);

    const signer = await unlockCa(ws, ca, input);
    const alg = signer.issuer.signer.algorithm;
    const tmpDer = join(ws.config.dir, `.crl-${ca.name}-${process.pid}-${Date.now()}.der.tmp`);
    // The output's temporary file lives next to it, so that putting it in place is a link or rename on one file
    // system (a temporary in the PKI directory fails with EXDEV when --out is on another one).
    const tmpOut = input.out ? join(dirname(input.out), `.${basename(input.out)}.${process.pid}.${Date.now()}.tmp`) : undefined;
    const tmpEntries = `${tmpDer}.entries`;
    const warnings: string[] = [];
    try {
      // Transaction 1: the checks, the number (reserved) and the TBS. No signature here: a key store may sign
      // asynchronously (an HSM), and the signature must not hold the store's lock.
      const planned = await ws.store.withCrlTransaction(ca.id, async (tx) => {
        const last = await tx.lastCrl();
        const epoch = await tx.revocationEpoch();
        if (fresh(last, epoch)) return undefined;
        // Above every number ever reserved: a run that died after reserving leaves a gap, never a number used twice.
        const reserved = await tx.lastReservedCrlNumber();
        const crlNumber = Math.max(nextCrlNumber(ca, last, history, previousFile?.crl.crlNumber, input.firstCrlNumber), reserved === undefined ? 0 : reserved + 1);
        const previousNumber = previousFile?.crl.crlNumber;
        if (previousNumber !== undefined && BigInt(crlNumber) <= previousNumber)
          throw new PkiError('STATE_CRL_NUMBER_NOT_INCREASING', `the new CRL would be number ${crlNumber}, not above ${input.previous}'s number ${previousNumber}`, {
            details: { crlNumber, previousNumber: String(previousNumber) },
            hint: 'the store is behind the published CRL: restore the store from backup before publishing',
          });
        // The previous CRL to compare with: the external one (sorted), else the last one this store made (written in
        // serial order, walked in place). The merge only finds candidates; each one is confirmed in the store.
        let previous: { cursor: SerialCursor; source: string } | undefined;
        if (previousFile) previous = { cursor: arrayCursor(previousFile.serials), source: input.previous! };
        else if (last) {
          const source = `stored CRL #${last.crlNumber}`;
          const prev = await storedCrlCursor(tx, last.crlNumber, source);
          if (prev && !prev.issuerDer.equals(caCert.subjectDer))
            throw new PkiError('STATE_CRL_ISSUER_CHANGED', `${source} was issued by "${prev.issuerDn}", but CA ${ca.name} is now "${caCert.subjectDn}"`, { details: { ca: ca.name } });
          if (prev) previous = { cursor: prev.cursor, source };
        }
        const scope = input.keepExpired ? new Date(0) : thisUpdate;

        // Phase 1: the entries, from the store into a temporary file, merged with the previous CRL's serials.
        const streamed = await streamEntries(tx.entryBlocks(scope, withReasons), tmpEntries, previous?.cursor);
        // A serial that was on the previous CRL may only leave it once its certificate has expired.
        const stillValid: string[] = [];
        for (const serial of streamed.dropped) {
          const st = await tx.revocationStatus(serial);
          const expired = st.notAfter !== undefined && st.notAfter.getTime() <= scope.getTime();
          if (!expired && !st.revoked) stillValid.push(serial);
        }
        if (stillValid.length)
          throw new PkiError(
            'STATE_CRL_ENTRY_DROPPED',
            `${stillValid.length} serial(s) on ${previous!.source} would disappear from the new CRL although their certificates have not expired (first: ${stillValid[0]})`,
            { details: { serials: stillValid.slice(0, 100), count: stillValid.length }, hint: 'the store has lost revocations: restore it from backup; nothing was signed' },
          );
        const pruned = input.keepExpired ? 0 : (await tx.revocationCount()) - streamed.count;

        // Size budget, before signing (crlData is the PEM text).
        const parts = crlTbsParts({ algorithmIdentifier: alg.algorithmIdentifier, issuerName: caCert.subjectDer, issuerKeyId: signer.issuer.keyId, thisUpdate, nextUpdate, crlNumber: BigInt(crlNumber) }, streamed.bytes);
        const maxSig = signer.issuer.signer.maxSignatureLength;
        const maxTail = alg.algorithmIdentifier.length + tlvHeader(TAG.BIT_STRING, maxSig + 1).length + maxSig + 1;
        const headerLen = tlvHeader(TAG.SEQUENCE, parts.tbsLength + maxTail).length;
        const maxDer = headerLen + parts.tbsLength + maxTail;
        const maxPem = pemLength(maxDer);
        if (maxPem > maxPemBytes)
          throw new PkiError(
            'POLICY_CRL_TOO_LARGE',
            `the CRL would be about ${maxPem} bytes of PEM with ${streamed.count} entries, over the ${maxPemBytes}-byte budget (Roles Anywhere accepts at most ${CRL_DATA_MAX_BYTES.toLocaleString('en-US')})`,
            {
              details: { entries: streamed.count, pemBytes: maxPem, budgetBytes: maxPemBytes, pruned, input: ['reasons', 'keepExpired'] },
              hint: `omit reason codes (input.reasons omit), let expired certificates drop out (do not pass input.keepExpired), or split issuance over more issuing CAs; raise crl.maxPemBytes in pki.yaml only if your relying party accepts larger CRLs`,
            },
          );
        if (maxPem >= CRL_SIZE_WARNING_FRACTION * maxPemBytes) warnings.push(`the CRL uses ${Math.round((100 * maxPem) / maxPemBytes)}% of its ${maxPemBytes}-byte budget (${streamed.count} entries)`);

        // Phase 2: frame the TBSCertList around the entries (after room for the largest outer header). The TBS is
        // bounded by the size budget checked above, so it is kept in memory for the signer.
        const fd = fs.openSync(tmpDer, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
        // One buffer of the TBS's known length (no pieces to concatenate: the entries are never held twice).
        const tbs = Buffer.allocUnsafe(parts.tbsLength);
        let filled = 0;
        try {
          let pos = headerLen;
          const emit = (b: Buffer): void => {
            filled += b.copy(tbs, filled);
            fs.writeSync(fd, b, 0, b.length, pos);
            pos += b.length;
          };
          emit(parts.before);
          for (const piece of fileChunks(tmpEntries, 1024 * 1024)) emit(piece);
          emit(parts.after);
        } finally {
          fs.closeSync(fd);
        }
        if (filled !== parts.tbsLength) throw new PkiError('INTERNAL', `the CRL's TBS has ${filled} of its ${parts.tbsLength} bytes (the store changed during the run?)`);
        await tx.reserveCrlNumber(crlNumber, ws.now);
        return { crlNumber, epoch, pruned, entries: streamed.count, headerLen, tbsLength: parts.tbsLength, tbs };
      });
      let record: CrlRecord | undefined;
      if (planned) {
        // Outside any transaction: sign, and finish the file.
        const signature = await signer.issuer.signer.sign(planned.tbs);
        const fd = fs.openSync(tmpDer, fs.constants.O_RDWR);
        try {
          finishCrlFile(fd, planned.headerLen, planned.tbsLength, Buffer.concat([alg.algorithmIdentifier, bitString(signature)]));
        } finally {
          fs.closeSync(fd);
        }
        const derSize = fs.statSync(tmpDer).size;
        const crl: CrlRecord = {
          issuerId: ca.id,
          crlNumber: planned.crlNumber,
          thisUpdate,
          nextUpdate,
          entries: planned.entries,
          pruned: planned.pruned,
          reasons: withReasons,
          derSize,
          pemSize: pemLength(derSize),
          sha256: fileSha256(tmpDer),
          revocationEpoch: planned.epoch,
          createdAt: ws.now,
        };
        if (tmpOut) writeOutputFile(tmpDer, tmpOut, format);
        // Transaction 2: record the signed CRL under its reserved number.
        await ws.store.withCrlTransaction(ca.id, (tx) => tx.insertCrl(crl, fileChunks(tmpDer, STORED_CRL_CHUNK), deps.actor, ws.now));
        record = crl;
      }
      if (!record) {
        const last = (await ws.store.listCrls(ca.id)).pop()!;
        return { generated: false as const, reason: `another run just made CRL #${last.crlNumber}`, crl: crlSummary(last, ca.name, maxPemBytes) };
      }
      // Committed: put the output in place.
      let pem: string | undefined;
      if (input.out && tmpOut) {
        try {
          if (input.force) fs.renameSync(tmpOut, input.out);
          else fs.linkSync(tmpOut, input.out);
        } catch (e) {
          const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
          throw new PkiError(exists ? 'STATE_OUTPUT_EXISTS' : 'IO_WRITE_FAILED', `input.out ${input.out}: ${exists ? 'appeared while the CRL was made' : (e as Error).message}; CRL #${record.crlNumber} is recorded in the store`, {
            details: { file: input.out, crlNumber: record.crlNumber, input: 'out' },
            hint: `write it with: pki crl export --ca ${ca.name} --number ${record.crlNumber} --out FILE`,
            cause: e,
          });
        }
      } else if (format === 'pem') pem = toPem('X509 CRL', fs.readFileSync(tmpDer));
      const der = !input.out && format === 'der' ? fs.readFileSync(tmpDer) : undefined;
      return { generated: true as const, crl: crlSummary(record, ca.name, maxPemBytes), out: input.out ?? null, format, warnings, ...(pem ? { pem } : {}), ...(der ? { der } : {}) };
    } finally {
      removeQuietly([tmpDer, tmpEntries, ...(tmpOut ? [tmpOut] : [])]);
    }
  });
}

/** A position in an ascending list of serials (content octets), compared in place with a serial in another buffer. */
interface SerialCursor {
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

function arrayCursor(keys: Buffer[]): SerialCursor {
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
async function storedCrlCursor(tx: CrlTransaction, crlNumber: number, source: string): Promise<{ issuerDer: Buffer; issuerDn: string; cursor: SerialCursor } | undefined> {
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
async function streamEntries(blocks: AsyncIterable<Buffer>, path: string, previous: SerialCursor | undefined): Promise<{ count: number; bytes: number; dropped: string[] }> {
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

/**
 * The file's bytes, `size` at a time, in one reused buffer: each piece is valid until the next one is read, so
 * consumers must use it at once (hash it, write it, bind it to a statement, which copies).
 */
function* fileChunks(path: string, size: number): Generator<Buffer> {
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.allocUnsafe(size);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, size, null);
      if (n === 0) return;
      yield n === size ? buf : buf.subarray(0, n);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function fileSha256(path: string): string {
  const h = crypto.createHash('sha256');
  for (const chunk of fileChunks(path, 1024 * 1024)) h.update(chunk);
  return h.digest('hex');
}

/** Writes the output file from the temporary DER: as is, or as PEM streamed 48 KiB (= 64 KiB of base64) at a time. */
function writeOutputFile(derPath: string, outPath: string, format: 'pem' | 'der'): void {
  if (format === 'der') {
    fs.copyFileSync(derPath, outPath);
    return;
  }
  const rfd = fs.openSync(derPath, 'r');
  const wfd = fs.openSync(outPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
  try {
    fs.writeSync(wfd, '-----BEGIN X509 CRL-----\n');
    const buf = Buffer.alloc(48 * 1024);
    for (;;) {
      const n = fs.readSync(rfd, buf, 0, buf.length, null);
      if (n === 0) break;
      const b64 = buf.subarray(0, n).toString('base64');
      let text = '';
      for (let i = 0; i < b64.length; i += 64) text += `${b64.slice(i, i + 64)}\n`;
      fs.writeSync(wfd, text);
    }
    fs.writeSync(wfd, '-----END X509 CRL-----\n');
    fs.fsyncSync(wfd);
  } finally {
    fs.closeSync(rfd);
    fs.closeSync(wfd);
  }
}

// ------------------------------------------------------------------------------------------------------------------
// check / inspect / list / export

export const CHECK_EXIT = { fresh: 0, warning: 10, critical: 11 } as const;

export interface CheckCrlInput {
  dir?: string;
  ca?: string;
  crl?: string;
  issuer?: string;
  warn?: string;
}

/** Monitoring: 0 fresh, 10 nextUpdate within --warn or revocations not yet in a CRL, 11 expired, missing or invalid. */
export async function checkCrl(deps: Deps, input: CheckCrlInput) {
  if (!!input.ca === !!input.crl) throw new PkiError('USAGE_MISSING_INPUT', 'give input.ca NAME (the latest CRL in the store) or input.crl FILE', { details: { input: ['ca', 'crl'] } });
  const warnSeconds = parseDuration(input.warn ?? '48h', 'input.warn');
  const now = deps.now();
  const judge = (nextUpdate: Date | undefined, extra: string[]) => {
    const problems = [...extra];
    let status: keyof typeof CHECK_EXIT = 'fresh';
    if (!nextUpdate) {
      status = 'critical';
      problems.push('the CRL has no nextUpdate');
    } else if (nextUpdate.getTime() <= now.getTime()) {
      status = 'critical';
      problems.push(`the CRL expired at ${nextUpdate.toISOString()}`);
    } else if (nextUpdate.getTime() - now.getTime() <= warnSeconds * 1000) {
      status = 'warning';
      problems.push(`the CRL expires at ${nextUpdate.toISOString()}, within ${input.warn ?? '48h'}`);
    }
    return { status, problems };
  };
  if (input.crl) {
    const der = readCrlFile(input.crl, 'input.crl');
    const crl = decodeCrl(der, input.crl);
    const { count } = walkCrlEntries(crl, input.crl);
    const extra: string[] = [];
    let signatureValid: boolean | null = null;
    let issuerCert: ParsedCertificate | undefined;
    if (input.issuer) issuerCert = readCertificate(readInput(input.issuer, 'input.issuer'), input.issuer);
    if (issuerCert) {
      const m = crlMatchesIssuer(crl, issuerCert);
      signatureValid = m.nameOk && m.akiOk && m.signatureOk;
      if (!signatureValid) extra.push(`the CRL is not signed by ${input.issuer}`);
    }
    const j = judge(crl.nextUpdate, extra);
    const status = signatureValid === false ? 'critical' : j.status;
    return {
      status,
      exitCode: CHECK_EXIT[status],
      source: input.crl,
      crlNumber: crl.crlNumber === undefined ? null : String(crl.crlNumber),
      thisUpdate: crl.thisUpdate.toISOString(),
      nextUpdate: crl.nextUpdate?.toISOString() ?? null,
      entries: count,
      pemBytes: pemLength(der.length),
      budgetBytes: CRL_DATA_MAX_BYTES,
      signatureValid,
      problems: pemLength(der.length) > CRL_DATA_MAX_BYTES ? [...j.problems, `the CRL is larger than the ${CRL_DATA_MAX_BYTES} bytes Roles Anywhere accepts`] : j.problems,
    };
  }
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca!);
    const { last, epoch } = await ws.store.crlStatus(ca.id);
    const budget = ws.config.crl.maxPemBytes;
    if (!last)
      return { status: 'critical' as const, exitCode: CHECK_EXIT.critical, source: `CA ${ca.name}`, crlNumber: null, thisUpdate: null, nextUpdate: null, entries: 0, pemBytes: 0, budgetBytes: budget, signatureValid: null, problems: [`CA ${ca.name} has no CRL yet (pki crl generate --ca ${ca.name})`] };
    const extra = epoch !== last.revocationEpoch ? [`certificates were revoked after CRL #${last.crlNumber} was made: generate a new CRL`] : [];
    const j = judge(last.nextUpdate, extra);
    const status = j.status === 'fresh' && extra.length ? 'warning' : j.status;
    if (last.pemSize >= 0.8 * budget) j.problems.push(`the CRL uses ${Math.round((100 * last.pemSize) / budget)}% of its ${budget}-byte budget`);
    return {
      status,
      exitCode: CHECK_EXIT[status],
      source: `CA ${ca.name}`,
      crlNumber: String(last.crlNumber),
      thisUpdate: last.thisUpdate.toISOString(),
      nextUpdate: last.nextUpdate.toISOString(),
      entries: last.entries,
      pemBytes: last.pemSize,
      budgetBytes: budget,
      signatureValid: null,
      problems: j.problems,
    };
  });
}

export interface InspectCrlInput {
  dir?: string;
  file: string;
  issuer?: string;
  ca?: string;
  entries?: boolean;
  onEntry?: (e: CrlEntry) => void;
  /** The CRL's DER when the caller has already read `file`. */
  der?: Buffer;
  /** Called with the header (everything but the entry count and reasons) before any entry is walked. */
  onHeader?: (header: CrlHeader) => void;
}

/** What `crl inspect` knows before walking the entries. */
export interface CrlHeader {
  file: string;
  version: number;
  issuer: string;
  signatureAlgorithm: string;
  thisUpdate: string;
  nextUpdate: string | null;
  crlNumber: string | null;
  authorityKeyId: string | null;
  derBytes: number;
  pemBytes: number;
  signatureValid: boolean | null;
}

/** Reads any CRL (PEM or DER, any size): header, entry count, reason histogram, and the signature when an issuer is given. */
export async function inspectCrl(deps: Deps, input: InspectCrlInput) {
  const der = input.der ?? readCrlFile(input.file, 'FILE');
  const crl = decodeCrl(der, input.file);
  let issuer: ParsedCertificate | undefined;
  if (input.issuer) issuer = readCertificate(readInput(input.issuer, 'input.issuer'), input.issuer);
  else if (input.ca) issuer = await withWorkspace(input.dir, deps, async (ws: Workspace) => caCertificate(await getCa(ws, input.ca!)));
  const entries: CrlEntry[] = [];
  const match = issuer ? crlMatchesIssuer(crl, issuer) : undefined;
  const header: CrlHeader = {
    file: input.file,
    version: crl.version,
    issuer: crl.issuerDn,
    signatureAlgorithm: crl.signatureAlgorithmName,
    thisUpdate: crl.thisUpdate.toISOString(),
    nextUpdate: crl.nextUpdate?.toISOString() ?? null,
    crlNumber: crl.crlNumber === undefined ? null : String(crl.crlNumber),
    authorityKeyId: crl.authorityKeyId?.toString('hex') ?? null,
    derBytes: der.length,
    pemBytes: pemLength(der.length),
    signatureValid: match ? match.nameOk && match.akiOk && match.signatureOk : null,
  };
  // The header is known before the entries are walked: a streaming caller prints it first.
  input.onHeader?.(header);
  const { count, reasons } = walkCrlEntries(crl, input.file, input.entries ? (input.onEntry ?? ((e) => entries.push(e))) : undefined);
  return {
    ...header,
    entries: count,
    reasons: Object.fromEntries([...reasons.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k < 0 ? 'none' : reasonName(k), v])),
    ...(input.entries && !input.onEntry
      ? {
          revoked: entries.map((e) => ({
            serial: e.serialHex,
            revocationDate: e.revocationDate.toISOString(),
            reason: e.reason === undefined ? null : reasonName(e.reason),
            invalidityDate: e.invalidityDate?.toISOString() ?? null,
          })),
        }
      : {}),
  };
}

export async function listCrls(deps: Deps, input: { dir?: string; ca: string }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    return (await ws.store.listCrls(ca.id)).map((c) => crlSummary(c, ca.name, ws.config.crl.maxPemBytes));
  });
}

export async function exportCrl(deps: Deps, input: { dir?: string; ca: string; number?: number; out?: string; format?: 'pem' | 'der'; force?: boolean }) {
  return withWorkspace(input.dir, deps, async (ws) => {
    const ca = await getCa(ws, input.ca);
    const crls = await ws.store.listCrls(ca.id);
    const wanted = input.number === undefined ? crls[crls.length - 1] : crls.find((c) => c.crlNumber === input.number);
    if (!wanted)
      throw new PkiError('NOT_FOUND_CRL', input.number === undefined ? `CA ${ca.name} has no CRL yet` : `CA ${ca.name} has no CRL number ${input.number}`, { details: { ca: ca.name } });
    const der = (await ws.store.crlDer(ca.id, wanted.crlNumber))!;
    const format = input.format ?? 'pem';
    const pem = format === 'pem' ? toPem('X509 CRL', der) : undefined;
    if (input.out) {
      checkOutput(input.out, 'input.out', input.force ?? false);
      writeFileAtomic(input.out, pem ?? der, { force: input.force ?? false, flag: 'input.out' });
    }
    const result: ReturnType<typeof crlSummary> & { out: string | null; format: 'pem' | 'der'; pem?: string; der?: Buffer } = {
      ...crlSummary(wanted, ca.name, ws.config.crl.maxPemBytes),
      out: input.out ?? null,
      format,
    };
    if (!input.out) {
      if (pem) result.pem = pem;
      else result.der = der;
    }
    return result;
  });
}
