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
import { INPUT_LIMITS, readInput } from '../fs/files.js';
import { readCsrAsync, type ParsedCsr } from '../x509/csr.js';

/** A CSR as plain data (no KeyObject): what crosses the worker boundary. */
export type CsrData = Pick<ParsedCsr, 'source' | 'subjectDer' | 'subjectDn' | 'spki' | 'keyType' | 'keyDescription' | 'rsaBits' | 'sans'> & {
  /** SHA-256 (hex) of the file's bytes, when read from a file: which CSR a batch certificate was issued for. */
  sha256?: string;
};

/** The plain-data part of a parsed CSR. */
export function csrData(csr: ParsedCsr): CsrData {
  const out: CsrData = { source: csr.source, subjectDer: csr.subjectDer, subjectDn: csr.subjectDn, spki: csr.spki, keyDescription: csr.keyDescription, sans: csr.sans };
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
    return { ok: true, csr: { ...csrData(await read(bytes, path)), sha256: createHash('sha256').update(bytes).digest('hex') } };
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
export type WireResult = { ok: true; csr: Omit<CsrData, 'subjectDer' | 'spki'> & { subjectDer: string; spki: string } } | Extract<CsrJobResult, { ok: false }>;

export function toWire(r: CsrJobResult): WireResult {
  return r.ok ? { ok: true, csr: { ...r.csr, subjectDer: r.csr.subjectDer.toString('latin1'), spki: r.csr.spki.toString('latin1') } } : r;
}

function fromWire(r: WireResult): CsrJobResult {
  return r.ok ? { ok: true, csr: { ...r.csr, subjectDer: Buffer.from(r.csr.subjectDer, 'latin1'), spki: Buffer.from(r.csr.spki, 'latin1') } } : r;
}

export interface CsrJob {
  id: number;
  paths: string[];
}

const WORKER_URL = new URL('./csr-worker.js', import.meta.url);
/** Below this many files, starting workers costs more than it saves. */
const MIN_FILES_FOR_WORKERS = 64;
const CHUNK = 64;
/** Chunks queued at each worker. */
const PREFETCH = 2;
const IN_FLIGHT = 32;

/**
 * Reads every path and calls `onResult(index, csr or PkiError)` as each one is ready (in any order), so the caller
 * can start on a CSR while others are still being verified. Failures are passed as PkiErrors, never thrown.
 */
export async function readCsrFiles(
  paths: readonly string[],
  onResult: (index: number, result: CsrData | PkiError) => void,
  /** Polled between files (between chunks in workers): true stops reading early (an interrupted batch). */
  stopped: () => boolean = () => false,
): Promise<void> {
  const workerFile = WORKER_URL.protocol === 'file:' ? fileURLToPath(WORKER_URL) : '';
  const workers = Math.min(availableParallelism(), 8);
  const deliver = (i: number, r: CsrJobResult): void =>
    onResult(i, r.ok ? r.csr : new PkiError(r.error.code, r.error.message, { details: r.error.details, ...(r.error.hint ? { hint: r.error.hint } : {}) }));
  if (paths.length >= MIN_FILES_FOR_WORKERS && workers > 1 && workerFile && existsSync(workerFile)) await inWorkers(paths, workers, deliver, stopped);
  else await inThisThread(paths, deliver, stopped);
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

async function inWorkers(paths: readonly string[], count: number, deliver: (i: number, r: CsrJobResult) => void, stopped: () => boolean): Promise<void> {
  const chunks: CsrJob[] = [];
  for (let i = 0; i < paths.length; i += CHUNK) chunks.push({ id: i, paths: paths.slice(i, i + CHUNK) });
  let next = 0;
  const pool = Array.from({ length: count }, () => new Worker(WORKER_URL));
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
            worker.on('message', (msg: { id: number; results: WireResult[] }) => {
              inFlight--;
              send();
              msg.results.forEach((r, k) => deliver(msg.id + k, fromWire(r)));
              if (inFlight === 0 && (stopped() || next >= chunks.length)) resolve();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new PkiError('INTERNAL', `a CSR worker exited with code ${code}`));
            });
            for (let k = 0; k < PREFETCH; k++) send();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
