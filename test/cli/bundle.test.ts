/**
 * start-up: the installed `pki` is the esbuild bundle (dist/bin/), and a run loads only the command it names
 * (src/cli/run.ts COMMAND_MODULES), falling back to every command for help, typos and parse errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { COMMAND_MODULES, namedCommand } from '../../src/cli/run.js';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { CLI, ROOT, buildCsrWithKey, tempDir } from '../helpers.js';

const pkg = JSON.parse(fs.readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { pki: string }; scripts: Record<string, string> };

describe('the bundled CLI', () => {
  it('the bin is the bundle that the build (and so `prepare`) makes, beside its CSR worker', () => {
    expect(pkg.bin.pki).toBe('dist/bin/pki.js');
    expect(pkg.scripts.build).toContain('scripts/bundle.mjs');
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(CLI).toBe(join(ROOT, 'dist/bin/pki.js'));
    // The pool resolves ./csr-worker.js against the chunk that holds it: every chunk is in dist/bin/.
    expect(fs.existsSync(join(ROOT, 'dist/bin/csr-worker.js'))).toBe(true);
    expect(fs.existsSync(join(ROOT, 'dist/bin/fast.js'))).toBe(true);
    const holders = fs.readdirSync(join(ROOT, 'dist/bin')).filter((f) => fs.readFileSync(join(ROOT, 'dist/bin', f), 'utf8').includes('"./csr-worker.js"'));
    expect(holders.length).toBeGreaterThan(0);
  });

  it('every top-level command has its module in the lazy table, which yields the very same definition', async () => {
    for (const c of COMMANDS) {
      const name = c.command.split(' ')[0]!;
      expect(Object.keys(COMMAND_MODULES)).toContain(name);
      expect(await namedCommand([name, '--x'])).toEqual([c]);
    }
    expect(Object.keys(COMMAND_MODULES).length).toBe(COMMANDS.length);
    // Not a command first (an option, a typo, nothing): the full parser.
    expect(await namedCommand(['--dir', 'crl'])).toBeUndefined();
    expect(await namedCommand(['isue'])).toBeUndefined();
    expect(await namedCommand(['constructor'])).toBeUndefined();
    expect(await namedCommand([])).toBeUndefined();
  });

  it('runs from the bundle: top-level help lists every command, a typo gets its suggestion, a group its subcommands', () => {
    const help = execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    for (const c of COMMANDS) expect(help).toContain(`pki ${c.command.split(' ')[0]}`);
    const typo = spawnSync(process.execPath, [CLI, 'crl', 'generat', '--ca', 'x'], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('unknown command: pki crl generat (did you mean generate?)');
    const sub = spawnSync(process.execPath, [CLI, 'crl', '--help'], { encoding: 'utf8' });
    expect(sub.status).toBe(0);
    expect(sub.stdout).toContain('pki crl inspect');
  });

  it('issues a batch large enough for the worker threads, from the bundle', () => {
    const dir = tempDir();
    const pki = join(dir, 'pki');
    execFileSync(process.execPath, [CLI, 'init', '--dir', pki, '--subject', 'CN=Bundle Root', '--key-type', 'ecdsa-p256', '--no-passphrase'], { stdio: 'ignore' });
    const csrs = join(dir, 'csrs');
    fs.mkdirSync(csrs);
    const alg = signatureAlgorithmFor('ecdsa-p256');
    for (let i = 0; i < 70; i++) {
      const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const der = buildCsrWithKey(encodeName(parseDn(`CN=host-${i}`)), key, alg, []);
      if (i === 69) der[der.length - 1]! ^= 1; // the last octet of the signature: a CSR that does not verify
      fs.writeFileSync(join(csrs, `${String(i).padStart(3, '0')}.csr`), toPem('CERTIFICATE REQUEST', der));
    }
    const bad = spawnSync(process.execPath, [CLI, 'issue', '--dir', pki, '--ca', 'root', '--batch', csrs, '--out-dir', join(dir, 'out')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('069.csr');
    expect(fs.existsSync(join(dir, 'out'))).toBe(false);
    fs.rmSync(join(csrs, '069.csr'));
    const r = spawnSync(process.execPath, [CLI, 'issue', '--dir', pki, '--ca', 'root', '--batch', csrs, '--out-dir', join(dir, 'out'), '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).data.issued).toBe(69);
    expect(fs.readdirSync(join(dir, 'out')).length).toBe(69);
  });
});
