/**
 * Section "revoke": single revocations, each its own store transaction, through the library, against
 * `openssl ca -revoke` calls (a sample, scaled) and `pki revoke` processes (a sample). Not a row of the summary.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CLI, QUICK, ROOT } from './lib.mjs';

export async function run({ work }) {
  const WORK = work;
  const { populateCertificates } = await import('./synthetic.mjs');
  const TOTAL = QUICK ? 1000 : 10_000;
  const OPENSSL_SAMPLE = Number(process.env.OPENSSL_REVOKE_SAMPLE ?? (QUICK ? 20 : 200));
  const CLI_SAMPLE = QUICK ? 5 : 50;
  const dir = join(WORK, 'pki-revoke');
  execFileSync(process.execPath, [CLI, 'init', '--dir', dir, '--subject', 'CN=Bench Revoke CA', '--no-passphrase'], { stdio: 'ignore' });
  const serials = populateCertificates(join(dir, 'pki.db'), 'root', TOTAL + CLI_SAMPLE);
  // Library: one process, every revocation its own transaction (WAL, synchronous=FULL).
  const script = join(WORK, 'revoke-lib.mjs');
  fs.writeFileSync(
    script,
    `import { SqliteStore } from ${JSON.stringify(join(ROOT, 'dist/adapters/store/sqlite.js'))};
import { newRevocation } from ${JSON.stringify(join(ROOT, 'dist/app/revoke.js'))};
import { readFileSync } from 'node:fs';
const [db, listFile] = process.argv.slice(2);
const serials = JSON.parse(readFileSync(listFile, 'utf8'));
const store = SqliteStore.open(db);
const t = process.hrtime.bigint();
for (const s of serials) await store.revoke(1, [newRevocation(s, 1, new Date(), null)], 'bench', new Date());
process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e9));
store.close();
`,
  );
  const listFile = join(WORK, 'serials.json');
  fs.writeFileSync(listFile, JSON.stringify(serials.slice(0, TOTAL)));
  const lib = Number(execFileSync(process.execPath, [script, join(dir, 'pki.db'), listFile], { encoding: 'utf8' }));
  // pki revoke processes: a sample.
  let t = process.hrtime.bigint();
  for (const s of serials.slice(TOTAL)) execFileSync(process.execPath, [CLI, 'revoke', '--dir', dir, '--ca', 'root', '--serial', s], { stdio: 'ignore' });
  const cliPer = Number(process.hrtime.bigint() - t) / 1e9 / CLI_SAMPLE;
  // openssl ca -revoke: a sample of certificates issued by openssl itself, revoked one process each.
  const od = join(WORK, 'openssl-revoke');
  fs.mkdirSync(join(od, 'newcerts'), { recursive: true });
  fs.writeFileSync(join(od, 'index.txt'), '');
  fs.writeFileSync(join(od, 'serial'), '1000\n');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(od, 'ca.key'), '-out', join(od, 'ca.pem'), '-subj', '/CN=Bench', '-days', '30'], { stdio: 'ignore' });
  fs.writeFileSync(join(od, 'ca.cnf'), `[ca]\ndefault_ca = c\n[c]\ndatabase = ${od}/index.txt\nnew_certs_dir = ${od}/newcerts\nserial = ${od}/serial\ncertificate = ${od}/ca.pem\nprivate_key = ${od}/ca.key\ndefault_md = sha256\ndefault_days = 30\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`);
  const sampleCsrs = join(WORK, 'revoke-csrs');
  fs.mkdirSync(sampleCsrs);
  const key = join(od, 'ee.key');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: 'ignore' });
  for (let i = 0; i < OPENSSL_SAMPLE; i++) execFileSync('openssl', ['req', '-new', '-key', key, '-subj', `/CN=r${i}`, '-out', join(sampleCsrs, `${i}.csr`)], { stdio: 'ignore' });
  execFileSync('openssl', ['ca', '-batch', '-config', join(od, 'ca.cnf'), '-notext', '-out', '/dev/null', '-infiles', ...fs.readdirSync(sampleCsrs).map((f) => join(sampleCsrs, f))], { stdio: 'ignore' });
  const certs = fs.readdirSync(join(od, 'newcerts')).map((f) => join(od, 'newcerts', f));
  t = process.hrtime.bigint();
  for (const c of certs) execFileSync('openssl', ['ca', '-config', join(od, 'ca.cnf'), '-revoke', c, '-crl_reason', 'keyCompromise'], { stdio: 'ignore' });
  const osslPer = Number(process.hrtime.bigint() - t) / 1e9 / certs.length;
  const osslTotal = osslPer * TOTAL;
  console.log(`\n${TOTAL} single revocations (each its own transaction / process)\n`);
  console.log(['how', 'per revocation', `${TOTAL} revocations`, '×openssl'].join(' | '));
  console.log([`openssl ca -revoke (${certs.length} measured, scaled)`, `${(osslPer * 1000).toFixed(1)} ms`, `${osslTotal.toFixed(1)} s`, '1'].join(' | '));
  console.log(['pki library (store.revoke, one transaction each)', `${((lib / TOTAL) * 1000).toFixed(3)} ms`, `${lib.toFixed(2)} s`, `${(osslTotal / lib).toFixed(0)}× (target ≥ 50: ${osslTotal / lib >= 50 ? 'MET' : 'MISSED'})`].join(' | '));
  console.log([`pki revoke process (${CLI_SAMPLE} measured, scaled)`, `${(cliPer * 1000).toFixed(0)} ms`, `${(cliPer * TOTAL).toFixed(0)} s`, `${(osslPer / cliPer).toFixed(2)}×`].join(' | '));
  console.log('openssl ca -revoke rewrites index.txt on every call, so its real cost grows with the index; the scaled figure is a lower bound.');
  return [];
}
