/**
 * `pki issue` outputs and batches: every output checked before anything is recorded (symbolic links, unwritable
 * directories), a write that fails after recording names the serial and how to write it again, SIGINT/SIGTERM stop
 * a batch at a group boundary, and `--resume` finishes an interrupted batch without issuing anything twice.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { buildCsrWithKey as buildCsr } from '../helpers.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { cli, fixture, makeDeps, makePki, snapshot, tempDir, type TestDeps } from '../helpers.js';

function writeCsrs(dir: string, count: number, prefix = 'w'): void {
  fs.mkdirSync(dir, { recursive: true });
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const alg = signatureAlgorithmFor('ecdsa-p256');
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(4, '0')}`;
    fs.writeFileSync(join(dir, `${name}.csr`), toPem('CERTIFICATE REQUEST', buildCsr(encodeName(parseDn(`CN=${name},O=Example`)), key, alg, [])));
  }
}

function leafSerials(dir: string): string[] {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    return (db.prepare('SELECT serial FROM certificate WHERE is_ca = 0').all() as Array<{ serial: string }>).map((r) => r.serial);
  } finally {
    db.close();
  }
}

/** Every .pem in `outDir` is a certificate on record; returns their serials. */
function filesOnRecord(dir: string, outDir: string): string[] {
  const onRecord = new Set(leafSerials(dir));
  return fs
    .readdirSync(outDir)
    .filter((n) => n.endsWith('.pem'))
    .map((n) => {
      const serial = readCertificate(fs.readFileSync(join(outDir, n)), n).serialHex;
      expect(onRecord.has(serial), `${n} is on record`).toBe(true);
      return serial;
    });
}

/** Deps whose onSignal handler fires `signal` once stderr shows `trigger` (a progress line). */
function signalOn(deps: TestDeps, trigger: string, signal: 'SIGINT' | 'SIGTERM'): { removed: () => boolean } {
  let handler: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  let removed = false;
  deps.onSignal = (h) => {
    handler = h;
    return () => {
      removed = true;
      handler = undefined;
    };
  };
  const write = deps.stderr.write;
  deps.stderr = {
    write: (s: string) => {
      write(s);
      if (s.includes(trigger)) handler?.(signal);
    },
  };
  return { removed: () => removed };
}

describe('pki issue: outputs are checked before anything is recorded', () => {
  it('fail/--out in a directory where no file can be created (/proc) is refused before signing: IO_NOT_WRITABLE, nothing recorded', async () => {
    const { cwd, dir, deps } = await makePki();
    const before = snapshot(dir);
    const r = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--out', '/proc/x.pem', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(8);
    expect(r.json.error.code).toBe('IO_NOT_WRITABLE');
    expect(r.json.error.message).toContain('--out');
    expect(snapshot(dir)).toEqual(before);
    expect(fs.readdirSync(cwd).sort()).toEqual(['pki']);
  });

  it('fail/a write that fails after recording names the serial and the command that writes it again; pki show --pem --out does', async () => {
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'correct horse' } });
    expect((await cli(['init', '--dir', 'pki', '--subject', 'CN=Root', '--pbkdf2-iterations', '10000'], deps)).code).toBe(0);
    const outDir = join(cwd, 'certs');
    fs.mkdirSync(outDir);
    // The output directory disappears while the passphrase prompt waits (checked before, gone at write time).
    const issueDeps = makeDeps(cwd);
    issueDeps.interactive = true;
    issueDeps.promptSecret = async () => {
      fs.rmSync(outDir, { recursive: true });
      return 'correct horse';
    };
    const out = join(outDir, 'web.pem');
    const r = await cli(['issue', '--ca', 'root', '--csr', fixture('csr/p256.csr'), '--out', out, '--dir', 'pki', '--json'], issueDeps);
    expect(r.code).toBe(8);
    expect(r.json.error.code).toBe('IO_WRITE_FAILED');
    const serial = r.json.error.details.serial as string;
    expect(leafSerials(join(cwd, 'pki'))).toEqual([serial]);
    expect(r.json.error.message).toContain(`certificate ${serial} is issued and recorded`);
    expect(r.json.error.hint).toContain(`pki show ${serial} --ca root --pem --out ${out}`);
    fs.mkdirSync(outDir);
    const again = await cli(['show', serial, '--ca', 'root', '--pem', '--out', out, '--dir', 'pki'], deps);
    expect(again.code, again.stderr).toBe(0);
    expect(readCertificate(fs.readFileSync(out), out).serialHex).toBe(serial);
  });

  it('fail/show --out refuses an existing file without --force and needs --pem', async () => {
    const { cwd, dir, deps } = await makePki();
    const issued = await cli(['issue', '--ca', 'issuing-1', '--csr', fixture('csr/p256.csr'), '--dir', dir, '--json'], deps);
    const serial = issued.json.data.serial;
    fs.writeFileSync(join(cwd, 'taken.pem'), 'x');
    expect((await cli(['show', serial, '--pem', '--out', join(cwd, 'taken.pem'), '--dir', dir, '--json'], deps)).json.error.code).toBe('STATE_OUTPUT_EXISTS');
    expect((await cli(['show', serial, '--out', join(cwd, 'new.pem'), '--dir', dir, '--json'], deps)).json.error.code).toBe('USAGE_CONFLICT');
    expect(fs.readFileSync(join(cwd, 'taken.pem'), 'utf8')).toBe('x');
  });

  it('fail/--batch with a symbolic link in --out-dir is refused before anything is recorded, even with --force', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    fs.mkdirSync(batch);
    for (const f of ['p256.csr', 'p384.csr']) fs.copyFileSync(fixture(`csr/${f}`), join(batch, f));
    const outDir = join(cwd, 'certs');
    fs.mkdirSync(outDir);
    fs.writeFileSync(join(cwd, 'victim.txt'), 'keep me');
    fs.symlinkSync(join(cwd, 'victim.txt'), join(outDir, 'p384.pem'));
    const before = snapshot(cwd);
    for (const force of [[], ['--force']]) {
      const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, ...force, '--dir', dir, '--json'], deps);
      expect(r.code).toBe(8);
      expect(r.json.error.code).toBe('IO_SYMLINK_REFUSED');
      expect(r.json.error.message).toContain('p384.pem');
      expect(snapshot(cwd)).toEqual(before);
    }
    expect(fs.readFileSync(join(cwd, 'victim.txt'), 'utf8')).toBe('keep me');
  });

  it('ok/--out-dir is created when missing; a refused batch removes the directory it created', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    fs.mkdirSync(batch);
    fs.copyFileSync(fixture('csr/p256.csr'), join(batch, 'a.csr'));
    fs.copyFileSync(fixture('csr/sha1.csr'), join(batch, 'b.csr'));
    const refused = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', join(cwd, 'new/certs'), '--dir', dir, '--json'], deps);
    expect(refused.code).toBe(4);
    expect(fs.existsSync(join(cwd, 'new'))).toBe(false);
    fs.rmSync(join(batch, 'b.csr'));
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', join(cwd, 'new/certs'), '--dir', dir, '--json'], deps);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.data.outDirCreated).toBe(true);
    expect(fs.readdirSync(join(cwd, 'new/certs'))).toEqual(['a.pem']);
  });
});

describe('pki issue --batch: signals and --resume', () => {
  it('ok/SIGINT stops at a group boundary with a summary (exit 130); a re-run is refused; --resume finishes; nothing issued twice', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    writeCsrs(batch, 300);
    const outDir = join(cwd, 'certs');
    const sig = signalOn(deps, 'issued 256/300', 'SIGINT');
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir], deps);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('Interrupted by SIGINT: issued 256 certificate(s)');
    expect(r.stdout).toContain('44 of 300 CSR(s) not issued');
    expect(r.stdout).toContain(`--batch ${batch} --out-dir ${outDir} --resume`);
    expect(sig.removed()).toBe(true);
    expect(leafSerials(dir)).toHaveLength(256);
    expect(filesOnRecord(dir, outDir)).toHaveLength(256);

    deps.onSignal = undefined;
    const rerun = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir, '--json'], deps);
    expect(rerun.code).toBe(6);
    expect(rerun.json.error.code).toBe('STATE_BATCH_INTERRUPTED');
    expect(rerun.json.error.hint).toContain('--resume');
    expect(rerun.json.error.hint).toBe(`finish it with: pki issue --ca issuing-1 --batch ${batch} --out-dir ${outDir} --resume (--force starts a new batch and issues every CSR again)`);

    const resumed = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(resumed.code, resumed.stdout).toBe(0);
    expect(resumed.json.data).toMatchObject({ issued: 44, alreadyDone: 256, rewritten: 0, interrupted: null, total: 300 });
    const serials = leafSerials(dir);
    expect(serials).toHaveLength(300);
    expect(new Set(filesOnRecord(dir, outDir))).toEqual(new Set(serials));
    // A finished batch resumes to nothing, and a new run over it is an ordinary run (files exist: --force needed).
    const again = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(again.json.data).toMatchObject({ issued: 0, alreadyDone: 300 });
    expect((await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir, '--json'], deps)).json.error.code).toBe('STATE_OUTPUT_EXISTS');
    expect(leafSerials(dir)).toHaveLength(300);
  });

  it('ok/SIGTERM exits 143; --resume after a crash writes recorded-but-missing files from the store and removes stray temporaries', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    writeCsrs(batch, 300);
    const outDir = join(cwd, 'certs');
    signalOn(deps, 'issued 256/300', 'SIGTERM');
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir, '--json'], deps);
    expect(r.code).toBe(143);
    expect(r.json.data.interrupted).toBe('SIGTERM');
    deps.onSignal = undefined;
    // What a kill between commit and the file writes leaves: recorded certificates without files, a temporary.
    const lost = ['w-0010.pem', 'w-0200.pem'];
    const lostSerials = lost.map((n) => readCertificate(fs.readFileSync(join(outDir, n)), n).serialHex);
    for (const n of lost) fs.rmSync(join(outDir, n));
    fs.writeFileSync(join(outDir, '.w-0200.pem.12345.7.tmp'), '-----BEGIN CERT');
    const resumed = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(resumed.code, resumed.stdout).toBe(0);
    expect(resumed.json.data).toMatchObject({ issued: 44, rewritten: 2, alreadyDone: 254, removedTemporaries: 1 });
    expect(fs.readdirSync(outDir).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(lost.map((n) => readCertificate(fs.readFileSync(join(outDir, n)), n).serialHex)).toEqual(lostSerials);
    expect(leafSerials(dir)).toHaveLength(300);
    expect(filesOnRecord(dir, outDir)).toHaveLength(300);
  });

  it('fail/--resume refuses a CSR that changed since its certificate was issued, and a batch that was never run', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    writeCsrs(batch, 300);
    const outDir = join(cwd, 'certs');
    signalOn(deps, 'issued 256/300', 'SIGINT');
    expect((await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir], deps)).code).toBe(130);
    deps.onSignal = undefined;
    fs.rmSync(join(outDir, 'w-0003.pem'));
    fs.copyFileSync(fixture('csr/p384.csr'), join(batch, 'w-0003.csr'));
    const before = snapshot(cwd);
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_BATCH_CSR_CHANGED');
    expect(r.json.error.message).toContain('w-0003.csr');
    expect(snapshot(cwd)).toEqual(before);
    const never = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', join(cwd, 'other'), '--resume', '--dir', dir, '--json'], deps);
    expect(never.code).toBe(5);
    expect(never.json.error.code).toBe('NOT_FOUND_BATCH');
  });

  it('ok/two --resume runs at once: the CSRs are issued once; a run that loses the race says so (STATE_BATCH_CONCURRENT)', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    writeCsrs(batch, 300);
    const outDir = join(cwd, 'certs');
    signalOn(deps, 'issued 256/300', 'SIGINT');
    expect((await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir], deps)).code).toBe(130);
    const runs = await Promise.all(
      ['one', 'two'].map((seed) => cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], makeDeps(cwd, { seed }))),
    );
    for (const r of runs) {
      if (r.code !== 0) {
        expect(r.code, r.stdout).toBe(6);
        expect(r.json.error.code).toBe('STATE_BATCH_CONCURRENT');
      }
    }
    expect(runs.some((r) => r.code === 0)).toBe(true);
    expect(leafSerials(dir)).toHaveLength(300);
    expect(filesOnRecord(dir, outDir)).toHaveLength(300);
  });

  it('ok/a signal while CSRs are still being read stops before anything is recorded (nothing to resume)', async () => {
    const { cwd, dir, deps } = await makePki();
    const batch = join(cwd, 'csrs');
    writeCsrs(batch, 40);
    const outDir = join(cwd, 'certs');
    fs.mkdirSync(outDir);
    let handler: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    deps.onSignal = (h) => {
      handler = h;
      h('SIGINT');
      return () => {
        handler = undefined;
      };
    };
    const r = await cli(['issue', '--ca', 'issuing-1', '--batch', batch, '--out-dir', outDir, '--dir', dir, '--json'], deps);
    expect(handler).toBeUndefined();
    expect(r.code).toBe(130);
    expect(r.json.data).toMatchObject({ issued: 0, batch: null, interrupted: 'SIGINT' });
    expect(leafSerials(dir)).toEqual([]);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });
});
