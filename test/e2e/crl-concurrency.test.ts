import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crlDerFromFile, decodeCrl } from '../../src/x509/crl.js';
import { CLI, tempDir } from '../helpers.js';

function pki(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pki ${args.join(' ')}: ${r.stderr}`);
  return r;
}

describe('concurrent crl generate', () => {
  it('ok/four processes at once: all succeed with distinct, increasing CRL Numbers', async () => {
    const base = tempDir('pki-crl-conc-');
    const dir = join(base, 'pki');
    pki(['init', '--dir', dir, '--subject', 'CN=Conc Root', '--no-passphrase']);
    pki(['issue', '--dir', dir, '--ca', 'root', '--subject', 'CN=x', '--key-out', join(base, 'x.key'), '--out', join(base, 'x.pem')]);
    pki(['revoke', '--dir', dir, '--ca', 'root', '--cert', join(base, 'x.pem'), '--reason', 'keyCompromise']);
    const runs = [1, 2, 3, 4].map(
      (i) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, [CLI, 'crl', 'generate', '--dir', dir, '--ca', 'root', '--out', join(base, `crl-${i}.pem`), '--json']);
          let out = '';
          child.stdout.on('data', (d) => (out += d));
          child.on('exit', (code) => resolve({ code, out }));
        }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.out).toBe(0);
    const numbers = results.map((r) => JSON.parse(r.out).data.crl.crlNumber as number).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4]);
    // Each file holds the number its run reported.
    for (const [i, r] of results.entries()) {
      const path = join(base, `crl-${i + 1}.pem`);
      expect(String(decodeCrl(crlDerFromFile(fs.readFileSync(path), path), path).crlNumber)).toBe(String(JSON.parse(r.out).data.crl.crlNumber));
    }
  });
});
