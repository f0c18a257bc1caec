/**
 * one writer per trust anchor: overlapping `crl publish` and `anchor push` runs, and a run killed with SIGKILL
 * while it holds the anchor's lease. The emulator is slowed down (latency) so that runs really overlap; the service's
 * state is read with the real AWS SDK client.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ListCrlsCommand, ListTrustAnchorsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { LEASE_SECONDS } from '../../src/app/lease.js';
import { credentialsSetup } from '../aws-fixtures.js';
import { CLI, cli, makeDeps, pkiIn, tempDir } from '../helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function setup() {
  const emu = await startEmulator({ ratePerSecond: 0 });
  running.push(emu);
  const cwd = tempDir('pki-lease-');
  const deps = makeDeps(cwd, { now: NOW, env: ENV, seed: 'a' });
  const other = makeDeps(cwd, { now: NOW, env: ENV, seed: 'b' });
  const dir = join(cwd, 'pki');
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Lease Root,O=Example', '--validity', '20y', '--no-passphrase']);
  const ep = ['--endpoint', emu.url, '--api-rate', '0'];
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  /** The same command in two "processes" (separate output and random sources), started together. */
  const both = (argv: string[]) => Promise.all([cli([...argv, '--dir', dir, '--json'], deps), cli([...argv, '--dir', dir, '--json'], other)]);
  return { emu, cwd, dir, deps, other, run, ok, ep, sdk, both };
}

/** Resolves once a lease on `anchor` is recorded in the store (the run holding it is between read and write). */
async function leaseTaken(dir: string, anchor: string): Promise<{ holder: string; expires_at: number }> {
  for (let i = 0; i < 400; i++) {
    const db = new Database(join(dir, 'pki.db'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT holder, expires_at FROM anchor_lease WHERE anchor_name = ?').get(anchor) as { holder: string; expires_at: number } | undefined;
      if (row) return row;
    } catch {
      // the table appears with the first run's migration
    } finally {
      db.close();
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no lease on ${anchor}`);
}

describe('one writer per trust anchor', () => {
  it('two first-time publishes at once: one ImportCrl, one CRL on the anchor, both succeed', async () => {
    const t = await setup();
    await t.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...t.ep]);
    t.emu.setFaults({ latencyMs: 300 });
    const [a, b] = await t.both(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...t.ep]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.json.data.results[0].action, b.json.data.results[0].action].sort()).toEqual(['imported', 'unchanged']);
    expect(t.emu.calls().filter((c) => c.op === 'ImportCrl')).toHaveLength(1);
    expect((await t.sdk.send(new ListCrlsCommand({}))).crls).toHaveLength(1);
  }, 30_000);

  it('two anchor push runs with the same name at once: one trust anchor', async () => {
    const t = await setup();
    t.emu.setFaults({ latencyMs: 300 });
    const [a, b] = await t.both(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...t.ep]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.json.data.calls, b.json.data.calls]).toContainEqual(['CreateTrustAnchor']);
    expect([a.json.data.calls, b.json.data.calls]).toContainEqual([]);
    expect((await t.sdk.send(new ListTrustAnchorsCommand({}))).trustAnchors!.filter((x) => x.name === 'prod')).toHaveLength(1);
    expect(a.json.data.arn).toBe(b.json.data.arn);
  }, 30_000);

  it('an overlapping run with --lease-wait 0 exits 6 STATE_ANCHOR_BUSY ("ok": false) and writes nothing', async () => {
    const t = await setup();
    await t.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...t.ep]);
    t.emu.setFaults({ latencyMs: 400 });
    const first = cli(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', '--dir', t.dir, '--json', ...t.ep], t.deps);
    await leaseTaken(t.dir, 'prod');
    const busy = await cli(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', '--dir', t.dir, '--json', '--lease-wait', '0', ...t.ep], t.other);
    expect(busy.code).toBe(6);
    expect(busy.json.ok).toBe(false);
    expect(busy.json.data.results[0].error.code).toBe('STATE_ANCHOR_BUSY');
    expect(busy.json.data.results[0].error.message).toContain('trust anchor prod is being changed by another pki run (tester@test');
    const pushBusy = await cli(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--dir', t.dir, '--json', '--lease-wait', '0', ...t.ep], t.other);
    expect(pushBusy.code).toBe(6);
    expect(pushBusy.json.error.code).toBe('STATE_ANCHOR_BUSY');
    expect((await first).code).toBe(0);
    expect(t.emu.calls().filter((c) => c.op === 'ImportCrl')).toHaveLength(1);
    // Released on exit: the next run gets it at once.
    t.emu.setFaults({});
    expect((await t.run(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', '--lease-wait', '0', ...t.ep])).code).toBe(0);
  }, 30_000);

  it('a run killed with SIGKILL while holding the lease blocks others until the lease expires, not forever', async () => {
    const t = await credentialsSetup();
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', t.leaf.serial]);
    t.emu.setFaults({ latencyMs: 60_000 });
    const child = spawn(process.execPath, [CLI, 'crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--dir', t.dir, ...t.ep], { env: { ...process.env, ...ENV }, stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', (code, signal) => r(signal ?? code)));
    const lease = await leaseTaken(t.dir, 'prod');
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    t.emu.setFaults({});
    const busy = await t.run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--lease-wait', '0', ...t.ep]);
    expect(busy.code).toBe(6);
    expect(busy.json.data.results[0].error.code).toBe('STATE_ANCHOR_BUSY');
    expect(busy.json.data.results[0].error.details.expiresAt).toBe(new Date(lease.expires_at).toISOString());
    // Once the lease has expired (LEASE_SECONDS after the killed run last extended it), the next run takes over.
    const later = new Date(lease.expires_at + 1000);
    expect(lease.expires_at - Date.now()).toBeLessThanOrEqual(LEASE_SECONDS * 1000);
    t.deps.now = () => later;
    const r = await t.run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--lease-wait', '0', ...t.ep]);
    expect(r.code).toBe(0);
    expect(r.json.data.results[0]).toMatchObject({ ok: true, action: 'updated' });
  }, 60_000);
});
