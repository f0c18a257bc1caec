/**
 * Worker thread for batch issuance: reads, parses and verifies CSR files. Importing each CSR's public key and
 * verifying its signature is most of a batch's CPU time (see README, "Performance"), and every file is
 * independent, so the work is spread over the machine's cores. Only plain data crosses back to the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { readCsr } from '../x509/csr.js';
import { readCsrResult, type CsrJob } from './csr-pool.js';

/**
 * A Buffer is usually a view into an 8 KiB pool slab, and posting a view copies its whole ArrayBuffer: the byte fields
 * are given their own exact-size buffers first (two small copies instead of 16 KiB cloned per CSR).
 */
const own = (b: Buffer): Uint8Array => new Uint8Array(b);

parentPort?.on('message', async (job: CsrJob) => {
  const results = [];
  for (const path of job.paths) {
    const r = await readCsrResult(path, readCsr);
    if (r.ok) r.csr = { ...r.csr, subjectDer: own(r.csr.subjectDer) as Buffer, spki: own(r.csr.spki) as Buffer };
    results.push(r);
  }
  parentPort!.postMessage({ id: job.id, results });
});
