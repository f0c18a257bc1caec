/**
 * `pki issue --batch` with its worker threads (the built library: dist/app/csr-worker.js beside the pool), where the
 * workers also write the certificate files of a recorded group while the next group is recorded: a write that fails
 * is reported for the first file that failed, naming its serial and CSR, nothing is written that is not on record,
 * and `--resume` writes the recorded certificates' files from the store and issues the rest.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { signatureAlgorithmFor } from '../../src/crypto/keys.js';
import { readCertificate } from '../../src/x509/certificate.js';
import { encodeName, parseDn } from '../../src/x509/name.js';
import { toPem } from '../../src/asn1/pem.js';
import { ROOT, buildCsrWithKey, cli, makeDeps, tempDir } from '../helpers.js';

function leafSerials(dir: string): string[] {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    return (db.prepare('SELECT serial FROM certificate WHERE is_ca = 0').all() as Array<{ serial: string }>).map((r) => r.serial);
  } finally {
    db.close();
  }
}

describe('pki issue --batch with worker threads', () => {
  it('fail/the output directory gone after the checks: the first recorded certificate is named, nothing unrecorded is written, --resume finishes', async () => {
    if (!fs.existsSync(join(ROOT, 'dist/app/csr-worker.js'))) throw new Error('dist/ is missing: run npm run build (npm test does)');
    const cwd = tempDir();
    const deps = makeDeps(cwd, { env: { PKI_CA_PASSPHRASE: 'correct horse' } });
    const dir = join(cwd, 'pki');
    expect((await cli(['init', '--dir', dir, '--subject', 'CN=Root', '--pbkdf2-iterations', '10000'], deps)).code).toBe(0);
    const batch = join(cwd, 'csrs');
    fs.mkdirSync(batch);
    const key = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const alg = signatureAlgorithmFor('ecdsa-p256');
    // 100 CSRs: enough for the workers (64 or more).
    for (let i = 0; i < 100; i++) fs.writeFileSync(join(batch, `w-${String(i).padStart(4, '0')}.csr`), toPem('CERTIFICATE REQUEST', buildCsrWithKey(encodeName(parseDn(`CN=w-${i}`)), key, alg, [])));
    const outDir = join(cwd, 'certs');
    fs.mkdirSync(outDir);
    // The passphrase prompt comes after every output is checked: the directory disappears meanwhile.
    const script = join(cwd, 'issue.mjs');
    fs.writeFileSync(
      script,
      `import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { issueBatch } from ${JSON.stringify(join(ROOT, 'dist/app/issue.js'))};
const deps = { now: () => new Date(), randomBytes, env: {}, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr, interactive: true, actor: 'writer@test',
  promptSecret: async () => { rmSync(${JSON.stringify(outDir)}, { recursive: true }); return 'correct horse'; } };
try {
  await issueBatch(deps, { dir: ${JSON.stringify(dir)}, ca: 'root', batch: ${JSON.stringify(batch)}, outDir: ${JSON.stringify(outDir)}, groupSize: 40 });
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (e) {
  process.stdout.write(JSON.stringify({ code: e.code, message: e.message, details: e.details, hint: e.hint }));
}
`,
    );
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const err = JSON.parse(r.stdout) as { code: string; message: string; details: { serial: string; ca: string }; hint: string };
    expect(err.code).toBe('IO_WRITE_FAILED');
    const recorded = leafSerials(dir);
    // The first group is recorded, and the second while the first group's files are written (groups of 40).
    expect([40, 80]).toContain(recorded.length);
    expect(recorded).toContain(err.details.serial);
    expect(err.message).toContain(`certificate ${err.details.serial} (for ${join(batch, 'w-0000.csr')}) is recorded, but`);
    expect(err.details.ca).toBe('root');
    expect(err.hint).toContain(`--batch ${batch} --out-dir ${outDir} --resume`);
    expect(fs.existsSync(outDir)).toBe(false);

    fs.mkdirSync(outDir);
    const resumed = await cli(['issue', '--ca', 'root', '--batch', batch, '--out-dir', outDir, '--resume', '--dir', dir, '--json'], deps);
    expect(resumed.code, resumed.stdout).toBe(0);
    expect(resumed.json.data).toMatchObject({ issued: 100 - recorded.length, rewritten: recorded.length, alreadyDone: 0, total: 100 });
    const serials = leafSerials(dir);
    expect(serials).toHaveLength(100);
    const onDisk = fs.readdirSync(outDir).map((n) => readCertificate(fs.readFileSync(join(outDir, n)), n));
    expect(new Set(onDisk.map((c) => c.serialHex))).toEqual(new Set(serials));
    // Each file holds the certificate for its own CSR.
    for (const c of onDisk) expect(c.subjectDn).toBe(`CN=w-${Number(/w-(\d+)/.exec(c.subjectDn)![1])}`);
    expect(fs.readdirSync(outDir).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `w-${String(i).padStart(4, '0')}.pem`));
  });
});
