#!/usr/bin/env node
/**
 * `npm run bench`: pki against the tools it replaces, measured in the same run, alternating A/B so that the
 * machine's noise hits both sides alike. Every ratio is the median of the per-pair ratios. Prints each section's
 * details, then the summary table (the performance targets).
 *
 * Sections (one module each, `bench/NAME.mjs` exporting `run(ctx)` that returns summary rows; a new section is a new
 * file plus its name in SECTIONS):
 *   issue    `pki issue --batch` of N CSRs, P-256 and RSA-2048 CAs, vs `openssl ca -batch`
 *   crl      `pki import openssl-ca` of an index.txt, then `pki crl generate` vs `openssl ca -gencrl` (time, peak RSS),
 *            and `pki crl inspect` vs `openssl crl -noout`
 *   startup  `pki credential-process` vs `node -e 0`, and beside `$AWS_SIGNING_HELPER credential-process` when set
 *   revoke   single revocations vs `openssl ca -revoke` (details only)
 *   mldsa    ML-DSA sign/verify/keygen speed per parameter set, certificate, CRL and CreateSession header sizes, and
 *            what a 10,000-entry ML-DSA-65 CRL costs against the ImportCrl budget (details only; `node bench/mldsa.mjs`)
 *   postgres the largest CRL generated from a PostgreSQL store (a throwaway cluster) beside SQLite and `openssl ca
 *            -gencrl`; skipped when PostgreSQL is not installed
 *
 * Env: BENCH_QUICK=1 (small sizes: N=200, CRL_SIZES=10000, fewer start-up runs: for trying the bench, not for
 * figures), REPEAT (pairs per measurement, default 5), SECTIONS (default "issue,crl,startup,revoke,mldsa,postgres"), N (issuance
 * CSRs, default 2000), CRL_SIZES (default "100000,1000000"; the last size is the summary's row), STARTUP_RUNS
 * (default 30), AWS_SIGNING_HELPER (path of aws_signing_helper), BENCH_DIR (default /dev/shm when present).
 */
import * as fs from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { execFileSync } from 'node:child_process';
import { CLI, QUICK, have, log, workDir } from './lib.mjs';

const REPEAT = Number(process.env.REPEAT ?? 5);
const SECTIONS = (process.env.SECTIONS ?? 'issue,crl,startup,revoke,mldsa,postgres').split(',').filter(Boolean);
if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does)`);
if (!have('openssl')) throw new Error('openssl is required for the comparison');
if (REPEAT < 1) throw new Error('REPEAT must be at least 1');

const work = workDir();
log(`bench: sections ${SECTIONS.join(', ')}, ${REPEAT} pairs${QUICK ? ' (BENCH_QUICK: small sizes)' : ''}, in ${work}`);
const rows = [];
try {
  for (const name of SECTIONS) {
    if (!/^[a-z0-9-]+$/.test(name) || !fs.existsSync(new URL(`./${name}.mjs`, import.meta.url))) throw new Error(`SECTIONS: no section "${name}" (bench/${name}.mjs)`);
    const section = await import(`./${name}.mjs`);
    rows.push(...((await section.run({ work, repeat: REPEAT })) ?? []));
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}

if (rows.length) {
  const openssl = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  console.log(`\n## Summary (${new Date().toISOString().slice(0, 10)}; ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${openssl}${QUICK ? '; BENCH_QUICK sizes' : ''})\n`);
  console.log(`Medians of ${REPEAT}+ alternating pairs; "×" is the other tool's time over pki's (higher = pki faster), except start-up rows: pki's time over the other's (lower = better); memory is pki's peak RSS over openssl's.\n`);
  console.log('| work | pki | reference | ratio | target | result |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.work} | ${r.pki} | ${r.ref} | ${r.ratio} | ${r.target} | ${r.met === undefined ? '—' : r.met ? 'met' : 'not met'} |`);
}
