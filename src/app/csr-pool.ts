/**
 * Reads and verifies many CSR files: in worker threads (one per core) when the compiled worker is available and the
 * batch is large enough to pay for starting them, otherwise on this thread with signature checks in libuv's pool.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PkiError } from '../errors.js';
import { INPUT_LIMITS, readInput, writeFileAtomic } from '../fs/files.js';
import { toPem } from '../asn1/pem.js';
import { readCsrAsync, type ParsedCsr } from '../x509/csr.js';
import { keyIdentifier } from '../x509/extensions.js';

/** A CSR as plain data (no KeyObject): what crosses the worker boundary. */
export type CsrData = Pick<ParsedCsr, 'source' | 'subjectDer' | 'subjectDn' | 'spki' | 'keyType' | 'keyDescription' | 'rsaBits' | 'sans'> & {
  /** SHA-256 (hex) of the file's bytes, when read from a file: which CSR a batch certificate was issued for. */
  sha256?: string;
  /** The subject as the CSR's parser decoded it (the policy checks use it; not decoded twice). */
  subject?: ParsedCsr['subject'];
  /** keyIdentifier(spki): the certificate's subject key identifier, computed where the CSR is read. */
  subjectKeyId?: Buffer;
};

/** The plain-data part of a parsed CSR. */
export function csrData(csr: ParsedCsr): CsrData {
  const out: CsrData = { source: csr.source, subjectDer: csr.subjectDer, subject: csr.subject, subjectDn: csr.subjectDn, spki: csr.spki, keyDescription: csr.keyDescription, sans: csr.sans };
  if (csr.keyType) out.keyType = csr.keyType;
  if (csr.rsaBits) out.rsaBits = csr.rsaBits;
  return out;
}

export type CsrJobResult = { ok: true; csr: CsrData } | { ok: false; error: { code: string; message: string; details: Record<string, unknown>; hint?: string } };

/**
 * Reads, parses and verifies one CSR file into a result that can cross a thread boundary. Used on this thread and in
 * the workers alike, so a batch reports the same errors whatever its size. `verify` is sync in workers and async
 * (libuv's pool) here.
 */
export async function readCsrResult(path: string, read: (data: Buffer, source: string) => ParsedCsr | Promise<ParsedCsr>): Promise<CsrJobResult> {
  try {
    const bytes = readInput(path, 'input.batch', INPUT_LIMITS.csr);
    const csr = csrData(await read(bytes, path));
    try {
      csr.subjectKeyId = keyIdentifier(csr.spki);
    } catch {
      /* left to the certificate encoder, which reports it as before */
    }
    csr.sha256 = createHash('sha256').update(bytes).digest('hex');
    return { ok: true, csr };
  } catch (e) {
    if (e instanceof PkiError) return { ok: false, error: { code: e.code, message: e.message, details: e.details, ...(e.hint ? { hint: e.hint } : {}) } };
    return { ok: false, error: { code: 'INTERNAL', message: `internal error reading ${path}: ${(e as Error).message}`, details: { file: path } } };
  }
}

/**
 * A result as it crosses the thread boundary: the byte fields as latin1 strings (one character per byte). Cloning a
 * Uint8Array for a message costs a buffer allocation each (and a Buffer from Node's pool drags its whole 8 KiB slab
 * along); a short string is copied flat, which made posting results several times cheaper.
 */
export type WireResult =
  | { ok: true; csr: Omit<CsrData, 'subjectDer' | 'spki' | 'subjectKeyId'> & { subjectDer: string; spki: string; subjectKeyId?: string } }
  | Extract<CsrJobResult, { ok: false }>;

export function toWire(r: CsrJobResult): WireResult {
  if (!r.ok) return r;
  const { subjectKeyId, ...csr } = r.csr;
  return { ok: true, csr: { ...csr, subjectDer: csr.subjectDer.toString('latin1'), spki: csr.spki.toString('latin1'), ...(subjectKeyId ? { subjectKeyId: subjectKeyId.toString('latin1') } : {}) } };
}

function fromWire(r: WireResult): CsrJobResult {
  if (!r.ok) return r;
  const { subjectKeyId, ...csr } = r.csr;
  return { ok: true, csr: { ...csr, subjectDer: Buffer.from(csr.subjectDer, 'latin1'), spki: Buffer.from(csr.spki, 'latin1'), ...(subjectKeyId ? { subjectKeyId: Buffer.from(subjectKeyId, 'latin1') } : {}) } };
}

export interface CsrJob {
  id: number;
  paths: string[];
}

/** Certificate files to write (a batch's, after they are recorded): DER as latin1 strings, written as PEM. */
export interface WriteJob {
  id: number;
  write: Array<{ path: string; der: string }>;
  force: boolean;
}

/** The first file of a {@link WriteJob} that could not be written (the files after it were not attempted). */
export interface WriteFailure {
  index: number;
  error: { code: string; message: string; details: Record<string, unknown>; hint?: string };
}

/**
 * Writes certificate files as `pki issue --batch` does (atomically, not fsync'd one by one: the store is the durable
 * record), in order, stopping at the first failure. Used in the workers and on this thread alike.
 */
export function writeCertificateFiles(files: ReadonlyArray<{ path: string; der: Buffer | string }>, force: boolean): WriteFailure | undefined {
  for (let index = 0; index < files.length; index++) {
    const { path, der } = files[index]!;
    try {
      writeFileAtomic(path, toPem('CERTIFICATE', typeof der === 'string' ? Buffer.from(der, 'latin1') : der), { force, flag: 'input.outDir', durable: false });
    } catch (e) {
      if (e instanceof PkiError) return { index, error: { code: e.code, message: e.message, details: e.details, ...(e.hint ? { hint: e.hint } : {}) } };
      return { index, error: { code: 'IO_WRITE_FAILED', message: `input.outDir ${path}: cannot write (${(e as Error).message})`, details: { file: path } } };
    }
  }
  return undefined;
}

const WORKER_URL = new URL('./csr-worker.js', import.meta.url);
/** Below this many files, starting workers costs more than it saves. */
const MIN_FILES_FOR_WORKERS = 64;
const CHUNK = 64;
/** Chunks queued at each worker. */
const PREFETCH = 2;
const IN_FLIGHT = 32;

/** A CSR reader whose worker threads (if any) start when it is made: they boot while the caller prepares. */
export interface CsrReader {
  /**
   * Reads every path with this reader's workers (on this thread when it has none) and calls `onResult(index, csr or
   * PkiError)` as each one is ready (in any order), so the caller can start on a CSR while others are still being
   * verified. Failures are passed as PkiErrors, never thrown. `stopped` is polled between files (between chunks in
   * workers): true stops reading early (an interrupted batch).
   */
  read(paths: readonly string[], onResult: (index: number, result: CsrData | PkiError) => void, stopped?: () => boolean): Promise<void>;
  /**
   * Writes certificate files ({@link writeCertificateFiles}), spread over the workers (on this thread when there are
   * none); resolves with the failure of the lowest index, if any.
   */
  writeCertificates(files: ReadonlyArray<{ path: string; der: Buffer }>, force: boolean): Promise<WriteFailure | undefined>;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** A reader for about `expected` CSR files: with worker threads when that many pay for starting them. */
export function csrReader(expected: number): CsrReader {
  const workerFile = WORKER_URL.protocol === 'file:' ? fileURLToPath(WORKER_URL) : '';
  const count = Math.min(availableParallelism(), 8);
  const pool = expected >= MIN_FILES_FOR_WORKERS && count > 1 && workerFile && existsSync(workerFile) ? Array.from({ length: count }, () => new Worker(WORKER_URL)) : [];
  // A worker that fails before read() is called: remembered (an unheard 'error' event would end the process).
  let failure: Error | undefined;
  for (const w of pool) {
    w.on('error', (e) => (failure ??= e));
    w.on('exit', (code) => {
      if (code !== 0) failure ??= new PkiError('INTERNAL', `a CSR worker exited with code ${code}`);
    });
  }
  let closed = false;
  return {
    async read(paths, onResult, stopped = () => false) {
      const deliver = (i: number, r: CsrJobResult): void =>
        onResult(i, r.ok ? r.csr : new PkiError(r.error.code, r.error.message, { details: r.error.details, ...(r.error.hint ? { hint: r.error.hint } : {}) }));
      if (failure) throw failure;
      if (pool.length && !closed) await inWorkers(paths, pool, deliver, stopped);
      else await inThisThread(paths, deliver, stopped);
    },
    async writeCertificates(files, force) {
      if (failure) throw failure;
      if (!pool.length || closed || files.length < 2) return writeCertificateFiles(files, force);
      const per = Math.ceil(files.length / pool.length);
      const parts = pool.map((w, k) => ({ w, from: k * per, files: files.slice(k * per, (k + 1) * per) })).filter((p) => p.files.length);
      const outcomes = await Promise.all(parts.map((p) => writeInWorker(p.w, { id: p.from, write: p.files.map((f) => ({ path: f.path, der: f.der.toString('latin1') })), force })));
      let first: WriteFailure | undefined;
      outcomes.forEach((o, k) => {
        if (o && (!first || parts[k]!.from + o.index < first.index)) first = { index: parts[k]!.from + o.index, error: o.error };
      });
      return first;
    },
    async close() {
      closed = true;
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}

/** One write job in `worker`; resolves with its failure (index within the job), if any. */
function writeInWorker(worker: Worker, job: WriteJob): Promise<WriteFailure | undefined> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (msg: { id: number; failure?: WriteFailure | null }): void => {
      if (msg.id !== job.id || !('failure' in msg)) return;
      done();
      resolve(msg.failure ?? undefined);
    };
    const onError = (e: Error): void => {
      done();
      reject(e);
    };
    const onExit = (code: number): void => {
      done();
      reject(new PkiError('INTERNAL', `a CSR worker exited with code ${code}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}

async function inThisThread(paths: readonly string[], deliver: (i: number, r: CsrJobResult) => void, stopped: () => boolean): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < paths.length && !stopped()) {
      const i = next++;
      deliver(i, await readCsrResult(paths[i]!, readCsrAsync));
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, paths.length) }, lane));
}

async function inWorkers(paths: readonly string[], pool: readonly Worker[], deliver: (i: number, r: CsrJobResult) => void, stopped: () => boolean): Promise<void> {
  const chunks: CsrJob[] = [];
  for (let i = 0; i < paths.length; i += CHUNK) chunks.push({ id: i, paths: paths.slice(i, i + CHUNK) });
  let next = 0;
  const listening: Array<() => void> = [];
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            // Each worker holds PREFETCH chunks: it starts on the next one while this thread handles a result.
            let inFlight = 0;
            const send = (): void => {
              const job = stopped() ? undefined : chunks[next];
              if (job) {
                next++;
                inFlight++;
                worker.postMessage(job);
              } else if (inFlight === 0) resolve();
            };
            const onMessage = (msg: { id: number; results: WireResult[] }): void => {
              inFlight--;
              send();
              msg.results.forEach((r, k) => deliver(msg.id + k, fromWire(r)));
              if (inFlight === 0 && (stopped() || next >= chunks.length)) resolve();
            };
            const onError = (e: Error): void => reject(e);
            const onExit = (code: number): void => {
              if (code !== 0) reject(new PkiError('INTERNAL', `a CSR worker exited with code ${code}`));
            };
            worker.on('message', onMessage);
            worker.on('error', onError);
            worker.on('exit', onExit);
            listening.push(() => {
              worker.off('message', onMessage);
              worker.off('error', onError);
              worker.off('exit', onExit);
            });
            for (let k = 0; k < PREFETCH; k++) send();
          }),
      ),
    );
  } finally {
    for (const stop of listening) stop();
  }
}
