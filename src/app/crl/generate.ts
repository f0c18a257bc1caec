/**
 * `pki crl generate`: a new CRL for a CA, signed and recorded in the store.
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
import { PkiError } from '../../errors.js';
import { addDuration, parseDuration, parseDurationParts } from '../../domain/duration.js';
import { CRL_DATA_MAX_BYTES, CRL_SIZE_WARNING_FRACTION } from '../../domain/roles-anywhere.js';
import { checkOutput, probeWritableDir, readCrlFile, removeQuietly, writeFileAtomic } from '../../fs/files.js';
import type { CrlRecord, Deps } from '../../ports.js';
import { crlTbsParts, decodeCrl, pemLength, tlvHeader, type DecodedCrl } from '../../x509/crl.js';
import { bitString, TAG } from '../../asn1/der.js';
import { toPem } from '../../asn1/pem.js';
import { caCertificate, getCa, unlockCa, withWorkspace, type Workspace } from '../workspace.js';
import { assertCaUsable } from '../ca-state.js';
import { crlHistoryFacts, nextCrlNumber } from '../import/continuity.js';
import { fileChunks, fileSha256, finishCrlFile, writeOutputFile } from './file.js';
import { arrayCursor, sortedSerials, storedCrlCursor, streamEntries, type SerialCursor } from './merge.js';
import { crlMatchesIssuer, crlSummary } from './shared.js';

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
