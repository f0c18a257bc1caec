/** Test helpers: fixed clock, seeded CSRPNG stand-in, in-process CLI runs, and file-system/store snapshots. */
import { createHash, createPublicKey, sign } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { run } from '../src/cli/run.js';
import type { Deps } from '../src/ports.js';
import type { SignatureAlgorithm } from '../src/crypto/keys.js';
import { assembleCsr, buildCsrInfo } from '../src/x509/csr.js';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The CLI as installed: package.json's `bin` (the bundle that `npm run build` makes). */
export const CLI = join(ROOT, (JSON.parse(fs.readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { pki: string } }).bin.pki);

/** The fixed "now" of CLI tests: 2026-03-01T12:00:00Z (unix 1772366400). */
export const FIXED_NOW = new Date('2026-03-01T12:00:00Z');
export const FIXED_NOW_UNIX = Math.floor(FIXED_NOW.getTime() / 1000);

/** A deterministic byte stream (SHA-256 in counter mode over a seed): reproducible serials and salts. */
export function seededRandom(seed: string): (n: number) => Buffer {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n: number) => {
    while (pool.length < n) pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
}

export function tempDir(prefix = 'pki-test-'): string {
  return fs.mkdtempSync(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

export interface TestDeps extends Deps {
  out: string[];
  err: string[];
}

export function makeDeps(cwd: string, opts: { now?: Date; seed?: string; env?: Record<string, string> } = {}): TestDeps {
  const out: string[] = [];
  const err: string[] = [];
  return {
    now: () => opts.now ?? FIXED_NOW,
    randomBytes: seededRandom(opts.seed ?? 'test'),
    env: opts.env ?? {},
    cwd,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
    interactive: false,
    actor: 'tester@test',
    out,
    err,
  };
}

/** Runs the CLI in-process (`run(argv, deps)`) and captures its output. */
export async function cli(argv: string[], deps: TestDeps): Promise<CliResult> {
  deps.out.length = 0;
  deps.err.length = 0;
  const code = await run(argv, deps);
  const stdout = deps.out.join('');
  let json: any;
  if (argv.includes('--json')) json = JSON.parse(stdout);
  return { code, stdout, stderr: deps.err.join(''), json };
}

/**
 * `pki ARGS --dir DIR --json` in-process: `run` gives the result; `ok` gives the JSON data and throws, with the
 * output, on a non-zero exit (for set-up steps that must succeed).
 */
export function pkiIn(dir: string, deps: TestDeps) {
  const run = (argv: string[]) => cli([...argv, '--dir', dir, '--json'], deps);
  const ok = async (argv: string[]) => {
    const r = await run(argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')} → ${r.code}: ${r.stdout}${r.stderr}`);
    return r.json.data;
  };
  return { run, ok };
}

/** Everything under `dir`: relative path → sha256 of content (directories as "dir"), plus store row counts. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      const rel = relative(dir, p);
      if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else if (/\.db(-wal|-shm)?$/.test(name)) out[rel] = 'db';
      else out[rel] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  for (const [rel, kind] of Object.entries(out)) {
    if (kind === 'db' && rel.endsWith('.db')) {
      const db = new Database(join(dir, rel), { readonly: true });
      for (const t of ['ca', 'certificate', 'revocation', 'audit']) {
        const row = db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number };
        out[`${rel}#${t}`] = String(row.n);
      }
      db.close();
    }
  }
  for (const k of Object.keys(out)) if (/\.db-(wal|shm)$/.test(k)) delete out[k];
  return out;
}

/** A PKI with root + issuing-1 (both P-256 unless told), unencrypted keys, in a fresh temp dir. */
export async function makePki(opts: { keyType?: string; issuingKeyType?: string; seed?: string; now?: Date } = {}) {
  const cwd = tempDir();
  const deps = makeDeps(cwd, { seed: opts.seed ?? 'pki', ...(opts.now ? { now: opts.now } : {}) });
  const dir = join(cwd, 'pki');
  const init = await cli(['init', '--dir', dir, '--subject', 'CN=Test Root CA,O=Example', '--key-type', opts.keyType ?? 'ecdsa-p256', '--no-passphrase'], deps);
  if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
  const ca = await cli(
    ['ca', 'create', 'issuing-1', '--dir', dir, '--parent', 'root', '--subject', 'CN=Test Issuing CA 1,O=Example', '--key-type', opts.issuingKeyType ?? 'ecdsa-p256', '--no-passphrase'],
    deps,
  );
  if (ca.code !== 0) throw new Error(`ca create failed: ${ca.stderr}`);
  return { cwd, dir, deps };
}

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

/** A CSR signed synchronously with a test's own workload key (for helpers that write many CSR files). */
export function buildCsrWithKey(subjectDer: Buffer, key: import('node:crypto').KeyObject, algorithm: SignatureAlgorithm, extensions: Buffer[]): Buffer {
  const info = buildCsrInfo(subjectDer, createPublicKey(key).export({ format: 'der', type: 'spki' }), extensions);
  return assembleCsr(info, algorithm, sign(algorithm.hash, info, key));
}
