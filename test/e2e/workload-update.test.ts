/**
 * pki credential update: a profile of the shared credentials file kept fresh. The AWS SDK for JavaScript's
 * fromIni() reads what it wrote; other profiles and comments are kept byte for byte; the file is replaced
 * atomically with mode 0600; a lock keeps concurrent writers (separate processes) from losing each other's updates.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fromIni } from '@aws-sdk/credential-providers';
import { describe, expect, it } from 'vitest';
import { breakStaleLock, credentialUpdate, upsertProfile, withFileLock, writeCredentialsProfile } from '../../src/app/credential-update.js';
import { clock, credentialsSetup, ROLE } from '../aws-fixtures.js';
import { CLI as CLI_PATH, ROOT, cli, tempDir } from '../helpers.js';

const OTHER = '# managed by hand\n[default]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old ; trailing comment\n\n; the app profile\n[app]\nregion = eu-west-1\naws_access_key_id = AKIASTALE\n# keep me\n\n[later]\naws_access_key_id = AKIALATER\naws_secret_access_key = later\n';

describe('upsertProfile', () => {
  const v = { aws_access_key_id: 'A', aws_secret_access_key: 'S', aws_session_token: 'T' };
  it.each([
    ['an empty file', '', '[p]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n'],
    ['a missing profile is appended after a blank line', '[x]\nk = 1\n', '[x]\nk = 1\n\n[p]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n'],
    ['keys replaced in place, missing ones after the last key, comments kept', '[p]\n# c\naws_secret_access_key=old\nregion = r\n\n[q]\n', '[p]\n# c\naws_secret_access_key = S\nregion = r\naws_access_key_id = A\naws_session_token = T\n\n[q]\n'],
    ['duplicates removed', '[p]\naws_access_key_id = 1\naws_access_key_id = 2\naws_secret_access_key = 3\naws_session_token = 4\n', '[p]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n'],
    ['CRLF kept', '[p]\r\naws_access_key_id = 1\r\n', '[p]\r\naws_access_key_id = A\r\naws_secret_access_key = S\r\naws_session_token = T\r\n'],
    ['keys written key: value (configparser) are replaced, not duplicated', '[p]\naws_access_key_id: OLD\naws_secret_access_key : old\nregion: r\n', '[p]\naws_access_key_id = A\naws_secret_access_key = S\nregion: r\naws_session_token = T\n'],
    ["a replaced key's continuation lines go with it; another key's stay", '[p]\naws_session_token = old\n  more-old-token\n\tand-more\nnote = a\n  b\n', '[p]\naws_session_token = T\nnote = a\n  b\naws_access_key_id = A\naws_secret_access_key = S\n'],
    ['a profile whose name is a prefix of another is not confused', '[pp]\naws_access_key_id = X\n', '[pp]\naws_access_key_id = X\n\n[p]\naws_access_key_id = A\naws_secret_access_key = S\naws_session_token = T\n'],
  ])('ok/%s', (_name, before, after) => {
    expect(upsertProfile(before, 'p', v)).toBe(after);
  });
});

describe('breaking a stale credentials lock', () => {
  it('fail→ok/a writer that read a dead pid does not remove the fresh lock another writer has taken since (lost updates)', () => {
    const dir = tempDir('pki-lock-');
    const lock = join(dir, 'credentials.lock');
    // Writer B read the stale lock (dead pid 999999); writer A broke it and took the lock; then B tries to break it.
    fs.writeFileSync(lock, `${process.pid}\n`);
    expect(breakStaleLock(lock, 999999)).toBe(true);
    expect(fs.readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`);
    // The stale lock itself is removed, and the breaker lock is gone afterwards.
    fs.writeFileSync(lock, '999999\n');
    expect(breakStaleLock(lock, 999999)).toBe(true);
    expect(fs.existsSync(lock)).toBe(false);
    expect(fs.existsSync(`${lock}.break`)).toBe(false);
    // While another process breaks it (its breaker held), a second breaker backs off.
    fs.writeFileSync(lock, '999999\n');
    fs.writeFileSync(`${lock}.break`, '');
    expect(breakStaleLock(lock, 999999)).toBe(false);
    expect(fs.existsSync(lock)).toBe(true);
  });
});

describe('pki credential update', () => {
  it("--once writes the profile; fromIni() reads the emulator's credentials; every other profile and comment is kept; mode 0600", async () => {
    const t = await credentialsSetup();
    const file = join(t.cwd, 'aws', 'credentials');
    fs.mkdirSync(join(t.cwd, 'aws'));
    fs.writeFileSync(file, OTHER, { mode: 0o644 });
    t.deps.env = { ...t.deps.env, AWS_SHARED_CREDENTIALS_FILE: file };
    const r = await cli(['credential', 'update', ...t.args(), '--profile', 'app', '--once'], t.deps);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Wrote profile [app] of ${file}`);
    const session = t.emu.sessions().at(-1)!;
    expect(r.stdout + r.stderr).not.toContain(session.accessKeyId);
    const creds = await fromIni({ profile: 'app', filepath: file, configFilepath: join(t.cwd, 'no-config') })();
    expect(creds.accessKeyId).toBe(session.accessKeyId);
    expect(creds.sessionToken).toMatch(/^IQoJ/);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('# managed by hand\n[default]\naws_access_key_id = AKIAOLD\naws_secret_access_key = old ; trailing comment\n\n; the app profile\n[app]\nregion = eu-west-1\n')).toBe(true);
    expect(text).toContain('# keep me\n\n[later]\naws_access_key_id = AKIALATER\naws_secret_access_key = later\n');
    expect(text).not.toContain('AKIASTALE');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(join(t.cwd, 'aws'))).toEqual(['credentials']);
    // Again: replaced in place, one of each key.
    expect((await cli(['credential', 'update', ...t.args(), '--profile', 'app', '--once'], t.deps)).code).toBe(0);
    const again = fs.readFileSync(file, 'utf8');
    expect(again.match(/aws_session_token/g)).toHaveLength(1);
    expect(again).toContain(`[app]\nregion = eu-west-1\naws_access_key_id = ${t.emu.sessions().at(-1)!.accessKeyId}\n`);
  });

  it('--once: a service error exits 9 and leaves the file as it was; the default file is $HOME/.aws/credentials, created 0700/0600', async () => {
    const t = await credentialsSetup();
    const home = join(t.cwd, 'home');
    fs.mkdirSync(home);
    t.deps.env = { ...t.deps.env, HOME: home };
    const bad = await cli(['credential', 'update', ...t.args({ 'role-arn': 'arn:aws:iam::123456789012:role/other' }), '--once'], t.deps);
    expect(bad.code).toBe(9);
    expect(bad.stderr).toContain("Requested Role isn't one of those listed in the Profile.");
    expect(fs.existsSync(join(home, '.aws'))).toBe(false);
    const ok = await cli(['credential', 'update', ...t.args(), '--once'], t.deps);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.statSync(join(home, '.aws')).mode & 0o777).toBe(0o700);
    expect(fs.statSync(join(home, '.aws', 'credentials')).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(join(home, '.aws', 'credentials'), 'utf8')).toMatch(/^\[default\]\naws_access_key_id = ASIA/);
  });

  it('keeps the profile fresh (injected clock): rewritten when renewed before expiry and when the certificate is replaced; stops when asked', async () => {
    const c = clock();
    const t = await credentialsSetup({ now: c.now });
    const file = join(t.cwd, 'credentials');
    t.deps.env = { ...t.deps.env, AWS_SHARED_CREDENTIALS_FILE: file };
    const keys: string[] = [];
    const waits: number[] = [];
    let step = 0;
    const input = { certificate: join(t.cwd, 'app.pem'), privateKey: join(t.cwd, 'app.key'), trustAnchorArn: t.anchorArn, profileArn: t.profileArn, roleArn: ROLE, endpoint: t.emu.url };
    const result = await credentialUpdate(t.deps, input, {
      sleep: async (ms) => {
        waits.push(ms);
        keys.push(/aws_access_key_id = (\S+)/.exec(fs.readFileSync(file, 'utf8'))![1]!);
        step++;
        if (step === 3) {
          // A renewal on disk, between two wake-ups.
          await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01', '--key-out', join(t.cwd, 'app.key'), '--out', join(t.cwd, 'app.pem'), '--force']);
        }
        c.advance(ms);
        return step < 80;
      },
    });
    const sessions = t.emu.sessions();
    // First write; a renewal after 55 minutes (wake-ups every minute); the new certificate at the third wake-up.
    expect(sessions[0]!.serial).toBe(t.leaf.serial);
    expect(sessions[1]!.serial).not.toBe(t.leaf.serial);
    expect(waits.slice(0, 3)).toEqual([60_000, 60_000, 60_000]);
    expect(sessions.length).toBe(3);
    expect(Date.parse(sessions[2]!.at) - Date.parse(sessions[1]!.at)).toBe(3300_000);
    expect(result.writes).toBe(3);
    expect(new Set(keys).size).toBe(3);
    expect(keys.at(-1)).toBe(sessions[2]!.accessKeyId);
  });

  it('the built CLI without --once writes the profile, keeps running, and stops on SIGTERM with exit 0', async () => {
    const t = await credentialsSetup();
    const file = join(t.cwd, 'credentials');
    const child = spawn(process.execPath, [CLI_PATH, 'credential', 'update', ...t.args(), '--profile', 'app'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', AWS_SHARED_CREDENTIALS_FILE: file } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    for (let i = 0; i < 200 && !err.includes('wrote profile [app]'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(err).toContain(`wrote profile [app] of ${file}`);
    expect(fs.readFileSync(file, 'utf8')).toContain(`aws_access_key_id = ${t.emu.sessions()[0]!.accessKeyId}`);
    child.kill('SIGTERM');
    expect(await exited, err).toBe(0);
    expect(out).toContain('Stopped after 1 writes of profile [app]');
    expect(err).not.toContain(t.emu.sessions()[0]!.accessKeyId);
  });

  it('a lock keeps two processes writing different profiles of one file from losing updates', async () => {
    const dir = tempDir();
    const file = join(dir, 'credentials');
    fs.writeFileSync(file, '# shared\n');
    const script = `
      const { writeCredentialsProfile } = await import(${JSON.stringify(join(ROOT, 'dist/app/credential-update.js'))});
      const [file, profile] = process.argv.slice(1);
      for (let i = 0; i < 60; i++) await writeCredentialsProfile(file, profile, { AccessKeyId: profile + '-' + i, SecretAccessKey: 's', SessionToken: 't', Expiration: '' });
    `;
    const run = (profile: string) =>
      new Promise<number | null>((resolve) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, file, profile], { stdio: 'inherit' });
        p.on('exit', resolve);
      });
    expect(await Promise.all([run('a'), run('b'), run('c')])).toEqual([0, 0, 0]);
    const text = fs.readFileSync(file, 'utf8');
    expect(text.startsWith('# shared\n')).toBe(true);
    for (const p of ['a', 'b', 'c']) expect(text).toContain(`[${p}]\naws_access_key_id = ${p}-59\n`);
    expect(fs.readdirSync(dir)).toEqual(['credentials']);
  });

  it('a lock left by a process that is gone is taken over; a live one is waited for, then STATE_LOCKED', async () => {
    const dir = tempDir();
    const file = join(dir, 'credentials');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    fs.writeFileSync(`${file}.lock`, `${dead.pid}\n`);
    await writeCredentialsProfile(file, 'p', { Version: 1, AccessKeyId: 'A', SecretAccessKey: 'S', SessionToken: 'T', Expiration: '' });
    expect(fs.readFileSync(file, 'utf8')).toContain('aws_access_key_id = A');
    // An empty lock file: waited for while fresh, removed once older than 5 s.
    fs.writeFileSync(`${file}.lock`, '');
    await expect(withFileLock(file, 200, () => 1)).rejects.toMatchObject({ code: 'STATE_LOCKED' });
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(`${file}.lock`, old, old);
    expect(await withFileLock(file, 200, () => 2)).toBe(2);
    fs.writeFileSync(`${file}.lock`, `${process.pid}\n`);
    await expect(withFileLock(file, 200, () => 1)).rejects.toMatchObject({ code: 'STATE_LOCKED', exitCode: 6 });
    expect(fs.readFileSync(file, 'utf8')).toContain('aws_access_key_id = A');
  });
});
