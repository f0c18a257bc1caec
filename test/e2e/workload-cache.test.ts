/**
 * credential-process --cache-dir (opt-in cache keyed by certificate fingerprint + ARNs, 0600 entries in a 0700
 * directory, reused until a margin before expiry, one CreateSession for parallel callers), and certificate/key from
 * environment variables or an inherited file descriptor.
 */
import * as crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clock, credentialsSetup } from '../aws-fixtures.js';
import { CLI, cli } from '../helpers.js';

function runBuilt(args: string[], opts: { env?: Record<string, string>; fd3?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'credential-process', ...args], { stdio: ['ignore', 'pipe', 'pipe', ...(opts.fd3 !== undefined ? ['pipe' as const] : [])], env: { PATH: process.env.PATH ?? '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.fd3 !== undefined) (child.stdio[3] as NodeJS.WritableStream).end(opts.fd3);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('credential-process --cache-dir', () => {
  it('reuses cached credentials until the margin before expiry; entries 0600 in a 0700 directory; other ARNs get their own entry', async () => {
    const c = clock();
    const t = await credentialsSetup({ now: c.now });
    const cache = join(t.cwd, 'cache', 'creds');
    const run = (extra: string[] = [], over: Record<string, string> = {}) => cli(['credential-process', ...t.args(over, ['--cache-dir', cache, ...extra])], t.deps);
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    const second = await run();
    expect(second.stdout).toBe(first.stdout);
    expect(t.emu.sessions()).toHaveLength(1);
    expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
    const entries = fs.readdirSync(cache);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(fs.statSync(join(cache, entries[0]!)).mode & 0o777).toBe(0o600);
    const exp = Date.parse(JSON.parse(first.stdout).Expiration);
    c.set(new Date(exp - 301_000));
    expect((await run()).stdout).toBe(first.stdout);
    c.advance(2_000);
    const renewed = await run();
    expect(JSON.parse(renewed.stdout).AccessKeyId).not.toBe(JSON.parse(first.stdout).AccessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
    // --cache-margin, and another session duration is another entry.
    expect((await run(['--cache-margin', '3600'])).stdout).not.toBe(renewed.stdout);
    expect(t.emu.sessions()).toHaveLength(3);
    await run(['--session-duration', '900']);
    expect(t.emu.sessions()).toHaveLength(4);
    expect(fs.readdirSync(cache)).toHaveLength(2);
    // Without --cache-dir nothing is cached.
    await cli(['credential-process', ...t.args()], t.deps);
    await cli(['credential-process', ...t.args()], t.deps);
    expect(t.emu.sessions()).toHaveLength(6);
  });

  it('a renewed certificate is not served the old certificate\'s cached credentials', async () => {
    const t = await credentialsSetup();
    const cache = join(t.cwd, 'cache');
    await cli(['credential-process', ...t.args({}, ['--cache-dir', cache])], t.deps);
    const renewed = await t.ok(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--key-out', join(t.cwd, 'app.key'), '--out', join(t.cwd, 'app.pem'), '--force']);
    const r = await cli(['credential-process', ...t.args({}, ['--cache-dir', cache])], t.deps);
    expect(r.code, r.stderr).toBe(0);
    expect(t.emu.sessions().map((s) => s.serial)).toEqual([t.leaf.serial, renewed.serial]);
  });

  it('a cached answer is not served for a private key that does not belong to the certificate (CRYPTO_KEY_MISMATCH, as without the cache)', async () => {
    const t = await credentialsSetup();
    const cache = join(t.cwd, 'cache', 'creds');
    expect((await cli(['credential-process', ...t.args({}, ['--cache-dir', cache])], t.deps)).code).toBe(0);
    const other = join(t.cwd, 'other.key');
    fs.writeFileSync(other, crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    const r = await cli(['credential-process', ...t.args({ 'private-key': other }, ['--cache-dir', cache])], t.deps);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/CRYPTO_KEY_MISMATCH/);
    expect(r.stdout).toBe('');
  });

  it('parallel processes share one CreateSession', async () => {
    const t = await credentialsSetup();
    const cache = join(t.cwd, 'cache');
    const results = await Promise.all(Array.from({ length: 6 }, () => runBuilt(t.args({}, ['--cache-dir', cache]))));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(new Set(results.map((r) => JSON.parse(r.stdout).AccessKeyId)).size).toBe(1);
    expect(t.emu.sessions()).toHaveLength(1);
    expect(fs.readdirSync(cache)).toHaveLength(1);
  });

  it('refuses a cache directory other users can write to (exit 8), before anything is sent', async () => {
    const t = await credentialsSetup();
    const cache = join(t.cwd, 'shared');
    fs.mkdirSync(cache);
    fs.chmodSync(cache, 0o777);
    const r = await cli(['credential-process', ...t.args({}, ['--cache-dir', cache])], t.deps);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('IO_INSECURE_CACHE_DIR');
    expect(t.emu.sessions()).toHaveLength(0);
    expect(fs.readdirSync(cache)).toEqual([]);
  });
});

describe('certificate and key without files', () => {
  it('env:NAME (also with \\n escapes) and fd:N on the built CLI; a missing variable is named', async () => {
    const t = await credentialsSetup();
    const cert = fs.readFileSync(join(t.cwd, 'app.pem'), 'utf8');
    const key = fs.readFileSync(join(t.cwd, 'app.key'), 'utf8');
    const fromEnv = await runBuilt(t.args({ certificate: 'env:APP_CERT', 'private-key': 'env:APP_KEY' }), { env: { APP_CERT: cert, APP_KEY: key.replace(/\n/g, '\\n') } });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout).Version).toBe(1);
    const fromFd = await runBuilt(t.args({ 'private-key': 'fd:3' }), { fd3: key });
    expect(fromFd.code, fromFd.stderr).toBe(0);
    // A real pipe (bash process substitution), as a CI job would pass a secret.
    const piped = await new Promise<number | null>((resolve) => {
      const args = [CLI, 'credential-process', ...t.args({ 'private-key': 'fd:3' })].map((a) => `'${a}'`).join(' ');
      const p = spawn('bash', ['-c', `exec 3< <(printf '%s' "$APP_KEY"); exec '${process.execPath}' ${args} >/dev/null`], { stdio: 'inherit', env: { PATH: process.env.PATH ?? '', APP_KEY: key } });
      p.on('exit', resolve);
    });
    expect(piped).toBe(0);
    expect(t.emu.sessions()).toHaveLength(3);
    const missing = await runBuilt(t.args({ 'private-key': 'env:NOPE' }));
    expect(missing.code).toBe(5);
    expect(missing.stderr).toContain('--private-key env:NOPE: the environment variable NOPE is not set or empty');
    const badFd = await runBuilt(t.args({ 'private-key': 'fd:1' }));
    expect(badFd.code).toBe(2);
    expect(badFd.stderr).toContain('USAGE_BAD_SOURCE');
    expect(t.emu.sessions()).toHaveLength(3);
    // The key never appears in an error.
    const mismatched = await runBuilt(t.args({ certificate: 'env:APP_CERT', 'private-key': 'env:OTHER' }), { env: { APP_CERT: cert, OTHER: fs.readFileSync(join(t.cwd, 'app.key'), 'utf8').replace('A', 'B') } });
    expect(mismatched.code).not.toBe(0);
    expect(mismatched.stderr).not.toContain(key.split('\n')[1]!.slice(5, 30));
  });
});
