/**
 * publishing, end to end: `pki anchor push` and `pki crl publish` against the emulator on 127.0.0.1, with the
 * emulator's state checked through the real AWS SDK client.
 */
import { join } from 'node:path';
import { DeleteCrlCommand, GetCrlCommand, GetTrustAnchorCommand, ImportCrlCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { crlDerFromFile, decodeCrl, walkCrlEntries } from '../../src/x509/crl.js';
import { makeDeps, tempDir, pkiIn } from '../helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function setup(emulatorOpts: Parameters<typeof startEmulator>[0] = {}) {
  const emu = await startEmulator({ ratePerSecond: 0, ...emulatorOpts });
  running.push(emu);
  const cwd = tempDir('pki-publish-');
  const deps = makeDeps(cwd, { now: NOW, env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' } });
  const dir = join(cwd, 'pki');
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Pub Root,O=Example', '--validity', '20y', '--no-passphrase']);
  for (const n of ['issuing-1', 'issuing-2']) await ok(['ca', 'create', n, '--parent', 'root', '--subject', `CN=Pub ${n},O=Example`, '--validity', '14y', '--no-passphrase']);
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const ops = () => emu.calls().map((c) => c.op);
  // An unthrottled emulator needs no client-side pacing; the throttling test keeps the real 1 request/s on both sides.
  const ep = ['--endpoint', emu.url, '--api-rate', String(emulatorOpts.ratePerSecond ?? 0)];
  return { emu, cwd, dir, deps, run, ok, sdk, ops, ep };
}

function crlOf(data: Uint8Array) {
  const crl = decodeCrl(crlDerFromFile(Buffer.from(data), 'remote'), 'remote');
  const serials: string[] = [];
  walkCrlEntries(crl, 'remote', (e) => serials.push(e.serialHex));
  return { number: Number(crl.crlNumber), serials };
}

describe('pki anchor push / pki crl publish against the emulator', () => {
  it('ok/push, then ImportCrl once, no call when unchanged, UpdateCrl after a revocation, a third issuer refused cleanly', async () => {
    const { cwd, run, ok, sdk, ops, ep } = await setup();
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', ...ep]);
    expect(pushed.calls).toEqual(['CreateTrustAnchor']);
    const ta = (await sdk.send(new GetTrustAnchorCommand({ trustAnchorId: pushed.arn.split('/').pop() }))).trustAnchor!;
    expect(ta.enabled).toBe(true);
    expect(ta.name).toBe('prod');
    // Pushing again changes nothing.
    expect((await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', ...ep])).calls).toEqual([]);

    const first = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    expect(first.results[0]).toMatchObject({ ca: 'issuing-1', ok: true, action: 'imported', crlNumber: 1 });
    const listed = (await sdk.send(new ListCrlsCommand({}))).crls!;
    expect(listed.map((c) => [c.name, c.enabled, c.trustAnchorArn])).toEqual([['pki-issuing-1', true, pushed.arn]]);
    expect(ops().filter((o) => o === 'ImportCrl')).toHaveLength(1);

    // Nothing changed: one read (ListCrls) checks that the service still holds it, nothing is written.
    const before = ops().length;
    const second = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    expect(second.results[0]).toMatchObject({ action: 'unchanged', calls: ['ListCrls'] });
    expect(ops().slice(before)).toEqual(['ListCrls']);

    // A revocation: a new CRL (higher number) goes up with UpdateCrl, never a second ImportCrl.
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=leaked', '--key-out', join(cwd, 'leaked.key')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial, '--reason', 'keyCompromise']);
    const third = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    expect(third.results[0]).toMatchObject({ action: 'updated', crlNumber: 2 });
    expect(third.results[0].calls).toContain('UpdateCrl');
    const remote = (await sdk.send(new GetCrlCommand({ crlId: listed[0]!.crlId }))).crl!;
    expect(crlOf(remote.crlData!)).toEqual({ number: 2, serials: [leaf.serial] });
    expect(ops().filter((o) => o === 'ImportCrl')).toHaveLength(1);

    // The root takes the second slot; a third issuer is refused, and the CA beside it in the same run still succeeds.
    expect((await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep])).results[0].action).toBe('imported');
    const full = await run(['crl', 'publish', '--ca', 'issuing-2', '--ca', 'issuing-1', '--anchor', 'prod', ...ep]);
    expect(full.code).toBe(9);
    expect(full.json.data.results.map((r: any) => [r.ca, r.ok, r.error?.code ?? r.action])).toEqual([
      ['issuing-2', false, 'AWS_CRL_QUOTA'],
      ['issuing-1', true, 'unchanged'],
    ]);
    expect((await sdk.send(new ListCrlsCommand({}))).crls!).toHaveLength(2);
    // Several anchors in one run.
    await ok(['anchor', 'push', '--name', 'dr', '--ca', 'root', '--ca', 'issuing-2', '--enable', ...ep]);
    const multi = (n: number) => run(['crl', 'publish', '--ca', 'issuing-2', '--anchor', 'dr', '--anchor', 'prod', ...ep]).then((r) => {
      expect(r.code, `run ${n}`).toBe(9);
      return r.json.data.results.map((x: any) => [x.anchor, x.ok, x.error?.code ?? x.action]);
    });
    expect(await multi(1)).toEqual([
      ['dr', true, 'imported'],
      ['prod', false, 'AWS_CRL_QUOTA'],
    ]);
    expect(await multi(2)).toEqual([
      ['dr', true, 'unchanged'],
      ['prod', false, 'AWS_CRL_QUOTA'],
    ]);
  });

  it('ok/throttling (1 request/s) and injected 5xx are survived', async () => {
    const { emu, ok, ep } = await setup({ ratePerSecond: 1 });
    emu.setFaults({ failNext: { status: 503, count: 2 } });
    expect((await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...ep])).calls).toEqual(['CreateTrustAnchor']);
    emu.setFaults({ throttleNext: 2 });
    const r = await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
    expect(r.results[0]).toMatchObject({ ok: true, action: 'imported' });
    const statuses = emu.calls().map((c) => c.status);
    expect(statuses).toContain(503);
    expect(statuses).toContain(429);
    expect(emu.calls().filter((c) => c.op === 'ImportCrl' && c.status === 201)).toHaveLength(1);
  }, 60_000);

  it('ok/a crash between ImportCrl and recording the id: the next run finds the CRL by name, no duplicate import', async () => {
    const { emu, ok, sdk, ops, ep } = await setup();
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...ep]);
    // What an earlier run left behind: imported, never recorded.
    await ok(['crl', 'generate', '--ca', 'root']);
    const pem = (await ok(['crl', 'export', '--ca', 'root'])).pem;
    await sdk.send(new ImportCrlCommand({ name: 'pki-root', trustAnchorArn: pushed.arn, crlData: Buffer.from(pem), enabled: true }));
    const importsBefore = ops().filter((o) => o === 'ImportCrl').length;
    const r = await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
    expect(r.results[0]).toMatchObject({ ok: true, action: 'recovered' });
    expect(ops().filter((o) => o === 'ImportCrl').length).toBe(importsBefore);
    expect((await sdk.send(new ListCrlsCommand({}))).crls!).toHaveLength(1);
    // And a connection dropped right after ImportCrl was written: the SDK does not re-send it; pki finds it.
    const two = await setup();
    await two.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...two.ep]);
    two.emu.setFaults({ dropAfterWrite: 1 });
    const dropped = await two.ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...two.ep]);
    expect(dropped.results[0]).toMatchObject({ ok: true, action: 'imported' });
    expect((await two.sdk.send(new ListCrlsCommand({}))).crls!).toHaveLength(1);
    void emu;
  });

  it('ok/anchor status reports drift; --dry-run changes nothing; an unknown anchor is NOT_FOUND (exit 5)', async () => {
    const { ok, run, sdk, ops, ep } = await setup();
    const dry = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--dry-run', ...ep]);
    expect(dry).toMatchObject({ dryRun: true, calls: ['CreateTrustAnchor'] });
    expect(ops()).not.toContain('CreateTrustAnchor');
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...ep]);
    await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
    const status = await run(['anchor', 'status', '--name', 'prod', ...ep]);
    // Not enabled (push without --enable): every certificate is refused, critical (exit 11, "ok": false).
    expect(status.code).toBe(11);
    expect(status.json.ok).toBe(false);
    expect(status.json.data.problems).toEqual(['the trust anchor is disabled: every certificate is refused']);
    expect(status.json.data.crls).toMatchObject([{ name: 'pki-root', enabled: true, crlNumber: 1 }]);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...ep]);
    expect((await run(['anchor', 'status', '--name', 'prod', ...ep])).code).toBe(0);
    // A newer CRL in the store than on the anchor: the service may accept what the newer one revokes (exit 11).
    await ok(['crl', 'generate', '--ca', 'root']);
    const behind = await run(['anchor', 'status', '--name', 'prod', ...ep]);
    expect(behind.code).toBe(11);
    expect(behind.json.data.problems).toEqual(["CA root's CRL on the trust anchor is #1, older than the store's #2: run pki crl publish --ca root --anchor prod"]);
    // Deleted behind pki's back: reported.
    const [gone] = (await sdk.send(new ListCrlsCommand({}))).crls!;
    await sdk.send(new DeleteCrlCommand({ crlId: gone!.crlId }));
    const deleted = await run(['anchor', 'status', '--name', 'prod', ...ep]);
    expect(deleted.code).toBe(11);
    expect(deleted.json.data.problems).toEqual([`the CRL of CA root (${gone!.crlId}) is no longer on the trust anchor: what root revoked is accepted`]);
    expect((await sdk.send(new GetTrustAnchorCommand({ trustAnchorId: pushed.arn.split('/').pop() }))).trustAnchor!.enabled).toBe(true);
    const unknown = await run(['crl', 'publish', '--ca', 'root', '--anchor', 'nope', ...ep]);
    expect(unknown.code).toBe(5);
    expect(unknown.json.data.results[0].error.code).toBe('NOT_FOUND_ANCHOR');
  });
});
