/**
 * many accounts and regions: publishing targets (pki target add | list | remove), anchor push / crl publish /
 * anchor status fanned out to two emulators on 127.0.0.1 standing for two account/region pairs, checked through the
 * real AWS SDK client. One emulator is stopped in the middle of a publish, restarted, and caught up by the next run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCrlCommand, ListCrlsCommand, ListTrustAnchorsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/server.js';
import { crlDerFromFile, decodeCrl } from '../../src/x509/crl.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { makeDeps, tempDir, pkiIn } from '../helpers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const EU = { account: '111122223333', region: 'eu-west-1' };
const US = { account: '444455556666', region: 'us-east-1' };
const running = new Set<Emulator>();
afterEach(async () => {
  await Promise.all([...running].map((e) => e.close()));
  running.clear();
});

async function emulator(opts: EmulatorOptions): Promise<Emulator> {
  const e = await startEmulator({ ratePerSecond: 0, ...opts });
  running.add(e);
  return e;
}
async function stop(e: Emulator): Promise<void> {
  running.delete(e);
  await e.close();
}

const sdkFor = (e: Emulator, region: string) => new RolesAnywhereClient({ endpoint: e.url, region, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
async function crlsOn(e: Emulator, region: string) {
  const sdk = sdkFor(e, region);
  const list = (await sdk.send(new ListCrlsCommand({}))).crls ?? [];
  return Promise.all(
    list.map(async (c) => {
      const full = (await sdk.send(new GetCrlCommand({ crlId: c.crlId }))).crl!;
      return { name: full.name, enabled: full.enabled, anchor: full.trustAnchorArn, number: Number(decodeCrl(crlDerFromFile(Buffer.from(full.crlData!), 'remote'), 'remote').crlNumber) };
    }),
  );
}

async function setup() {
  const cwd = tempDir('pki-targets-');
  const eu = await emulator(EU);
  const us = await emulator({ ...US, stateFile: join(cwd, 'us-state.json') });
  const deps = makeDeps(cwd, { now: NOW, env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' } });
  const dir = join(cwd, 'pki');
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Targets Root,O=Example', '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Targets Issuing,O=Example', '--validity', '14y', '--no-passphrase']);
  await ok(['target', 'add', 'prod-eu', '--region', EU.region, '--account', EU.account, '--endpoint', eu.url]);
  await ok(['target', 'add', 'prod-us', '--region', US.region, '--account', US.account, '--endpoint', us.url]);
  return { cwd, dir, deps, run, ok, eu, us };
}

describe('publishing targets: many accounts and regions', () => {
  it('target add validates its flags, list shows the targets, remove refuses a target holding an anchor', async () => {
    const { run, ok } = await setup();
    expect((await run(['target', 'add', 'x', '--region', 'Europe'])).code).toBe(2);
    expect((await run(['target', 'add', 'x', '--region', 'eu-west-1', '--account', '12'])).code).toBe(2);
    expect((await run(['target', 'add', 'all', '--region', 'eu-west-1'])).code).toBe(2);
    expect((await run(['target', 'add', 'x', '--region', 'eu-west-1', '--aws-profile', 'p', '--role-arn', 'arn:aws:iam::111122223333:role/r'])).code).toBe(2);
    const dup = await run(['target', 'add', 'prod-eu', '--region', 'eu-west-1']);
    expect(dup.code).toBe(2);
    expect(dup.json.error.code).toBe('USAGE_TARGET_EXISTS');
    const listed = await ok(['target', 'list']);
    expect(listed.map((t: any) => [t.name, t.region, t.account])).toEqual([
      ['prod-eu', EU.region, EU.account],
      ['prod-us', US.region, US.account],
    ]);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--target', 'prod-eu', '--api-rate', '0']);
    const refused = await run(['target', 'remove', 'prod-eu']);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_TARGET_IN_USE');
    await ok(['target', 'add', 'spare', '--region', 'eu-west-1']);
    await ok(['target', 'remove', 'spare']);
    expect((await ok(['target', 'list'])).map((t: any) => [t.name, t.anchors])).toEqual([
      ['prod-eu', ['prod']],
      ['prod-us', []],
    ]);
    expect((await run(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--target', 'nowhere'])).code).toBe(5);
  });

  it('push to every target, publish to every target holding the anchor; a target stopped mid-publish fails alone and the next run catches it up', async () => {
    const { cwd, dir, run, ok, eu, us } = await setup();
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', '--target', 'all', '--api-rate', '0']);
    expect(pushed.results.map((r: any) => [r.target, r.ok, r.calls])).toEqual([
      ['prod-eu', true, ['CreateTrustAnchor']],
      ['prod-us', true, ['CreateTrustAnchor']],
    ]);
    // Each target's ARN carries its own account and region; the store records the anchor per target.
    expect(pushed.results[0].arn).toMatch(new RegExp(`^arn:aws:rolesanywhere:${EU.region}:${EU.account}:trust-anchor/`));
    expect(pushed.results[1].arn).toMatch(new RegExp(`^arn:aws:rolesanywhere:${US.region}:${US.account}:trust-anchor/`));
    const store = SqliteStore.open(join(dir, 'pki.db'));
    try {
      expect((await store.listAnchors()).map((a) => [a.anchorName, a.target, a.arn])).toEqual([
        ['prod', 'prod-eu', pushed.results[0].arn],
        ['prod', 'prod-us', pushed.results[1].arn],
      ]);
    } finally {
      store.close();
    }
    for (const [e, region] of [[eu, EU.region], [us, US.region]] as const) expect(((await sdkFor(e, region).send(new ListTrustAnchorsCommand({}))).trustAnchors ?? []).map((t) => [t.name, t.enabled])).toEqual([['prod', true]]);

    const first = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--api-rate', '0']);
    expect(first.results.map((r: any) => [r.target, r.ok, r.action, r.crlNumber, r.arn])).toEqual([
      ['prod-eu', true, 'imported', 1, pushed.results[0].arn],
      ['prod-us', true, 'imported', 1, pushed.results[1].arn],
    ]);

    // A revocation, then prod-us goes down in the middle of the run that publishes it.
    const leaf = await ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=leaked', '--key-out', join(cwd, 'leaked.key')]);
    await ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial, '--reason', 'keyCompromise']);
    const usPort = us.port;
    const seen = us.calls().length;
    us.setFaults({ latencyMs: 300 });
    const publishing = run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--api-rate', '0']);
    while (us.calls().length === seen) await new Promise((r) => setTimeout(r, 10));
    expect(us.calls().slice(seen).map((c) => c.op)).toEqual(['ListCrls']);
    await stop(us);
    const down = await publishing;
    expect(down.code).toBe(9);
    expect(down.json.ok).toBe(false);
    const byTarget = Object.fromEntries(down.json.data.results.map((r: any) => [r.target, r]));
    expect(Object.keys(byTarget).sort()).toEqual(['prod-eu', 'prod-us']);
    expect(byTarget['prod-eu']).toMatchObject({ ok: true, action: 'updated', crlNumber: 2 });
    expect(byTarget['prod-us'].ok).toBe(false);
    expect(byTarget['prod-us'].error.code).toBe('AWS_UNREACHABLE');
    expect(await crlsOn(eu, EU.region)).toEqual([{ name: 'pki-issuing-1', enabled: true, anchor: pushed.results[0].arn, number: 2 }]);
    // Whatever was in flight when it stopped has landed (or not) before it comes back.
    await new Promise((r) => setTimeout(r, 400));

    // Restarted with its state (same port, same state file): the next run writes only to the target that is behind.
    const back = await emulator({ ...US, port: usPort, stateFile: join(cwd, 'us-state.json') });
    const euBefore = eu.calls().length;
    const again = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--api-rate', '0']);
    const again2 = Object.fromEntries(again.results.map((r: any) => [r.target, r]));
    expect(again2['prod-eu']).toMatchObject({ ok: true, action: 'unchanged', crlNumber: 2, calls: ['ListCrls'] });
    expect(again2['prod-us']).toMatchObject({ ok: true, crlNumber: 2 });
    expect(['updated', 'unchanged']).toContain(again2['prod-us'].action);
    expect(eu.calls().slice(euBefore).map((c) => c.op)).toEqual(['ListCrls']);
    expect(await crlsOn(back, US.region)).toEqual([{ name: 'pki-issuing-1', enabled: true, anchor: pushed.results[1].arn, number: 2 }]);

    // A third run: nothing behind anywhere, one read per target.
    const third = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--api-rate', '0']);
    expect(third.results.map((r: any) => [r.target, r.action, r.calls])).toEqual([
      ['prod-eu', 'unchanged', ['ListCrls']],
      ['prod-us', 'unchanged', ['ListCrls']],
    ]);

    // anchor status: one object per target, compared with the store.
    const status = await run(['anchor', 'status', '--anchor', 'prod', '--api-rate', '0']);
    expect(status.code).toBe(0);
    expect(status.json.data.targets.map((t: any) => [t.target, t.region, t.account, t.exitCode, t.crls.map((c: any) => c.crlNumber)])).toEqual([
      ['prod-eu', EU.region, EU.account, 0, [2]],
      ['prod-us', US.region, US.account, 0, [2]],
    ]);
    // A target that is down is critical, the other one still reported.
    await stop(back);
    const partial = await run(['anchor', 'status', '--anchor', 'prod', '--api-rate', '0']);
    expect(partial.code).toBe(11);
    expect(partial.json.data.targets.map((t: any) => [t.target, t.exitCode])).toEqual([
      ['prod-eu', 0],
      ['prod-us', 11],
    ]);
  }, 60_000);

  it('--target limits a publish to those targets; a target whose credentials reach another account is refused, the others still pushed', async () => {
    const { ok, run, eu, us } = await setup();
    // "wrong" points at the prod-eu emulator (account 111122223333) but says it is account 999999999999.
    await ok(['target', 'add', 'wrong', '--region', EU.region, '--account', '999999999999', '--endpoint', eu.url]);
    const r = await run(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', '--target', 'prod-us', '--target', 'wrong', '--api-rate', '0']);
    expect(r.code).toBe(9);
    expect(r.json.data.results.map((x: any) => [x.target, x.ok, x.error?.code ?? null])).toEqual([
      ['prod-us', true, null],
      ['wrong', false, 'AWS_WRONG_ACCOUNT'],
    ]);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', '--target', 'prod-eu', '--api-rate', '0']);
    const only = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--target', 'prod-eu', '--api-rate', '0']);
    expect(only.results.map((x: any) => [x.target, x.action])).toEqual([['prod-eu', 'imported']]);
    expect(await crlsOn(us, US.region)).toEqual([]);
    expect((await crlsOn(eu, EU.region)).map((c) => c.number)).toEqual([1]);
    // A --target that does not hold the anchor fails on its own; nothing goes anywhere else instead.
    const before = us.calls().length;
    const notThere = await run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--target', 'prod-eu', '--target', 'wrong', '--api-rate', '0']);
    expect(notThere.code).toBe(5);
    expect(notThere.json.data.results.map((x: any) => [x.target, x.ok, x.error?.code ?? x.action])).toEqual([
      ['prod-eu', true, 'unchanged'],
      ['wrong', false, 'NOT_FOUND_ANCHOR'],
    ]);
    expect(us.calls().length).toBe(before);
    // --target says where: --endpoint / --region beside it are refused, not ignored.
    const both = await run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--target', 'prod-eu', '--endpoint', us.url]);
    expect(both.code).toBe(2);
    expect(both.json.error.code).toBe('USAGE_CONFLICT');
  }, 60_000);

  it('a target reached through an AWS shared-config profile uses that profile\'s credentials, not the environment\'s', async () => {
    const { cwd, deps, ok, run, eu } = await setup();
    writeFileSync(join(cwd, 'credentials'), '[prod-eu-publisher]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\n');
    const env = deps.env as Record<string, string | undefined>;
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    Object.assign(deps.env, { AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'credentials'), AWS_CONFIG_FILE: join(cwd, 'no-config') });
    await ok(['target', 'add', 'eu-profile', '--region', EU.region, '--aws-profile', 'prod-eu-publisher', '--endpoint', eu.url]);
    await ok(['target', 'add', 'eu-missing', '--region', EU.region, '--aws-profile', 'nobody', '--endpoint', eu.url]);
    const r = await run(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--target', 'eu-profile', '--target', 'eu-missing', '--api-rate', '0']);
    expect(r.code).toBe(9);
    expect(r.json.data.results.map((x: any) => [x.target, x.ok])).toEqual([
      ['eu-profile', true],
      ['eu-missing', false],
    ]);
    expect(r.json.data.results[1].error.message).toContain('nobody');
  });

  it('per target: an open rotation owns the anchor\'s bundle on every target, and the lease is per target', async () => {
    const { dir, ok, run } = await setup();
    const home = await emulator({ account: '777788889999', region: 'eu-central-1' });
    const here = ['--region', 'eu-central-1', '--endpoint', home.url, '--api-rate', '0'];
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', ...here]);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--enable', '--target', 'prod-eu', '--api-rate', '0']);
    await ok(['ca', 'create', 'issuing-2', '--parent', 'root', '--subject', 'CN=Targets Issuing 2,O=Example', '--validity', '14y', '--no-passphrase']);
    await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', ...here]);
    // Another bundle on any target, a new one included, is refused while the rotation is open.
    const refused = await run(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--target', 'prod-eu', '--target', 'prod-us', '--api-rate', '0']);
    expect(refused.code).toBe(6);
    expect(refused.json.data.results.map((x: any) => [x.target, x.error?.code])).toEqual([
      ['prod-eu', 'STATE_ROTATION_OPEN'],
      ['prod-us', 'STATE_ROTATION_OPEN'],
    ]);
    // The rotation's own bundle goes to every target.
    const during = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'issuing-1', '--ca', 'issuing-2', '--target', 'all', '--api-rate', '0']);
    expect(during.results.map((x: any) => [x.target, x.ok])).toEqual([
      ['prod-eu', true],
      ['prod-us', true],
    ]);

    // Another run holds the lease of prod on prod-us: that target waits (here: not at all) and fails; prod-eu goes on.
    const store = SqliteStore.open(join(dir, 'pki.db'));
    try {
      expect((await store.acquireLease('prod@prod-us', 'cron@other 1', NOW, new Date(NOW.getTime() + 3_600_000))).acquired).toBe(true);
    } finally {
      store.close();
    }
    const busy = await run(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', '--target', 'all', '--lease-wait', '0', '--api-rate', '0']);
    expect(busy.code).toBe(6);
    expect(busy.json.data.results.map((x: any) => [x.target, x.ok, x.error?.code ?? x.action])).toEqual([
      ['prod-eu', true, 'imported'],
      ['prod-us', false, 'STATE_ANCHOR_BUSY'],
    ]);
  }, 60_000);

  it('the single-region form keeps working as the implicit target next to named ones', async () => {
    const { ok, eu } = await setup();
    const dr = await emulator({ account: '777788889999', region: 'eu-central-1' });
    const plain = await ok(['anchor', 'push', '--name', 'dr', '--ca', 'root', '--ca', 'issuing-1', '--enable', '--region', 'eu-central-1', '--endpoint', dr.url, '--api-rate', '0']);
    expect(plain.arn).toMatch(/^arn:aws:rolesanywhere:eu-central-1:777788889999:/);
    await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', '--enable', '--target', 'prod-eu', '--api-rate', '0']);
    const pub = await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'dr', '--anchor', 'prod', '--region', 'eu-central-1', '--endpoint', dr.url, '--api-rate', '0']);
    expect(pub.results.map((x: any) => [x.anchor, x.target, x.action])).toEqual([
      ['dr', '(default)', 'imported'],
      ['prod', 'prod-eu', 'imported'],
    ]);
    expect((await crlsOn(dr, 'eu-central-1')).map((c) => c.number)).toEqual([1]);
    expect((await crlsOn(eu, EU.region)).map((c) => c.number)).toEqual([1]);
    // Its status keeps the single-anchor form.
    const st = await ok(['anchor', 'status', '--name', 'dr', '--region', 'eu-central-1', '--endpoint', dr.url, '--api-rate', '0']);
    expect(st).toMatchObject({ name: 'dr', exitCode: 0 });
    expect(st.targets).toBeUndefined();
  }, 60_000);
});
