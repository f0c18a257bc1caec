/**
 * pki credential serve: the AWS SDK for JavaScript's instance-metadata provider (fromInstanceMetadata, pointed at
 * the server with AWS_EC2_METADATA_SERVICE_ENDPOINT) gets credentials from the emulator through it. The IMDSv2
 * protocol details, refresh with an injected clock, errors instead of expired credentials, and a clean SIGTERM.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fromInstanceMetadata } from '@aws-sdk/credential-providers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialServer, type CredentialServer } from '../../src/app/credential-serve.js';
import { clock, credentialsSetup, ROLE } from '../aws-fixtures.js';
import { CLI, cli } from '../helpers.js';

const servers: CredentialServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
beforeAll(() => {
  // The SDK also reads ~/.aws/config for the endpoint: keep it out.
  process.env.AWS_CONFIG_FILE = '/nonexistent/pki-test-aws-config';
});

async function setup() {
  const c = clock();
  const t = await credentialsSetup({ now: c.now });
  const input = {
    certificate: join(t.cwd, 'app.pem'),
    privateKey: join(t.cwd, 'app.key'),
    trustAnchorArn: t.anchorArn,
    profileArn: t.profileArn,
    roleArn: ROLE,
    endpoint: t.emu.url,
    port: 0,
  };
  const start = async (over: Record<string, unknown> = {}) => {
    const s = await startCredentialServer(t.deps, { ...input, ...over });
    servers.push(s);
    return s;
  };
  return { t, c, input, start };
}

async function imds(url: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const r = await fetch(url + path, { method: init.method ?? 'GET', ...(init.headers ? { headers: init.headers } : {}) });
  return { status: r.status, body: await r.text(), headers: r.headers };
}

async function token(url: string, ttl = '21600') {
  const r = await imds(url, '/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl } });
  expect(r.status).toBe(200);
  return r.body;
}

describe('pki credential serve', () => {
  it("the SDK's fromInstanceMetadata gets the emulator's credentials through the server", async () => {
    const { t, start } = await setup();
    const server = await start();
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = server.url;
    const creds = await fromInstanceMetadata({ timeout: 5000, maxRetries: 0 })();
    expect(t.emu.sessions()).toHaveLength(1);
    expect(creds.accessKeyId).toBe(t.emu.sessions()[0]!.accessKeyId);
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now() + 3000_000);
    expect(server.roleName).toBe('app');
  });

  it('botocore (the AWS CLI and boto3) finds the credentials through the server, as on an EC2 instance', async () => {
    const { t, start } = await setup();
    const server = await start();
    const script = 'import json\nfrom botocore.session import Session\nc = Session().get_credentials()\nf = c.get_frozen_credentials()\nprint(json.dumps({"method": c.method, "key": f.access_key, "token": bool(f.token)}))';
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn('python3', ['-c', script], {
        env: { PATH: process.env.PATH ?? '', HOME: t.cwd, AWS_CONFIG_FILE: join(t.cwd, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(t.cwd, 'none'), AWS_EC2_METADATA_SERVICE_ENDPOINT: server.url },
      });
      let o = '';
      let e = '';
      p.stdout.on('data', (d: Buffer) => (o += d.toString()));
      p.stderr.on('data', (d: Buffer) => (e += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve(o) : reject(new Error(e))));
    });
    expect(JSON.parse(out)).toEqual({ method: 'iam-role', key: t.emu.sessions()[0]!.accessKeyId, token: true });
  });

  it('IMDSv2: a token (TTL 1-21600) is required on every GET and expires; X-Forwarded-For is refused; the credentials JSON', async () => {
    const { c, start } = await setup();
    const server = await start();
    const u = server.url;
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/')).status).toBe(401);
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/', { headers: { 'x-aws-ec2-metadata-token': 'forged' } })).status).toBe(401);
    expect((await imds(u, '/latest/api/token', { method: 'PUT' })).status).toBe(400);
    for (const bad of ['0', '21601', 'abc', '-5']) expect((await imds(u, '/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': bad } })).status).toBe(400);
    expect((await imds(u, '/latest/api/token', { method: 'GET', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })).status).toBe(405);
    expect((await imds(u, '/latest/api/token', { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.1' } })).status).toBe(403);
    const tok = await token(u, '60');
    const h = { 'x-aws-ec2-metadata-token': tok };
    const role = await imds(u, '/latest/meta-data/iam/security-credentials/', { headers: h });
    expect(role).toMatchObject({ status: 200, body: 'app' });
    const creds = await imds(u, '/latest/meta-data/iam/security-credentials/app', { headers: h });
    expect(creds.status).toBe(200);
    const j = JSON.parse(creds.body);
    expect(Object.keys(j)).toEqual(['Code', 'LastUpdated', 'Type', 'AccessKeyId', 'SecretAccessKey', 'Token', 'Expiration']);
    expect(j).toMatchObject({ Code: 'Success', Type: 'AWS-HMAC', AccessKeyId: expect.stringMatching(/^ASIA/) });
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/other', { headers: h })).status).toBe(404);
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/app', { headers: { ...h, 'x-forwarded-for': '1.2.3.4' } })).status).toBe(403);
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/app', { method: 'POST', headers: h })).status).toBe(405);
    c.advance(61_000);
    expect((await imds(u, '/latest/meta-data/iam/security-credentials/', { headers: h })).status).toBe(401);
  });

  it('holds at most 256 tokens: the oldest goes first', async () => {
    const { start } = await setup();
    const server = await start();
    const first = await token(server.url);
    const second = await token(server.url);
    for (let i = 0; i < 255; i++) await token(server.url);
    expect((await imds(server.url, '/latest/meta-data/iam/security-credentials/', { headers: { 'x-aws-ec2-metadata-token': first } })).status).toBe(401);
    expect((await imds(server.url, '/latest/meta-data/iam/security-credentials/', { headers: { 'x-aws-ec2-metadata-token': second } })).status).toBe(200);
  });

  it('serves cached credentials until the refresh margin, then renews; a failed renewal serves them until expiry, then an error (logged once)', async () => {
    const { t, c, start } = await setup();
    const server = await start({ refreshBeforeSeconds: 600 });
    const get = async () => {
      const r = await imds(server.url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(server.url) } });
      return { status: r.status, j: JSON.parse(r.body) };
    };
    const a = (await get()).j;
    expect(t.emu.sessions()).toHaveLength(1);
    const exp = Date.parse(a.Expiration);
    c.set(new Date(exp - 601_000));
    expect((await get()).j.AccessKeyId).toBe(a.AccessKeyId);
    c.advance(2_000);
    const b = (await get()).j;
    expect(b.AccessKeyId).not.toBe(a.AccessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
    // Revoked: renewals fail; b is served until it expires, then errors.
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial, '--reason', 'keyCompromise']);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    t.deps.err.length = 0;
    c.set(new Date(Date.parse(b.Expiration) - 60_000));
    expect((await get()).j.AccessKeyId).toBe(b.AccessKeyId);
    expect((await get()).j.AccessKeyId).toBe(b.AccessKeyId);
    c.set(new Date(Date.parse(b.Expiration) + 1_000));
    const failed = await get();
    expect(failed.status).toBe(502);
    expect(failed.j.Message).toContain('AccessDeniedException: Certificate revoked');
    expect(failed.j.AccessKeyId).toBeUndefined();
    const logged = t.deps.err.join('').split('\n').filter((l) => l.includes('Certificate revoked'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('serving the current credentials until they expire');
  });

  it('an unreachable endpoint at start: the server starts, answers 502 naming the error (logged once); an expired certificate is the service\'s refusal', async () => {
    const { t, c, start } = await setup();
    // A port nothing listens on: the emulator's, once it is closed.
    const { startEmulator } = await import('../../src/emulator/server.js');
    const gone = await startEmulator();
    await gone.close();
    t.deps.err.length = 0;
    const down = await start({ endpoint: gone.url, timeoutSeconds: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await imds(down.url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(down.url) } });
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toMatchObject({ Code: 'Failure', Message: expect.stringContaining('AWS_NetworkError') });
    }
    expect(t.deps.err.join('').split('\n').filter((l) => l.includes('AWS_NetworkError'))).toHaveLength(1);
    // The certificate (24 h) has expired: CreateSession refuses it; nothing stale is served.
    const up = await start();
    c.advance(25 * 3600_000);
    const r = await imds(up.url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(up.url) } });
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).Message).toContain('AccessDeniedException: Untrusted Signing Certificate');
  });

  it('refuses a non-loopback address without --allow-non-loopback, a hop limit it cannot set, and a key that is not the certificate\'s, before listening', async () => {
    const { t, start } = await setup();
    await expect(start({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'USAGE_NON_LOOPBACK' });
    await expect(start({ hopLimit: 1 })).rejects.toMatchObject({ code: 'USAGE_UNSUPPORTED_OPTION' });
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=other', '--key-out', join(t.cwd, 'other.key'), '--out', join(t.cwd, 'other.pem')]);
    await expect(start({ privateKey: join(t.cwd, 'other.key') })).rejects.toMatchObject({ code: 'CRYPTO_KEY_MISMATCH' });
    const r = await cli(['credential', 'serve', ...t.args({ 'private-key': join(t.cwd, 'other.key') }), '--port', '0'], { ...t.deps, waitForShutdown: () => new Promise(() => {}) } as typeof t.deps);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('CRYPTO_KEY_MISMATCH');
    expect(t.emu.sessions()).toHaveLength(0);
  });

  it('a renewal that fails on an input answers the workload with the flag pki credential serve was given (--private-key), as its log does; the library says input.privateKey', async () => {
    const { t, c, start } = await setup();
    await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=other', '--key-out', join(t.cwd, 'other.key'), '--out', join(t.cwd, 'other.pem')]);
    const key = join(t.cwd, 'app.key');
    const cert = join(t.cwd, 'app.pem');
    const original = fs.readFileSync(key);
    const fetchCreds = async (url: string) => {
      const r = await imds(url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(url) } });
      return { status: r.status, j: JSON.parse(r.body) };
    };
    // Through the CLI: runs until the test lets it stop.
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const running = cli(['credential', 'serve', ...t.args(), '--port', '0', '--json'], { ...t.deps, waitForShutdown: () => stopped } as typeof t.deps);
    let url: string | undefined;
    for (let i = 0; i < 400 && !url; i++) {
      await new Promise((r) => setTimeout(r, 25));
      const out = t.deps.out.join('');
      if (out) url = JSON.parse(out).data.url as string;
    }
    expect(url).toBeDefined();
    const first = await fetchCreds(url!);
    expect(first.status).toBe(200);
    // The key file is replaced by another one and the credentials expire: the renewal fails on the key.
    fs.copyFileSync(join(t.cwd, 'other.key'), key);
    c.set(new Date(Date.parse(first.j.Expiration) + 1_000));
    const failed = await fetchCreds(url!);
    expect(failed.status).toBe(500);
    expect(failed.j).toEqual({ Code: 'Failure', Message: `CRYPTO_KEY_MISMATCH: --private-key ${key} does not belong to --certificate ${cert}` });
    stop();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`error: CRYPTO_KEY_MISMATCH: --private-key ${key} does not belong to --certificate ${cert}`);
    expect(r.stderr).not.toContain('input.');
    // The library, called without the CLI, names its input.
    fs.writeFileSync(key, original);
    const lib = await start();
    const before = await fetchCreds(lib.url);
    expect(before.status).toBe(200);
    fs.copyFileSync(join(t.cwd, 'other.key'), key);
    c.set(new Date(Date.parse(before.j.Expiration) + 1_000));
    const libFailed = await fetchCreds(lib.url);
    expect(libFailed.status).toBe(500);
    expect(libFailed.j.Message).toBe(`CRYPTO_KEY_MISMATCH: input.privateKey ${key} does not belong to input.certificate ${cert}`);
  });

  it('a certificate renewed in place by pki renew (old one revoked, CRL published) is used by the running server without a restart', async () => {
    const { t, start } = await setup();
    const server = await start();
    const get = async () => {
      const r = await imds(server.url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(server.url) } });
      expect(r.status, r.body).toBe(200);
      return JSON.parse(r.body);
    };
    const before = await get();
    const renewed = await t.ok(['renew', '--ca', 'issuing-1', '--cert', join(t.cwd, 'app.pem'), '--key-out', join(t.cwd, 'app.key'), '--out', join(t.cwd, 'app.pem'), '--force', '--revoke-old', 'superseded']);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    const after = await get();
    expect(after.AccessKeyId).not.toBe(before.AccessKeyId);
    expect(t.emu.sessions().map((s) => s.serial)).toEqual([t.leaf.serial, renewed.serial]);
    expect(t.emu.sessions()[1]).toMatchObject({ sourceIdentity: 'CN=app-01', principalTags: t.emu.sessions()[0]!.principalTags });
    // Cached again until the next margin.
    expect((await get()).AccessKeyId).toBe(after.AccessKeyId);
    expect(t.emu.sessions()).toHaveLength(2);
  });

  it('the built CLI prints its URL, serves, and exits 0 on SIGTERM', async () => {
    const { t } = await setup();
    const child = spawn(process.execPath, [CLI, 'credential', 'serve', ...t.args(), '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n') || out.trim().endsWith('}')) {
          try {
            resolve(JSON.parse(out).data.url);
          } catch {
            /* wait for more */
          }
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const r = await imds(url, '/latest/meta-data/iam/security-credentials/app', { headers: { 'x-aws-ec2-metadata-token': await token(url) } });
    expect(r.status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code, err).toBe(0);
    expect(err).toContain('stopped');
  });
});
