/**
 * Section "issue": `pki issue --batch` (whole process) and the library's `issueBatch` against `openssl ca -batch`
 * on the same N CSRs (each with its own P-256 key and a SAN), with a P-256 CA and an RSA-2048 CA, alternating
 * openssl / pki in every pair. Both sides verify every CSR's signature, record every certificate (openssl:
 * index.txt; pki: SQLite, WAL, synchronous=FULL) and write one file per certificate. cfssl joins when installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CLI, QUICK, ROOT, fmtX, freshDir, have, log, median, timed } from './lib.mjs';

export async function run({ work, repeat }) {
  const N = Number(process.env.N ?? (QUICK ? 200 : 2000));
  const { assembleCsr, buildCsrInfo } = await import(join(ROOT, 'dist/x509/csr.js'));
  const { signatureAlgorithmFor } = await import(join(ROOT, 'dist/crypto/keys.js'));
  const { encodeName, parseDn } = await import(join(ROOT, 'dist/x509/name.js'));
  const { encodeExtension, encodeSans } = await import(join(ROOT, 'dist/x509/extensions.js'));
  const { toPem } = await import(join(ROOT, 'dist/asn1/pem.js'));

  log(`issue: N=${N}, ${repeat} pairs; making CSRs (each with its own P-256 key) ...`);
  const csrs = join(work, 'csrs');
  fs.mkdirSync(csrs);
  const alg = signatureAlgorithmFor('ecdsa-p256');
  for (let i = 0; i < N; i++) {
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const host = `host-${i}.example.test`;
    const san = encodeExtension('2.5.29.17', false, encodeSans([{ type: 'dns', value: host }]));
    const info = buildCsrInfo(encodeName(parseDn(`CN=${host}`)), crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }), [san]);
    fs.writeFileSync(join(csrs, `${String(i).padStart(5, '0')}.csr`), toPem('CERTIFICATE REQUEST', assembleCsr(info, alg, crypto.sign(alg.hash, info, key))));
  }
  const csrFiles = fs.readdirSync(csrs).map((f) => join(csrs, f));

  // The library alone, in its own process, timing only the issueBatch call (start-up excluded).
  const libScript = join(work, 'lib-issue.mjs');
  fs.writeFileSync(
    libScript,
    `import { issueBatch } from ${JSON.stringify(join(ROOT, 'dist/app/issue.js'))};
import { randomBytes } from 'node:crypto';
const [dir, batch, outDir] = process.argv.slice(2);
const deps = { now: () => new Date(), randomBytes, env: {}, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interactive: false, actor: 'bench@local' };
const t = process.hrtime.bigint();
const r = await issueBatch(deps, { dir, ca: 'root', batch, outDir });
process.stdout.write(JSON.stringify({ seconds: Number(process.hrtime.bigint() - t) / 1e9, issued: r.issued }));
`,
  );
  const libRun = (dir, outDir) => {
    const r = spawnSync(process.execPath, [libScript, dir, csrs, outDir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`library run failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout);
    if (res.issued !== N) throw new Error(`library run issued ${res.issued}, expected ${N}`);
    return res.seconds;
  };

  const rows = [];
  const TARGETS = { ec: 3, rsa: 2 };
  for (const kind of ['ec', 'rsa']) {
    const { dir, ossl, caPem } = makeCa(work, kind);
    const s = { cli: [], lib: [], openssl: [], cfssl: [], rCli: [], rLib: [], rCfssl: [], cpuOpenssl: [], cpuCli: [] };
    for (let rep = 0; rep < repeat; rep++) {
      resetOpenssl(ossl);
      const ot = timed(work, 'openssl', ['ca', '-batch', '-config', join(ossl, 'ca.cnf'), '-notext', '-out', '/dev/null', '-infiles', ...csrFiles]);
      if (fs.readdirSync(join(ossl, 'newcerts')).length !== N) throw new Error('openssl did not issue every certificate');
      const out = freshDir(work, `out-cli-${kind}`);
      const ct = timed(work, process.execPath, [CLI, 'issue', '--ca', 'root', '--batch', csrs, '--out-dir', out, '--dir', dir]);
      if (fs.readdirSync(out).length !== N) throw new Error('pki did not issue every certificate');
      const o = ot.wall;
      const c = ct.wall;
      s.cpuOpenssl.push(ot.cpu);
      s.cpuCli.push(ct.cpu);
      const l = libRun(dir, freshDir(work, `out-lib-${kind}`));
      s.openssl.push(o);
      s.cli.push(c);
      s.lib.push(l);
      s.rCli.push(o / c);
      s.rLib.push(o / l);
      if (have('cfssl') && rep < 2) {
        const f = cfsslRun(work, kind, dir, caPem, csrs);
        s.cfssl.push(f);
        s.rCfssl.push(f / c);
      }
      log(`  ${kind} pair ${rep + 1}: openssl ${o.toFixed(3)} s (CPU ${ot.cpu.toFixed(2)} s), pki cli ${c.toFixed(3)} s (CPU ${ct.cpu.toFixed(2)} s; library ${l.toFixed(3)} s)`);
    }
    rows.push({ kind, s });
  }
  const rate = (xs) => `${Math.round(N / median(xs))}/s`;
  console.log(`\nIssuance from ${N} CSRs (P-256 end-entity keys), medians of ${repeat} alternating pairs\n`);
  console.log(['CA', 'openssl ca', 'pki issue --batch', 'pki library', 'cli ×openssl', 'library ×openssl', 'CPU s openssl / pki cli'].join(' | '));
  for (const { kind, s } of rows) {
    console.log([kind === 'ec' ? 'P-256' : 'RSA-2048', rate(s.openssl), rate(s.cli), rate(s.lib), fmtX(median(s.rCli)), fmtX(median(s.rLib)), `${median(s.cpuOpenssl).toFixed(2)} / ${median(s.cpuCli).toFixed(2)}`].join(' | '));
    if (s.cfssl.length) console.log(`  cfssl sign (one process per CSR): ${rate(s.cfssl)}; pki cli is ${median(s.rCfssl).toFixed(2)}× faster`);
  }
  console.log('Whole-process wall time for openssl and the CLI (start-up included); the library column times only the issueBatch call. CPU: user + system seconds of all threads.');
  return rows.map(({ kind, s }) => {
    const r = median(s.rCli);
    return {
      work: `pki issue --batch, ${N} CSRs, ${kind === 'ec' ? 'P-256' : 'RSA-2048'} CA, whole process`,
      pki: `${median(s.cli).toFixed(2)} s (${rate(s.cli)}; CPU ${median(s.cpuCli).toFixed(2)} s)`,
      ref: `openssl ca ${median(s.openssl).toFixed(2)} s (CPU ${median(s.cpuOpenssl).toFixed(2)} s)`,
      ratio: fmtX(r),
      target: `≥ ${TARGETS[kind]}×`,
      met: r >= TARGETS[kind],
    };
  });
}

function makeCa(work, kind) {
  const dir = join(work, `pki-${kind}`);
  execFileSync(process.execPath, [CLI, 'init', '--dir', dir, '--subject', `CN=Bench ${kind} CA,O=Bench`, '--key-type', kind === 'ec' ? 'ecdsa-p256' : 'rsa-2048', '--no-passphrase'], { stdio: 'ignore' });
  const caPem = join(work, `ca-${kind}.pem`);
  execFileSync(process.execPath, [CLI, 'ca', 'export', 'root', '--dir', dir, '--out', caPem], { stdio: 'ignore' });
  const ossl = join(work, `openssl-${kind}`);
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
  return { dir, ossl, caPem };
}

function resetOpenssl(ossl) {
  fs.rmSync(join(ossl, 'newcerts'), { recursive: true, force: true });
  fs.mkdirSync(join(ossl, 'newcerts'));
  fs.writeFileSync(join(ossl, 'index.txt'), '');
  fs.writeFileSync(join(ossl, 'serial'), '1000\n');
}

function cfsslRun(work, kind, dir, caPem, csrs) {
  const outDir = freshDir(work, `out-cfssl-${kind}`);
  const key = join(dir, 'keys/root.key.pem');
  const t = process.hrtime.bigint();
  for (const f of fs.readdirSync(csrs)) {
    const r = spawnSync('cfssl', ['sign', '-ca', caPem, '-ca-key', key, join(csrs, f)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cfssl sign failed: ${r.stderr}`);
    fs.writeFileSync(join(outDir, `${f}.json`), r.stdout);
  }
  return Number(process.hrtime.bigint() - t) / 1e9;
}
