/**
 * No signed AWS request in clear over a network: every command that talks to Roles Anywhere (anchor push, crl publish,
 * anchor status, status --check-service, aws profile create, aws config, rotate) and target add accept an endpoint
 * that is https://, or http:// to a loopback host only; any other http:// endpoint is USAGE_INSECURE_ENDPOINT (exit 2),
 * naming the flag, the target or PKI_STS_ENDPOINT, before anything is written or sent. The emulator listens on every
 * interface here: reached through the machine's own network address, it would receive the request if the rule let it.
 */
import Database from 'better-sqlite3';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { checkEndpointUrl, isLoopbackHost } from '../../src/adapters/aws/endpoint.js';
import { makeDeps, pkiIn, tempDir, type TestDeps } from '../helpers.js';

const EU = { account: '111122223333', region: 'eu-west-1' };
const ROLE = `arn:aws:iam::${EU.account}:role/web`;
const NOW = new Date('2026-01-01T00:00:00Z');

/** This machine's own network address (none on a host with loopback only). */
const IP = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

/**
 * An emulator on every interface: `local` reaches it over loopback (accepted), `lan` through the network address
 * (refused: nothing may reach it that way).
 */
async function emulator() {
  const emu = await startEmulator({ ratePerSecond: 0, host: '0.0.0.0', allowNonLoopback: true, ...EU });
  running.push(emu);
  return { emu, local: `http://127.0.0.1:${emu.port}`, lan: IP ? `http://${IP}:${emu.port}` : undefined };
}

/** Every row of every table of the SQLite store: a refused command must leave all of it as it was (leases included). */
function dump(dir: string): Record<string, unknown[]> {
  const db = new Database(join(dir, 'pki.db'), { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}"`).all()]));
  } finally {
    db.close();
  }
}

async function setup(env: Record<string, string> = {}) {
  const cwd = tempDir('pki-insecure-');
  const deps: TestDeps = makeDeps(cwd, { now: NOW, env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', ...env } });
  const dir = join(cwd, 'pki');
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Endpoint Root,O=Example', '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Endpoint Issuing,O=Example', '--validity', '14y', '--no-passphrase']);
  const { emu, local, lan } = await emulator();
  return { cwd, dir, deps, run, ok, emu, local, bad: ['http://example.com', ...(lan ? [lan] : [])] };
}

describe('plain-HTTP endpoints to other hosts are refused everywhere a signed request would go', () => {
  it('the rule: https, or http to 127.0.0.0/8, localhost or [::1] only', () => {
    for (const ok of ['https://rolesanywhere.eu-west-1.amazonaws.com', 'https://10.0.0.1:8443', 'http://127.0.0.1:1', 'http://127.1.2.3', 'http://localhost:8080/', 'http://[::1]:9'])
      expect(checkEndpointUrl(ok, { input: 'endpoint' }).href).toContain(ok.replace(/\/$/, ''));
    for (const bad of ['http://example.com', 'http://10.0.0.1', 'http://128.0.0.1', 'http://127.0.0.1.example.com', 'http://localhost.example.com', 'http://[::ffff:127.0.0.1]', 'http://0.0.0.0'])
      expect(() => checkEndpointUrl(bad, { target: 't' }), bad).toThrow(expect.objectContaining({ code: 'USAGE_INSECURE_ENDPOINT', details: expect.objectContaining({ target: 't' }) }));
    expect(() => checkEndpointUrl('ftp://127.0.0.1', { env: 'PKI_STS_ENDPOINT' })).toThrow(expect.objectContaining({ code: 'USAGE_BAD_ENDPOINT', details: { env: 'PKI_STS_ENDPOINT' } }));
    expect(() => checkEndpointUrl('not a url', { input: 'endpoint' })).toThrow(expect.objectContaining({ code: 'USAGE_BAD_ENDPOINT' }));
    expect(isLoopbackHost('127.256.0.1')).toBe(false);
  });

  it('pki target add records no plain-HTTP endpoint to another host (exit 2, naming --endpoint); the emulator on 127.0.0.1 is accepted', async () => {
    const { dir, run, ok, emu, local, bad: badEndpoints } = await setup();
    for (const bad of badEndpoints) {
      const before = dump(dir);
      const r = await run(['target', 'add', 'lab', '--region', EU.region, '--endpoint', bad]);
      expect(r.code, bad).toBe(2);
      expect(r.json.error).toMatchObject({ code: 'USAGE_INSECURE_ENDPOINT', details: { flag: '--endpoint', input: 'endpoint' } });
      expect(r.json.error.message).toBe(`--endpoint "${bad}" is plain HTTP to a host that is not loopback: the signed request and the credentials would cross the network unencrypted`);
      expect(dump(dir)).toEqual(before);
    }
    const ftp = await run(['target', 'add', 'lab', '--region', EU.region, '--endpoint', 'ftp://127.0.0.1']);
    expect(ftp.code).toBe(2);
    expect(ftp.json.error.code).toBe('USAGE_BAD_ENDPOINT');
    expect(await ok(['target', 'list'])).toEqual([]);
    await ok(['target', 'add', 'lab', '--region', EU.region, '--endpoint', local]);
    expect((await ok(['target', 'list'])).map((t: any) => [t.name, t.endpoint])).toEqual([['lab', local]]);
    expect(emu.calls()).toEqual([]);
  });

  it('anchor push, crl publish, anchor status, status --check-service, aws profile create, aws config, rotate: refused before anything is written or sent', async () => {
    const { dir, run, ok, emu, local, bad: badEndpoints } = await setup();
    const calls = emu.calls().length;
    const aws = (endpoint: string) => ['--region', EU.region, '--endpoint', endpoint, '--api-rate', '0'];
    const profileArn = `arn:aws:rolesanywhere:${EU.region}:${EU.account}:profile/0b0e2c55-1a40-4a4a-9d68-3a0c6a5b8f00`;
    const commands = (endpoint: string): Array<[string, string[]]> => [
      ['anchor push', ['anchor', 'push', '--name', 'refused', '--ca', 'root', '--enable', ...aws(endpoint)]],
      ['crl publish', ['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'refused', ...aws(endpoint)]],
      ['anchor status', ['anchor', 'status', '--name', 'refused', '--endpoint', endpoint, '--api-rate', '0']],
      ['status --check-service', ['status', '--check-service', ...aws(endpoint)]],
      ['aws profile create', ['aws', 'profile', 'create', '--name', 'web', '--role-arn', ROLE, ...aws(endpoint)]],
      ['aws config', ['aws', 'config', '--anchor', 'refused', '--profile-arn', profileArn, '--role-arn', ROLE, '--certificate', 'web.pem', '--private-key', 'web.key', ...aws(endpoint)]],
      ['rotate start', ['rotate', 'start', '--anchor', 'refused', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Endpoint Issuing 2,O=Example', '--parent', 'root', '--no-passphrase', ...aws(endpoint)]],
    ];
    for (const bad of badEndpoints)
      for (const [name, argv] of commands(bad)) {
        const before = dump(dir);
        const r = await run(argv);
        expect(r.code, `${name} ${bad}`).toBe(2);
        expect(r.json.error, `${name} ${bad}`).toMatchObject({ code: 'USAGE_INSECURE_ENDPOINT', details: { flag: '--endpoint', input: 'endpoint' } });
        expect(r.json.error.message).toMatch(new RegExp(`^--endpoint "${bad.replace(/[.:/]/g, '\\$&')}" is plain HTTP`));
        expect(dump(dir), `${name} ${bad}`).toEqual(before);
      }
    // Nothing reached the emulator through the network address.
    expect(emu.calls().length).toBe(calls);

    // The same commands against the emulator on 127.0.0.1.
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', ...aws(local)]);
    expect(pushed.calls).toEqual(['CreateTrustAnchor']);
    const published = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...aws(local)]);
    expect(published.results.map((x: any) => [x.ok, x.action])).toEqual([[true, 'imported']]);
    expect((await run(['anchor', 'status', '--name', 'prod', '--endpoint', local, '--api-rate', '0'])).code).toBe(0);
    const status = await run(['status', '--check-service', ...aws(local)]);
    expect(status.json.data.checks.filter((c: any) => c.what === 'service/prod').map((c: any) => c.level)).toEqual(['ok']);
    const profile = await ok(['aws', 'profile', 'create', '--name', 'web', '--role-arn', ROLE, ...aws(local)]);
    expect(profile.calls).toEqual(['CreateProfile']);
    const conf = await ok(['aws', 'config', '--anchor', 'prod', '--profile', 'web', '--role-arn', ROLE, '--certificate', 'web.pem', '--private-key', 'web.key', ...aws(local)]);
    expect(conf.credentialProcess).toContain(`--endpoint ${local}`);
    expect(emu.calls().length).toBeGreaterThan(calls);
  }, 60_000);

  it('PKI_STS_ENDPOINT: a target assuming a role refuses a plain-HTTP STS endpoint to another host (naming the variable), before anything is written or sent', async () => {
    const { emu, local, lan } = await emulator();
    const role = `arn:aws:iam::${EU.account}:role/pki-publisher`;
    for (const bad of ['http://example.com', ...(lan ? [lan] : [])]) {
      const { dir, run, ok } = await setup({ PKI_STS_ENDPOINT: bad });
      await ok(['target', 'add', 'via-role', '--region', EU.region, '--role-arn', role, '--endpoint', local]);
      const calls = emu.calls().length;
      const before = dump(dir);
      const r = await run(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--target', 'via-role', '--api-rate', '0']);
      expect(r.code, bad).toBe(2);
      expect(r.json.data.results[0]).toMatchObject({ target: 'via-role', ok: false, error: { code: 'USAGE_INSECURE_ENDPOINT', details: { env: 'PKI_STS_ENDPOINT' } } });
      expect(r.json.data.results[0].error.message).toContain(`$PKI_STS_ENDPOINT "${bad}" is plain HTTP`);
      const profile = await run(['aws', 'profile', 'create', '--name', 'web', '--role-arn', ROLE, '--target', 'via-role', '--api-rate', '0']);
      expect(profile.code).toBe(2);
      expect(profile.json.error).toMatchObject({ code: 'USAGE_INSECURE_ENDPOINT', details: { env: 'PKI_STS_ENDPOINT' } });
      expect(dump(dir)).toEqual(before);
      expect(emu.calls().length).toBe(calls);
    }
    // Over loopback the AssumeRole request is sent (the emulator's STS refuses these made-up source credentials: only
    // keys it issued are valid; test/e2e/iam.test.ts assumes a role with real ones).
    const { run, ok } = await setup({ PKI_STS_ENDPOINT: local });
    await ok(['target', 'add', 'via-role', '--region', EU.region, '--role-arn', role, '--endpoint', local]);
    const calls = emu.calls().length;
    const r = await run(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--target', 'via-role', '--api-rate', '0']);
    expect(r.json.data.results[0]).toMatchObject({ target: 'via-role', ok: false, error: { code: 'AWS_InvalidClientTokenId' } });
    expect(emu.calls().slice(calls).map((c) => [c.op, c.status])).toContainEqual(['AssumeRole', 403]);
  }, 60_000);

  it('a target recorded with a plain-HTTP endpoint to another host (by an older version) fails alone, naming the target; the others go on', async () => {
    const { dir, run, ok, local } = await setup();
    const lan = IP ? 'lan' : undefined;
    await ok(['target', 'add', 'good', '--region', EU.region, '--endpoint', local]);
    // The old target's endpoint: a second emulator reached through the network address (it must receive nothing).
    const other = await startEmulator({ ratePerSecond: 0, host: '0.0.0.0', allowNonLoopback: true, ...EU });
    try {
      const old = lan ? `http://${IP}:${other.port}` : 'http://example.com';
      const store = SqliteStore.open(join(dir, 'pki.db'));
      try {
        const t = { name: 'old', region: EU.region, account: null, awsProfile: null, roleArn: null, endpoint: old, createdAt: NOW };
        await store.addTarget(t, { action: 'target.add', target: 'old', details: { region: EU.region, endpoint: old } }, 'tester@test', NOW);
      } finally {
        store.close();
      }
      const pushed = await run(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', '--target', 'all', '--api-rate', '0']);
      expect(pushed.code).toBe(2);
      expect(pushed.json.data.results.map((x: any) => [x.target, x.ok, x.error?.code ?? null])).toEqual([
        ['good', true, null],
        ['old', false, 'USAGE_INSECURE_ENDPOINT'],
      ]);
      expect(pushed.json.data.results[1].error).toMatchObject({ message: expect.stringContaining(`target old's endpoint "${old}" is plain HTTP`), details: { target: 'old' } });
      // crl publish to every target: the good one publishes, the old one fails on its own.
      const published = await run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--target', 'all', '--api-rate', '0']);
      expect(published.code).toBe(2);
      expect(published.json.data.results.map((x: any) => [x.target, x.ok, x.action ?? x.error.code])).toEqual([
        ['good', true, 'imported'],
        ['old', false, 'USAGE_INSECURE_ENDPOINT'],
      ]);
      // No anchor, CRL or lease was recorded for the old target.
      const rows = dump(dir);
      expect(JSON.stringify([rows.anchor, rows.published_crl, rows.anchor_lease])).not.toContain('@old');
      expect(other.calls()).toEqual([]);
    } finally {
      await other.close();
    }
  }, 60_000);
});
