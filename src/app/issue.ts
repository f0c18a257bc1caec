/** `pki issue`: end-entity certificates from a CSR, from a freshly generated key, or from a directory of CSRs. */
import * as fs from 'node:fs';
import { basename, extname, join } from 'node:path';
import { PkiError, throwIfAny } from '../errors.js';
import { generateKey, parseKeyType, plainPrivateKeyPem } from '../crypto/keys.js';
import type { PassphraseSource } from '../crypto/passphrase.js';
import { parseDuration } from '../domain/duration.js';
import { checkOutput, checkWritableDir, INPUT_LIMITS, readInput, removeQuietly, writeFileAtomic, writePrivateKeyFile } from '../fs/files.js';
import { loadProfile } from '../profile/load.js';
import { readCsr } from '../x509/csr.js';
import { readCsrFiles } from './csr-pool.js';
import { parseSan } from '../x509/extensions.js';
import { encodeName, formatDn, parseDn } from '../x509/name.js';
import { toPem } from '../x509/pem.js';
import { generatedRequest, planCertificate, recordIssued, requestFromCsr, sha256Fingerprint, signPlanned, signPlannedAsync, type IssuedCertificate, type SubjectRequest } from './issuance.js';
import { caChain, chainToPem, getCa, isSelfIssued, unlockCa, withWorkspace, type CaSigner, type Workspace } from './workspace.js';
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
  onProgress?: (done: number, total: number) => void;
}

async function prepare(ws: Workspace, input: { ca: string; profile?: string; validity?: string } & PassphraseSource) {
  const validitySeconds = input.validity === undefined ? undefined : parseDuration(input.validity, '--validity');
  const profile = loadProfile(input.profile ?? ws.config.defaultProfile, ws.config.profilesDir, ws.deps.cwd);
  if (profile.kind !== 'leaf')
    throw new PkiError('USAGE_PROFILE_KIND', `--profile ${profile.name} is a ${profile.kind} profile; pki issue needs a leaf profile (use pki ca create for CAs)`, {
      details: { profile: profile.name },
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
  if (input.csr && input.keyOut) throw new PkiError('USAGE_CONFLICT', '--key-out cannot be used with --csr (the key stays with whoever made the CSR)');
  if (!input.csr && !input.subject) throw new PkiError('USAGE_MISSING_INPUT', 'give --csr FILE, or --subject "CN=..." with --key-out FILE, or --batch DIR');
  if (!input.csr && !input.keyOut) throw new PkiError('USAGE_MISSING_KEY_OUT', '--subject without --csr generates a key: pass --key-out FILE for it');
  const keyType = parseKeyType(input.keyType);
  if (input.keyType && input.csr) throw new PkiError('USAGE_CONFLICT', '--key-type applies to generated keys, not to --csr');
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
      [input.out, '--out'],
      [input.chainOut, '--chain-out'],
      [input.keyOut, '--key-out'],
    ];
    const seen = new Set<string>();
    for (const [path, flag] of outputs) {
      if (!path) continue;
      if (seen.has(path)) throw new PkiError('USAGE_CONFLICT', `${flag} ${path} is also used by another output flag`);
      seen.add(path);
      checkOutput(path, flag, force);
    }
    const { validitySeconds, profile, ca } = await prepare(ws, input);
    let req: SubjectRequest;
    let generated: ReturnType<typeof generateKey> | undefined;
    if (input.csr) req = requestFromCsr(readCsr(readInput(input.csr, '--csr', INPUT_LIMITS.csr), input.csr), subjectOverride, sansOverride);
    else {
      generated = generateKey(keyType);
      req = generatedRequest(subjectOverride!.der, subjectOverride!.dn, generated.publicKey, 'generated key', sansOverride);
    }
    const signer = await unlockCa(ws, ca, input);
    const plan = planCertificate(ws, issuerWindow(signer), profile, req, { validitySeconds, ca: false });
    throwIfAny(plan.problems, `${input.csr ?? 'request'}: ${plan.problems.length} problems`);
    for (const w of plan.warnings) deps.stderr.write(`warning: ${w}\n`);
    const issued = [signPlanned(ws, signer.issuer, plan.fields!, req, profile)];
    // The chain for --chain-out leaves out self-signed roots: relying parties hold those as trust anchors.
    const chain = input.chainOut ? (await caChain(ws, ca)).filter((c) => !isSelfIssued(c)) : [];
    const created: string[] = [];
    try {
      if (generated && input.keyOut) {
        writePrivateKeyFile(input.keyOut, plainPrivateKeyPem(generated.privateKey), '--key-out', force);
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
    if (input.out) writeFileAtomic(input.out, pem, { force, flag: '--out' });
    // A leaf issued by a root has no intermediates: an empty file would be refused by pki verify --chain and
    // credential-process --intermediates, so nothing is written and the note says why.
    const chainNote = input.chainOut && !chain.length ? `--chain-out ${input.chainOut}: not written: CA ${ca.name} is a root, so the certificate needs no intermediates (omit --intermediates / --chain)` : null;
    if (chainNote) deps.stderr.write(`note: ${chainNote}\n`);
    else if (input.chainOut) writeFileAtomic(input.chainOut, chainToPem(chain), { force, flag: '--chain-out' });
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

/**
 * Issues one certificate per CSR file in `batch` into `outDir` (same base name, `.pem`). Every CSR is read and
 * checked first: if any is invalid, all problems are reported and nothing is issued. Certificates are then
 * signed and recorded in groups (one transaction each); a group's files are written only after it is committed,
 * so a crash never leaves a certificate file that is not on record.
 */
export async function issueBatch(deps: Workspace['deps'], input: BatchInput) {
  const force = input.force ?? false;
  let names: string[];
  try {
    names = fs
      .readdirSync(input.batch)
      .filter((n) => CSR_EXTENSIONS.has(extname(n).toLowerCase()) && !n.startsWith('.'))
      .sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PkiError('NOT_FOUND_DIRECTORY', `--batch ${input.batch}: no such directory`, { details: { dir: input.batch } });
    throw new PkiError('IO_READ_FAILED', `--batch ${input.batch}: cannot list (${(e as Error).message})`, { details: { dir: input.batch }, cause: e });
  }
  if (names.length === 0) throw new PkiError('USAGE_EMPTY_BATCH', `--batch ${input.batch} holds no .csr, .req, .pem or .der files`, { details: { dir: input.batch } });
  const outNames = names.map((n) => `${basename(n, extname(n))}.pem`);
  const dup = outNames.find((n, i) => outNames.indexOf(n) !== i);
  if (dup) throw new PkiError('USAGE_CONFLICT', `--batch ${input.batch}: two CSRs would both be written to ${dup}`, { details: { file: dup } });
  checkWritableDir(input.outDir, '--out-dir');
  if (!force) {
    const existing = outNames.filter((n) => fs.existsSync(join(input.outDir, n)));
    if (existing.length)
      throw new PkiError('STATE_OUTPUT_EXISTS', `--out-dir ${input.outDir} already holds ${existing.length} of the output files (first: ${existing[0]})`, {
        details: { dir: input.outDir, existing: existing.slice(0, 20) },
        hint: 'pass --force to overwrite them',
      });
  }
  return withWorkspace(input.dir, deps, async (ws) => {
    const { validitySeconds, profile, ca } = await prepare(ws, input);
    const signer = await unlockCa(ws, ca, input);
    const window = issuerWindow(signer);
    // Pass 1: read and verify every CSR (on every core, see csr-pool.ts) and check it against the profile. Each
    // one is signed as soon as it passes: signing has no side effects, and this thread would otherwise wait.
    const problems: PkiError[][] = new Array(names.length);
    const requests: SubjectRequest[] = new Array(names.length);
    const signing: Array<Promise<IssuedCertificate>> = new Array(names.length);
    const warnings: string[] = [];
    await readCsrFiles(
      names.map((name) => join(input.batch, name)),
      (i, csr) => {
        if (csr instanceof PkiError) return void (problems[i] = [csr]);
        const req = requestFromCsr(csr, undefined, undefined);
        const plan = planCertificate(ws, window, profile, req, { validitySeconds, ca: false });
        warnings.push(...plan.warnings);
        if (plan.problems.length) return void (problems[i] = plan.problems);
        requests[i] = req;
        signing[i] = signPlannedAsync(ws, signer.issuer, plan.fields!, req, profile);
      },
    );
    // All or nothing: any problem anywhere means nothing is recorded or written.
    const allProblems = problems.flatMap((p) => p ?? []);
    if (allProblems.length) await Promise.allSettled(signing);
    throwIfAny(allProblems, `--batch ${input.batch}: ${allProblems.length} problems`);
    for (const w of warnings.slice(0, 20)) deps.stderr.write(`warning: ${w}\n`);
    if (warnings.length > 20) deps.stderr.write(`warning: ... and ${warnings.length - 20} more session tags that would be dropped\n`);
    const issued = await Promise.all(signing);
    // Pass 2: record, then write, group by group (one transaction per group).
    const group = input.groupSize ?? 256;
    const results: Array<ReturnType<typeof issuedSummary> & { out: string }> = [];
    for (let start = 0; start < issued.length; start += group) {
      const end = Math.min(start + group, issued.length);
      const certs = issued.slice(start, end);
      await recordIssued(ws, signer, certs, requests.slice(start, end), profile);
      certs.forEach((c, k) => {
        const out = join(input.outDir, outNames[start + k]!);
        // The store is the durable record; these files are copies, so they are not fsync'd one by one.
        writeFileAtomic(out, toPem('CERTIFICATE', c.der), { force, flag: '--out-dir', durable: false });
        results.push({ ...issuedSummary(signer, c), out });
      });
      input.onProgress?.(end, issued.length);
    }
    return { issuer: ca.name, profile: profile.name, issued: results.length, outDir: input.outDir, certificates: results };
  });
}

