/**
 * CA rotation, end to end: `pki rotate` against the emulator on 127.0.0.1 through the real AWS SDK, with an injected
 * clock moved through the overlap. At every phase, certificates of the old and the new CA are checked by openssl
 * against exactly what the emulator then holds: the trust anchor's bundle and its CRLs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { CreateProfileCommand, GetTrustAnchorCommand, ListCrlsCommand, RolesAnywhereClient } from '@aws-sdk/client-rolesanywhere';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/server.js';
import { cli, makeDeps, tempDir, pkiIn } from '../helpers.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function rotationSetup(emulatorOpts: Parameters<typeof startEmulator>[0] = {}) {
  const clock = { now: T0 };
  // The emulator's clock is the test's: CreateSession checks validity and X-Amz-Date against it.
  const emu = await startEmulator({ ratePerSecond: 0, now: () => clock.now, ...emulatorOpts });
  running.push(emu);
  const cwd = tempDir('pki-rotate-');
  const deps = makeDeps(cwd, { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1' } });
  deps.now = () => clock.now;
  const dir = join(cwd, 'pki');
  const ep = ['--endpoint', emu.url, '--api-rate', '0'];
  const { run, ok } = pkiIn(dir, deps);
  const sdk = new RolesAnywhereClient({ endpoint: emu.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } });
  let n = 0;
  /** Issues a leaf from `ca`; returns the files openssl needs. */
  const leaf = async (ca: string, validity = '30d') => {
    const name = `leaf-${++n}`;
    const out = join(cwd, `${name}.pem`);
    const chainOut = join(cwd, `${name}-chain.pem`);
    const r = await ok(['issue', '--ca', ca, '--subject', `CN=${name}`, '--key-out', join(cwd, `${name}.key`), '--out', out, '--chain-out', chainOut, '--validity', validity]);
    return { serial: r.serial as string, out, chain: chainOut, ca };
  };
  /** What the emulator holds now: the anchor's bundle and CRLs. */
  const remote = async (anchorArn: string) => {
    const ta = (await sdk.send(new GetTrustAnchorCommand({ trustAnchorId: anchorArn.split('/').pop() }))).trustAnchor!;
    const crls = ((await sdk.send(new ListCrlsCommand({}))).crls ?? []).filter((c) => c.trustAnchorArn === anchorArn);
    const bundle = (ta.source!.sourceData as { x509CertificateData: string }).x509CertificateData;
    return { bundle, crls, crlNames: crls.map((c) => c.name!).sort(), bundleSubjects: subjects(bundle) };
  };
  /**
   * openssl's verdict on a leaf against what the emulator holds: any bundle certificate is a trust anchor
   * (-partial_chain), intermediates from the leaf's chain file, and every CRL on the anchor when `crlCheck`.
   */
  const verify = async (anchorArn: string, l: { out: string; chain: string }, crlCheck: boolean): Promise<string> => {
    const r = await remote(anchorArn);
    const bundle = join(cwd, 'remote-bundle.pem');
    fs.writeFileSync(bundle, r.bundle);
    const args = ['verify', '-x509_strict', '-partial_chain', '-CAfile', bundle, '-attime', String(Math.floor(clock.now.getTime() / 1000))];
    if (fs.existsSync(l.chain)) args.push('-untrusted', l.chain);
    if (crlCheck) {
      const crls = join(cwd, 'remote-crls.pem');
      fs.writeFileSync(crls, r.crls.map((c) => Buffer.from(c.crlData!).toString()).join(''));
      args.push('-crl_check', '-CRLfile', crls);
    }
    try {
      execFileSync('openssl', [...args, l.out], { stdio: 'pipe' });
      return 'OK';
    } catch (e) {
      const text = `${(e as { stdout?: Buffer }).stdout ?? ''}${(e as { stderr?: Buffer }).stderr ?? ''}`;
      return /certificate revoked/.test(text) ? 'revoked' : /unable to get local issuer|unable to get issuer/.test(text) ? 'untrusted' : /expired/.test(text) ? 'expired' : `error: ${text}`;
    }
  };
  const imports = () => emu.calls().filter((c) => c.op === 'ImportCrl' && c.status < 300).length;
  const role = 'arn:aws:iam::123456789012:role/rotated';
  const profileArn = (await sdk.send(new CreateProfileCommand({ name: 'rotated', roleArns: [role], enabled: true }))).profile!.profileArn!;
  /** CreateSession with `l` through `pki credential-process`: "OK" or the service's error. */
  const credentials = async (anchorArn: string, l: { out: string; chain: string }) => {
    const chain = fs.existsSync(l.chain) ? ['--intermediates', l.chain] : [];
    const r = await cli(['credential-process', '--certificate', l.out, '--private-key', l.out.replace(/\.pem$/, '.key'), ...chain, '--trust-anchor-arn', anchorArn, '--profile-arn', profileArn, '--role-arn', role, '--endpoint', emu.url], deps);
    return r.code === 0 && JSON.parse(r.stdout).AccessKeyId ? 'OK' : r.stderr.split('\n')[0]!.replace(/^error: /, '');
  };
  return { emu, cwd, dir, deps, clock, ep, run, ok, sdk, leaf, remote, verify, imports, credentials };
}

function subjects(pem: string): string[] {
  const out: string[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)) {
    out.push(execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: m[0] }).toString().trim().replace(/^subject=/, ''));
  }
  return out;
}

describe('pki rotate against the emulator', () => {
  it('root rotation: plan, start, switch, wait, finish; old and new leaves verify against what the emulator holds at each phase', async () => {
    const { ok, run, ep, clock, leaf, remote, verify, cwd, credentials } = await rotationSetup();
    await ok(['init', '--subject', 'CN=Rot Root 1,O=Example', '--validity', '20y', '--no-passphrase']);
    const pushed = await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...ep]);
    const arn = pushed.arn as string;
    const a1 = await leaf('root', '30d');
    const a2 = await leaf('root', '30d');
    await ok(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
    expect(await verify(arn, a1, true)).toBe('OK');
    expect(await credentials(arn, a1)).toBe('OK');

    // plan: offline, names the steps and the dates.
    const plan = await ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-2', '--subject', 'CN=Rot Root 2,O=Example']);
    expect(plan).toMatchObject({ old: 'root', new: 'root-2', newExists: false, anchorChange: true, bundle: { before: ['root'], during: ['root', 'root-2'], after: ['root-2'] }, crlCas: ['root', 'root-2'] });
    expect(plan.oldLeaves.count).toBe(2);
    expect(plan.earliestFinish).toBe(new Date(T0.getTime() + 30 * DAY).toISOString());
    expect(plan.steps.map((s: { step: string }) => s.step)).toEqual(['start', 'switch', 'finish']);
    expect(plan.steps[0].actions[0]).toMatch(/create CA root-2: a new self-signed root/);

    // start: root-2 is created, the bundle holds both, both CRLs are on the anchor.
    const started = await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', '--subject', 'CN=Rot Root 2,O=Example', '--validity', '25y', '--no-passphrase', ...ep]);
    expect(started).toMatchObject({ phase: 'started', old: 'root', new: 'root-2', created: { ca: 'root-2', root: true } });
    expect(started.calls).toContain('UpdateTrustAnchor');
    expect(started.calls).toContain('ImportCrl (root-2)');
    let r = await remote(arn);
    expect(r.bundleSubjects).toEqual(['CN=Rot Root 1,O=Example', 'CN=Rot Root 2,O=Example']);
    expect(r.crlNames).toEqual(['pki-root', 'pki-root-2']);
    // Running start again changes nothing: one read of the CRLs on the anchor, no write.
    expect((await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'root-2', ...ep])).calls).toEqual(['ListCrls (root)']);

    const b1 = await leaf('root-2', '30d');
    expect(await verify(arn, a1, true)).toBe('OK');
    expect(await verify(arn, b1, true)).toBe('OK');
    // Revocation works on both sides during the overlap: crl publish keeps working for both CAs.
    const b2 = await leaf('root-2', '60d');
    await ok(['revoke', '--ca', 'root', '--serial', a2.serial, '--reason', 'keyCompromise']);
    await ok(['revoke', '--ca', 'root-2', '--serial', b2.serial]);
    const pub = await ok(['crl', 'publish', '--ca', 'root', '--ca', 'root-2', '--anchor', 'prod', ...ep]);
    expect(pub.results.map((x: { action: string }) => x.action)).toEqual(['updated', 'updated']);
    expect(await verify(arn, a2, true)).toBe('revoked');
    expect(await verify(arn, b2, true)).toBe('revoked');
    expect(await verify(arn, a1, true)).toBe('OK');
    // Workloads of both CAs get credentials during the overlap; revoked ones of either CA do not.
    expect(await credentials(arn, a1)).toBe('OK');
    expect(await credentials(arn, b1)).toBe('OK');
    expect(await credentials(arn, a2)).toBe('AccessDeniedException: Certificate revoked');
    expect(await credentials(arn, b2)).toBe('AccessDeniedException: Certificate revoked');

    let st = await run(['rotate', 'status', '--anchor', 'prod']);
    expect(st.code).toBe(10);
    expect(st.json.data).toMatchObject({ due: true, next: 'pki rotate switch --anchor prod', rotation: { phase: 'started' } });

    // switch: root no longer issues.
    clock.now = new Date(T0.getTime() + 2 * DAY);
    expect(await ok(['rotate', 'switch', '--anchor', 'prod', ...ep])).toMatchObject({ phase: 'switched', closed: ['root'] });
    const refused = await run(['issue', '--ca', 'root', '--subject', 'CN=late', '--key-out', join(cwd, 'late.key')]);
    expect(refused.code).toBe(6);
    expect(refused.json.error.code).toBe('STATE_CA_RETIRED');
    expect(refused.json.error.message).toMatch(/issue from root-2/);
    st = await run(['rotate', 'status', '--anchor', 'prod']);
    expect(st.code).toBe(0);
    expect(st.json.data).toMatchObject({ due: false, eta: new Date(T0.getTime() + 30 * DAY).toISOString(), oldLeaves: { count: 1 } });

    // finish is refused while a1 lives; --force with the wrong count too.
    const early = await run(['rotate', 'finish', '--anchor', 'prod', ...ep]);
    expect(early.code).toBe(6);
    expect(early.json.error.code).toBe('STATE_ROTATION_LIVE_LEAVES');
    expect(early.json.error.details.leaves.sample.map((c: { serial: string }) => c.serial)).toEqual([a1.serial]);
    expect((await run(['rotate', 'finish', '--anchor', 'prod', '--force', '2', ...ep])).json.error.code).toBe('USAGE_FORCE_COUNT');

    // 31 days on: the old leaves have expired. The cron job has kept the CRLs fresh.
    clock.now = new Date(T0.getTime() + 31 * DAY);
    await ok(['crl', 'publish', '--ca', 'root', '--ca', 'root-2', '--anchor', 'prod', ...ep]);
    st = await run(['rotate', 'status', '--anchor', 'prod']);
    expect(st.code).toBe(10);
    expect(st.json.data.next).toBe('pki rotate finish --anchor prod');
    const b3 = await leaf('root-2', '30d');
    const finished = await ok(['rotate', 'finish', '--anchor', 'prod', ...ep]);
    expect(finished.phase).toBe('finished');
    expect(finished.calls).toEqual(expect.arrayContaining(['UpdateTrustAnchor', 'DeleteCrl (root)']));
    r = await remote(arn);
    expect(r.bundleSubjects).toEqual(['CN=Rot Root 2,O=Example']);
    expect(r.crlNames).toEqual(['pki-root-2']);
    expect(await verify(arn, b3, true)).toBe('OK');
    expect(await verify(arn, b2, true)).toBe('revoked');
    expect(await credentials(arn, b3)).toBe('OK');
    expect(await credentials(arn, b2)).toBe('AccessDeniedException: Certificate revoked');
    // A certificate of the old root no longer chains to anything the anchor holds.
    clock.now = new Date(T0.getTime() + 20 * DAY);
    expect(await verify(arn, a1, false)).toBe('untrusted');
    expect(await credentials(arn, a1)).toBe('AccessDeniedException: Untrusted Signing Certificate');
    clock.now = new Date(T0.getTime() + 31 * DAY);

    // The old root is retired: no issuance, and a stale cron entry publishing its CRL is refused.
    expect((await run(['issue', '--ca', 'root', '--subject', 'CN=x', '--key-out', join(cwd, 'never.key')])).json.error.code).toBe('STATE_CA_RETIRED');
    const stale = await run(['crl', 'publish', '--ca', 'root', '--anchor', 'prod', ...ep]);
    expect(stale.code).toBe(6);
    expect(stale.json.data.results[0].error.code).toBe('STATE_CA_RETIRED');
    st = await run(['rotate', 'status', '--anchor', 'prod']);
    expect(st.code).toBe(0);
    expect(st.json.data.rotation.phase).toBe('finished');
    // finish retired the old root (and what is below it): listed retired, out of monitoring, audited.
    expect((await ok(['ca', 'list'])).filter((c: { status: string }) => c.status === 'retired').map((c: { name: string }) => c.name)).toContain('root');
    expect((await ok(['audit', 'log'])).some((x: { action: string; target: string }) => x.action === 'ca.retire' && x.target === 'root')).toBe(true);
    expect((await ok(['status'])).checks).toContainEqual(expect.objectContaining({ what: 'ca/root', message: expect.stringMatching(/^CA root is retired on /) }));
    // A next rotation may start.
    expect((await ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'root-3', '--subject', 'CN=Rot Root 3'])).bundle.during).toEqual(['root-2', 'root-3']);
  });

  it('intermediate used as the trust anchor: issuing-1 → issuing-2 (created under the same root), with abort and restart on the way', async () => {
    const { ok, run, ep, clock, leaf, remote, verify, imports, credentials } = await rotationSetup();
    await ok(['init', '--subject', 'CN=Int Root,O=Example', '--validity', '20y', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Issuing 1,O=Example', '--validity', '10y', '--no-passphrase']);
    const arn = (await ok(['anchor', 'push', '--name', 'edge', '--ca', 'issuing-1', '--enable', ...ep])).arn as string;
    await ok(['crl', 'publish', '--ca', 'issuing-1', '--anchor', 'edge', ...ep]);
    const a1 = await leaf('issuing-1', '10d');

    const started = await ok(['rotate', 'start', '--anchor', 'edge', '--new-ca', 'issuing-2', '--subject', 'CN=Issuing 2,O=Example', '--validity', '12y', '--no-passphrase', ...ep]);
    expect(started.created).toEqual({ ca: 'issuing-2', root: false, parent: 'root' });
    let r = await remote(arn);
    expect(r.bundleSubjects).toEqual(['CN=Issuing 1,O=Example', 'CN=Issuing 2,O=Example']);
    expect(r.crlNames).toEqual(['pki-issuing-1', 'pki-issuing-2']);

    // Abort before anything depends on issuing-2: back to [issuing-1], issuing-2's CRL gone.
    const aborted = await ok(['rotate', 'abort', '--anchor', 'edge', ...ep]);
    expect(aborted.phase).toBe('aborted');
    r = await remote(arn);
    expect(r.bundleSubjects).toEqual(['CN=Issuing 1,O=Example']);
    expect(r.crlNames).toEqual(['pki-issuing-1']);
    expect(await verify(arn, a1, true)).toBe('OK');

    // Start again (issuing-2 exists now), issue from it, and abort is refused: it would break that certificate.
    await ok(['rotate', 'start', '--anchor', 'edge', '--new-ca', 'issuing-2', ...ep]);
    const b1 = await leaf('issuing-2', '20d');
    expect(await verify(arn, b1, true)).toBe('OK');
    expect(await verify(arn, a1, true)).toBe('OK');
    expect(await credentials(arn, a1)).toBe('OK');
    expect(await credentials(arn, b1)).toBe('OK');
    const noAbort = await run(['rotate', 'abort', '--anchor', 'edge', ...ep]);
    expect(noAbort.json.error.code).toBe('STATE_ROTATION_LIVE_LEAVES');
    expect(noAbort.json.error.details.leaves.count).toBe(1);

    await ok(['rotate', 'switch', '--anchor', 'edge', ...ep]);
    clock.now = new Date(T0.getTime() + 11 * DAY);
    await ok(['crl', 'publish', '--ca', 'issuing-1', '--ca', 'issuing-2', '--anchor', 'edge', ...ep]);
    expect(await verify(arn, b1, true)).toBe('OK');
    expect((await ok(['rotate', 'finish', '--anchor', 'edge', ...ep])).phase).toBe('finished');
    r = await remote(arn);
    expect(r.bundleSubjects).toEqual(['CN=Issuing 2,O=Example']);
    expect(r.crlNames).toEqual(['pki-issuing-2']);
    expect(await verify(arn, b1, true)).toBe('OK');
    expect(await credentials(arn, b1)).toBe('OK');
    // One import for issuing-1, one for issuing-2 per start (the abort deleted the first): nothing imported twice.
    expect(imports()).toBe(3);
  });

  it('intermediate rotation under an unchanged root anchor: plan says no anchor change, and no step touches the bundle', async () => {
    const { ok, ep, clock, leaf, remote, verify, emu, credentials } = await rotationSetup();
    await ok(['init', '--subject', 'CN=Keep Root,O=Example', '--validity', '20y', '--no-passphrase']);
    await ok(['ca', 'create', 'issuing-1', '--parent', 'root', '--subject', 'CN=Keep Issuing 1', '--validity', '10y', '--no-passphrase']);
    const arn = (await ok(['anchor', 'push', '--name', 'prod', '--ca', 'root', '--enable', ...ep])).arn as string;
    const a1 = await leaf('issuing-1', '5d');
    const plan = await ok(['rotate', 'plan', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Keep Issuing 2']);
    expect(plan.anchorChange).toBe(false);
    expect(plan.steps[0].actions.join('\n')).toMatch(/no trust-anchor change: issuing-2 chains to root/);
    const before = emu.calls().length;
    await ok(['rotate', 'start', '--anchor', 'prod', '--new-ca', 'issuing-2', '--old-ca', 'issuing-1', '--subject', 'CN=Keep Issuing 2', '--no-passphrase', ...ep]);
    const b1 = await leaf('issuing-2', '5d');
    expect(await verify(arn, a1, false)).toBe('OK');
    expect(await verify(arn, b1, false)).toBe('OK');
    expect(await credentials(arn, a1)).toBe('OK');
    expect(await credentials(arn, b1)).toBe('OK');
    await ok(['rotate', 'switch', '--anchor', 'prod', ...ep]);
    clock.now = new Date(T0.getTime() + 6 * DAY);
    await ok(['rotate', 'finish', '--anchor', 'prod', ...ep]);
    const writes = emu.calls().slice(before).filter((c) => ['UpdateTrustAnchor', 'ImportCrl', 'UpdateCrl', 'DeleteCrl'].includes(c.op));
    expect(writes).toEqual([]);
    expect((await remote(arn)).bundleSubjects).toEqual(['CN=Keep Root,O=Example']);
  });
});
