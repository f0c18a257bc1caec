/**
 * Worker thread for batch issuance: reads, parses and verifies CSR files. Importing each CSR's public key and
 * verifying its signature is most of a batch's CPU time (see README, "Performance"), and every file is
 * independent, so the work is spread over the machine's cores. Only plain data crosses back to the main thread.
 */
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { PkiError } from '../errors.js';
import { readCsr } from '../x509/csr.js';
import { csrData, type CsrJob, type CsrJobResult } from './csr-pool.js';

function readOne(path: string): CsrJobResult {
  try {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (e) {
      throw new PkiError('IO_READ_FAILED', `--batch ${path}: cannot read (${(e as Error).message})`, { details: { file: path } });
    }
    return { ok: true, csr: csrData(readCsr(data, path)) };
  } catch (e) {
    if (e instanceof PkiError) return { ok: false, error: { code: e.code, message: e.message, details: e.details, ...(e.hint ? { hint: e.hint } : {}) } };
    return { ok: false, error: { code: 'INTERNAL', message: `internal error reading ${path}: ${(e as Error).message}`, details: { file: path } } };
  }
}

parentPort?.on('message', (job: CsrJob) => {
  parentPort!.postMessage({ id: job.id, results: job.paths.map(readOne) });
});
