/**
 * Worker thread for batch issuance: reads, parses and verifies CSR files. Importing each CSR's public key and
 * verifying its signature is most of a batch's CPU time (see README, "Performance"), and every file is
 * independent, so the work is spread over the machine's cores. Only plain data crosses back to the main thread.
 * After the CSRs, the same workers write the batch's certificate files (recorded first, by the main thread) while
 * the main thread records the next group.
 */
import { parentPort } from 'node:worker_threads';
import { readCsr } from '../x509/csr.js';
import { readCsrResult, toWire, writeCertificateFiles, type CsrJob, type WriteJob } from './csr-pool.js';

parentPort?.on('message', async (job: CsrJob | WriteJob) => {
  if ('write' in job) return void parentPort!.postMessage({ id: job.id, failure: writeCertificateFiles(job.write, job.force) ?? null });
  const results = [];
  for (const path of job.paths) results.push(toWire(await readCsrResult(path, readCsr)));
  parentPort!.postMessage({ id: job.id, results });
});
