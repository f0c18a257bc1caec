#!/usr/bin/env node
/**
 * `npm run bench`, PKCS#11 section: issuance with the CA key on a SoftHSM2 token against the same issuance with an
 * encrypted-file CA key, in the same run, alternating. Reports certificates/s of each and the ratio (token ÷ file),
 * and where the time goes: signatures/s of each key alone (many in flight, and one at a time on the token), the share
 * of the token run spent waiting for signatures, the CPU used per wall second (2.0 = both cores busy) and the number
 * of token sessions the batch opened.
 *
 * Skips (with the reason) when SoftHSM2 or the pkcs11js build is missing. Env: P11_N (CSRs, default 1000; 200 with
 * BENCH_QUICK=1), P11_REPEAT (default 3; 1 with BENCH_QUICK=1), P11_SIGN (signatures timed per key, default 2000;
 * 400 with BENCH_QUICK=1), P11_KEY (ecdsa-p256 | rsa-2048, default both), SOFTHSM2_MODULE, BENCH_DIR.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';
const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.P11_N ?? (QUICK ? 200 : 1000));
const REPEAT = Number(process.env.P11_REPEAT ?? (QUICK ? 1 : 3));
const SIGN = Number(process.env.P11_SIGN ?? (QUICK ? 400 : 2000));
const KEYS = (process.env.P11_KEY ?? 'ecdsa-p256,rsa-2048').split(',');
const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function missing() {
  if (!fs.existsSync(MODULE)) return `SoftHSM2 is not installed (no ${MODULE})`;
  if (spawnSync('softhsm2-util', ['--version']).status !== 0) return 'softhsm2-util is not on PATH';
  if (spawnSync(process.execPath, ['-e', "require('pkcs11js')"], { cwd: ROOT }).status !== 0) return 'the pkcs11js module is not built';
  return undefined;
}

const why = missing();
if (why) {
  console.log(`\nPKCS#11 (SoftHSM2): skipped: ${why}`);
  process.exit(0);
}
if (!fs.existsSync(CLI)) throw new Error('run `npm run build` first (npm run bench does)');

const BASE = process.env.BENCH_DIR ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
const WORK = fs.mkdtempSync(join(BASE, 'pki-bench-p11-'));
const tokens = join(WORK, 'tokens');
fs.mkdirSync(tokens);
const conf = join(WORK, 'softhsm2.conf');
fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
const env = { ...process.env, SOFTHSM2_CONF: conf };
const PIN = '246810';
execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--pin', PIN, '--so-pin', '13579111'], { env, stdio: 'ignore' });
const pinFile = join(WORK, 'pin');
fs.writeFileSync(pinFile, `${PIN}\n`, { mode: 0o600 });

const { assembleCsr, buildCsrInfo } = await import(join(ROOT, 'dist/x509/csr.js'));
const { signatureAlgorithmFor } = await import(join(ROOT, 'dist/crypto/keys.js'));
const { encodeName, parseDn } = await import(join(ROOT, 'dist/x509/name.js'));
const { toPem } = await import(join(ROOT, 'dist/asn1/pem.js'));

const csrs = join(WORK, 'csrs');
fs.mkdirSync(csrs);
const alg = signatureAlgorithmFor('ecdsa-p256');
for (let i = 0; i < N; i++) {
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const info = buildCsrInfo(encodeName(parseDn(`CN=w${i}`)), crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }), []);
  fs.writeFileSync(join(csrs, `${String(i).padStart(5, '0')}.csr`), toPem('CERTIFICATE REQUEST', assembleCsr(info, alg, crypto.sign('sha256', info, key))));
}

/** The child run: one issueBatch (timed, with its CPU use), then the CA key's signatures alone. */
const SCRIPT = join(WORK, 'p11-issue.mjs');
fs.writeFileSync(
  SCRIPT,
  `import { issueBatch } from ${JSON.stringify(join(ROOT, 'dist/app/issue.js'))};
import { openWorkspace, unlockCa } from ${JSON.stringify(join(ROOT, 'dist/app/workspace.js'))};
import { randomBytes } from 'node:crypto';
const [dir, batch, outDir, mode] = process.argv.slice(2);
const deps = { now: () => new Date(), randomBytes, env: {}, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interactive: false, actor: 'bench@local' };
const out = {};
if (mode === 'issue') {
  const cpu0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  const r = await issueBatch(deps, { dir, ca: 'root', batch, outDir });
  out.seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  out.cpu = (cpu.user + cpu.system) / 1e6 / out.seconds;
  out.issued = r.issued;
  try { out.sessions = (await import(${JSON.stringify(join(ROOT, 'dist/adapters/keys/pkcs11.js'))})).pkcs11Sessions(); } catch { out.sessions = {}; }
} else {
  const ws = await openWorkspace(dir, deps);
  const { issuer } = await unlockCa(ws, await ws.store.getCa('root'), {});
  const tbs = randomBytes(600);
  const M = Number(process.argv[6] ?? 2000);
  let t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: M }, () => issuer.signer.sign(tbs)));
  out.parallel = M / (Number(process.hrtime.bigint() - t) / 1e9);
  t = process.hrtime.bigint();
  for (let i = 0; i < M / 4; i++) await issuer.signer.sign(tbs);
  out.sequential = M / 4 / (Number(process.hrtime.bigint() - t) / 1e9);
  await ws.close();
}
process.stdout.write(JSON.stringify(out));
`,
);
const child = (args) => {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const fresh = (name) => {
  const d = join(WORK, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d);
  return d;
};

log(`pkcs11 bench: N=${N} REPEAT=${REPEAT} SIGN=${SIGN} keys ${KEYS.join(', ')}${QUICK ? ' (BENCH_QUICK: small sizes)' : ''} in ${WORK}`);
const rows = [];
for (const keyType of KEYS) {
  const fileDir = join(WORK, `file-${keyType}`);
  const tokenDir = join(WORK, `token-${keyType}`);
  execFileSync(process.execPath, [CLI, 'init', '--dir', fileDir, '--subject', `CN=Bench file ${keyType}`, '--key-type', keyType, '--no-passphrase'], { stdio: 'ignore', env });
  execFileSync(process.execPath, [CLI, 'init', '--dir', tokenDir, '--subject', `CN=Bench token ${keyType}`, '--key-type', keyType, '--key-store', `pkcs11:token=bench;object=root-${keyType}?module-path=${MODULE}&pin-source=file:${pinFile}`], { stdio: 'ignore', env });
  const s = { file: [], token: [], ratio: [], cpuFile: [], cpuToken: [], sessions: 0 };
  for (let rep = 0; rep < REPEAT; rep++) {
    const f = child([fileDir, csrs, fresh(`out-file-${keyType}`), 'issue']);
    const t = child([tokenDir, csrs, fresh(`out-token-${keyType}`), 'issue']);
    if (f.issued !== N || t.issued !== N) throw new Error(`issued ${f.issued} / ${t.issued}, expected ${N}`);
    s.file.push(f.seconds);
    s.token.push(t.seconds);
    s.ratio.push(f.seconds / t.seconds);
    s.cpuFile.push(f.cpu);
    s.cpuToken.push(t.cpu);
    s.sessions = Math.max(s.sessions, ...Object.values(t.sessions));
    log(`  ${keyType} rep ${rep + 1}: file key ${f.seconds.toFixed(3)} s, token key ${t.seconds.toFixed(3)} s (${t.cpu.toFixed(2)} CPU/s, ${Object.values(t.sessions).join('/')} sessions)`);
  }
  const sigFile = child([fileDir, '', '', 'sign', String(SIGN)]);
  const sigToken = child([tokenDir, '', '', 'sign', String(SIGN)]);
  rows.push({ keyType, s, sigFile, sigToken });
}

const rate = (sec) => `${Math.round(N / sec)}/s`;
console.log(`\nPKCS#11: issuance from ${N} CSRs${QUICK ? ' (BENCH_QUICK)' : ''} with the CA key on a SoftHSM2 token vs an encrypted-file key (library issueBatch, medians of ${REPEAT} paired runs)\n`);
console.log(['CA key', 'file key', 'token key', 'token ÷ file', 'CPU/s file', 'CPU/s token', 'token sessions'].join(' | '));
for (const { keyType, s } of rows)
  console.log([keyType, rate(median(s.file)), rate(median(s.token)), `${median(s.ratio).toFixed(2)}×`, median(s.cpuFile).toFixed(2), median(s.cpuToken).toFixed(2), s.sessions].join(' | '));
console.log('\nWhere the time goes: signatures/s of the CA key alone (600-byte TBS), and the share of the token run spent signing');
console.log(['CA key', 'file, many in flight', 'token, many in flight', 'token, one at a time', 'signing share of token run'].join(' | '));
for (const { keyType, s, sigFile, sigToken } of rows) {
  const signSeconds = N / sigToken.parallel;
  console.log([keyType, `${Math.round(sigFile.parallel)}/s`, `${Math.round(sigToken.parallel)}/s`, `${Math.round(sigToken.sequential)}/s`, `${Math.round((100 * signSeconds) / median(s.token))}%`].join(' | '));
}
console.log('CPU/s: CPU seconds (user + system, SoftHSM2 threads included) per wall second of the batch; 2.00 = both cores busy.');
fs.rmSync(WORK, { recursive: true, force: true });
