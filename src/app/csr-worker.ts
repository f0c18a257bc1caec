/**
 * Worker thread for batch issuance: reads, parses and verifies CSR files. Importing each CSR's public key and
 * verifying its signature is most of a batch's CPU time (see README, "Performance"), and every file is
 * independent, so the work is spread over the machine's cores. Only plain data crosses back to the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { readCsr } from '../x509/csr.js';
import { readCsrResult, toWire, type CsrJob } from './csr-pool.js';

parentPort?.on('message', async (job: CsrJob) => {
  const results = [];
  for (const path of job.paths) results.push(toWire(await readCsrResult(path, readCsr)));
  parentPort!.postMessage({ id: job.id, results });
});
