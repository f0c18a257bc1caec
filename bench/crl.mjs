/**
 * Section "crl": an `openssl ca` index.txt of revoked entries (RSA-2048 CA) is brought into pki with
 * `pki import openssl-ca` (what a migration does; timed once: wall and peak RSS), then `pki crl generate` (whole
 * process) is measured against `openssl ca -gencrl` over the same index.txt, both signed by the same key,
 * alternating: wall time and peak RSS (GNU time). One untimed `pki crl generate` runs first, so that every timed pki
 * run also checks its CRL against the previous one (a CRL of the same size), as it does in production.
 * Then `pki crl inspect` of the largest CRL against `openssl crl -noout` on the same PEM file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CLI, QUICK, fmtS, fmtX, log, median, opensslCrlCa, timed } from './lib.mjs';

export async function run({ work, repeat }) {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('the crl section needs GNU time (/usr/bin/time): apt-get install -y time');
  const sizes = (process.env.CRL_SIZES ?? (QUICK ? '10000' : '100000,1000000')).split(',').map(Number);
  const ca = opensslCrlCa(join(work, 'openssl-crl'));
  const { caPem, caKey } = ca;
  const results = [];
  const pkiPem = join(work, 'pki.crl.pem');
  for (const size of sizes) {
    log(`crl: index.txt of ${size} revoked lines ...`);
    ca.addRevoked(size);
    const dir = join(work, `pki-crl-${size}`);
    execFileSync(process.execPath, [CLI, 'init', '--dir', dir, '--subject', 'CN=Bench Root,O=Bench', '--no-passphrase'], { stdio: 'ignore' });
    log(`crl: pki import openssl-ca of ${size} lines ...`);
    const imp = timed(work, process.execPath, [CLI, 'import', 'openssl-ca', '--dir', dir, '--name', 'legacy', '--cert', caPem, '--key', caKey, '--index', ca.index, '--crlnumber', ca.crlnumber, '--no-passphrase']);
    log(`  import ${size}: ${imp.wall.toFixed(2)} s ${imp.rssMiB.toFixed(0)} MiB`);
    const gen = ['crl', 'generate', '--dir', dir, '--ca', 'legacy', '--reasons', 'omit', '--max-pem-bytes', '1000000000', '--out', pkiPem, '--force'];
    timed(work, process.execPath, [CLI, ...gen]); // the previous CRL every timed run compares with
    const s = { pki: [], openssl: [], rTime: [], rMem: [] };
    for (let rep = 0; rep < repeat; rep++) {
      const o = timed(work, 'openssl', ['ca', '-gencrl', '-config', ca.cnf, '-out', join(work, 'openssl.crl.pem')]);
      const p = timed(work, process.execPath, [CLI, ...gen]);
      s.openssl.push(o);
      s.pki.push(p);
      s.rTime.push(o.wall / p.wall);
      s.rMem.push(p.rssMiB / o.rssMiB);
      log(`  ${size} pair ${rep + 1}: openssl ${o.wall.toFixed(2)} s (CPU ${o.cpu.toFixed(2)} s) ${o.rssMiB.toFixed(0)} MiB, pki ${p.wall.toFixed(2)} s (CPU ${p.cpu.toFixed(2)} s) ${p.rssMiB.toFixed(0)} MiB`);
    }
    const row = { size, s, imp };
    if (size === sizes[sizes.length - 1]) {
      row.inspect = { pki: [], openssl: [], r: [] };
      for (let rep = 0; rep < repeat; rep++) {
        const o = timed(work, 'openssl', ['crl', '-noout', '-in', pkiPem]);
        const p = timed(work, process.execPath, [CLI, 'crl', 'inspect', pkiPem]);
        row.inspect.openssl.push(o);
        row.inspect.pki.push(p);
        row.inspect.r.push(o.wall / p.wall);
        log(`  inspect pair ${rep + 1}: openssl ${o.wall.toFixed(2)} s (CPU ${o.cpu.toFixed(2)} s), pki ${p.wall.toFixed(2)} s (CPU ${p.cpu.toFixed(2)} s)`);
      }
    }
    results.push(row);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  ca.close();
  const med = (xs, f) => median(xs.map(f));
  console.log(`\nMigration: pki import openssl-ca of an index.txt of revoked entries (one run each)\n`);
  console.log(['lines', 'import wall', 'import peak RSS'].join(' | '));
  for (const { size, imp } of results) console.log([size, fmtS(imp.wall), `${imp.rssMiB.toFixed(0)} MiB`].join(' | '));
  console.log(`\nCRL generation from the store after the import (RSA-2048 CA, no reason codes), medians of ${repeat} alternating pairs\n`);
  console.log(['entries', 'openssl ca -gencrl', 'pki crl generate', 'time ×openssl', 'peak RSS pki/openssl'].join(' | '));
  for (const { size, s } of results)
    console.log([size, `${fmtS(med(s.openssl, (x) => x.wall))}, ${med(s.openssl, (x) => x.rssMiB).toFixed(0)} MiB`, `${fmtS(med(s.pki, (x) => x.wall))}, ${med(s.pki, (x) => x.rssMiB).toFixed(0)} MiB`, fmtX(median(s.rTime)), median(s.rMem).toFixed(2)].join(' | '));
  console.log('Each pki run also checks the new CRL against the previous one (every serial compared): that is included.');
  const last = results[results.length - 1];
  const label = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1e3 && n % 1e3 === 0 ? `${n / 1e3}k` : String(n));
  const rt = median(last.s.rTime);
  const rm = median(last.s.rMem);
  const ri = median(last.inspect.r);
  return [
    {
      work: `pki crl generate, ${label(last.size)} entries`,
      pki: `${fmtS(med(last.s.pki, (x) => x.wall))}, ${med(last.s.pki, (x) => x.rssMiB).toFixed(0)} MiB`,
      ref: `openssl ca -gencrl ${fmtS(med(last.s.openssl, (x) => x.wall))}, ${med(last.s.openssl, (x) => x.rssMiB).toFixed(0)} MiB`,
      ratio: `${fmtX(rt)}, memory ${rm.toFixed(2)}`,
      target: '≥ 10×, ≤ 0.25',
      met: rt >= 10 && rm <= 0.25,
    },
    {
      work: `pki crl inspect, ${label(last.size)} entries`,
      pki: fmtS(med(last.inspect.pki, (x) => x.wall)),
      ref: `openssl crl -noout ${fmtS(med(last.inspect.openssl, (x) => x.wall))}`,
      ratio: fmtX(ri),
      target: '≥ 2×',
      met: ri >= 2,
    },
  ];
}
