/**
 * Process-level guarantees of the store, with the real CLI in separate processes:
 *  - SIGKILL in the middle of `pki issue --batch` leaves a consistent store: every certificate file that exists is on
 *    record, no serial is recorded twice, the database passes integrity_check and the audit chain verifies.
 *  - Two processes issuing into one store at the same time both succeed, with no duplicate serials.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, auditHash } from '../../src/domain/audit.js';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { buildCsrWithKey as buildCsr } from '../helpers.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { CLI, FIXTURES, tempDir } from '../helpers.js';

function pki(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pki ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

function writeCsrs(dir: string, count: number, prefix: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const alg = signatureAlgorithmFor('ecdsa-p256');
  for (let i = 0; i < count; i++) {
    const csr = buildCsr(encodeName(parseDn(`CN=${prefix}-${String(i).padStart(5, '0')},O=Example`)), key, alg, []);
    fs.writeFileSync(join(dir, `${prefix}-${String(i).padStart(5, '0')}.csr`), toPem('CERTIFICATE REQUEST', csr));
  }
}

/** Checks every invariant of the store against the certificate files in `outDirs`. Returns counts. */
function checkInvariants(dbPath: string, outDirs: string[]) {
  const db = new Database(dbPath, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const dups = db.prepare('SELECT issuer_id, serial, COUNT(*) n FROM certificate GROUP BY issuer_id, serial HAVING n > 1').all();
    expect(dups).toEqual([]);
    const onRecord = new Set((db.prepare('SELECT serial FROM certificate').all() as Array<{ serial: string }>).map((r) => r.serial));
    let files = 0;
    for (const dir of outDirs) {
      for (const name of fs.readdirSync(dir)) {
        // A hidden temporary file can be caught half-written by SIGKILL; only a complete one must be on record.
        if (/^\..*\.tmp$/.test(name)) {
          try {
            readCertificate(fs.readFileSync(join(dir, name)), name);
          } catch {
            continue;
          }
        }
        const cert = readCertificate(fs.readFileSync(join(dir, name)), name);
        expect(onRecord.has(cert.serialHex), `${name} (${cert.serialHex}) is on record`).toBe(true);
        files++;
      }
    }
    const rows = db.prepare('SELECT * FROM audit ORDER BY seq').all() as Array<Record<string, any>>;
    let prev = AUDIT_GENESIS_HASH;
    rows.forEach((r, i) => {
      expect(r.seq).toBe(i + 1);
      expect(r.prev_hash).toBe(prev);
      expect(r.hash).toBe(auditHash(prev, { seq: r.seq, at: r.at, actor: r.actor, action: r.action, target: r.target, details: r.details }));
      prev = r.hash;
    });
    const issueAudits = (db.prepare("SELECT COUNT(*) n FROM audit WHERE action = 'certificate.issue'").get() as { n: number }).n;
    const leaves = (db.prepare('SELECT COUNT(*) n FROM certificate WHERE is_ca = 0').get() as { n: number }).n;
    expect(issueAudits).toBe(leaves);
    return { files, recorded: onRecord.size, leaves };
  } finally {
    db.close();
  }
}

let base: string;
let pkiDir: string;

beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
  base = tempDir('pki-e2e-');
  pkiDir = join(base, 'pki');
  pki(['init', '--dir', pkiDir, '--subject', 'CN=Crash Root', '--no-passphrase']);
  pki(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Crash Issuing', '--no-passphrase', '--dir', pkiDir]);
  writeCsrs(join(base, 'csrs'), 3000, 'crash');
});

describe('SIGKILL in the middle of a batch issue', () => {
  it.each([[1], [400], [1500]])('ok/killed after %i files: every file on record, no duplicate serial, intact store', async (threshold) => {
    const out = join(base, `out-kill-${threshold}`);
    fs.mkdirSync(out);
    const child = spawn(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', join(base, 'csrs'), '--out-dir', out, '--dir', pkiDir], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    let killedAt = -1;
    const deadline = 60_000;
    for (let waited = 0; waited < deadline; waited += 2) {
      // Complete files only: a hidden temporary (a file being written) is not yet a certificate that must be on record.
      const n = fs.readdirSync(out).filter((name) => !/^\..*\.tmp$/.test(name)).length;
      if (n >= threshold) {
        child.kill('SIGKILL');
        killedAt = n;
        break;
      }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    const { signal } = await exited;
    expect(killedAt, 'the batch was still running when the threshold was reached').toBeGreaterThanOrEqual(threshold);
    expect(signal).toBe('SIGKILL');
    const { files } = checkInvariants(join(pkiDir, 'pki.db'), [out]);
    expect(files).toBeGreaterThanOrEqual(threshold);
    expect(files).toBeLessThan(3000);
  });
});

describe('--resume after SIGKILL, and SIGINT', () => {
  /** Certificates recorded by batches into `out`, and how many distinct CSR files they were issued for. */
  function batchCounts(out: string) {
    const db = new Database(join(pkiDir, 'pki.db'), { readonly: true });
    try {
      return db
        .prepare('SELECT COUNT(*) n, COUNT(DISTINCT i.file) files FROM issue_batch_item i JOIN issue_batch b ON b.id = i.batch_id WHERE b.out_dir = ?')
        .get(fs.realpathSync(out)) as { n: number; files: number };
    } finally {
      db.close();
    }
  }

  it.each([[1], [400], [1500]])('ok/killed after %i files: --resume writes every file, issues nothing twice, leaves no temporary', (threshold) => {
    const out = join(base, `out-kill-${threshold}`);
    const r = spawnSync(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', join(base, 'csrs'), '--out-dir', out, '--resume', '--dir', pkiDir, '--json'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const data = JSON.parse(r.stdout).data;
    expect(data.issued + data.rewritten + data.alreadyDone).toBe(3000);
    expect(fs.readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
    expect(checkInvariants(join(pkiDir, 'pki.db'), [out]).files).toBe(3000);
    expect(batchCounts(out)).toEqual({ n: 3000, files: 3000 });
  });

  it('ok/SIGINT: exit 130 with a summary, every written file on record; --resume completes the batch', async () => {
    const out = join(base, 'out-sigint');
    const child = spawn(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', join(base, 'csrs'), '--out-dir', out, '--dir', pkiDir]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    // The first group's progress line: the batch is recording, and more groups follow.
    for (let waited = 0; waited < 60_000 && !/issued \d+\/3000/.test(stderr) && child.exitCode === null; waited += 2) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGINT');
    const { code, signal } = await exited;
    expect(signal).toBeNull();
    expect(code, stderr).toBe(130);
    expect(stdout).toMatch(/Interrupted by SIGINT: issued \d+ certificate\(s\)/);
    expect(stdout).toContain('--resume');
    const partial = checkInvariants(join(pkiDir, 'pki.db'), [out]).files;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(3000);
    expect(partial % 256).toBe(0);
    expect(fs.readdirSync(out).filter((n) => n.startsWith('.'))).toEqual([]);
    const r = spawnSync(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', join(base, 'csrs'), '--out-dir', out, '--resume', '--dir', pkiDir, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).data).toMatchObject({ issued: 3000 - partial, alreadyDone: partial });
    expect(checkInvariants(join(pkiDir, 'pki.db'), [out]).files).toBe(3000);
    expect(batchCounts(out)).toEqual({ n: 3000, files: 3000 });
  });
});

describe('concurrent issuance into one store', () => {
  it('ok/two batch processes at once both succeed with distinct serials', async () => {
    const dirs = ['a', 'b'].map((p) => {
      writeCsrs(join(base, `conc-${p}`), 400, `conc-${p}`);
      const out = join(base, `conc-out-${p}`);
      fs.mkdirSync(out);
      return { csrs: join(base, `conc-${p}`), out };
    });
    const before = checkInvariants(join(pkiDir, 'pki.db'), []).leaves;
    const runs = dirs.map(
      ({ csrs, out }) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', csrs, '--out-dir', out, '--dir', pkiDir, '--json']);
          let stderr = '';
          child.stderr.on('data', (d) => (stderr += d));
          child.on('exit', (code) => resolve({ code, stderr }));
        }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const { files, leaves } = checkInvariants(join(pkiDir, 'pki.db'), dirs.map((d) => d.out));
    expect(files).toBe(800);
    expect(leaves - before).toBe(800);
  });

  it('ok/eight single issues at once all succeed', async () => {
    const out = join(base, 'singles');
    fs.mkdirSync(out);
    writeCsrs(join(base, 'single-csrs'), 8, 'single');
    const runs = Array.from({ length: 8 }, (_, i) => {
      const name = `single-${String(i).padStart(5, '0')}`;
      return new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--csr', join(base, 'single-csrs', `${name}.csr`), '--out', join(out, `${name}.pem`), '--dir', pkiDir], { stdio: 'ignore' });
        child.on('exit', (code) => resolve(code));
      });
    });
    expect(await Promise.all(runs)).toEqual(Array(8).fill(0));
    expect(checkInvariants(join(pkiDir, 'pki.db'), [out]).files).toBe(8);
  });
});

describe('batch through the worker threads', () => {
  it('ok/70 CSRs (worker threads) pass the session-tag check like a single CSR does (droppedSessionTags: refuse)', () => {
    const csrs = join(base, 'tags');
    writeCsrs(csrs, 70, 'tags');
    const profile = join(base, 'strict-tags.yaml');
    fs.writeFileSync(
      profile,
      ['kind: leaf', 'validity: { default: 24h, max: 90d }', 'keyUsage: [digitalSignature]', 'extendedKeyUsage: [clientAuth]', 'droppedSessionTags: refuse', ''].join('\n'),
    );
    const single = spawnSync(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--csr', join(csrs, 'tags-00000.csr'), '--profile', profile, '--dir', pkiDir, '--json'], { encoding: 'utf8' });
    expect(single.status, single.stdout).toBe(0);
    const out = join(base, 'tags-out');
    const r = spawnSync(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', csrs, '--out-dir', out, '--profile', profile, '--dir', pkiDir, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.data.issued).toBe(70);
    expect(doc.data.certificates[0].subject).toBe(JSON.parse(single.stdout).data.subject);
    const cert = readCertificate(fs.readFileSync(join(out, 'tags-00069.pem')), 'tags-00069.pem');
    expect(cert.subjectDn).toBe('CN=tags-00069,O=Example');
  });

  it('fail/two bad CSRs among 100: exit code of the first problem, every bad file named, nothing issued', () => {
    const csrs = join(base, 'mixed');
    writeCsrs(csrs, 98, 'mixed');
    fs.writeFileSync(join(csrs, 'mixed-00010-bad.csr'), 'garbage\n');
    fs.copyFileSync(join(FIXTURES, 'csr/sha1.csr'), join(csrs, 'mixed-00050-sha1.csr'));
    const out = join(base, 'mixed-out');
    fs.mkdirSync(out);
    const db = new Database(join(pkiDir, 'pki.db'), { readonly: true });
    const count = () => (db.prepare('SELECT COUNT(*) n FROM certificate').get() as { n: number }).n;
    const before = count();
    const r = spawnSync(process.execPath, [CLI, 'issue', '--ca', 'issuing-1', '--batch', csrs, '--out-dir', out, '--dir', pkiDir, '--json'], { encoding: 'utf8' });
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(r.status).toBe(7);
    expect((doc.error.details.problems as Array<{ file: string }>).map((p) => p.file.split('/').pop())).toEqual(['mixed-00010-bad.csr', 'mixed-00050-sha1.csr']);
    expect(fs.readdirSync(out)).toEqual([]);
    expect(count()).toBe(before);
    db.close();
  });
});
