/**
 * rotation under failure, and every refusal. Faults: the process "dies" right after each AWS call of each step (a
 * gateway that throws once call k has been answered: the service changed, the store did not), then the step is run
 * again with a healthy gateway; the end state must be right with no duplicate CRL import and no lost anchor slot.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DeleteCrlCommand, GetTrustAnchorCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/adapters/aws/gateway.js';
import { abortRotation, finishRotation, startRotation } from '../../src/app/rotation/index.js';
import { SqliteStore } from '../../src/adapters/store/sqlite.js';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { makeDeps, tempDir, pkiIn } from '../helpers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' };
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

/** A PKI with root on trust anchor "prod" (its CRL published) and root-2 created, ready for `stage`. */
async function setup(stage: 'start' | 'finish' | 'abort', emulatorOpts: Parameters<typeof startEmulator>[0] = {}, opts: { rootCrl?: boolean } = {}) {
  const emu = await startEmulator({ ratePerSecond: 0, ...emulatorOpts });
  running.push(emu);
  const cwd = tempDir('pki-rotfault-');
  const clock = { now: T0 };
  const deps = makeDeps(cwd, { env: ENV });
  deps.now = () => clock.now;
  const dir = join(cwd, 'pki');
  const ep = ['--endpoint', emu.url, '--api-rate', '0'];
  const { run, ok } = pkiIn(dir, deps);
  await ok(['init', '--subject', 'CN=Fault Root 1', '--validity', '20y', '--no-passphrase']);
  await ok(['ca', 'create', 'root-2', '--root', '--subject', 'CN=Fault Root 2', '--validity', '20y', '--no-passphrase']);
  const arn = (await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...ep])).arn as string;
  if (opts.rootCrl !== false) await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
  if (stage !== 'start') await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...ep]);
  if (stage === 'finish') await ok(['rotate', 'switch', '--anchor', 'prod', ...ep]);
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  const remote = async () => {
    const ta = (await sdk.send(new GetTrustAnchorCommand({ trustAnchorId: arn.split('/').pop() }))).trustAnchor!;
    const pem = (ta.source!.sourceData as { x509CertificateData: string }).x509CertificateData;
    const crls = ((await sdk.send(new ListCrlsCommand({}))).crls ?? []).filter((c) => c.trustAnchorArn === arn);
    return { certs: pem.match(/BEGIN CERTIFICATE/g)?.length ?? 0, subjects: subjectsOf(pem), crls: crls.map((c) => c.name!).sort(), crlIds: crls.map((c) => c.crlId!).sort() };
  };
  const stored = () => {
    const store = SqliteStore.open(join(dir, 'pki.db'));
    return Promise.all([store.openRotation('prod'), store.listRotations('prod'), store.listPublishedCrls('prod')]).finally(() => store.close());
  };
  const imports = () => emu.calls().filter((c) => c.op === 'ImportCrl' && c.status < 300).length;
  const gateway = () => createGateway(deps, { endpoint: emu.url, region: 'us-east-1', ratePerSecond: 0 });
  return { emu, cwd, dir, deps, clock, ep, run, ok, remote, stored, imports, gateway, sdk, arn };
}

function subjectsOf(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) =>
    execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: m[0] }).toString().trim().replace(/^subject=/, ''),
  );
}

/** The gateway, except that answering call number `k` (1-based) "crashes" the process. */
function crashAfter(gw: Gateway, k: number, seen: string[]): Gateway {
  let n = 0;
  const out: Record<string, unknown> = { region: gw.region };
  for (const [key, fn] of Object.entries(gw)) {
    if (typeof fn !== 'function') continue;
    out[key] = async (...args: unknown[]) => {
      const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      seen.push(key);
      if (++n === k) throw new Error(`injected crash after call ${k} (${key})`);
      return result;
    };
  }
  return out as unknown as Gateway;
}

const STEPS = {
  start: (deps: Parameters<typeof startRotation>[0], dir: string, gateway: Gateway) => startRotation(deps, { dir, anchor: 'prod', newCa: 'root-2', gateway }),
  finish: (deps: Parameters<typeof startRotation>[0], dir: string, gateway: Gateway) => finishRotation(deps, { dir, anchor: 'prod', gateway }),
  abort: (deps: Parameters<typeof startRotation>[0], dir: string, gateway: Gateway) => abortRotation(deps, { dir, anchor: 'prod', gateway }),
};

/** The phase before each step (undefined: no rotation yet). */
const PRIOR = { start: undefined, finish: 'switched', abort: 'started' } as const;

const EXPECTED = {
  start: { phase: 'started', subjects: ['CN=Fault Root 1', 'CN=Fault Root 2'], crls: ['pki-root', 'pki-root-2'], imports: 1 },
  finish: { phase: 'finished', subjects: ['CN=Fault Root 2'], crls: ['pki-root-2'], imports: 0 },
  abort: { phase: 'aborted', subjects: ['CN=Fault Root 1'], crls: ['pki-root'], imports: 0 },
} as const;

describe('rotation steps survive a crash after every AWS call', () => {
  for (const step of ['start', 'finish', 'abort'] as const) {
    it(`${step}: killed after each of its AWS calls, then re-run, ends in the right state`, async () => {
      // How many calls the step makes when nothing fails.
      const clean = await setup(step);
      const seen: string[] = [];
      await STEPS[step](clean.deps, clean.dir, crashAfter(await clean.gateway(), Infinity, seen));
      expect(seen.length).toBeGreaterThan(2);
      for (let k = 1; k <= seen.length; k++) {
        const t = await setup(step);
        const importsBefore = t.imports();
        const calls: string[] = [];
        await expect(STEPS[step](t.deps, t.dir, crashAfter(await t.gateway(), k, calls)), `crash after call ${k}`).rejects.toThrow(/injected crash/);
        const [interrupted] = await t.stored();
        const intent = step === 'start' ? 'starting' : step === 'finish' ? 'finishing' : 'aborting';
        // Either the crash came during the read-only checks before the intent was recorded, or the step is marked
        // interrupted and the status command tells the operator to re-run it.
        expect([PRIOR[step], intent], `after ${calls.join(',')}`).toContain(interrupted?.phase);
        if (interrupted?.phase === intent) {
          const st = await t.run(['rotate', 'status', '--anchor', 'prod']);
          expect(st.code).toBe(10);
          expect(st.json.data.next).toMatch(new RegExp(`pki rotate ${step} --anchor prod`));
        }
        await STEPS[step](t.deps, t.dir, await t.gateway());
        const remote = await t.remote();
        const [open, all, published] = await t.stored();
        const want = EXPECTED[step];
        expect(all.at(-1)!.phase, `crash after ${calls.at(-1)} (#${k})`).toBe(want.phase);
        expect(open?.phase).toBe(step === 'start' ? 'started' : undefined);
        expect(remote.subjects, `crash after ${calls.at(-1)} (#${k})`).toEqual(want.subjects);
        expect(remote.crls, `crash after ${calls.at(-1)} (#${k})`).toEqual(want.crls);
        expect(t.imports() - importsBefore, `crash after ${calls.at(-1)} (#${k}): ImportCrl calls`).toBe(want.imports);
        // The store's record of what is published matches the service, id for id.
        expect(published.map((p) => p.crlId).sort()).toEqual(remote.crlIds);
      }
    }, 120_000);
  }

  it('an AWS outage during start (every retry fails): exit 9; the preflight read fails first, so nothing is recorded; the re-run completes', async () => {
    const t = await setup('start');
    const writes = () => t.emu.calls().filter((c) => !/^(Get|List)/.test(c.op)).map((c) => c.op);
    const before = writes();
    t.emu.setFaults({ failNext: { status: 503, count: 100 } });
    const failed = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(failed.code).toBe(9);
    expect(failed.json.error.code).toMatch(/^AWS_/);
    const st = await t.run(['rotate', 'status', '--anchor', 'prod']);
    expect(st.json.data).toMatchObject({ due: false, rotation: null });
    expect(writes()).toEqual(before);
    t.emu.setFaults({});
    const again = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(again.code).toBe(0);
    expect(again.json.data.phase).toBe('started');
    expect((await t.remote()).crls).toEqual(['pki-root', 'pki-root-2']);
  }, 60_000);
});

describe('--dry-run changes nothing', () => {
  it('start, switch, finish and abort with --dry-run: the calls they would make, no write to the service or the store', async () => {
    const t = await setup('start');
    const writes = () => t.emu.calls().filter((c) => !/^(Get|List)/.test(c.op)).length;
    const before = writes();
    const crls = async () => (await t.run(['crl', 'list', '--ca', 'root-2'])).json.data;
    const crlsBefore = await crls();
    const start = await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--dry-run', ...t.ep]);
    expect(start.calls).toEqual(['ListCrls', 'UpdateTrustAnchor', 'ListCrls (root)', '(generate the first CRL) (root-2)', 'ImportCrl (root-2)']);
    expect((await t.stored())[1]).toEqual([]);
    expect(await crls()).toEqual(crlsBefore);
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    const afterStart = writes();
    expect(afterStart).toBeGreaterThan(before);
    expect((await t.ok(['rotate', 'switch', '--anchor', 'prod', '--dry-run', ...t.ep])).dryRun).toBe(true);
    expect((await t.ok(['rotate', 'abort', '--anchor', 'prod', '--dry-run', ...t.ep])).calls).toEqual(['ListCrls', 'UpdateTrustAnchor', 'DeleteCrl (root-2)']);
    await t.ok(['rotate', 'switch', '--anchor', 'prod', ...t.ep]);
    expect((await t.ok(['rotate', 'finish', '--anchor', 'prod', '--dry-run', ...t.ep])).calls).toEqual(['ListCrls', 'UpdateTrustAnchor', 'DeleteCrl (root)']);
    expect(writes()).toBe(afterStart);
    expect((await t.stored())[0]?.phase).toBe('switched');
    expect((await t.remote()).crls).toEqual(['pki-root', 'pki-root-2']);
  });
});

describe('rotation refusals', () => {
  it('ca create: a root takes no --parent, an intermediate needs one; nothing is created', async () => {
    const t = await setup('start');
    const both = await t.run(['ca', 'create', 'x', '--root', '--parent', 'root', '--subject', 'CN=x', '--no-passphrase']);
    expect(both.json.error.code).toBe('USAGE_CONFLICT');
    const neither = await t.run(['ca', 'create', 'x', '--subject', 'CN=x', '--no-passphrase']);
    expect(neither.code).toBe(2);
    expect(neither.json.error.code).toBe('USAGE_MISSING_PARENT');
    expect((await t.run(['ca', 'list'])).json.data.map((c: { name: string }) => c.name)).toEqual(['root', 'root-2']);
  });

  it('a second rotation on the same anchor: STATE_ROTATION_IN_PROGRESS', async () => {
    const t = await setup('abort');
    await t.ok(['ca', 'create', 'root-3', '--root', '--subject', 'CN=Fault Root 3', '--no-passphrase']);
    for (const cmd of ['plan', 'start']) {
      const r = await t.run(['rotate', cmd, '--anchor', 'prod', '--new-ca', 'root-3', ...(cmd === 'start' ? t.ep : [])]);
      expect(r.code).toBe(6);
      expect(r.json.error.code).toBe('STATE_ROTATION_IN_PROGRESS');
    }
  });

  it('a bundle of three: POLICY_BUNDLE_SIZE, nothing recorded or called', async () => {
    const t = await setup('start');
    await t.ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Fault Issuing 1', '--no-passphrase']);
    await t.ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--ca', 'issuing-1', ...t.ep]);
    const calls = t.emu.calls().length;
    const r = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Fault Issuing 2', '--no-passphrase', ...t.ep]);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_BUNDLE_SIZE');
    expect(r.json.error.message).toMatch(/bundle of three/);
    expect(t.emu.calls().length).toBe(calls);
    expect((await t.stored())[1]).toEqual([]);
    // The new CA was not created either: everything is checked first.
    expect((await t.run(['ca', 'list'])).json.data.map((c: { name: string }) => c.name)).not.toContain('issuing-2');
  });

  it('removing the CA that signs the only CRL on the anchor: STATE_ROTATION_LAST_CRL (checked against the service)', async () => {
    const t = await setup('finish');
    // Someone deleted root-2's CRL out of band: the store still remembers it, the service does not.
    const crl2 = (await t.sdk.send(new ListCrlsCommand({}))).crls!.find((c) => c.name === 'pki-root-2')!;
    await t.sdk.send(new DeleteCrlCommand({ crlId: crl2.crlId }));
    const r = await t.run(['rotate', 'finish', '--anchor', 'prod', ...t.ep]);
    expect(r.code).toBe(6);
    expect(r.json.error.code).toBe('STATE_ROTATION_LAST_CRL');
    expect(r.json.error.hint).toMatch(/pki crl publish --ca root-2 --anchor prod/);
    expect((await t.remote()).subjects).toEqual(['CN=Fault Root 1', 'CN=Fault Root 2']);
  });

  it('finish with live leaves of the old CA: STATE_ROTATION_LIVE_LEAVES; --force must name the exact count', async () => {
    const t = await setup('start');
    const leaf = await t.ok(['issue', '--ca', 'root', '--subject', 'CN=live', '--key-out', join(t.cwd, 'live.key'), '--validity', '30d']);
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    await t.ok(['rotate', 'switch', '--anchor', 'prod', ...t.ep]);
    const r = await t.run(['rotate', 'finish', '--anchor', 'prod', ...t.ep]);
    expect(r.json.error.code).toBe('STATE_ROTATION_LIVE_LEAVES');
    expect(r.json.error.message).toContain(leaf.serial);
    expect((await t.run(['rotate', 'finish', '--anchor', 'prod', '--force', '3', ...t.ep])).json.error.code).toBe('USAGE_FORCE_COUNT');
    const forced = await t.run(['rotate', 'finish', '--anchor', 'prod', '--force', '1', ...t.ep]);
    expect(forced.code).toBe(0);
    expect(forced.json.data).toMatchObject({ phase: 'finished', forced: 1 });
  });

  it('finish before switch, switch before start: STATE_ROTATION_PHASE / STATE_NO_ROTATION', async () => {
    const t = await setup('abort');
    const r = await t.run(['rotate', 'finish', '--anchor', 'prod', ...t.ep]);
    expect(r.json.error.code).toBe('STATE_ROTATION_PHASE');
    expect(r.json.error.hint).toBe('next step: pki rotate switch --anchor prod');
    await t.ok(['rotate', 'abort', '--anchor', 'prod', ...t.ep]);
    expect((await t.run(['rotate', 'switch', '--anchor', 'prod', ...t.ep])).json.error.code).toBe('STATE_NO_ROTATION');
  });

  it('a new CA that Roles Anywhere would reject (no keyCertSign; expired): POLICY_NOT_A_CA, STATE_CA_EXPIRED', async () => {
    const t = await setup('start');
    // A CA certificate with CA:TRUE but without keyCertSign, put into the store as a pre-release version could have.
    const key = join(t.cwd, 'bad.key');
    const cert = join(t.cwd, 'bad.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=Fault Root 2', '-days', '3650',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature'], { stdio: 'pipe' });
    const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER']);
    const db = new Database(join(t.dir, 'pki.db'));
    db.prepare("UPDATE ca SET cert_der = ? WHERE name = 'root-2'").run(der);
    db.close();
    const r = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(r.code).toBe(4);
    expect(r.json.error.code).toBe('POLICY_NOT_A_CA');
    expect(r.json.error.message).toMatch(/keyCertSign/);

    await t.ok(['ca', 'create', 'short', '--root', '--subject', 'CN=Short', '--validity', '2d', '--no-passphrase']);
    t.clock.now = new Date(T0.getTime() + 3 * DAY);
    const expired = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'short', ...t.ep]);
    expect(expired.json.error.code).toBe('STATE_CA_EXPIRED');
    expect((await t.stored())[1]).toEqual([]);
  });

  it('a new CA signed by the old one, and a third CRL on the anchor: STATE_ROTATION_NEW_UNDER_OLD, STATE_ROTATION_CRL_SLOTS', async () => {
    const t = await setup('start', { crl: { requireSignedByAnchor: false } });
    await t.ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Fault Issuing 1', '--no-passphrase']);
    const under = await t.run(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'issuing-1', '--old-ca', 'root']);
    expect(under.json.error.code).toBe('STATE_ROTATION_NEW_UNDER_OLD');
    // issuing-1's CRL takes the anchor's second slot: root → root-2 would need a third.
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    const slots = await t.run(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...t.ep]);
    expect(slots.code).toBe(6);
    expect(slots.json.error.code).toBe('STATE_ROTATION_CRL_SLOTS');
    expect(slots.json.error.details.crls).toEqual(['root', 'issuing-1', 'root-2']);
  });

  it('finish under an unchanged root would revive revoked certificates: STATE_ROTATION_REVOKED_LIVE, even with --force', async () => {
    const t = await setup('start', { crl: { requireSignedByAnchor: false } }, { rootCrl: false });
    await t.ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Fault Issuing 1', '--no-passphrase']);
    // The anchor holds the root; this setup's service accepts the intermediate's CRL (UNCONFIRMED for the real one).
    const leaf = await t.ok(['issue', '--ca', 'issuing-1', '--subject', 'CN=revoked', '--key-out', join(t.cwd, 'r.key'), '--validity', '20d']);
    await t.ok(['revoke', '--ca', 'issuing-1', '--serial', leaf.serial]);
    await t.ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'prod', ...t.ep]);
    await t.ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Fault Issuing 2', '--no-passphrase', ...t.ep]);
    expect((await t.remote()).crls).toEqual(['pki-issuing-1', 'pki-issuing-2']);
    await t.ok(['rotate', 'switch', '--anchor', 'prod', ...t.ep]);
    for (const force of [[], ['--force', '0']]) {
      const r = await t.run(['rotate', 'finish', '--anchor', 'prod', ...force, ...t.ep]);
      expect(r.code).toBe(6);
      expect(r.json.error.code).toBe('STATE_ROTATION_REVOKED_LIVE');
    }
    t.clock.now = new Date(T0.getTime() + 21 * DAY);
    await t.ok(['crl', 'publish', '--ca', 'issuing-2', '--anchor', 'prod', ...t.ep]);
    expect((await t.ok(['rotate', 'finish', '--anchor', 'prod', ...t.ep])).phase).toBe('finished');
    expect((await t.remote()).crls).toEqual(['pki-issuing-2']);
  });

  it('finish: the rotation is recorded finished and the old CA retired in one transaction; a store failure in between keeps neither, and the re-run completes', async () => {
    const t = await setup('finish');
    // The store refuses to retire a CA (a fault at the last write of the step).
    const db = new Database(join(t.dir, 'pki.db'));
    db.exec("CREATE TRIGGER refuse_retire BEFORE UPDATE OF status ON ca WHEN NEW.status = 'retired' BEGIN SELECT RAISE(ABORT, 'injected store failure'); END");
    try {
      await expect(STEPS.finish(t.deps, t.dir, await t.gateway())).rejects.toThrow(/injected store failure/);
      const [open] = await t.stored();
      // Not "finished" with root still active: the step stays interrupted, to be re-run.
      expect(open?.phase).toBe('finishing');
      expect((db.prepare("SELECT status FROM ca WHERE name = 'root'").get() as { status: string }).status).toBe('active');
      expect((db.prepare("SELECT COUNT(*) AS n FROM audit WHERE action IN ('rotate.finished', 'ca.retire')").get() as { n: number }).n).toBe(0);
    } finally {
      db.exec('DROP TRIGGER refuse_retire');
      db.close();
    }
    await STEPS.finish(t.deps, t.dir, await t.gateway());
    const [open, all] = await t.stored();
    expect(open).toBeUndefined();
    expect(all.at(-1)!.phase).toBe('finished');
    const st = SqliteStore.open(join(t.dir, 'pki.db'));
    try {
      expect((await st.getCa('root'))?.status).toBe('retired');
      expect((await st.auditLog()).filter((r) => r.action === 'rotate.finished' || r.action === 'ca.retire').map((r) => r.action)).toEqual(['rotate.finished', 'ca.retire']);
    } finally {
      st.close();
    }
  });
});
