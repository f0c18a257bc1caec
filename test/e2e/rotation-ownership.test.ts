/**
 * a rotation owns its trust anchor, and `rotate start` checks what it can before its first write. Out-of-band
 * changes are made with a second client, the real AWS SDK for JavaScript pointed at the emulator.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { DeleteCrlCommand, GetTrustAnchorCommand, ImportCrlCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { makeDeps, tempDir, pkiIn, snapshot } from '../helpers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

/** root on trust anchor "prod" with its CRL published; root-2 made (encrypted with `passphrase` when given). */
async function setup(opts: { emulator?: Parameters<typeof startEmulator>[0]; passphrase?: string } = {}) {
  const emu = await startEmulator({ ratePerSecond: 0, ...opts.emulator });
  running.push(emu);
  const cwd = tempDir('pki-rotown-');
  const deps = makeDeps(cwd, { env: ENV, now: T0 });
  const dir = join(cwd, 'pki');
  const ep = ['--endpoint', emu.url, '--api-rate', '0'];
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Own Root 1', '--validity', '20y', '--no-passphrase']);
  const pass = join(cwd, 'pass');
  if (opts.passphrase) fs.writeFileSync(pass, `${opts.passphrase}\n`);
  await ok(['ca', 'create', 'root-2', '--root', '--subject', 'CN=Own Root 2', '--validity', '20y', ...(opts.passphrase ? ['--passphrase-file', pass] : ['--no-passphrase'])]);
  const arn = (await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...ep])).arn as string;
  await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const bundleCerts = async (a = arn) => {
    const ta = (await sdk.send(new GetTrustAnchorCommand({ trustAnchorId: a.split('/').pop() }))).trustAnchor!;
    return (ta.source!.sourceData as { x509CertificateData: string }).x509CertificateData.match(/BEGIN CERTIFICATE/g)?.length ?? 0;
  };
  const writes = () => emu.calls().filter((c) => !/^(Get|List)/.test(c.op)).map((c) => c.op);
  return { emu, cwd, dir, deps, ep, run, ok, sdk, arn, bundleCerts, writes, pass };
}

describe('a rotation owns its trust anchor', () => {
  it('anchor push during an open rotation is refused (STATE_ROTATION_OPEN); with --force it goes through and anchor status is critical', async () => {
    const t = await setup();
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(await t.bundleCerts()).toBe(2);
    const before = t.writes();
    const files = snapshot(t.dir);
    const refused = await t.run(['anchor', 'push', '--name', 'prod', '--ca', 'root', ...t.ep]);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_ROTATION_OPEN');
    expect(refused.json.error.message).toContain('the rotation owns its bundle [root, root-2]');
    expect(t.writes()).toEqual(before);
    expect(snapshot(t.dir)).toEqual(files);
    expect(await t.bundleCerts()).toBe(2);
    // The rotation's own bundle is no override: accepted, nothing to change.
    expect((await t.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'root-2', ...t.ep])).calls).toEqual([]);
    expect((await t.run(['anchor', 'status', '--name', 'prod', ...t.ep])).code).toBe(0);

    const forced = await t.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--force', ...t.ep]);
    expect(forced.calls).toEqual(['UpdateTrustAnchor']);
    const status = await t.run(['anchor', 'status', '--name', 'prod', ...t.ep]);
    expect(status.code).toBe(11);
    expect(status.json.ok).toBe(false);
    expect(status.json.data.rotation).toEqual({ phase: 'started', old: 'root', new: 'root-2' });
    expect(status.json.data.problems[0]).toContain("the trust anchor's bundle is not the rotation's [root, root-2]");
    // Re-running start puts the rotation's bundle back.
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(await t.bundleCerts()).toBe(2);
    expect((await t.run(['anchor', 'status', '--name', 'prod', ...t.ep])).code).toBe(0);
  });

  it('plan and start list the other trust anchors that trust the old CA; a new CA a rotation closed for issuance is refused', async () => {
    const t = await setup();
    await t.ok(['anchor', 'push', '--name', 'dr', '--ca', 'root', '--enable', ...t.ep]);
    const plan = await t.ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2']);
    const message = 'trust anchor dr [root] also trusts root but not root-2: after switch it trusts no CA that issues; rotate it too (pki rotate start --anchor dr --new-ca root-2)';
    expect(plan.otherAnchors).toEqual([{ name: 'dr', bundle: ['root'], trustsNew: false, message }]);
    expect(plan.warnings).toContain(message);
    const started = await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(started.otherAnchors).toEqual([message]);
    await t.ok(['rotate', 'switch', '--anchor', 'prod', ...t.ep]);
    // root is closed for issuance now: no rotation may switch to it.
    await t.ok(['ca', 'create', 'root-3', '--root', '--subject', 'CN=Own Root 3', '--validity', '20y', '--no-passphrase']);
    await t.ok(['anchor', 'push', '--name', 'edge', '--ca', 'root-3', ...t.ep]);
    for (const step of ['plan', 'start']) {
      const r = await t.run(['rotate', step, '--anchor', 'edge', '--new-ca', 'root', ...(step === 'start' ? t.ep : [])]);
      expect(r.code, step).toBe(6);
      expect(r.json.error.code).toBe('STATE_CA_RETIRED');
      expect(r.json.error.message).toContain('--new-ca root is closed for issuance');
    }
  });
});

describe('a CRL deleted out of band during a rotation', () => {
  it('finish refuses (STATE_ROTATION_LAST_CRL) and its hint, pki crl publish, re-imports the CRL: the hint no longer loops', async () => {
    const t = await setup();
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    await t.ok(['rotate', 'switch', '--anchor', 'prod', ...t.ep]);
    const gone = (await t.sdk.send(new ListCrlsCommand({}))).crls!.find((c) => c.name === 'pki-root-2')!;
    await t.sdk.send(new DeleteCrlCommand({ crlId: gone.crlId }));
    const refused = await t.run(['rotate', 'finish', '--anchor', 'prod', ...t.ep]);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_ROTATION_LAST_CRL');
    expect(refused.json.error.hint).toBe('publish root-2\'s CRL first: pki crl publish --ca root-2 --anchor prod');
    const hinted = await t.ok(['crl', 'publish', '--ca', 'root-2', '--anchor', 'prod', ...t.ep]);
    expect(hinted.results[0]).toMatchObject({ action: 're-imported' });
    const finished = await t.ok(['rotate', 'finish', '--anchor', 'prod', ...t.ep]);
    expect(finished.phase).toBe('finished');
    expect((await t.sdk.send(new ListCrlsCommand({}))).crls!.map((c) => c.name)).toEqual(['pki-root-2']);
    expect((await t.run(['anchor', 'status', '--name', 'prod', ...t.ep])).code).toBe(0);
  });
});

describe('rotate start: preflight before the first write', () => {
  it('a CRL slot taken out of band: plan --check-service, start --dry-run and start refuse with AWS_CRL_QUOTA; the anchor is untouched', async () => {
    const t = await setup({ emulator: { crl: { requireSignedByAnchor: false } } });
    await t.ok(['ca', 'create', 'other', '--root', '--subject', 'CN=Other Root', '--validity', '20y', '--no-passphrase']);
    await t.ok(['crl', 'generate', '--ca', 'other']);
    const pem = (await t.ok(['crl', 'export', '--ca', 'other'])).pem as string;
    await t.sdk.send(new ImportCrlCommand({ name: 'console-upload', trustAnchorArn: t.arn, crlData: Buffer.from(pem), enabled: true }));
    const before = t.writes();
    const files = snapshot(t.dir);
    const offline = await t.ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2']);
    expect(offline.preflight.map((c: any) => c.check)).toEqual(['key/root', 'key/root-2', 'crl-slots']);
    for (const argv of [
      ['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2', '--check-service', ...t.ep],
      ['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--dry-run', ...t.ep],
      ['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep],
    ]) {
      const r = await t.run(argv);
      expect(r.code, argv.join(' ')).toBe(9);
      expect(r.json.error.code).toBe('AWS_CRL_QUOTA');
      expect(r.json.error.message).toContain('holds 2 CRL(s) on the service (pki-root, console-upload); the rotation needs 1 more (root-2)');
    }
    expect(t.writes()).toEqual(before);
    expect(snapshot(t.dir)).toEqual(files);
    expect(await t.bundleCerts()).toBe(1);
    expect((await t.ok(['rotate', 'status', '--anchor', 'prod'])).rotation).toBeNull();
    expect((await t.sdk.send(new ListCrlsCommand({}))).crls).toHaveLength(2);
  });

  it('a wrong passphrase or an unreadable key of the new CA: refused before UpdateTrustAnchor, and plan says so too', async () => {
    const t = await setup({ passphrase: 'correct horse battery' });
    const wrong = join(t.cwd, 'wrong');
    fs.writeFileSync(wrong, 'not the passphrase\n');
    const before = t.writes();
    const files = snapshot(t.dir);
    for (const argv of [
      ['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2', '--passphrase-file', wrong],
      ['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--passphrase-file', wrong, '--dry-run', ...t.ep],
      ['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--passphrase-file', wrong, ...t.ep],
    ]) {
      const r = await t.run(argv);
      expect(r.code, argv.join(' ')).toBe(7);
      expect(r.json.error.code).toMatch(/^CRYPTO_/);
      expect(r.json.error.hint).toContain('nothing was changed on the service');
    }
    expect(t.writes()).toEqual(before);
    expect(snapshot(t.dir)).toEqual(files);
    expect(await t.bundleCerts()).toBe(1);
    // Without a passphrase, plan cannot open the key and says it did not check it; start refuses.
    const unchecked = await t.ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2']);
    expect(unchecked.preflight.find((c: any) => c.check === 'key/root-2').message).toContain('not checked');
    // The key file gone: IO_KEY_UNREADABLE (exit 8), still before any write.
    const keyPath = join(t.dir, 'keys', 'root-2.key.pem');
    fs.renameSync(keyPath, `${keyPath}.moved`);
    const gone = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--passphrase-file', t.pass, ...t.ep]);
    expect(gone.code).toBe(8);
    expect(gone.json.error.code).toBe('IO_KEY_UNREADABLE');
    expect(t.writes()).toEqual(before);
    fs.renameSync(`${keyPath}.moved`, keyPath);
    const ok = await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--passphrase-file', t.pass, ...t.ep]);
    expect(ok.phase).toBe('started');
    expect(ok.preflight.every((c: any) => c.ok)).toBe(true);
    expect(await t.bundleCerts()).toBe(2);
  });
});
