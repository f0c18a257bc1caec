/**
 * fromRolesAnywhere: an AWS SDK for JavaScript credential provider backed by Roles Anywhere, used by a real SDK
 * client against the emulator. The clock is injected (the emulator and the provider share it): refresh before
 * expiry, reuse meanwhile, renewal failures served from unexpired credentials only, changed files picked up.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { ListTrustAnchorsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { describe, expect, it } from 'vitest';
import { fromRolesAnywhere } from '../../src/index.js';
import { clock, credentialsSetup, ROLE } from '../aws-fixtures.js';

async function setup() {
  const c = clock();
  const t = await credentialsSetup({ now: c.now });
  const warnings: string[] = [];
  const options = {
    certificate: join(t.cwd, 'app.pem'),
    privateKey: join(t.cwd, 'app.key'),
    trustAnchorArn: t.anchorArn,
    profileArn: t.profileArn,
    roleArn: ROLE,
    endpoint: t.emu.url,
    now: c.now,
    logger: { warn: (m: string) => void warnings.push(m) },
  };
  return { t, c, warnings, options };
}

describe('fromRolesAnywhere', () => {
  it('a real SDK client signs its calls with credentials from CreateSession; they are reused until 5 minutes before expiry, then renewed', async () => {
    const { t, c, options } = await setup();
    const client = new RolesAnywhereClient({ endpoint: t.emu.url, region: 'us-east-1', credentials: fromRolesAnywhere(options) });
    const listed = await client.send(new ListTrustAnchorsCommand({}));
    expect(listed.trustAnchors?.map((a) => a.trustAnchorArn)).toContain(t.anchorArn);
    const resolved = await client.config.credentials();
    expect(t.emu.sessions()).toHaveLength(1);
    expect(resolved.accessKeyId).toBe(t.emu.sessions()[0]!.accessKeyId);
    expect(t.emu.sessions()[0]).toMatchObject({ serial: t.leaf.serial, roleArn: ROLE });

    const provider = fromRolesAnywhere(options);
    // Concurrent first calls share one CreateSession.
    const [a, b, d] = await Promise.all([provider(), provider(), provider()]);
    expect(t.emu.sessions()).toHaveLength(2);
    expect(b.accessKeyId).toBe(a.accessKeyId);
    expect(d.accessKeyId).toBe(a.accessKeyId);
    expect(a.expiration.getTime() - c.now().getTime()).toBe(3600_000);
    // 301 s before expiry: still the same credentials, no call.
    c.set(new Date(a.expiration.getTime() - 301_000));
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
    // 299 s before: renewed.
    c.advance(2_000);
    const renewed = await provider();
    expect(renewed.accessKeyId).not.toBe(a.accessKeyId);
    expect(t.emu.sessions()).toHaveLength(3);
    expect(renewed.expiration.getTime() - c.now().getTime()).toBe(3600_000);
  });

  it('refreshBeforeSeconds sets the margin', async () => {
    const { t, c, options } = await setup();
    const provider = fromRolesAnywhere({ ...options, refreshBeforeSeconds: 900 });
    const a = await provider();
    c.set(new Date(a.expiration.getTime() - 901_000));
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    c.advance(2_000);
    expect((await provider()).accessKeyId).not.toBe(a.accessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
    // A library caller is told which of its options (pki credential serve says --refresh-before: test/cli/input-flags.test.ts).
    expect(() => fromRolesAnywhere({ ...options, refreshBeforeSeconds: -1 })).toThrow(/^input\.refreshBeforeSeconds -1: give seconds, 0 to 3600$/);
  });

  it('a failed renewal keeps the unexpired credentials (warned once), and fails once they have expired: never stale credentials', async () => {
    const { t, c, options, warnings } = await setup();
    const provider = fromRolesAnywhere(options);
    const a = await provider();
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial, '--reason', 'keyCompromise']);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    const attempts = () => t.emu.calls().filter((x) => x.op === 'CreateSession').length;
    c.set(new Date(a.expiration.getTime() - 120_000));
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    expect(attempts()).toBe(2);
    // Asked again at once: answered without another CreateSession; 5 s later it is tried again.
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    expect(attempts()).toBe(2);
    c.advance(5_000);
    expect((await provider()).accessKeyId).toBe(a.accessKeyId);
    expect(attempts()).toBe(3);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('AccessDeniedException: Certificate revoked');
    c.set(new Date(a.expiration.getTime() + 1_000));
    await expect(provider()).rejects.toMatchObject({ code: 'AWS_AccessDeniedException', message: expect.stringContaining('Certificate revoked') });
  });

  it('a certificate and key replaced on disk are used at the next call, without waiting for expiry', async () => {
    const { t, options } = await setup();
    const provider = fromRolesAnywhere(options);
    await provider();
    const next = await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=app-01,OU=payments,O=Example', '--key-out', join(t.cwd, 'app.key'), '--out', join(t.cwd, 'app.pem'), '--force']);
    await provider();
    expect(t.emu.sessions().map((s) => s.serial)).toEqual([t.leaf.serial, next.serial]);
  });

  it('fd:N is read once: renewals after the descriptor is closed still work', async () => {
    const { t, c, options } = await setup();
    const fd = fs.openSync(join(t.cwd, 'app.key'), 'r');
    const provider = fromRolesAnywhere({ ...options, privateKey: `fd:${fd}` });
    const a = await provider();
    fs.closeSync(fd);
    c.set(new Date(a.expiration.getTime() - 60_000));
    const b = await provider();
    expect(b.accessKeyId).not.toBe(a.accessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
  });

  it('takes the certificate and key as PEM text, bytes or env:NAME; a wrong key is refused before anything is sent', async () => {
    const { t, options } = await setup();
    const cert = fs.readFileSync(join(t.cwd, 'app.pem'), 'utf8');
    const key = fs.readFileSync(join(t.cwd, 'app.key'));
    expect((await fromRolesAnywhere({ ...options, certificate: cert, privateKey: key })()).accessKeyId).toMatch(/^ASIA/);
    expect((await fromRolesAnywhere({ ...options, certificate: 'env:APP_CERT', privateKey: 'env:APP_KEY', env: { APP_CERT: cert, APP_KEY: key.toString() } })()).accessKeyId).toMatch(/^ASIA/);
    expect(t.emu.sessions()).toHaveLength(2);
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=other', '--key-out', join(t.cwd, 'other.key'), '--out', join(t.cwd, 'other.pem')]);
    await expect(fromRolesAnywhere({ ...options, privateKey: join(t.cwd, 'other.key') })()).rejects.toMatchObject({ code: 'CRYPTO_KEY_MISMATCH' });
    await expect(fromRolesAnywhere({ ...options, certificate: 'env:MISSING' })()).rejects.toMatchObject({ code: 'NOT_FOUND_ENV' });
    expect(t.emu.sessions()).toHaveLength(2);
  });
});
