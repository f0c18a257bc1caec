#!/usr/bin/env node
/**
 * `npm run bench`: issuance throughput of `pki` against `openssl ca` (and cfssl when installed), measured in the
 * same run, alternating A/B so that the machine's noise hits both sides alike. Ratios are medians of the per-pair
 * ratios (higher = pki faster).
 *
 * Work: N (default 2000) CSRs, each with its own P-256 key and a SAN, issued by a P-256 CA and by an RSA-2048 CA,
 * with the same end-entity profile on every side (CA:FALSE, KU digitalSignature, EKU clientAuth, SKI, AKI, SAN copied
 * from the CSR, SHA-256). Both sides verify every CSR's signature and record every certificate (openssl: index.txt;
 * pki: the SQLite store, WAL, synchronous=FULL, one transaction per 256 certificates) and write one file per
 * certificate. Everything lives under BENCH_DIR (default /dev/shm when present, else the OS temp dir), so disk
 * latency stays out of the comparison.
 *
 * Env: N, REPEAT (default 5), BENCH_DIR, ONLY=issue (reserved for later sections).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const N = Number(process.env.N ?? 2000);
const REPEAT = Number(process.env.REPEAT ?? 5);
const BASE = process.env.BENCH_DIR ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const WORK = fs.mkdtempSync(join(BASE, 'pki-bench-'));

const { buildCsr } = await import(join(ROOT, 'dist/x509/csr.js'));
const { signatureAlgorithmFor } = await import(join(ROOT, 'dist/crypto/keys.js'));
const { encodeName, parseDn } = await import(join(ROOT, 'dist/x509/name.js'));
const { encodeExtension, encodeSans } = await import(join(ROOT, 'dist/x509/extensions.js'));
const { toPem } = await import(join(ROOT, 'dist/x509/pem.js'));

const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const log = (s) => process.stderr.write(`${s}\n`);

function wall(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} ... exited ${r.status}: ${r.stderr}`);
  return seconds;
}

function makeCsrs(dir) {
  fs.mkdirSync(dir);
  const alg = signatureAlgorithmFor('ecdsa-p256');
  for (let i = 0; i < N; i++) {
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const host = `host-${i}.example.test`;
    const san = encodeExtension('2.5.29.17', false, encodeSans([{ type: 'dns', value: host }]));
    const csr = buildCsr(encodeName(parseDn(`CN=${host}`)), key, alg, [san]);
    fs.writeFileSync(join(dir, `${String(i).padStart(5, '0')}.csr`), toPem('CERTIFICATE REQUEST', csr));
  }
}

function makeCa(kind) {
  const dir = join(WORK, `pki-${kind}`);
  execFileSync(process.execPath, [CLI, 'init', '--dir', dir, '--subject', `CN=Bench ${kind} CA,O=Bench`, '--key-type', kind === 'ec' ? 'ecdsa-p256' : 'rsa-2048', '--no-passphrase'], { stdio: 'ignore' });
  const caPem = join(WORK, `ca-${kind}.pem`);
  execFileSync(process.execPath, [CLI, 'ca', 'export', 'root', '--dir', dir, '--out', caPem], { stdio: 'ignore' });
  const ossl = join(WORK, `openssl-${kind}`);
  fs.mkdirSync(ossl);
  fs.writeFileSync(
    join(ossl, 'ca.cnf'),
    `[ca]
default_ca = CA_default
[CA_default]
dir = ${ossl}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
certificate = ${caPem}
private_key = ${join(dir, 'keys/root.key.pem')}
default_md = sha256
default_days = 1
policy = policy_any
copy_extensions = copy
unique_subject = no
x509_extensions = v3
[policy_any]
commonName = supplied
[v3]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
`,
  );
  return { dir, ossl };
}

function resetOpenssl(ossl) {
  fs.rmSync(join(ossl, 'newcerts'), { recursive: true, force: true });
  fs.mkdirSync(join(ossl, 'newcerts'));
  fs.writeFileSync(join(ossl, 'index.txt'), '');
  fs.writeFileSync(join(ossl, 'serial'), '1000\n');
}

function freshDir(name) {
  const d = join(WORK, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d);
  return d;
}

/** One library run in its own process, timing only the issueBatch call (the process's start-up is excluded). */
const LIB_SCRIPT = join(WORK, 'lib-issue.mjs');
fs.writeFileSync(
  LIB_SCRIPT,
  `import { issueBatch } from ${JSON.stringify(join(ROOT, 'dist/app/issue.js'))};
import { randomBytes } from 'node:crypto';
const [dir, batch, outDir] = process.argv.slice(2);
const deps = { now: () => new Date(), randomBytes, env: {}, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interactive: false, actor: 'bench@local' };
const t = process.hrtime.bigint();
const r = await issueBatch(deps, { dir, ca: 'root', batch, outDir });
process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t) / 1e9, issued: r.issued }));
`,
);

function libRun(dir, batch, outDir) {
  const r = spawnSync(process.execPath, [LIB_SCRIPT, dir, batch, outDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`library run failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout);
  if (res.issued !== N) throw new Error(`library run issued ${res.issued}, expected ${N}`);
  return res.seconds;
}

function cfsslRun(kind, csrs, outDir) {
  const ca = join(WORK, `ca-${kind}.pem`);
  const key = join(WORK, `pki-${kind}`, 'keys/root.key.pem');
  const t = process.hrtime.bigint();
  for (const f of fs.readdirSync(csrs)) {
    const r = spawnSync('cfssl', ['sign', '-ca', ca, '-ca-key', key, join(csrs, f)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cfssl sign failed: ${r.stderr}`);
    fs.writeFileSync(join(outDir, `${f}.json`), r.stdout);
  }
  return Number(process.hrtime.bigint() - t) / 1e9;
}

if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first (npm run bench does)');
if (!have('openssl')) throw new Error('openssl is required for the comparison');
log(`bench: N=${N} REPEAT=${REPEAT} in ${WORK}`);
log('making CSRs (each with its own P-256 key) ...');
const csrs = join(WORK, 'csrs');
makeCsrs(csrs);
const rows = [];
const TARGETS = { ec: 3, rsa: 1.5 };
for (const kind of ['ec', 'rsa']) {
  const { dir, ossl } = makeCa(kind);
  const samples = { cli: [], lib: [], openssl: [], cfssl: [], rCli: [], rLib: [], rCfssl: [] };
  for (let rep = 0; rep < REPEAT; rep++) {
    resetOpenssl(ossl);
    const o = wall('openssl', ['ca', '-batch', '-config', join(ossl, 'ca.cnf'), '-notext', '-out', '/dev/null', '-infiles', ...fs.readdirSync(csrs).map((f) => join(csrs, f))]);
    if (fs.readdirSync(join(ossl, 'newcerts')).length !== N) throw new Error('openssl did not issue every certificate');
    const out = freshDir(`out-cli-${kind}`);
    const c = wall(process.execPath, [CLI, 'issue', '--ca', 'root', '--batch', csrs, '--out-dir', out, '--dir', dir]);
    if (fs.readdirSync(out).length !== N) throw new Error('pki did not issue every certificate');
    const l = libRun(dir, csrs, freshDir(`out-lib-${kind}`));
    samples.openssl.push(o);
    samples.cli.push(c);
    samples.lib.push(l);
    samples.rCli.push(o / c);
    samples.rLib.push(o / l);
    if (have('cfssl') && rep < 2) {
      const f = cfsslRun(kind, csrs, freshDir(`out-cfssl-${kind}`));
      samples.cfssl.push(f);
      samples.rCfssl.push(f / c);
    }
    log(`  ${kind} rep ${rep + 1}: openssl ${o.toFixed(3)} s, pki cli ${c.toFixed(3)} s, pki library ${l.toFixed(3)} s`);
  }
  rows.push({ kind, samples });
}

const rate = (s) => `${Math.round(N / median(s))}/s`;
console.log(`\nIssuance from ${N} CSRs (P-256 end-entity keys), medians of ${REPEAT} paired runs\n`);
console.log(['CA', 'openssl ca', 'pki issue --batch', 'pki library', 'cli ×openssl', 'library ×openssl', 'target', 'cli result'].join(' | '));
for (const { kind, samples } of rows) {
  const target = TARGETS[kind];
  const rc = median(samples.rCli);
  console.log(
    [
      kind === 'ec' ? 'P-256' : 'RSA-2048',
      rate(samples.openssl),
      rate(samples.cli),
      rate(samples.lib),
      `${rc.toFixed(2)}×`,
      `${median(samples.rLib).toFixed(2)}×`,
      `≥ ${target}×`,
      rc >= target ? 'MET' : 'MISSED',
    ].join(' | '),
  );
  if (samples.cfssl.length) console.log(`  cfssl sign (one process per CSR): ${rate(samples.cfssl)}; pki cli is ${median(samples.rCfssl).toFixed(2)}× faster`);
}
console.log('\nWhole-process wall time for openssl and the CLI (start-up included); the library column times only the issueBatch call.');
fs.rmSync(WORK, { recursive: true, force: true });
