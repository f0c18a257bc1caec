/** `pki issue`: end-entity certificates from a CSR, from a freshly generated key, or from a directory of CSRs. */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { parseKeyType } from '../crypto/keys.js';
import type { PassphraseSource } from '../crypto/passphrase.js';
import { parseValidity } from '../domain/duration.js';
import { checkOutput, checkWritableDir, INPUT_LIMITS, probeWritableDir, readInput, removeQuietly, writeFileAtomic, writePrivateKeyFile } from '../fs/files.js';
import type { BatchItemRecord } from '../ports.js';
import { loadProfile } from '../profile/load.js';
import { readCsr } from '../x509/csr.js';
import { csrReader, type WriteFailure } from './csr-pool.js';
import { serialSource } from '../domain/serial.js';
import { parseSan } from '../x509/extensions.js';
import { encodeName, formatDn, parseDn } from '../x509/name.js';
import { toPem } from '../asn1/pem.js';
import { generatedRequestFromSpki, planCertificate, recordIssued, requestFromCsr, sha256Fingerprint, signPlanned, type IssuedCertificate, type SubjectRequest } from './issuance.js';
import { caChain, chainToPem, generateWorkloadKey, getCa, isSelfIssued, unlockCa, withWorkspace, type CaSigner, type Workspace } from './workspace.js';
import { assertIssuing } from './rotation-state.js';

export interface IssueInput extends PassphraseSource {
  dir?: string;
  ca: string;
  profile?: string;
  validity?: string;
  csr?: string;
  subject?: string;
  san?: string[];
  keyOut?: string;
  keyType?: string;
  out?: string;
  chainOut?: string;
  force?: boolean;
}

export interface BatchInput extends PassphraseSource {
  dir?: string;
  ca: string;
  profile?: string;
  validity?: string;
  batch: string;
  outDir: string;
  force?: boolean;
  /** Certificates per transaction (default 256). */
  groupSize?: number;
  /** Finish the latest (interrupted) batch from `batch` into `outDir` instead of starting a new one. */
  resume?: boolean;
  onProgress?: (done: number, total: number) => void;
}

async function prepare(ws: Workspace, input: { ca: string; profile?: string; validity?: string } & PassphraseSource) {
  const validitySeconds = input.validity === undefined ? undefined : parseValidity(input.validity, 'input.validity');
  const profile = loadProfile(input.profile ?? ws.config.defaultProfile, ws.config.profilesDir, ws.deps.cwd);
  if (profile.kind !== 'leaf')
    throw new PkiError('USAGE_PROFILE_KIND', `input.profile ${profile.name} is a ${profile.kind} profile; pki issue needs a leaf profile (use pki ca create for CAs)`, {
      details: { profile: profile.name, input: 'profile' },
    });
  const ca = await getCa(ws, input.ca);
  await assertIssuing(ws, ca);
  return { validitySeconds, profile, ca };
}

function issuerWindow(signer: CaSigner) {
  return { name: signer.ca.name, notBefore: signer.cert.notBefore, notAfter: signer.cert.notAfter, subject: signer.cert.subject };
}

function issuedSummary(signer: CaSigner, c: IssuedCertificate) {
  return {
    serial: c.record.serial,
    issuer: signer.ca.name,
    subject: c.record.subjectDn,
    sans: c.record.sans,
    notBefore: c.record.notBefore.toISOString(),
    notAfter: c.record.notAfter.toISOString(),
    profile: c.record.profile,
    sha256: sha256Fingerprint(c.der),
  };
}

/** Issues one certificate from `--csr` or, with `--subject` + `--key-out`, from a key generated here. */
export async function issueCertificate(deps: Workspace['deps'], input: IssueInput) {
  if (input.csr && input.keyOut) throw new PkiError('USAGE_CONFLICT', 'input.keyOut cannot be used with input.csr (the key stays with whoever made the CSR)', { details: { input: ['keyOut', 'csr'] } });
  if (!input.csr && !input.subject) throw new PkiError('USAGE_MISSING_INPUT', 'give input.csr FILE, or input.subject "CN=..." with input.keyOut FILE, or input.batch DIR', { details: { input: ['csr', 'subject', 'keyOut', 'batch'] } });
  if (!input.csr && !input.keyOut) throw new PkiError('USAGE_MISSING_KEY_OUT', 'input.subject without input.csr generates a key: pass input.keyOut FILE for it', { details: { input: ['subject', 'csr', 'keyOut'] } });
  const keyType = parseKeyType(input.keyType);
  if (input.keyType && input.csr) throw new PkiError('USAGE_CONFLICT', 'input.keyType applies to generated keys, not to input.csr', { details: { input: ['keyType', 'csr'] } });
  return withWorkspace(input.dir, deps, async (ws) => {
    const force = input.force ?? false;
    // Validate every input and output before any work.
    const sansOverride = input.san?.length ? input.san.map((s) => parseSan(s)) : undefined;
    const subjectOverride = input.subject
      ? (() => {
          const rdns = parseDn(input.subject);
          return { der: encodeName(rdns), dn: formatDn(rdns) };
        })()
      : undefined;
    const outputs: Array<[string | undefined, string]> = [
      [input.out, 'input.out'],
      [input.chainOut, 'input.chainOut'],
      [input.keyOut, 'input.keyOut'],
    ];
    const seen = new Set<string>();
    for (const [path, flag] of outputs) {
      if (!path) continue;
      if (seen.has(path)) throw new PkiError('USAGE_CONFLICT', `${flag} ${path} is also used by another output flag`, { details: { input: flag.slice(6) } });
      seen.add(path);
      checkOutput(path, flag, force);
      probeWritableDir(dirname(path), flag);
    }
    const { validitySeconds, profile, ca } = await prepare(ws, input);
    let req: SubjectRequest;
    let generated: ReturnType<typeof generateWorkloadKey> | undefined;
    if (input.csr) req = requestFromCsr(readCsr(readInput(input.csr, 'input.csr', INPUT_LIMITS.csr), input.csr), subjectOverride, sansOverride);
    else {
      generated = generateWorkloadKey(keyType, deps.randomBytes);
      req = generatedRequestFromSpki(subjectOverride!.der, subjectOverride!.dn, generated.signer.spki, 'generated key', sansOverride);
    }
    const signer = await unlockCa(ws, ca, input);
    const plan = planCertificate(ws, issuerWindow(signer), profile, req, { validitySeconds, ca: false });
    throwIfAny(plan.problems, `${input.csr ?? 'request'}: ${plan.problems.length} problems`);
    for (const w of plan.warnings) deps.stderr.write(`warning: ${w}\n`);
    const issued = [await signPlanned(ws, signer.issuer, plan.fields!, req, profile)];
    // The chain for --chain-out leaves out self-signed roots: relying parties hold those as trust anchors.
    const chain = input.chainOut ? (await caChain(ws, ca)).filter((c) => !isSelfIssued(c)) : [];
    const created: string[] = [];
    try {
      if (generated && input.keyOut) {
        writePrivateKeyFile(input.keyOut, generated.privateKeyPem(), 'input.keyOut', force);
        created.push(input.keyOut);
      }
      await recordIssued(ws, signer, issued, [req], profile);
    } catch (e) {
      removeQuietly(created);
      throw e;
    }
    // Recorded: from here on, files only add copies of what the store holds.
    const cert = issued[0]!;
    const pem = toPem('CERTIFICATE', cert.der);
    const serial = cert.record.serial;
    const afterRecord = (write: () => void, reexport: string): void => {
      try {
        write();
      } catch (e) {
        const err = e as PkiError;
        throw new PkiError(err.code, `certificate ${serial} is issued and recorded, but ${err.message}`, {
          details: { ...err.details, serial, ca: ca.name },
          hint: `fix the cause, then write it again with: ${reexport}`,
          cause: e,
        });
      }
    };
    if (input.out) {
      const out = input.out;
      afterRecord(() => writeFileAtomic(out, pem, { force, flag: 'input.out' }), `pki show ${serial} --ca ${ca.name} --pem --out ${out}`);
    }
    // A leaf issued by a root has no intermediates: an empty file would be refused by pki verify --chain and
    // credential-process --intermediates, so nothing is written and the result's note says why (the command shows
    // it on stderr, with the flags of those commands to leave out).
    const chainNote = input.chainOut && !chain.length ? `input.chainOut ${input.chainOut}: not written: CA ${ca.name} is a root, so the certificate needs no intermediates` : null;
    if (input.chainOut && !chainNote) {
      const chainOut = input.chainOut;
      afterRecord(() => writeFileAtomic(chainOut, chainToPem(chain), { force, flag: 'input.chainOut' }), `pki ca export ${ca.name} --chain --out ${chainOut} (then remove the root certificate from it)`);
    }
    return {
      ...issuedSummary(signer, cert),
      out: input.out ?? null,
      keyOut: input.keyOut ?? null,
      chainOut: chainNote ? null : (input.chainOut ?? null),
      chainCertificates: chain.length,
      ...(chainNote ? { chainNote } : {}),
      pem,
    };
  });
}

const CSR_EXTENSIONS = new Set(['.csr', '.req', '.pem', '.der']);

/** What `issue --batch` did; `interrupted` is set when a signal stopped it at a group boundary. */
export interface BatchResult {
  issuer: string;
  profile: string;
  /** The batch run (its id in the store; `--resume` continues it). */
  batch: number | null;
  /** CSRs in the directory. */
  total: number;
  /** Certificates issued (recorded and written) by this run. */
  issued: number;
  /** With --resume: certificates recorded by the interrupted run whose files were written now from the store. */
  rewritten: number;
  /** With --resume: CSRs already issued and written before this run. */
  alreadyDone: number;
  /** With --resume: stray temporary files removed from --out-dir. */
  removedTemporaries: number;
  outDir: string;
  outDirCreated: boolean;
  interrupted: 'SIGINT' | 'SIGTERM' | null;
  certificates: Array<ReturnType<typeof issuedSummary> & { out: string }>;
}

/** `.NAME.pem.PID.N.tmp`: what writeFileAtomic leaves behind when a process dies between open and rename. */
function isStrayTemporary(name: string, outNames: ReadonlySet<string>): boolean {
  const m = /^\.(.+)\.\d+\.\d+\.tmp$/.exec(name);
  return m !== null && outNames.has(m[1]!);
}

function fileSha256(path: string): string {
  return createHash('sha256').update(readInput(path, 'input.batch', INPUT_LIMITS.csr)).digest('hex');
}

/**
 * Issues one certificate per CSR file in `batch` into `outDir` (same base name, `.pem`). Every CSR and every output
 * path is checked first: if any is invalid, all problems are reported and nothing is issued. Certificates are then
 * signed and recorded in groups (one transaction each, which also records which CSR file each was issued for); a
 * group's files are written only after it is committed, so a crash never leaves a certificate file that is not on
 * record. A signal (`deps.onSignal`) stops the run after the group in progress.
 *
 * `resume` finishes the latest run from the same directory into the same output directory: certificates it recorded
 * get their files written from the store, the CSRs it did not reach are issued, nothing is issued twice.
 */
export async function issueBatch(deps: Workspace['deps'], input: BatchInput): Promise<BatchResult> {
  const force = input.force ?? false;
  let names: string[];
  try {
    names = fs
      .readdirSync(input.batch)
      .filter((n) => CSR_EXTENSIONS.has(extname(n).toLowerCase()) && !n.startsWith('.'))
      .sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PkiError('NOT_FOUND_DIRECTORY', `input.batch ${input.batch}: no such directory`, { details: { dir: input.batch, input: 'batch' } });
    if (code === 'ENOTDIR') throw new PkiError('USAGE_NOT_A_DIRECTORY', `input.batch ${input.batch} is not a directory`, { details: { dir: input.batch, input: 'batch' } });
    throw new PkiError('IO_READ_FAILED', `input.batch ${input.batch}: cannot list (${(e as Error).message})`, { details: { dir: input.batch, input: 'batch' }, cause: e });
  }
  if (names.length === 0) throw new PkiError('USAGE_EMPTY_BATCH', `input.batch ${input.batch} holds no .csr, .req, .pem or .der files`, { details: { dir: input.batch, input: 'batch' } });
  const outNames = names.map((n) => `${basename(n, extname(n))}.pem`);
  const dup = outNames.find((n, i) => outNames.indexOf(n) !== i);
  if (dup) throw new PkiError('USAGE_CONFLICT', `input.batch ${input.batch}: two CSRs would both be written to ${dup}`, { details: { file: dup, input: 'batch' } });
  // A missing --out-dir is created (with its parents, 0755 less the umask: certificates are public); it is removed
  // again if the batch is refused before anything is recorded.
  let createdTop: string | undefined;
  if (!fs.existsSync(input.outDir)) {
    try {
      createdTop = fs.mkdirSync(input.outDir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new PkiError('IO_NOT_WRITABLE', `input.outDir ${input.outDir}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, {
        details: { dir: input.outDir, flag: 'input.outDir', input: 'outDir' },
        cause: e,
      });
    }
  }
  const outDirCreated = createdTop !== undefined;
  let recordedAny = false;
  // The CSR workers start now: they boot while this thread opens the store, unlocks the CA and checks the outputs.
  const reader = csrReader(names.length);
  try {
    return await withWorkspace(input.dir, deps, async (ws) => {
      checkWritableDir(input.outDir, 'input.outDir');
      probeWritableDir(input.outDir, 'input.outDir');
      const { validitySeconds, profile, ca } = await prepare(ws, input);
      const csrDir = fs.realpathSync(input.batch);
      const outDir = fs.realpathSync(input.outDir);
      const prior = await ws.store.latestBatch(ca.id, csrDir, outDir);
      const resumeCmd = `pki issue --ca ${ca.name} --batch ${input.batch} --out-dir ${input.outDir} --resume`;
      if (input.resume && !prior)
        throw new PkiError('NOT_FOUND_BATCH', `input.resume: no batch from ${input.batch} into ${input.outDir} by CA ${ca.name} is on record`, {
          details: { dir: input.batch, outDir: input.outDir, ca: ca.name, input: 'resume' },
          hint: 'run the batch without input.resume',
        });
      if (!input.resume && prior && !prior.finishedAt && !force)
        throw new PkiError('STATE_BATCH_INTERRUPTED', `batch ${prior.id} from ${input.batch} into ${input.outDir} (started ${prior.startedAt.toISOString()}) was interrupted before it finished`, {
          details: { batch: prior.id, dir: input.batch, outDir: input.outDir, input: 'force' },
          hint: `finish it with: ${resumeCmd} (input.force starts a new batch and issues every CSR again)`,
        });
      // Which CSRs the resumed run already recorded (by file name and the SHA-256 of the file's bytes).
      const recorded = new Map<string, BatchItemRecord>();
      if (input.resume && prior) for (const item of await ws.store.batchItems(prior.id)) recorded.set(item.file, item);
      // Check every output before anything is recorded: symbolic links are refused (even with --force), existing
      // files need --force, except a resumed batch's own files when they hold the recorded certificate.
      const problems: PkiError[] = [];
      const pending: number[] = [];
      const rewrite: Array<{ index: number; item: BatchItemRecord }> = [];
      let alreadyDone = 0;
      names.forEach((name, i) => {
        const out = join(input.outDir, outNames[i]!);
        const item = recorded.get(name);
        let expected: string | undefined;
        if (item) {
          if (fileSha256(join(input.batch, name)) !== item.csrSha256) {
            problems.push(
              new PkiError('STATE_BATCH_CSR_CHANGED', `${join(input.batch, name)} changed since batch ${prior!.id} issued certificate ${item.serial} for it`, {
                details: { file: join(input.batch, name), serial: item.serial, batch: prior!.id, input: 'outDir' },
                hint: 'put the original CSR back, or issue the new one in a new batch (another input.outDir)',
              }),
            );
            return;
          }
          expected = toPem('CERTIFICATE', item.der);
        }
        let st: fs.Stats | undefined;
        try {
          st = fs.lstatSync(out, { throwIfNoEntry: false });
        } catch {
          st = undefined;
        }
        if (st?.isSymbolicLink()) {
          problems.push(new PkiError('IO_SYMLINK_REFUSED', `input.outDir ${out} is a symbolic link; refusing to write through it`, { details: { file: out, flag: 'input.outDir', input: 'outDir' } }));
          return;
        }
        if (st?.isDirectory()) {
          problems.push(new PkiError('USAGE_NOT_A_FILE', `input.outDir ${out} is a directory`, { details: { file: out, flag: 'input.outDir', input: 'outDir' } }));
          return;
        }
        if (st && expected !== undefined && st.isFile() && fs.readFileSync(out, 'utf8') === expected) {
          alreadyDone++;
          return;
        }
        if (st && !force) {
          problems.push(
            new PkiError('STATE_OUTPUT_EXISTS', `input.outDir ${out} already exists`, {
              details: { file: out, flag: 'input.outDir', input: ['outDir', 'force'] },
              hint: prior && !prior.finishedAt ? `an interrupted batch: finish it with ${resumeCmd}` : 'pass input.force to overwrite it',
            }),
          );
          return;
        }
        if (item) rewrite.push({ index: i, item });
        else pending.push(i);
      });
      throwIfAny(problems, `input.outDir ${input.outDir}: ${problems.length} outputs cannot be written`);

      let interrupted: 'SIGINT' | 'SIGTERM' | null = null;
      const stopListening = deps.onSignal?.((signal) => {
        interrupted ??= signal;
      });
      try {
        let removedTemporaries = 0;
        if (input.resume) {
          const wanted = new Set(outNames);
          for (const name of fs.readdirSync(input.outDir))
            if (isStrayTemporary(name, wanted)) {
              fs.rmSync(join(input.outDir, name), { force: true });
              removedTemporaries++;
            }
        }
        const results: BatchResult['certificates'] = [];
        const recordedButNotWritten = (i: number, serial: string, err: { code: string; message: string; details: Record<string, unknown> }, cause: unknown): PkiError => {
          const out = join(input.outDir, outNames[i]!);
          return new PkiError(err.code, `certificate ${serial} (for ${join(input.batch, names[i]!)}) is recorded, but ${err.message}`, {
            details: { ...err.details, serial, ca: ca.name },
            hint: `fix the cause, then finish the batch with ${resumeCmd} (or: pki show ${serial} --ca ${ca.name} --pem --out ${out})`,
            cause,
          });
        };
        const writeOut = (i: number, serial: string, der: Buffer): string => {
          const out = join(input.outDir, outNames[i]!);
          try {
            // The store is the durable record; these files are copies, so they are not fsync'd one by one.
            writeFileAtomic(out, toPem('CERTIFICATE', der), { force, flag: 'input.outDir', durable: false });
          } catch (e) {
            throw recordedButNotWritten(i, serial, e as PkiError, e);
          }
          return out;
        };
        // A resumed batch: files for certificates already on record come from the store; nothing is signed again.
        for (const { index, item } of rewrite) writeOut(index, item.serial, item.der);
        const summary = (batch: number | null, issued: number): BatchResult => ({
          issuer: ca.name,
          profile: profile.name,
          batch,
          total: names.length,
          issued,
          rewritten: rewrite.length,
          alreadyDone,
          removedTemporaries,
          outDir: input.outDir,
          outDirCreated,
          interrupted,
          certificates: results,
        });
        if (pending.length === 0) {
          if (prior && !prior.finishedAt) await ws.store.finishBatch(prior.id, ws.now);
          return summary(prior?.id ?? null, 0);
        }
        const signer = await unlockCa(ws, ca, input);
        const window = issuerWindow(signer);
        // Pass 1: read and verify every CSR (on every core, see csr-pool.ts) and check it against the profile. Each
        // one is signed as soon as it passes: signing has no side effects, and this thread would otherwise wait.
        const csrProblems: PkiError[][] = new Array(pending.length);
        const requests: SubjectRequest[] = new Array(pending.length);
        const hashes: string[] = new Array(pending.length);
        const signing: Array<Promise<IssuedCertificate>> = new Array(pending.length);
        const warnings: string[] = [];
        const planOptions = { validitySeconds, ca: false, serial: serialSource(deps.randomBytes, Math.min(pending.length, 256)) };
        await reader.read(
          pending.map((i) => join(input.batch, names[i]!)),
          (k, csr) => {
            if (csr instanceof PkiError) return void (csrProblems[k] = [csr]);
            const req = requestFromCsr(csr, undefined, undefined);
            const plan = planCertificate(ws, window, profile, req, planOptions);
            warnings.push(...plan.warnings);
            if (plan.problems.length) return void (csrProblems[k] = plan.problems);
            requests[k] = req;
            hashes[k] = csr.sha256!;
            signing[k] = signPlanned(ws, signer.issuer, plan.fields!, req, profile);
          },
          () => interrupted !== null,
        );
        if (interrupted) {
          // Stopped before anything was recorded: nothing to resume from this run.
          await Promise.allSettled(signing);
          return summary(prior && input.resume ? prior.id : null, 0);
        }
        // All or nothing: any problem anywhere means nothing is recorded or written.
        const allProblems = csrProblems.flatMap((p) => p ?? []);
        if (allProblems.length) await Promise.allSettled(signing);
        throwIfAny(allProblems, `input.batch ${input.batch}: ${allProblems.length} problems`);
        for (const w of warnings.slice(0, 20)) deps.stderr.write(`warning: ${w}\n`);
        if (warnings.length > 20) deps.stderr.write(`warning: ... and ${warnings.length - 20} more session tags that would be dropped\n`);
        const issued = await Promise.all(signing);
        const batchId = input.resume && prior ? prior.id : await ws.store.startBatch(ca.id, csrDir, outDir, names.length, ws.now);
        issued.forEach((c, k) => {
          c.record.batchItem = { batchId, file: names[pending[k]!]!, csrSha256: hashes[k]! };
        });
        // Pass 2: record, then write, group by group (one transaction per group); a signal stops at a group boundary.
        // A group's files are written by the CSR workers (when there are any) while this thread records the next
        // group: at most one group is recorded and not yet written; a stopped or failed run finishes its writes first.
        const group = input.groupSize ?? 256;
        let done = 0;
        let writing: { start: number; end: number; certs: IssuedCertificate[]; failure: Promise<WriteFailure | undefined> } | undefined;
        const finishWriting = async (): Promise<void> => {
          if (!writing) return;
          const { start, end, certs, failure } = writing;
          writing = undefined;
          const failed = await failure;
          if (failed) {
            const c = certs[failed.index]!;
            throw recordedButNotWritten(pending[start + failed.index]!, c.record.serial, failed.error, new PkiError(failed.error.code, failed.error.message, { details: failed.error.details }));
          }
          certs.forEach((c, k) => results.push({ ...issuedSummary(signer, c), out: join(input.outDir, outNames[pending[start + k]!]!) }));
          done = end;
        };
        try {
          for (let start = 0; start < issued.length && !interrupted; start += group) {
            const end = Math.min(start + group, issued.length);
            const certs = issued.slice(start, end);
            try {
              await recordIssued(ws, signer, certs, requests.slice(start, end), profile);
            } catch (e) {
              // issue_batch_item's key (batch, CSR file): another process recorded a certificate for one of these CSRs
              // of this batch meanwhile (two --resume runs at once). The transaction rolled back: nothing twice.
              if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
                throw new PkiError('STATE_BATCH_CONCURRENT', `batch ${batchId}: another process recorded certificates for the same CSRs meanwhile; this group was not recorded`, {
                  details: { batch: batchId },
                  hint: `let the other run finish, then run ${resumeCmd}`,
                  cause: e,
                });
              throw e;
            }
            recordedAny = true;
            // Recorded: the files may be written now (the previous group's are finished first, in order).
            const files = certs.map((c, k) => ({ path: join(input.outDir, outNames[pending[start + k]!]!), der: c.der }));
            await finishWriting();
            const failure = reader.writeCertificates(files, force);
            failure.catch(() => undefined);
            writing = { start, end, certs, failure };
            input.onProgress?.(end, issued.length);
            // Let the event loop run between groups: a signal is delivered through it (recording never waits on I/O).
            await new Promise((resolve) => setImmediate(resolve));
          }
          await finishWriting();
        } finally {
          // A failure while a group's files are being written: they finish before the error is reported.
          if (writing) await writing.failure.catch(() => undefined);
        }
        if (done === issued.length) await ws.store.finishBatch(batchId, ws.now);
        return summary(batchId, done);
      } finally {
        stopListening?.();
      }
    });
  } catch (e) {
    if (createdTop && !recordedAny) removeQuietly([createdTop]);
    throw e;
  } finally {
    await reader.close();
  }
}
