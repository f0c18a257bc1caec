/**
 * Shared helpers of `npm run bench` sections: paths, the work directory, timing (wall clock, GNU time for peak RSS),
 * alternating pairs and medians. A section is a module `bench/NAME.mjs` exporting `run(ctx)`, which prints its own
 * details and returns rows for the summary table (see run.mjs).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The CLI as installed: package.json's `bin` (the bundled file when the build made one). */
export const CLI = join(ROOT, JSON.parse(fs.readFileSync(join(ROOT, 'package.json'), 'utf8')).bin.pki);
export const QUICK = process.env.BENCH_QUICK === '1';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const log = (s) => process.stderr.write(`${s}\n`);
export const have = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** Runs a command to completion; wall seconds. Throws with its stderr when it fails. */
export function wall(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} ... exited ${r.status}: ${r.stderr}`);
  return seconds;
}

/**
 * Runs a command under GNU time: wall seconds (ours, ns resolution), CPU seconds (user + system, all threads) and
 * peak RSS in MiB (the largest process). CPU time is the steadier figure on a shared machine.
 */
export function timed(work, cmd, args) {
  const out = join(work, 'time.out');
  const t = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', out, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
  const [kb, user, sys] = fs.readFileSync(out, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  return { wall: seconds, cpu: user + sys, rssMiB: kb / 1024 };
}

/** Spawns a process without blocking this event loop (an emulator may be answering from it); wall seconds + stdout. */
export function timedAsync(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ seconds: Number(process.hrtime.bigint() - t) / 1e9, out }) : reject(new Error(`${cmd} exited ${code}: ${err}`))));
  });
}

export function freshDir(work, name) {
  const d = join(work, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d);
  return d;
}

export const fmtS = (s) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
export const fmtX = (r) => `${r.toFixed(2)}×`;

/** A new work directory on tmpfs when there is one (disk latency stays out of the comparison). */
export function workDir() {
  const base = process.env.BENCH_DIR ?? (fs.existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  return fs.mkdtempSync(join(base, 'pki-bench-'));
}

/**
 * An `openssl ca` directory for CRL benchmarks: an RSA-2048 CA (ca.pem, ca.key), ca.cnf, crlnumber and an index.txt
 * to which `addRevoked(n)` appends revoked lines until it holds `n` (random 16-byte serials).
 */
export function opensslCrlCa(dir) {
  fs.mkdirSync(dir);
  const caPem = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caPem, '-subj', '/O=Bench/CN=Bench CRL CA', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash'], { stdio: 'ignore' });
  const cnf = join(dir, 'ca.cnf');
  fs.writeFileSync(cnf, `[ca]\ndefault_ca = c\n[c]\ndatabase = ${dir}/index.txt\ncrlnumber = ${dir}/crlnumber\ncertificate = ${caPem}\nprivate_key = ${caKey}\ndefault_md = sha256\ndefault_crl_days = 7\ncrl_extensions = ext\n[ext]\nauthorityKeyIdentifier = keyid\n`);
  fs.writeFileSync(join(dir, 'crlnumber'), '01\n');
  const index = join(dir, 'index.txt');
  const fd = fs.openSync(index, 'w');
  let lines = 0;
  return {
    caPem,
    caKey,
    cnf,
    index,
    crlnumber: join(dir, 'crlnumber'),
    addRevoked(n) {
      let text = '';
      for (let i = lines; i < n; i++) {
        const b = crypto.randomBytes(16);
        b[0] = (b[0] & 0x3f) | 0x40;
        text += `R\t491231235959Z\t260101000000Z\t${b.toString('hex').toUpperCase()}\tunknown\t/O=Bench/CN=host-${i}\n`;
        if (text.length > 1 << 20) {
          fs.writeSync(fd, text);
          text = '';
        }
      }
      fs.writeSync(fd, text);
      lines = Math.max(lines, n);
    },
    close: () => fs.closeSync(fd),
  };
}
